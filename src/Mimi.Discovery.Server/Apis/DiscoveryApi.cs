using Microsoft.AspNetCore.Http.HttpResults;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Server.Invitations;
using Mimi.Discovery.Server.Mappings;
using Mimi.Discovery.Server.Proofs;
using Mimi.Discovery.Server.Revocations;
using Mimi.Discovery.Server.Storage;

namespace Mimi.Discovery.Server.Apis;

/// <summary>The DP's HTTP API (docs/protocol.md §6).</summary>
internal static class DiscoveryApi
{
    public static IEndpointRouteBuilder MapDiscoveryApi(this IEndpointRouteBuilder app)
    {
        app.MapGet(LookupPipeline.MetadataPath, GetMetadata).WithName("Metadata").WithTags("Discovery");
        app.MapGet("/health", GetHealthAsync).WithName("Health").WithTags("Discovery");

        var v1 = app.MapGroup("/v1");
        v1.MapPost("/proofs", StartProofAsync).WithName("StartProof").WithTags("Proof of control");
        v1.MapPost("/proofs/{id}/answer", AnswerProofAsync).WithName("AnswerProof").WithTags("Proof of control");
        v1.MapPost("/mappings", PublishAsync).WithName("Publish").WithTags("Mappings");
        v1.MapPost("/removals", RemoveAsync).WithName("Remove").WithTags("Mappings");
        v1.MapReassignmentApi();
        app.MapPost(LookupPipeline.LookupPath, LookupAsync).WithName("Lookup").WithTags("Lookup");
        app.MapGet(LookupPipeline.LookupOnePrefix + "{csi}", LookupOneAsync).WithName("LookupOne").WithTags("Lookup");
        v1.MapTransparencyApi();
        v1.MapInvitationApi();
        v1.MapRevocationApi();
        v1.MapGet("/mirror/epochs/{epoch:long}", MirrorApi.GetEpochAsync).WithName("MirrorEpoch").WithTags("Federation");
        app.MapObliviousGateway();
        return app;
    }

    private static Ok<DiscoveryMetadata> GetMetadata(MetadataBuilder metadata) => TypedResults.Ok(metadata.Build());

    private static async Task<Results<Ok<HealthReport>, JsonHttpResult<HealthReport>>> GetHealthAsync(IDiscoveryStore store, CancellationToken cancellationToken) =>
        await store.IsHealthyAsync(cancellationToken).ConfigureAwait(false)
            ? TypedResults.Ok(new HealthReport("ok"))
            : TypedResults.Json(new HealthReport("database-unavailable"), statusCode: StatusCodes.Status503ServiceUnavailable);

    private static async Task<Results<Ok<ProofStarted>, ProblemHttpResult>> StartProofAsync(ProofRequest request, HttpContext context, ProofService proofs, CancellationToken cancellationToken) =>
        (await proofs.StartAsync(request, context.Connection.RemoteIpAddress?.ToString() ?? "unknown", cancellationToken).ConfigureAwait(false)).ToResult(context);

    private static async Task<Results<Ok<CredentialIssued>, ProblemHttpResult>> AnswerProofAsync(string id, ProofAnswer answer, ProofService proofs, CancellationToken cancellationToken) =>
        (await proofs.AnswerAsync(id, answer, cancellationToken).ConfigureAwait(false)).ToResult();

    private static async Task<Results<Ok<PublishReceipt>, ProblemHttpResult>> PublishAsync(StatementSubmission submission, MappingService mappings, CancellationToken cancellationToken) =>
        (await mappings.PublishAsync(submission, cancellationToken).ConfigureAwait(false)).ToResult();

    private static async Task<Results<Ok<RemovalReceipt>, ProblemHttpResult>> RemoveAsync(StatementSubmission submission, MappingService mappings, CancellationToken cancellationToken) =>
        (await mappings.RemoveAsync(submission, cancellationToken).ConfigureAwait(false)).ToResult();

    private static Task<Results<Ok<LookupResponse>, KeptJsonResult, ProblemHttpResult>> LookupAsync(LookupRequest request, HttpContext context, LookupPipeline lookups, AnswerCache answers, CancellationToken cancellationToken) =>
        PipelineAsync(request, context, lookups, answers, cancellationToken);

    private static Task<Results<Ok<LookupResponse>, KeptJsonResult, ProblemHttpResult>> LookupOneAsync(string csi, string? service, HttpContext context, LookupPipeline lookups, AnswerCache answers, CancellationToken cancellationToken) =>
        PipelineAsync(LookupPipeline.One(csi, service), context, lookups, answers, cancellationToken);

    private static async Task<Results<Ok<LookupResponse>, KeptJsonResult, ProblemHttpResult>> PipelineAsync(LookupRequest request, HttpContext context, LookupPipeline lookups, AnswerCache answers, CancellationToken cancellationToken)
    {
        // Most lookups carry no Authorization (an open DP, or tokens in the body): nothing to copy then.
        var values = context.Request.Headers.Authorization;
        IReadOnlyList<string> authorization = values.Count == 0 ? [] : values.OfType<string>().ToList();
        var fromPeer = context.Request.Headers[Federation.PeerSet.FederationHeader] == Federation.PeerSet.FederationValue;
        var answer = await lookups.LookupAsync(request, authorization, cancellationToken, askPeers: !fromPeer).ConfigureAwait(false);
        if (answer.Challenge is not null)
        {
            context.Response.Headers.WWWAuthenticate = answer.Challenge;
        }

        if (answer.Outcome.Value is { } response && answers.KeptUtf8(response) is { } utf8)
        {
            return new KeptJsonResult(utf8);
        }

        return answer.Outcome.Problem is { } problem ? problem.ToResult(context) : TypedResults.Ok(answer.Outcome.Value!);
    }

    /// <summary>
    /// A 200 with an answer's JSON serialised before (<see cref="AnswerCache"/>): the bytes and content
    /// type <see cref="Ok{TValue}"/> writes for it; the route's OpenAPI description comes from that result.
    /// </summary>
    internal sealed class KeptJsonResult(byte[] utf8) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            var response = httpContext.Response;
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = "application/json; charset=utf-8";
            response.ContentLength = utf8.Length;
            await response.BodyWriter.WriteAsync(utf8, httpContext.RequestAborted).ConfigureAwait(false);
        }
    }

    internal sealed record HealthReport(string Status);
}

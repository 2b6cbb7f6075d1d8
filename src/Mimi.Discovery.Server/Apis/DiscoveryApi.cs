using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Server.Hosting;
using Mimi.Discovery.Server.Mappings;
using Mimi.Discovery.Server.Proofs;
using Mimi.Discovery.Server.Storage;
using Mimi.Discovery.Server.Tokens;
using Mimi.Discovery.Server.Transparency;
using Mimi.Discovery.Verification;

namespace Mimi.Discovery.Server.Apis;

/// <summary>The DP's HTTP API (docs/protocol.md §6).</summary>
internal static class DiscoveryApi
{
    public static IEndpointRouteBuilder MapDiscoveryApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/.well-known/mimi-discovery", GetMetadata).WithName("Metadata").WithTags("Discovery");
        app.MapGet("/health", GetHealthAsync).WithName("Health").WithTags("Discovery");

        var v1 = app.MapGroup("/v1");
        v1.MapPost("/proofs", StartProofAsync).WithName("StartProof").WithTags("Proof of control");
        v1.MapPost("/proofs/{id}/answer", AnswerProofAsync).WithName("AnswerProof").WithTags("Proof of control");
        v1.MapPost("/mappings", PublishAsync).WithName("Publish").WithTags("Mappings");
        v1.MapPost("/removals", RemoveAsync).WithName("Remove").WithTags("Mappings");
        v1.MapPost("/lookup", LookupAsync).WithName("Lookup").WithTags("Lookup");
        v1.MapGet("/lookup/{csi}", LookupOneAsync).WithName("LookupOne").WithTags("Lookup");
        v1.MapTransparencyApi();
        return app;
    }

    private static Ok<DiscoveryMetadata> GetMetadata(HttpRequest request, DataFolder folder, ChannelRouter channels, TransparencyLog transparency, IOptions<DiscoveryOptions> options)
    {
        var o = options.Value;
        var channelNames = new Dictionary<string, string>();
        if (channels.For(Identifiers.CsiKind.Phone) is { } phone)
        {
            channelNames["tel"] = phone.Name;
        }

        if (channels.For(Identifiers.CsiKind.Email) is { } email)
        {
            channelNames["mailto"] = email.Name;
        }

        return TypedResults.Ok(new DiscoveryMetadata(
            $"{request.Scheme}://{request.Host}/v1",
            ["tel", "mailto"],
            [folder.Authority.ExportCertificatePem()],
            new DiscoveryLimits(o.MaxLookupBatch, new VerificationOptions().MaxStatementLength, o.MaxRequestBytes, (int)o.CodeLifetime.TotalSeconds, o.MaxCodeAttempts),
            channelNames,
            o.Transparency ? transparency.Keys : null,
            new TokenSettings($"{request.Scheme}://{request.Host}{TokenService.DirectoryPath}", o.TokensRequired, o.TokenIssuerName!)));
    }

    private static async Task<Results<Ok<HealthReport>, JsonHttpResult<HealthReport>>> GetHealthAsync(IDiscoveryStore store, CancellationToken cancellationToken) =>
        await store.IsHealthyAsync(cancellationToken).ConfigureAwait(false)
            ? TypedResults.Ok(new HealthReport("ok"))
            : TypedResults.Json(new HealthReport("database-unavailable"), statusCode: StatusCodes.Status503ServiceUnavailable);

    private static async Task<Results<Ok<ProofStarted>, ProblemHttpResult>> StartProofAsync(ProofRequest request, HttpContext context, ProofService proofs, CancellationToken cancellationToken) =>
        (await proofs.StartAsync(request, context.Connection.RemoteIpAddress?.ToString() ?? "unknown", cancellationToken).ConfigureAwait(false)).ToResult();

    private static async Task<Results<Ok<CredentialIssued>, ProblemHttpResult>> AnswerProofAsync(string id, ProofAnswer answer, ProofService proofs, CancellationToken cancellationToken) =>
        (await proofs.AnswerAsync(id, answer, cancellationToken).ConfigureAwait(false)).ToResult();

    private static async Task<Results<Ok<PublishReceipt>, ProblemHttpResult>> PublishAsync(StatementSubmission submission, MappingService mappings, CancellationToken cancellationToken) =>
        (await mappings.PublishAsync(submission, cancellationToken).ConfigureAwait(false)).ToResult();

    private static async Task<Results<Ok<RemovalReceipt>, ProblemHttpResult>> RemoveAsync(StatementSubmission submission, MappingService mappings, CancellationToken cancellationToken) =>
        (await mappings.RemoveAsync(submission, cancellationToken).ConfigureAwait(false)).ToResult();

    private static Task<Results<Ok<LookupResponse>, ProblemHttpResult>> LookupAsync(LookupRequest request, HttpContext context, ILookupGate gate, MappingService mappings, CancellationToken cancellationToken) =>
        GatedLookupAsync(request, context, gate, mappings, cancellationToken);

    private static Task<Results<Ok<LookupResponse>, ProblemHttpResult>> LookupOneAsync(string csi, string? service, HttpContext context, ILookupGate gate, MappingService mappings, CancellationToken cancellationToken) =>
        GatedLookupAsync(new LookupRequest([csi], service), context, gate, mappings, cancellationToken);

    private static async Task<Results<Ok<LookupResponse>, ProblemHttpResult>> GatedLookupAsync(LookupRequest request, HttpContext context, ILookupGate gate, MappingService mappings, CancellationToken cancellationToken)
    {
        var decision = await gate.AdmitAsync(context.Request.Headers.Authorization.Where(a => a is not null).Select(a => a!).ToList(), request, cancellationToken).ConfigureAwait(false);
        if (decision.Problem is { } refused)
        {
            if (decision.Challenge is not null)
            {
                context.Response.Headers.WWWAuthenticate = decision.Challenge;
            }

            return refused.ToResult();
        }

        return (await mappings.LookupAsync(decision.Service is null ? request : request with { Service = decision.Service }, cancellationToken).ConfigureAwait(false)).ToResult();
    }

    internal sealed record HealthReport(string Status);
}

using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Mimi.Discovery.Client;
using Mimi.Discovery.Privacy.Tokens;
using Microsoft.Extensions.Options;
using Mimi.Discovery.Server.Hosting;
using Mimi.Discovery.Server.Tokens;

namespace Mimi.Discovery.Server.Apis;

/// <summary>The Privacy Pass issuer (docs/protocol.md §10, "How this DP uses tokens"): directory, issuance, balance.</summary>
internal static class TokenApi
{
    // A TokenRequest is 259 bytes: a batch of the most the DP takes, and a little more, is the limit.
    private static int MaxBodyBytes(DiscoveryOptions options) => 16 + (options.MaxTokensPerIssuance * TokenRequest.EncodedLength);

    public static IEndpointRouteBuilder MapTokenApi(this IEndpointRouteBuilder app)
    {
        app.MapGet(TokenService.DirectoryPath, GetDirectoryAsync).WithName("TokenIssuerDirectory").WithTags("Tokens");
        app.MapPost(TokenService.IssuePath, IssueAsync).WithName("IssueToken").WithTags("Tokens");
        app.MapGet(TokenService.IssuePath + "/balance", GetBalanceAsync).WithName("TokenBalance").WithTags("Tokens");
        return app;
    }

    private static async Task<ContentHttpResult> GetDirectoryAsync(HttpContext context, TokenService tokens, PublicOrigin origin, CancellationToken cancellationToken)
    {
        // The configured origin, never the request's Host: the SDK sends its API key to this URL.
        var json = await tokens.DirectoryJsonAsync(origin.Value, cancellationToken).ConfigureAwait(false);
        context.Response.Headers.CacheControl = "max-age=" + Math.Min(3600, tokens.SecondsToNextEpoch()).ToString(CultureInfo.InvariantCulture);
        return TypedResults.Text(json, PrivacyPassMediaTypes.IssuerDirectory);
    }

    private static async Task<Results<FileContentHttpResult, ProblemHttpResult>> IssueAsync(HttpContext context, TokenService tokens, IOptions<DiscoveryOptions> options, Observability.DiscoveryMetrics metrics, CancellationToken cancellationToken)
    {
        var limit = MaxBodyBytes(options.Value);
        var body = await ReadBodyAsync(context.Request, limit, cancellationToken).ConfigureAwait(false);
        var outcome = body is null
            ? new IssueOutcome(null, new Problem("payload-too-large", StatusCodes.Status413PayloadTooLarge,
                $"an issuance request is one TokenRequest or a batch of at most {options.Value.MaxTokensPerIssuance} ({limit} bytes)"))
            : await tokens.IssueAsync(context.Request.Headers.Authorization.FirstOrDefault(), context.Request.ContentType, body, cancellationToken).ConfigureAwait(false);
        if (outcome.Problem is { } problem)
        {
            metrics.TokenRefused("issue", problem.Code);
            Annotate(context, problem, outcome.RetryAfterSeconds);
            return problem.ToResult();
        }

        metrics.TokensIssued(outcome.Issued);

        // Some of a batch unanswered (the quota ran out): 206, the absent ones marked in the body.
        context.Response.StatusCode = outcome.Partial ? StatusCodes.Status206PartialContent : StatusCodes.Status200OK;
        return TypedResults.File(outcome.Response!, outcome.MediaType);
    }

    private static async Task<Results<JsonHttpResult<TokenBalance>, ProblemHttpResult>> GetBalanceAsync(HttpContext context, TokenService tokens, CancellationToken cancellationToken)
    {
        var outcome = await tokens.BalanceAsync(context.Request.Headers.Authorization.FirstOrDefault(), cancellationToken).ConfigureAwait(false);
        if (outcome.Problem is { } problem)
        {
            Annotate(context, problem, null);
            return problem.ToResult();
        }

        return TypedResults.Json(outcome.Value!, TokenJson.Default.TokenBalance);
    }

    private static void Annotate(HttpContext context, Problem problem, long? retryAfter)
    {
        if (problem.Status == StatusCodes.Status401Unauthorized)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer realm=\"mimi-discovery tokens\"";
        }

        if (retryAfter is { } seconds)
        {
            context.Response.Headers.RetryAfter = Math.Max(1, seconds).ToString(CultureInfo.InvariantCulture);
        }
    }

    private static async Task<byte[]?> ReadBodyAsync(HttpRequest request, int limit, CancellationToken cancellationToken)
    {
        if (request.ContentLength > limit)
        {
            return null;
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            buffer.Write(chunk, 0, read);
            if (buffer.Length > limit)
            {
                return null;
            }
        }

        return buffer.ToArray();
    }
}

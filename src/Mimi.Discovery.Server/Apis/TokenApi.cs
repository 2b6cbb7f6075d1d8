using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Mimi.Discovery.Client;
using Mimi.Discovery.Privacy.Tokens;
using Mimi.Discovery.Server.Tokens;

namespace Mimi.Discovery.Server.Apis;

/// <summary>The Privacy Pass issuer (docs/protocol.md §10, "How this DP uses tokens"): directory, issuance, balance.</summary>
internal static class TokenApi
{
    // A TokenRequest is 259 bytes; anything much larger is not one.
    private const int MaxTokenRequestBytes = 4096;

    public static IEndpointRouteBuilder MapTokenApi(this IEndpointRouteBuilder app)
    {
        app.MapGet(TokenService.DirectoryPath, GetDirectoryAsync).WithName("TokenIssuerDirectory").WithTags("Tokens");
        app.MapPost(TokenService.IssuePath, IssueAsync).WithName("IssueToken").WithTags("Tokens");
        app.MapGet(TokenService.IssuePath + "/balance", GetBalanceAsync).WithName("TokenBalance").WithTags("Tokens");
        return app;
    }

    private static async Task<ContentHttpResult> GetDirectoryAsync(HttpContext context, TokenService tokens, CancellationToken cancellationToken)
    {
        var origin = $"{context.Request.Scheme}://{context.Request.Host}";
        var json = await tokens.DirectoryJsonAsync(origin, cancellationToken).ConfigureAwait(false);
        context.Response.Headers.CacheControl = "max-age=" + Math.Min(3600, tokens.SecondsToNextEpoch()).ToString(CultureInfo.InvariantCulture);
        return TypedResults.Text(json, PrivacyPassMediaTypes.IssuerDirectory);
    }

    private static async Task<Results<FileContentHttpResult, ProblemHttpResult>> IssueAsync(HttpContext context, TokenService tokens, CancellationToken cancellationToken)
    {
        var body = await ReadBodyAsync(context.Request, cancellationToken).ConfigureAwait(false);
        var outcome = body is null
            ? new IssueOutcome(null, new Problem("token-request-malformed", StatusCodes.Status400BadRequest, "the body is not a TokenRequest: it is far longer than 259 bytes"))
            : await tokens.IssueAsync(context.Request.Headers.Authorization.FirstOrDefault(), context.Request.ContentType, body, cancellationToken).ConfigureAwait(false);
        if (outcome.Problem is { } problem)
        {
            Annotate(context, problem, outcome.RetryAfterSeconds);
            return problem.ToResult();
        }

        return TypedResults.File(outcome.Response!, PrivacyPassMediaTypes.TokenResponse);
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

    private static async Task<byte[]?> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            buffer.Write(chunk, 0, read);
            if (buffer.Length > MaxTokenRequestBytes)
            {
                return null;
            }
        }

        return buffer.ToArray();
    }
}

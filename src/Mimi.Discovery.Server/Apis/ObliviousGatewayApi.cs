using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Mimi.Discovery.Server.Hosting;
using Mimi.Discovery.Server.Privacy;

namespace Mimi.Discovery.Server.Apis;

/// <summary>The Oblivious HTTP gateway resource (docs/protocol.md §9): key configurations and encapsulated requests.</summary>
internal static class ObliviousGatewayApi
{
    private const string KeysMediaType = "application/ohttp-keys";

    public static IEndpointRouteBuilder MapObliviousGateway(this IEndpointRouteBuilder app)
    {
        app.MapGet("/.well-known/ohttp-gateway", GetKeys).WithName("OhttpKeys").WithTags("Oblivious HTTP");
        app.MapPost("/.well-known/ohttp-gateway", PostAsync).WithName("OhttpGateway").WithTags("Oblivious HTTP");
        return app;
    }

    private static FileContentHttpResult GetKeys(HttpResponse response, OhttpKeyRing keys)
    {
        response.Headers.CacheControl = "public, max-age=3600";
        return TypedResults.File(keys.KeyConfigs, KeysMediaType);
    }

    private static async Task<Results<FileContentHttpResult, ProblemHttpResult>> PostAsync(HttpRequest request, ObliviousGateway gateway, IOptions<DiscoveryOptions> options, CancellationToken cancellationToken)
    {
        if (!string.Equals(request.ContentType, ObliviousGateway.RequestMediaType, StringComparison.OrdinalIgnoreCase))
        {
            return new Problem("unsupported-media-type", StatusCodes.Status415UnsupportedMediaType, $"send the encapsulated request as {ObliviousGateway.RequestMediaType}").ToResult();
        }

        var limit = options.Value.MaxRequestBytes;
        var tooLarge = new Problem("payload-too-large", StatusCodes.Status413PayloadTooLarge, $"an encapsulated request is at most {limit} bytes");
        using var body = new MemoryStream();
        var buffer = new byte[8192];
        int read;
        try
        {
            while ((read = await request.Body.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (body.Length + read > limit)
                {
                    return tooLarge.ToResult();
                }

                body.Write(buffer, 0, read);
            }
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return tooLarge.ToResult();
        }

        Outcome<byte[]> outcome;
        using (var span = Observability.DiscoveryTracing.Source.StartActivity("ohttp.gateway"))
        using (Observability.GatewayScope.Enter())
        {
            outcome = await gateway.HandleAsync(body.GetBuffer().AsMemory(0, (int)body.Length), cancellationToken).ConfigureAwait(false);
            span?.SetTag("mimi.discovery.outcome", outcome.Problem?.Code ?? "served");
        }

        return outcome.Problem is { } problem ? problem.ToResult() : TypedResults.File(outcome.Value!, ObliviousGateway.ResponseMediaType);
    }
}

using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Server.Hosting;

namespace Mimi.Discovery.Server.Revocations;

/// <summary>The revocation endpoints (docs/protocol.md §15).</summary>
internal static class RevocationApi
{
    public static RouteGroupBuilder MapRevocationApi(this RouteGroupBuilder v1)
    {
        v1.MapPost("/revocations", RevokeAsync).WithName("Revoke").WithTags("Revocation");
        v1.MapGet("/revocations/crl", GetRevocationListAsync).WithName("RevocationList").WithTags("Revocation");
        return v1;
    }

    private static async Task<Results<Ok<RevocationReceipt>, ProblemHttpResult>> RevokeAsync(RevocationRequest request, RevocationService revocations, CancellationToken cancellationToken) =>
        (await revocations.RevokeAsync(request, cancellationToken).ConfigureAwait(false)).ToResult();

    private static async Task<FileContentHttpResult> GetRevocationListAsync(HttpContext context, RevocationService revocations, IOptions<DiscoveryOptions> options, CancellationToken cancellationToken)
    {
        var crl = await revocations.RevocationListAsync(cancellationToken).ConfigureAwait(false);
        context.Response.Headers.CacheControl = "public, max-age=" + ((long)options.Value.RevocationListLifetime.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return TypedResults.File(crl, RevocationService.CrlMediaType);
    }
}

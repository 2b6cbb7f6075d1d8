using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Server.Hosting;
using Mimi.Discovery.Server.Storage;
using Mimi.Discovery.Server.Tokens;
using Mimi.Discovery.Server.Transparency;

namespace Mimi.Discovery.Server.Apis;

/// <summary>
/// The mirroring API (docs/protocol.md §12, "Mirroring"): what an epoch changed, with the
/// statements, for the DPs this DP's operator lets mirror it. It lists identifiers, so only a key of
/// <see cref="DiscoveryOptions.MirrorKeyHashes"/> reads it.
/// </summary>
internal static class MirrorApi
{
    /// <summary>CSIs per page.</summary>
    public const int PageSize = 500;

    public static async Task<Results<Ok<MirrorEpoch>, ProblemHttpResult>> GetEpochAsync(long epoch, string? after, HttpContext context, TransparencyLog log, ILookupStore store,
        IOptions<DiscoveryOptions> options, CancellationToken cancellationToken)
    {
        var key = ApiKeys.FromBearer(context.Request.Headers.Authorization.ToString());
        if (key is null || !options.Value.MirrorKeyHashes.Contains(key, StringComparer.Ordinal))
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
            return new Problem("mirror-key-required", StatusCodes.Status401Unauthorized,
                "the mirroring API lists identifiers: send the mirror key this DP's operator gave yours (Authorization: Bearer mdk_…)").ToResult(context);
        }

        await log.RefreshAsync(epoch, cancellationToken).ConfigureAwait(false);
        if (epoch < 1 || epoch > log.Epoch)
        {
            return new Problem("unknown-epoch", StatusCodes.Status404NotFound, $"epochs run from 1 to {log.Epoch}").ToResult(context);
        }

        var changed = await store.GetChangedCsisAsync(epoch, cancellationToken).ConfigureAwait(false);
        var page = changed.Where(c => after is null || string.CompareOrdinal(c, after) > 0).Take(PageSize + 1).ToList();
        var csis = page.Take(PageSize).ToList();
        var committed = csis.Count == 0 ? [] : await store.GetCommittedAsync(csis, epoch, cancellationToken).ConfigureAwait(false);
        var changes = csis.Select(csi => new MirrorChange(csi, committed.Where(l => l.Csi == csi)
            .SelectMany(l => TransparencyLog.SplitStatements(l.Statements)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList())).ToList();
        return TypedResults.Ok(new MirrorEpoch(epoch, changes, page.Count > PageSize ? csis[^1] : null));
    }
}

using Microsoft.AspNetCore.Http.HttpResults;
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Server.Storage;
using Mimi.Discovery.Server.Tokens;
using Mimi.Discovery.Server.Transparency;
using Mimi.Discovery.Transparency;

namespace Mimi.Discovery.Server.Apis;

/// <summary>The transparency log's read API for monitors and auditors (docs/protocol.md §8).</summary>
internal static class TransparencyApi
{
    public static RouteGroupBuilder MapTransparencyApi(this RouteGroupBuilder v1)
    {
        var group = v1.MapGroup("/transparency").WithTags("Transparency");
        group.MapGet("/head", GetHeadAsync).WithName("TreeHead");
        group.MapGet("/consistency", GetConsistencyAsync).WithName("Consistency");
        group.MapGet("/epochs/{epoch:long}", GetEpochAsync).WithName("EpochChanges");
        group.MapGet("/history", GetHistoryAsync).WithName("LabelHistory");
        return v1;
    }

    private static async Task<Results<Ok<TreeHeadWire>, ProblemHttpResult>> GetHeadAsync(TransparencyLog log, CancellationToken cancellationToken)
    {
        try
        {
            await log.RefreshAsync(null, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (Hosting.StoreOutage.IsOutage(e))
        {
            // The last signed head is still true while the database is away; serve it.
        }

        return log.Head is { } head ? TypedResults.Ok(ProofWire.ToWire(head)) : NotReady();
    }

    // The sizes are read here, not bound, so a bad one is answered with the parameter's name.
    private static async Task<Results<Ok<ConsistencyWire>, ProblemHttpResult>> GetConsistencyAsync(string? from, string? to, TransparencyLog log, CancellationToken cancellationToken)
    {
        if (!TryReadSize(from, out var fromSize) || fromSize is null)
        {
            return new Problem("invalid-range", StatusCodes.Status400BadRequest, $"the query parameter 'from' must be a tree size (a decimal integer of at least 1); got '{Shorten(from)}'").ToResult();
        }

        if (!TryReadSize(to, out var toSize))
        {
            return new Problem("invalid-range", StatusCodes.Status400BadRequest, $"the query parameter 'to' must be a tree size (a decimal integer of at least 1) or absent; got '{Shorten(to)}'").ToResult();
        }

        return await ConsistencyAsync(fromSize.Value, toSize, log, cancellationToken).ConfigureAwait(false);
    }

    private static bool TryReadSize(string? text, out long? size)
    {
        size = null;
        if (text is null)
        {
            return true;
        }

        if (long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value))
        {
            size = value;
            return true;
        }

        return false;
    }

    private static string Shorten(string? text) => text is null ? "" : new string(text.Take(40).Select(c => char.IsControl(c) ? '?' : c).ToArray());

    private static async Task<Results<Ok<ConsistencyWire>, ProblemHttpResult>> ConsistencyAsync(long from, long? to, TransparencyLog log, CancellationToken cancellationToken)
    {
        await log.RefreshAsync(to, cancellationToken).ConfigureAwait(false);
        var size = to ?? log.Epoch;
        if (from < 1 || size > log.Epoch || from > size)
        {
            return new Problem("invalid-range", StatusCodes.Status400BadRequest, $"ask for 1 <= from <= to <= {log.Epoch}").ToResult();
        }

        return TypedResults.Ok(new ConsistencyWire(from, size, ProofWire.EncodeAll(log.ConsistencyProof(from, size))));
    }

    private static async Task<Results<Ok<EpochChanges>, ProblemHttpResult>> GetEpochAsync(long epoch, TransparencyLog log, ILookupStore store, CancellationToken cancellationToken)
    {
        await log.RefreshAsync(epoch, cancellationToken).ConfigureAwait(false);
        if (epoch < 1 || epoch > log.Epoch)
        {
            return new Problem("unknown-epoch", StatusCodes.Status404NotFound, $"epochs run from 1 to {log.Epoch}").ToResult();
        }

        var stored = (await store.GetEpochsAsync(epoch - 1, cancellationToken).ConfigureAwait(false))[0];
        var leaves = await store.GetLeavesAsync(epoch - 1, epoch, cancellationToken).ConfigureAwait(false);
        return TypedResults.Ok(new EpochChanges(epoch, stored.SealedAt, stored.PrefixRoot, leaves.Select(l => new LeafChange(l.SearchKey, l.Commitment)).ToList()));
    }

    private static async Task<Results<Ok<LabelHistory>, ProblemHttpResult>> GetHistoryAsync(string csi, string? scope, HttpContext context, ILookupGate gate, TransparencyLog log, ILookupStore store, ICsipStore csips, CancellationToken cancellationToken)
    {
        var parsed = CsiParser.Parse(csi);
        if (!parsed.Success)
        {
            return Problem.InvalidRequest("csi: " + Problem.CsiErrorText(parsed.Error)).ToResult();
        }

        scope ??= Labels.AnyScope;
        if (scope != Labels.AnyScope && !(scope.StartsWith("svc:", StringComparison.Ordinal) && Statements.MspEntry.IsValidServiceId(scope[4..])))
        {
            return Problem.InvalidRequest("scope is 'any' or 'svc:<service id>'").ToResult();
        }

        // A history shows the label's statements: it passes the same gate as a lookup of the CSI
        // (a token when tokens are required), and a service's label only for that service.
        var (refused, _) = await gate.AdmitAsync(context, new LookupRequest([csi], scope == Labels.AnyScope ? null : scope[4..]), cancellationToken).ConfigureAwait(false);
        if (refused is not null)
        {
            return refused;
        }

        await log.RefreshAsync(null, cancellationToken).ConfigureAwait(false);
        if (log.Head is not { } head)
        {
            return NotReady();
        }

        var (label, versions) = await store.GetHistoryAsync(parsed.Csi!.Uri, scope, head.Size, cancellationToken).ConfigureAwait(false);
        var vrf = label is null ? log.Vrf(parsed.Csi.Uri, scope).Proof : ProofWire.Decode(label.VrfProof);
        var epochs = versions.Count == 0 ? [] : (await store.GetEpochsAsync(versions.Min(v => v.Epoch) - 1, cancellationToken).ConfigureAwait(false)).ToDictionary(e => e.Epoch);
        var list = versions.Select(v => new LabelVersion(
            v.Version, v.Epoch, epochs[v.Epoch].SealedAt, epochs[v.Epoch].PrefixRoot, ProofWire.EncodeAll(log.InclusionProof(v.Epoch, head.Size)),
            ProofWire.EncodeAll(ProofWire.Decode(v.Path).Chunk(PrefixTree.HashSize)), v.Commitment, v.Opening,
            v.Statements is null ? null : TransparencyLog.SplitStatements(v.Statements))).ToList();
        // Who removed: the log commits the set of statements, the DP's records say which CSIP emptied it.
        var acts = await csips.GetCsipActsAsync(parsed.Csi.Uri, cancellationToken).ConfigureAwait(false);
        return TypedResults.Ok(new LabelHistory(parsed.Csi.Uri, scope, ProofWire.Encode(vrf), ProofWire.ToWire(head), list)
        {
            CsipRemovals = acts.Count == 0 ? null : acts.Select(a => new CsipRemoval(a.Csip, a.MappingId, a.ActedAt, a.Feed)).ToList(),
        });
    }

    private static ProblemHttpResult NotReady() =>
        new Problem("log-not-ready", StatusCodes.Status503ServiceUnavailable, "the transparency log has no epoch yet; try again in a moment").ToResult();
}

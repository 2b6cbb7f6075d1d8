using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Options;
using Mimi.Discovery.Client;
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Server.Hosting;
using Mimi.Discovery.Server.Mappings;
using Mimi.Discovery.Server.Storage;
using Mimi.Discovery.Statements;
using Mimi.Discovery.Transparency;
using Mimi.Discovery.Verification;

namespace Mimi.Discovery.Server.Federation;

/// <summary>
/// Mirrors the mappings of the peers whose operators gave this DP a mirror key (docs/protocol.md §12,
/// "Mirroring"): every <see cref="DiscoveryOptions.MirrorInterval"/> it reads each such peer's signed
/// tree head, then the peer's epochs after the last one mirrored (a cursor in the database), page by
/// page, and makes this DP's copy of each changed CSI what the peer committed: statements that verify
/// against the peer's pinned CAs are stored (and sealed into this DP's own log like any mapping); the
/// peer's statements this DP holds that the peer no longer commits are removed. A statement that does
/// not verify is never stored. Applying an epoch twice changes nothing, so a crash between applying
/// and moving the cursor is harmless.
/// </summary>
internal sealed partial class MirrorPuller : BackgroundService
{
    private readonly List<Mirrored> _peers = [];
    private readonly IDiscoveryStore _store;
    private readonly TimeProvider _time;
    private readonly TimeSpan _interval;
    private readonly ILogger<MirrorPuller> _logger;

    public MirrorPuller(IOptions<DiscoveryOptions> options, IDiscoveryStore store, TimeProvider time, ILogger<MirrorPuller> logger)
    {
        _store = store;
        _time = time;
        _interval = options.Value.MirrorInterval;
        _logger = logger;
        foreach (var o in options.Value.Peers.Where(p => p.MirrorKey is not null))
        {
            var http = new HttpClient(o.TlsHandler()) { BaseAddress = o.Origin, Timeout = TimeSpan.FromSeconds(30) };
            http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", o.MirrorKey);
            var cas = o.CredentialAnchors();
            _peers.Add(new Mirrored(o.Origin.ToString(), new DiscoveryClient(http), new StatementVerifier(cas, time), TransparencyKeyset.FromWire(o.TransparencyKeys)!, cas.Certificates));
        }
    }

    /// <summary>The credential CAs of the mirrored peers: this DP serves statements issued under them, so its metadata lists them.</summary>
    public IReadOnlyList<X509Certificate2> MirroredCas => [.. _peers.SelectMany(p => p.Cas)];

    /// <summary>Pulls every mirrored peer up to its current tree head; returns how many CSIs' copies changed. A peer that fails is logged and tried again next time.</summary>
    public async Task<int> PullAsync(CancellationToken cancellationToken)
    {
        var applied = 0;
        foreach (var peer in _peers)
        {
            try
            {
                applied += await PullAsync(peer, cancellationToken).ConfigureAwait(false);
            }
            catch (DiscoveryException e)
            {
                LogPullFailed(_logger, peer.Origin, e.Code ?? "unreachable");
            }
        }

        return applied;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_peers.Count == 0)
        {
            return;
        }

        using var timer = new PeriodicTimer(_interval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await PullAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is System.Data.Common.DbException or TimeoutException)
                {
                    LogPullFailed(_logger, "*", FailureLog.Describe(e));
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    private async Task<int> PullAsync(Mirrored peer, CancellationToken cancellationToken)
    {
        var head = ProofWire.Head(await peer.Client.GetTreeHeadAsync(cancellationToken).ConfigureAwait(false));
        if (head is null || !head.VerifySignature(peer.Keys.LogKey))
        {
            LogPullFailed(_logger, peer.Origin, "bad-tree-head");
            return 0;
        }

        var applied = 0;
        for (var epoch = await _store.GetMirrorCursorAsync(peer.Origin, cancellationToken).ConfigureAwait(false) + 1; epoch <= head.Size; epoch++)
        {
            string? after = null;
            do
            {
                var page = await peer.Client.GetMirrorEpochAsync(epoch, after, cancellationToken).ConfigureAwait(false);
                if (page.Epoch != epoch || (page.Next is not null && string.CompareOrdinal(page.Next, after) <= 0))
                {
                    LogPullFailed(_logger, peer.Origin, "inconsistent-page");
                    return applied;
                }

                foreach (var change in page.Changes)
                {
                    applied += await ApplyAsync(peer, change, cancellationToken).ConfigureAwait(false) ? 1 : 0;
                }

                after = page.Next;
            }
            while (after is not null);

            await _store.SetMirrorCursorAsync(peer.Origin, epoch, cancellationToken).ConfigureAwait(false);
        }

        return applied;
    }

    /// <summary>Makes this DP's copy of one CSI what the peer committed; returns whether anything changed.</summary>
    private async Task<bool> ApplyAsync(Mirrored peer, Protocol.MirrorChange change, CancellationToken cancellationToken)
    {
        if (CsiParser.Parse(change.Csi) is not { Success: true, Csi: { } csi })
        {
            LogSkipped(_logger, peer.Origin, "not a CSI");
            return false;
        }

        var desired = new List<MappingStatement>();
        foreach (var statement in change.Statements ?? [])
        {
            var verified = peer.Verifier.VerifyMapping(statement);
            if (verified.IsValid && verified.Statement.Csi == csi)
            {
                desired.Add(verified.Statement);
            }
            else
            {
                // Never stored: a statement that does not verify (or an expired one) is not served.
                LogSkipped(_logger, peer.Origin, verified.IsValid ? "another CSI's statement" : verified.Status.ToString());
            }
        }

        var changed = false;
        foreach (var statement in desired)
        {
            // Supersession is the peer's business: its result arrives as the statements it keeps.
            changed |= (await _store.PublishAsync(MappingService.RowOf(statement), supersede: false, cancellationToken).ConfigureAwait(false)).Status == PublishStatus.Stored;
        }

        // The peer's statements held here that it no longer commits: removed, as at the peer.
        var kept = desired.Select(s => s.Id.ToString()).ToHashSet(StringComparer.Ordinal);
        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        foreach (var row in await _store.GetMappingsAsync(csi.Uri, cancellationToken).ConfigureAwait(false))
        {
            if (row.Statement is not null && !kept.Contains(row.MappingId) && peer.Verifier.VerifyMapping(row.Statement).IsValid)
            {
                var removed = await _store.RemoveAsync(csi.Uri, [new RemovalTarget(row.MappingId, row.Version, row.Version)], now, null, cancellationToken).ConfigureAwait(false);
                changed |= removed.Removed.Count > 0;
            }
        }

        return changed;
    }

    // The peer and a reason only: never a CSI or a statement.
    [LoggerMessage(EventId = 901, Level = LogLevel.Warning, Message = "Mirroring {Peer} stopped for now: {Reason}")]
    private static partial void LogPullFailed(ILogger logger, string peer, string reason);

    [LoggerMessage(EventId = 902, Level = LogLevel.Warning, Message = "A statement mirrored from {Peer} was not stored: {Reason}")]
    private static partial void LogSkipped(ILogger logger, string peer, string reason);

    private sealed record Mirrored(string Origin, DiscoveryClient Client, StatementVerifier Verifier, TransparencyKeyset Keys, IReadOnlyList<X509Certificate2> Cas);
}

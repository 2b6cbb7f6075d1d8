using Microsoft.Extensions.Options;
using Mimi.Discovery.Client;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Server.Hosting;
using Mimi.Discovery.Transparency;
using Mimi.Discovery.Verification;

namespace Mimi.Discovery.Server.Federation;

/// <summary>
/// The DP's peers (docs/protocol.md §12): each lookup this DP serves is also asked of every peer, in
/// parallel under <see cref="DiscoveryOptions.PeerTimeout"/>, as this DP (paying with its own
/// tokens when a peer requires them, so no peer learns who the sender is). Each peer's answer is
/// verified here against the CAs and transparency keys pinned in the peer's configuration —
/// statements, completeness proofs, and consistency with the last tree head this DP saw from it — and
/// passed along unchanged when it verifies; a peer that is slow, down or lying is reported with its
/// status and left out. A peer's request carries <see cref="FederationHeader"/>, and a DP answers such
/// a request from its own data only: one hop, so peers of peers are never asked and no loop can form.
/// </summary>
internal sealed partial class PeerSet : IDisposable
{
    /// <summary>The request header that marks a lookup as asked by a peer.</summary>
    public const string FederationHeader = "Mimi-Federation";

    /// <summary>Its value.</summary>
    public const string FederationValue = "peer";

    private readonly List<Peer> _peers = [];
    private readonly TimeSpan _timeout;
    private readonly ILogger<PeerSet> _logger;

    public PeerSet(IOptions<DiscoveryOptions> options, TimeProvider time, ILogger<PeerSet> logger)
    {
        _timeout = options.Value.PeerTimeout;
        _logger = logger;
        var memory = new TreeHeadMemory();
        // A mirrored peer (MirrorPuller) is answered from the local copy, not asked again with each lookup.
        foreach (var o in options.Value.Peers.Where(p => p.MirrorKey is null))
        {
            var url = o.Origin;
            HttpMessageHandler handler = o.TlsHandler();
            TokenWallet? wallet = null;
            if (o.ApiKey is not null)
            {
                var issuer = new HttpClient(o.TlsHandler()) { BaseAddress = url };
                wallet = new TokenWallet(new TokenClient(issuer, o.ApiKey));
                handler = new PrivateTokenHandler(wallet, handler);
            }

            var http = new HttpClient(handler) { BaseAddress = url, Timeout = Timeout.InfiniteTimeSpan };
            http.DefaultRequestHeaders.Add(FederationHeader, FederationValue);
            var cas = o.CredentialAnchors();
            var keys = o.TransparencyKeys;
            _peers.Add(new Peer(url, new DiscoveryClient(http), new StatementVerifier(cas, time),
                new TransparencyCheck(TransparencyKeyset.FromWire(keys)!, memory, TimeSpan.FromDays(1), time), wallet,
                new PeerInfo(url.ToString(), cas.Certificates.Select(c => c.ExportCertificatePem()).ToList(), keys)));
        }
    }

    /// <summary>Whether this DP has peers.</summary>
    public bool Any => _peers.Count > 0;

    /// <summary>The peers as the metadata describes them, for senders to verify their answers again.</summary>
    public IReadOnlyList<PeerInfo> Info => _peers.Select(p => p.Info).ToList();

    /// <summary>
    /// Asks every peer for <paramref name="csis"/> (canonical CSI URIs) on behalf of
    /// <paramref name="service"/>; one answer per peer, in configuration order. Never throws for what
    /// a peer does.
    /// </summary>
    public async Task<IReadOnlyList<PeerAnswer>> AskAsync(IReadOnlyList<string> csis, string? service, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_timeout);
        return await Task.WhenAll(_peers.Select(p => AskAsync(p, csis, service, deadline.Token, cancellationToken))).ConfigureAwait(false);
    }

    public void Dispose()
    {
        foreach (var p in _peers)
        {
            p.Wallet?.Dispose();
            p.Client.Http.Dispose();
        }
    }

    private async Task<PeerAnswer> AskAsync(Peer peer, IReadOnlyList<string> csis, string? service, CancellationToken deadline, CancellationToken cancellationToken)
    {
        var dp = peer.Url.ToString();
        if (csis.Count == 0)
        {
            return new PeerAnswer(dp, PeerStatuses.Answered, Response: new LookupResponse([]));
        }

        try
        {
            var known = peer.Transparency.Memory.Get(peer.Url);
            var response = await peer.Client.LookupRawAsync(new LookupRequest(csis, service, known?.Size), deadline).ConfigureAwait(false);
            var verified = DiscoveryClient.Verify(response, csis, peer.Verifier, service, peer.Transparency, peer.Url, known);
            if (verified.FirstOrDefault(v => v.Proof is not { IsComplete: true }) is { } unproven)
            {
                return Refused(peer, $"{unproven.Csi}: {unproven.Proof?.Status.ToString() ?? "no proof"}: {unproven.Proof?.Reason ?? "the peer sent no transparency proof"}");
            }

            if (verified.FirstOrDefault(v => v.Inconsistent) is { } forged)
            {
                return Refused(peer, forged.Rejected.Count > 0
                    ? $"{forged.Csi}: {forged.Rejected[0].Status}: {forged.Rejected[0].Reason}"
                    : $"{forged.Csi}: the peer claimed '{forged.ClaimedResult}' and its statements say otherwise");
            }

            return new PeerAnswer(dp, PeerStatuses.Answered, Response: response with { Peers = null });
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            LogPeerFailed(_logger, dp, PeerStatuses.TimedOut);
            return new PeerAnswer(dp, PeerStatuses.TimedOut, $"no answer within {_timeout.TotalMilliseconds:0} ms");
        }
        catch (DiscoveryException e)
        {
            LogPeerFailed(_logger, dp, e.Code ?? "unreachable");
            return new PeerAnswer(dp, PeerStatuses.Failed, e.Message);
        }
    }

    private PeerAnswer Refused(Peer peer, string reason)
    {
        LogPeerFailed(_logger, peer.Url.ToString(), PeerStatuses.Refused);
        return new PeerAnswer(peer.Url.ToString(), PeerStatuses.Refused, reason);
    }

    // The peer and the status only: a peer's answer names the CSIs asked.
    [LoggerMessage(EventId = 900, Level = LogLevel.Warning, Message = "Peer {Peer} left out of a lookup: {Status}")]
    private static partial void LogPeerFailed(ILogger logger, string peer, string status);

    private sealed record Peer(Uri Url, DiscoveryClient Client, StatementVerifier Verifier, TransparencyCheck Transparency, TokenWallet? Wallet, PeerInfo Info);
}

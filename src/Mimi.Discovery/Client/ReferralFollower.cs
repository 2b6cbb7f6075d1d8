using System.Collections.Concurrent;
using Mimi.Discovery.Federation;
using Mimi.Discovery.Transparency;
using Mimi.Discovery.Verification;

namespace Mimi.Discovery.Client;

/// <summary>One CSI's answer after following referrals.</summary>
/// <param name="Answer">The last DP's verified answer; <see cref="LookupOutcome.Referral"/> only when the chain stopped early (see <paramref name="Failure"/>).</param>
/// <param name="Chain">The DPs asked, from the first to the one that answered.</param>
/// <param name="Failure">Why the chain stopped before an authoritative answer (a loop, too deep, a delegate unreachable); null when it reached one.</param>
public sealed record FollowedLookup(VerifiedLookup Answer, IReadOnlyList<Uri> Chain, string? Failure = null);

/// <summary>
/// Looks CSIs up like a resolver follows DNS delegations (docs/protocol.md §11): asks the first DP,
/// and for each CSI it refers — with a delegation that verified against that DP's log key and log —
/// asks the delegate, trusting the delegate's CAs only for the delegated scope and checking its
/// completeness proofs with the keys the delegation names. Stops at <see cref="MaxDepth"/> referrals
/// or when a DP repeats; every answer reports the chain it followed.
/// </summary>
public sealed class ReferralFollower
{
    private readonly ProviderEndpoint _first;
    private readonly Func<Delegation, TransparencyCheck, ProviderEndpoint> _connect;
    private readonly ConcurrentDictionary<string, (ProviderEndpoint Endpoint, DateTimeOffset Until)> _delegates = new(StringComparer.Ordinal);

    /// <summary>Follows referrals from <paramref name="first"/>, which must check transparency (referrals are verified with its log key).</summary>
    /// <param name="first">The DP asked first (a root, or any DP).</param>
    /// <param name="connect">
    /// How to reach a delegate: given the verified delegation and the transparency check for its keys,
    /// the endpoint to ask (its client decides relay and tokens). Null connects directly over HTTPS,
    /// trusting the delegation's TLS certificates (or the system's), with a verifier of its CAs. A
    /// <see cref="DiscoveryException"/> it throws fails the CSIs referred to that delegate, with its message.
    /// </param>
    /// <exception cref="ArgumentException"><paramref name="first"/> has no transparency check.</exception>
    public ReferralFollower(ProviderEndpoint first, Func<Delegation, TransparencyCheck, ProviderEndpoint>? connect = null)
    {
        ArgumentNullException.ThrowIfNull(first);
        if (first.Transparency is null)
        {
            throw new ArgumentException("Referrals are verified against the DP's transparency log: give the first DP a TransparencyCheck.", nameof(first));
        }

        _first = first;
        _connect = connect ?? ((delegation, check) => ConnectDirectly(delegation, check, Timeout));
    }

    /// <summary>The most referrals followed for one CSI (default 4).</summary>
    public int MaxDepth { get; init; } = 4;

    /// <summary>How long a delegate reached by the default connection may take to answer (default 10 s); a slower one fails only the CSIs referred to it.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Looks <paramref name="csis"/> up, following referrals; one answer per query, in order. A batch
    /// goes to each DP at most once per level: the CSIs referred to the same delegate travel together.
    /// </summary>
    /// <exception cref="DiscoveryException">The first DP refused the lookup.</exception>
    public async Task<IReadOnlyList<FollowedLookup>> LookupAsync(IReadOnlyList<string> csis, string? service = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(csis);
        var first = await _first.Client.LookupAsync(csis, _first.Verifier, service, _first.Transparency, cancellationToken).ConfigureAwait(false);
        return await FollowAsync(first, service, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Follows the referrals among <paramref name="first"/> — answers of the first DP, verified with its
    /// transparency check — and returns one answer per given one, in order (those that are not
    /// referrals unchanged, with the first DP as their chain).
    /// </summary>
    public async Task<IReadOnlyList<FollowedLookup>> FollowAsync(IReadOnlyList<VerifiedLookup> first, string? service = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(first);
        var answers = first.Select(a => new FollowedLookup(a, [_first.Url])).ToArray();
        for (var depth = 0; depth < MaxDepth; depth++)
        {
            var referred = answers.Select((a, i) => (a, i)).Where(x => x.a.Failure is null && x.a.Answer.Outcome == LookupOutcome.Referral).ToList();
            if (referred.Count == 0)
            {
                return answers;
            }

            foreach (var group in referred.GroupBy(x => x.a.Answer.Referral!.Token, StringComparer.Ordinal))
            {
                var delegation = group.First().a.Answer.Referral!;
                var asking = new List<(FollowedLookup a, int i)>();
                foreach (var (a, i) in group)
                {
                    if (a.Chain.Any(dp => Mimi.Discovery.Identifiers.HttpsOrigin.Of(dp) == Mimi.Discovery.Identifiers.HttpsOrigin.Of(delegation.Dp)))
                    {
                        answers[i] = a with { Failure = $"referral loop: {delegation.Dp} was asked already ({string.Join(" → ", a.Chain)})" };
                    }
                    else
                    {
                        asking.Add((a, i));
                    }
                }

                if (asking.Count == 0)
                {
                    continue;
                }

                IReadOnlyList<VerifiedLookup> next;
                try
                {
                    var endpoint = Delegate(delegation);
                    next = await endpoint.Client.LookupAsync(asking.Select(x => x.a.Answer.Csi!.Uri).ToList(), endpoint.Verifier, service, endpoint.Transparency, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is DiscoveryException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
                {
                    var why = e is DiscoveryException ? e.Message : $"no answer within {Timeout.TotalSeconds:0} s";
                    foreach (var (a, i) in asking)
                    {
                        answers[i] = a with { Failure = $"the delegate {delegation.Dp} did not answer: {why}" };
                    }

                    continue;
                }

                for (var k = 0; k < asking.Count; k++)
                {
                    var (a, i) = asking[k];
                    answers[i] = new FollowedLookup(InScope(next[k] with { Query = a.Answer.Query }, delegation), [.. a.Chain, delegation.Dp]);
                }
            }
        }

        return answers.Select(a => a.Failure is null && a.Answer.Outcome == LookupOutcome.Referral
            ? a with { Failure = $"more than {MaxDepth} referrals" }
            : a).ToArray();
    }

    /// <summary>A delegate's statements count only for the identifiers delegated to it.</summary>
    private static VerifiedLookup InScope(VerifiedLookup answer, Delegation delegation)
    {
        var outside = answer.Mappings.Where(m => !delegation.Scope.Covers(m.Csi)).ToList();
        if (outside.Count == 0)
        {
            return answer;
        }

        var kept = answer.Mappings.Except(outside).ToList();
        return answer with
        {
            Mappings = kept,
            Outcome = kept.Count == 0 ? LookupOutcome.None : kept.All(m => m.IsOptOut) ? LookupOutcome.OptedOut : LookupOutcome.Found,
            Rejected = [.. answer.Rejected, .. outside.Select(m => new RejectedStatement(m.Token, VerificationStatus.OutOfScope, $"{delegation.Dp} is delegated {delegation.Scope}, not {m.Csi}"))],
        };
    }

    private ProviderEndpoint Delegate(Delegation delegation)
    {
        var now = _first.Transparency!.Time.GetUtcNow();
        var key = delegation.Token;
        if (_delegates.TryGetValue(key, out var held) && held.Until > now)
        {
            return held.Endpoint;
        }

        var keys = TransparencyKeyset.FromWire(delegation.Transparency)!;
        var check = _first.Transparency with { Keys = keys };
        var endpoint = _connect(delegation, check);
        _delegates[key] = (endpoint, delegation.ExpiresAt);
        return endpoint;
    }

    private static ProviderEndpoint ConnectDirectly(Delegation delegation, TransparencyCheck check, TimeSpan timeout)
    {
        var roots = delegation.TlsTrust.Count == 0 ? null : new System.Security.Cryptography.X509Certificates.X509Certificate2Collection(delegation.TlsTrust.ToArray());
        var http = new HttpClient(TlsTrust.CreateHandler(roots)) { BaseAddress = delegation.Dp, Timeout = timeout };
        return new ProviderEndpoint(delegation.Dp, new DiscoveryClient(http), new StatementVerifier(new TrustAnchors(delegation.CredentialCas), check.Time), check);
    }
}

using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Statements;
using Mimi.Discovery.Verification;

namespace Mimi.Discovery.Client;

/// <summary>What a sender concludes about one CSI after verifying the DP's answer itself (R5).</summary>
public enum LookupOutcome
{
    /// <summary>At least one verified mapping lists a messaging service.</summary>
    Found,

    /// <summary>Verified mappings exist and every one lists no service.</summary>
    OptedOut,

    /// <summary>No verified mapping.</summary>
    None,

    /// <summary>The query is not a CSI.</summary>
    Invalid,

    /// <summary>The DP is not authoritative for the CSI and referred to the DP that is: <see cref="VerifiedLookup.Referral"/> (verified).</summary>
    Referral,
}

/// <summary>A statement the DP returned that the sender refused, and why.</summary>
public sealed record RejectedStatement(string Statement, VerificationStatus Status, string Reason);

/// <summary>One CSI's verified lookup result.</summary>
/// <param name="Query">The identifier as asked.</param>
/// <param name="Csi">Its canonical form, when valid.</param>
/// <param name="Outcome">Derived from the statements that verified, never from the DP's claim alone.</param>
/// <param name="Mappings">The statements that verified, for this CSI and visible to the querying service.</param>
/// <param name="Rejected">Statements the DP returned that did not verify or do not belong here.</param>
/// <param name="ClaimedResult">What the DP said (<c>found</c>, <c>opted-out</c>, …).</param>
/// <param name="Reason">For <see cref="LookupOutcome.Invalid"/>, why.</param>
public sealed record VerifiedLookup(
    string Query,
    Csi? Csi,
    LookupOutcome Outcome,
    IReadOnlyList<MappingStatement> Mappings,
    IReadOnlyList<RejectedStatement> Rejected,
    string ClaimedResult,
    string? Reason)
{
    /// <summary>The transparency check of this answer: complete (with the epoch) or why not; null when not checked.</summary>
    public Transparency.ProofVerdict? Proof { get; init; }

    /// <summary>For <see cref="LookupOutcome.Referral"/>: the verified delegation naming the DP to ask next.</summary>
    public Federation.Delegation? Referral { get; init; }

    /// <summary>How long (seconds) the DP allows this answer to be reused (<see cref="Protocol.LookupResult.MaxAge"/>); null when it said nothing.</summary>
    public long? MaxAge { get; init; }

    /// <summary>Whether the DP's claimed result disagrees with what the statements prove, or it sent statements that failed.</summary>
    public bool Inconsistent => Rejected.Count > 0 || !string.Equals(ClaimedResult, OutcomeName(Outcome), StringComparison.Ordinal);

    /// <summary>The querying service the lookup was made for (null: anonymous); it decides which entries are shown (<see cref="MappingStatement.EntriesFor"/>).</summary>
    public string? QueryingService { get; init; }

    /// <summary>Every verified entry across mappings that the querying service may see (per-entry audiences applied), in the order a sender should try them.</summary>
    public IEnumerable<(MappingStatement Mapping, MspEntry Entry)> EntriesByPreference =>
        Mappings.SelectMany(m => m.EntriesFor(QueryingService).Select(e => (m, e)))
            .OrderByDescending(p => p.e.IsDefault).ThenBy(p => p.e.Priority);

    /// <summary>
    /// The routes this sender may use, for <see cref="RoutePicker"/>: every entry of <see cref="EntriesByPreference"/>, then the
    /// sealed routes that open with <paramref name="routeKeys"/> (<see cref="SealedRoutes.Open"/>; docs/protocol.md §2, "Sealed routes").
    /// A box no key opens is left out, never an exception.
    /// </summary>
    /// <param name="routeKeys">The route keys the sender holds (any CSI: only those for this one are tried); none by default.</param>
    public IReadOnlyList<Route> Routes(IEnumerable<RouteKey>? routeKeys = null) =>
        [.. EntriesByPreference.Select(p => new Route(p.Mapping, p.Entry)), .. SealedRoutes.Open(Mappings, routeKeys ?? [])];

    internal static string OutcomeName(LookupOutcome outcome) => outcome switch
    {
        LookupOutcome.Found => Protocol.LookupResultKinds.Found,
        LookupOutcome.OptedOut => Protocol.LookupResultKinds.OptedOut,
        LookupOutcome.None => Protocol.LookupResultKinds.None,
        LookupOutcome.Referral => Protocol.LookupResultKinds.Referral,
        _ => Protocol.LookupResultKinds.Invalid,
    };
}

/// <summary>One peer's part in a federated lookup, as the sender verified it (docs/protocol.md §12).</summary>
/// <param name="Dp">The peer.</param>
/// <param name="Status">One of <see cref="Protocol.PeerStatuses"/>: the federating DP's verdict, or <c>refused</c> when its answer did not verify here.</param>
/// <param name="Detail">Why a peer did not answer or was refused.</param>
/// <param name="Answers">For <c>answered</c>: its verified answers, one per CSI the federating DP asked (canonical), in that order.</param>
public sealed record PeerResult(Uri Dp, string Status, string? Detail, IReadOnlyList<VerifiedLookup> Answers);

/// <summary>A federated lookup's answer: the DP's own, and each peer's.</summary>
/// <param name="Own">The federating DP's answers, one per query, in order.</param>
/// <param name="Peers">Each peer's part.</param>
public sealed record FederatedAnswer(IReadOnlyList<VerifiedLookup> Own, IReadOnlyList<PeerResult> Peers)
{
    /// <summary>Whether a peer timed out, failed or was refused, so mappings it holds may be missing.</summary>
    public bool Partial => Peers.Any(p => p.Status != Protocol.PeerStatuses.Answered);

    /// <summary>
    /// Every verified mapping for query <paramref name="index"/>, from the DP and its peers, merged by
    /// mapping id (the highest version wins), with where each came from.
    /// </summary>
    public IReadOnlyList<(MappingStatement Mapping, Uri? From)> Mappings(int index)
    {
        var own = Own[index];
        var merged = new Dictionary<string, (MappingStatement Mapping, Uri? From)>(StringComparer.Ordinal);
        void Add(IEnumerable<MappingStatement> mappings, Uri? from)
        {
            foreach (var m in mappings)
            {
                var id = m.Id.ToString();
                if (!merged.TryGetValue(id, out var held) || held.Mapping.Version < m.Version)
                {
                    merged[id] = (m, from);
                }
            }
        }

        Add(own.Mappings, null);
        if (own.Csi is { } csi)
        {
            foreach (var peer in Peers)
            {
                Add(peer.Answers.Where(a => a.Csi == csi).SelectMany(a => a.Mappings), peer.Dp);
            }
        }

        return [.. merged.Values];
    }
}

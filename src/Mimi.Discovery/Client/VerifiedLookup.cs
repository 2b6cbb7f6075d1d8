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

    /// <summary>How long (seconds) the DP allows this answer to be reused (<see cref="Protocol.LookupResult.MaxAge"/>); null when it said nothing.</summary>
    public long? MaxAge { get; init; }

    /// <summary>Whether the DP's claimed result disagrees with what the statements prove, or it sent statements that failed.</summary>
    public bool Inconsistent => Rejected.Count > 0 || !string.Equals(ClaimedResult, OutcomeName(Outcome), StringComparison.Ordinal);

    /// <summary>Every verified entry across mappings, in the order a sender should try them.</summary>
    public IEnumerable<(MappingStatement Mapping, MspEntry Entry)> EntriesByPreference =>
        Mappings.SelectMany(m => m.Entries.Select(e => (m, e)))
            .OrderByDescending(p => p.e.IsDefault).ThenBy(p => p.e.Priority);

    internal static string OutcomeName(LookupOutcome outcome) => outcome switch
    {
        LookupOutcome.Found => Protocol.LookupResultKinds.Found,
        LookupOutcome.OptedOut => Protocol.LookupResultKinds.OptedOut,
        LookupOutcome.None => Protocol.LookupResultKinds.None,
        _ => Protocol.LookupResultKinds.Invalid,
    };
}

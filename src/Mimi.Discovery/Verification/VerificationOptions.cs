namespace Mimi.Discovery.Verification;

/// <summary>Limits and tolerances of a <see cref="StatementVerifier"/>.</summary>
public sealed record VerificationOptions
{
    /// <summary>Longest compact JWS accepted, in characters (default 16 KiB).</summary>
    public int MaxStatementLength { get; init; } = 16 * 1024;

    /// <summary>Most certificates in an <c>x5c</c> header (credential plus intermediates).</summary>
    public int MaxChainLength { get; init; } = 4;

    /// <summary>
    /// How many credentials (x5c chains) to remember parsed and, once their chain to an anchor has
    /// been built, trusted for the part of their validity that all chain certificates share.
    /// 0 turns the cache off. A sender re-verifying the same recipients then pays one ECDSA
    /// verification per statement instead of a certificate parse and chain build.
    /// </summary>
    public int CredentialCacheSize { get; init; } = 4096;

    /// <summary>How far a statement's issue time may lie in the verifier's future (clock skew).</summary>
    public TimeSpan ClockSkew { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Revocation lists (docs/protocol.md §15): a statement, caller assertion, invitation or revocation
    /// signed under a credential they list is refused with <see cref="VerificationStatus.Revoked"/>.
    /// None by default: revocation is then not checked.
    /// </summary>
    public RevocationSet? Revocations { get; init; }
}

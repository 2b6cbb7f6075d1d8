namespace Mimi.Discovery.Verification;

/// <summary>Limits and tolerances of a <see cref="StatementVerifier"/>.</summary>
public sealed record VerificationOptions
{
    /// <summary>Longest compact JWS accepted, in characters (default 16 KiB).</summary>
    public int MaxStatementLength { get; init; } = 16 * 1024;

    /// <summary>Most certificates in an <c>x5c</c> header (credential plus intermediates).</summary>
    public int MaxChainLength { get; init; } = 4;

    /// <summary>How far a statement's issue time may lie in the verifier's future (clock skew).</summary>
    public TimeSpan ClockSkew { get; init; } = TimeSpan.FromMinutes(5);
}

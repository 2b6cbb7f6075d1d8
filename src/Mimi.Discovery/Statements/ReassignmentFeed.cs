using Mimi.Discovery.Credentials;
using Mimi.Discovery.Identifiers;

namespace Mimi.Discovery.Statements;

/// <summary>One identifier that changed hands (R10): its CSI and when the CSIP gave it to a new holder.</summary>
/// <param name="Csi">The reassigned CSI.</param>
/// <param name="At">When it changed hands (whole seconds; a feed carries Unix seconds). Credentials issued before this time are the previous holder's.</param>
public sealed record Reassignment(Csi Csi, DateTimeOffset At);

/// <summary>
/// A verified reassignment feed (docs/protocol.md §16): a CSIP's signed list of identifiers that
/// changed hands. A DP applies it in one transaction: for each CSI the CSIP's scope covers, it removes
/// the mappings whose credential was issued before <see cref="Reassignment.At"/> and refuses such
/// credentials from then on; each CSI outside the scope is refused on its own.
/// </summary>
public sealed class ReassignmentFeed
{
    internal ReassignmentFeed(string token, string id, DateTimeOffset issuedAt, IReadOnlyList<Reassignment> reassignments, string signerThumbprint, Credential credential)
    {
        Token = token;
        Id = id;
        IssuedAt = issuedAt;
        Reassignments = reassignments;
        SignerThumbprint = signerThumbprint;
        Credential = credential;
    }

    /// <summary>Media type of a feed's JWS (<c>typ</c> header).</summary>
    public const string MediaType = "mimi-reassignments+jws";

    /// <summary>Most identifiers in one feed: 10,000.</summary>
    public const int MaxReassignments = 10_000;

    /// <summary>Longest feed (compact JWS), in characters: 4 MiB.</summary>
    public const int MaxLength = 4 << 20;

    /// <summary>The compact JWS exactly as signed.</summary>
    public string Token { get; }

    /// <summary>The feed's <c>jti</c>: 1–128 of A–Z a–z 0–9 - _; a DP applies a feed id once.</summary>
    public string Id { get; }

    /// <summary>When the feed was signed (<c>iat</c>); a DP refuses a feed older than its maximum age.</summary>
    public DateTimeOffset IssuedAt { get; }

    /// <summary>The identifiers that changed hands, in feed order, each CSI once.</summary>
    public IReadOnlyList<Reassignment> Reassignments { get; }

    /// <summary>RFC 7638 thumbprint of the signing key.</summary>
    public string SignerThumbprint { get; }

    /// <summary>The CSIP credential the feed was signed under.</summary>
    public Credential Credential { get; }

    /// <summary>Whether a feed id has the allowed form (1–128 of A–Z a–z 0–9 - _).</summary>
    public static bool IsValidId(string? id) =>
        id is { Length: > 0 and <= 128 } && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');
}

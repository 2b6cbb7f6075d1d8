using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Mimi.Discovery.Credentials;
using Mimi.Discovery.Identifiers;

namespace Mimi.Discovery.Statements;

// docs/protocol.md §15: revocation of a credential. The reasons are RFC 5280 §5.3.1 CRLReason
// values, with the same numbers, so a DP copies them into its CRL entries unchanged.

/// <summary>Why a credential is revoked: the RFC 5280 §5.3.1 CRLReason values a credential's holder or CSIP may give.</summary>
public enum RevocationReason
{
    /// <summary><c>unspecified</c> (0).</summary>
    Unspecified = 0,

    /// <summary><c>keyCompromise</c> (1): the key was lost or stolen (a lost device).</summary>
    KeyCompromise = 1,

    /// <summary><c>affiliationChanged</c> (3): the identifier now belongs to someone else (reassignment).</summary>
    AffiliationChanged = 3,

    /// <summary><c>superseded</c> (4): a newer credential replaces it.</summary>
    Superseded = 4,

    /// <summary><c>cessationOfOperation</c> (5): the identifier is no longer in use.</summary>
    CessationOfOperation = 5,
}

/// <summary>On what authority a revocation is made (docs/protocol.md §15).</summary>
public enum RevocationAuthority
{
    /// <summary>Signed under the revoked credential itself.</summary>
    Owner,

    /// <summary>Signed under a credential for the same CSI issued later than the revoked one.</summary>
    Successor,

    /// <summary>Signed under a CSIP credential whose scope covers the CSI.</summary>
    Csip,
}

/// <summary>
/// A verified revocation statement (docs/protocol.md §15): a compact JWS with <c>typ</c>
/// <see cref="MediaType"/>, ES256, the signer's credential in <c>x5c</c>, and the claims <c>csi</c>,
/// <c>iat</c>, <c>jti</c>, <c>reason</c> and <c>x5t#S256</c> (RFC 7515 §4.1.8: the SHA-256 thumbprint
/// of the revoked credential's DER certificate, base64url). Whether the signer may revoke that
/// credential is <see cref="AuthorityOver"/>'s to say, once the revoked credential is known.
/// </summary>
public sealed class Revocation
{
    internal Revocation(string token, Csi csi, DateTimeOffset issuedAt, string id, RevocationReason reason, string credentialThumbprint, Credential signer)
    {
        Token = token;
        Csi = csi;
        IssuedAt = issuedAt;
        Id = id;
        Reason = reason;
        CredentialThumbprint = credentialThumbprint;
        Signer = signer;
    }

    /// <summary>Media type of a revocation's JWS (<c>typ</c> header).</summary>
    public const string MediaType = "mimi-revocation+jws";

    /// <summary>The compact JWS exactly as signed.</summary>
    public string Token { get; }

    /// <summary>The <c>csi</c> claim: the identifier the revoked credential binds.</summary>
    public Csi Csi { get; }

    /// <summary>The <c>iat</c> claim; a DP refuses revocations older than its maximum age (docs/operations.md).</summary>
    public DateTimeOffset IssuedAt { get; }

    /// <summary>The <c>jti</c> claim: 16 random bytes in base64url (22 characters); a DP takes each once.</summary>
    public string Id { get; }

    /// <summary>The <c>reason</c> claim.</summary>
    public RevocationReason Reason { get; }

    /// <summary>The <c>x5t#S256</c> claim: base64url SHA-256 of the revoked credential's DER certificate (43 characters).</summary>
    public string CredentialThumbprint { get; }

    /// <summary>The credential the revocation was signed under.</summary>
    public Credential Signer { get; }

    /// <summary>The <c>x5t#S256</c> of <paramref name="certificate"/> (RFC 7515 §4.1.8): base64url SHA-256 of its DER encoding.</summary>
    public static string ThumbprintOf(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return System.Buffers.Text.Base64Url.EncodeToString(SHA256.HashData(certificate.RawData));
    }

    /// <summary>
    /// On what authority the signer revokes <paramref name="revoked"/>, or <see langword="null"/> when it
    /// may not: <see cref="RevocationAuthority.Owner"/> when signed under <paramref name="revoked"/> itself,
    /// <see cref="RevocationAuthority.Csip"/> under a CSIP credential (its scope covers <see cref="Csi"/>, as
    /// verification checked), <see cref="RevocationAuthority.Successor"/> under a credential for the same CSI
    /// valid from a later time. <paramref name="revoked"/> must be the credential <see cref="CredentialThumbprint"/> names and bind <see cref="Csi"/>.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="revoked"/> is not the named credential, or binds another CSI.</exception>
    public RevocationAuthority? AuthorityOver(Credential revoked)
    {
        ArgumentNullException.ThrowIfNull(revoked);
        if (!string.Equals(ThumbprintOf(revoked.Certificate), CredentialThumbprint, StringComparison.Ordinal) || revoked.Kind != CredentialKind.Csi || revoked.Csi != Csi)
        {
            throw new ArgumentException("The revocation names another credential, or the credential binds another CSI.", nameof(revoked));
        }

        if (string.Equals(ThumbprintOf(Signer.Certificate), CredentialThumbprint, StringComparison.Ordinal))
        {
            return RevocationAuthority.Owner;
        }

        if (Signer.Kind == CredentialKind.Csip)
        {
            return RevocationAuthority.Csip;
        }

        return Signer.Csi == Csi && Signer.NotBefore > revoked.NotBefore ? RevocationAuthority.Successor : null;
    }

    /// <summary>The wire name of <paramref name="reason"/> (RFC 5280 §5.3.1), e.g. <c>keyCompromise</c>.</summary>
    public static string ReasonName(RevocationReason reason) => reason switch
    {
        RevocationReason.Unspecified => "unspecified",
        RevocationReason.KeyCompromise => "keyCompromise",
        RevocationReason.AffiliationChanged => "affiliationChanged",
        RevocationReason.Superseded => "superseded",
        RevocationReason.CessationOfOperation => "cessationOfOperation",
        _ => throw new ArgumentOutOfRangeException(nameof(reason), reason, "Not a reason a credential may be revoked for."),
    };

    /// <summary>Reads a wire reason name (<see cref="ReasonName"/>); exact, case-sensitive.</summary>
    public static bool TryParseReason(string? name, out RevocationReason reason)
    {
        foreach (var candidate in Enum.GetValues<RevocationReason>())
        {
            if (string.Equals(ReasonName(candidate), name, StringComparison.Ordinal))
            {
                reason = candidate;
                return true;
            }
        }

        reason = default;
        return false;
    }

    internal static bool IsWellFormedThumbprint(string? thumbprint) =>
        thumbprint is { Length: 43 } && thumbprint.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_') && Crypto.CanonicalBase64Url.Is(thumbprint);
}

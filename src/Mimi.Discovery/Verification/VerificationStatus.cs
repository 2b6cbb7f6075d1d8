namespace Mimi.Discovery.Verification;

/// <summary>The outcome of verifying a statement: <see cref="Valid"/> or the first check that failed.</summary>
public enum VerificationStatus
{
    /// <summary>Every check passed.</summary>
    Valid,

    /// <summary>Not a well-formed compact JWS with the expected JSON header and payload.</summary>
    Malformed,

    /// <summary>Longer than <see cref="VerificationOptions.MaxStatementLength"/>.</summary>
    TooLarge,

    /// <summary>The <c>typ</c> header names another kind of statement.</summary>
    WrongType,

    /// <summary>The <c>alg</c> header is not ES256 (<c>none</c>, HMAC and every other algorithm are refused).</summary>
    UnsupportedAlgorithm,

    /// <summary>The header carries a <c>crit</c> parameter; no extension is understood (RFC 7515 §4.1.11).</summary>
    UnsupportedCriticalHeader,

    /// <summary>No credential (<c>x5c</c>) where one is required.</summary>
    MissingCredential,

    /// <summary>The credential is not a parseable certificate.</summary>
    MalformedCredential,

    /// <summary>The certificate is not a credential of the required kind (a CA certificate, another usage, another key type).</summary>
    NotACredential,

    /// <summary>The signature does not verify under the credential's key.</summary>
    BadSignature,

    /// <summary>The credential does not chain to any of the verifier's trust anchors.</summary>
    UntrustedIssuer,

    /// <summary>The credential has expired.</summary>
    CredentialExpired,

    /// <summary>The credential is not valid yet.</summary>
    CredentialNotYetValid,

    /// <summary>The statement's CSI differs from the credential's (or lies outside a CSIP credential's scope).</summary>
    CsiMismatch,

    /// <summary>The statement has expired.</summary>
    Expired,

    /// <summary>The statement was issued in the future, or outside its credential's validity.</summary>
    NotYetValid,

    /// <summary>The payload is well-formed JSON but its content is invalid (bad entries, non-canonical CSI, bad target).</summary>
    InvalidContent,

    /// <summary>The statement's <c>exp</c> is after its credential's expiry (<see cref="StatementLifetime"/>).</summary>
    OutlivesCredential,

    /// <summary>The statement or referral is for an identifier outside the scope its signer was given (a delegate's CA answering for another operator's numbers).</summary>
    OutOfScope,

    /// <summary>A caller assertion that does not name the recipient checking it among its destinations.</summary>
    NotForRecipient,

    /// <summary>A caller assertion already accepted once within its freshness window.</summary>
    Replayed,

    /// <summary>An entry's preference tag breaks the tag rules (<see cref="Statements.PreferenceTags"/>): not NFC, too long, a control or format character, the same tag twice ignoring case.</summary>
    InvalidTag,

    /// <summary>The statement's sealed routes break the format (docs/protocol.md §2, "Sealed routes"): a count other than 1, 2, 4 or 8, boxes of different or unknown lengths, over the size limit, not canonical base64url.</summary>
    InvalidSealedRoute,

    /// <summary>The credential is on a revocation list the verifier holds (<see cref="VerificationOptions.Revocations"/>, docs/protocol.md §15).</summary>
    Revoked,
}

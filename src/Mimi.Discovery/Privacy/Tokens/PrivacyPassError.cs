namespace Mimi.Discovery.Privacy.Tokens;

/// <summary>Why a Privacy Pass structure, header or token was refused; stable, so a server can map each to its own problem type.</summary>
public enum PrivacyPassError
{
    /// <summary>The bytes, header or JSON are not a well-formed encoding (truncated, oversized, bad length prefix, bad base64url…).</summary>
    Malformed = 1,

    /// <summary>The token type is not one this implementation supports (only 0x0002, Blind RSA 2048).</summary>
    UnsupportedTokenType = 2,

    /// <summary>The token or request names an issuer key the receiver does not hold.</summary>
    UnknownKey = 3,

    /// <summary>The token was issued for a different TokenChallenge (its challenge_digest does not match).</summary>
    ChallengeMismatch = 4,

    /// <summary>The RSA signature (token authenticator or issuer's blind signature) does not verify.</summary>
    InvalidSignature = 5,

    /// <summary>An issuer public key is not an RSASSA-PSS SHA-384 key of the size the token type requires.</summary>
    InvalidKey = 6,

    /// <summary>The issuer's RSA private operation failed its own verification check; nothing was released.</summary>
    SigningFailed = 7,
}

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

/// <summary>A Privacy Pass input was refused; <see cref="Error"/> says why.</summary>
public sealed class PrivacyPassException : Exception
{
    /// <summary>Creates an exception with an error code and a one-sentence reason.</summary>
    public PrivacyPassException(PrivacyPassError error, string message)
        : base(message) => Error = error;

    /// <summary>Creates an exception with an error code, a one-sentence reason and its cause.</summary>
    public PrivacyPassException(PrivacyPassError error, string message, Exception innerException)
        : base(message, innerException) => Error = error;

    /// <summary>Creates an exception with <see cref="PrivacyPassError.Malformed"/>.</summary>
    public PrivacyPassException()
        : this(PrivacyPassError.Malformed, "The Privacy Pass input is malformed.")
    {
    }

    /// <summary>Creates an exception with <see cref="PrivacyPassError.Malformed"/> and a reason.</summary>
    public PrivacyPassException(string message)
        : this(PrivacyPassError.Malformed, message)
    {
    }

    /// <summary>Creates an exception with <see cref="PrivacyPassError.Malformed"/>, a reason and its cause.</summary>
    public PrivacyPassException(string message, Exception innerException)
        : this(PrivacyPassError.Malformed, message, innerException)
    {
    }

    /// <summary>The machine-readable reason.</summary>
    public PrivacyPassError Error { get; }

    internal static PrivacyPassException Malformed(string message) => new(PrivacyPassError.Malformed, message);
}

namespace Mimi.Discovery.Privacy.Ohttp;

/// <summary>Why an Oblivious HTTP message or key configuration was refused; a gateway maps each to its own problem response.</summary>
public enum OhttpError
{
    /// <summary>The bytes do not parse: too short, a bad length, trailing bytes, or an encapsulated key that is not a valid public key.</summary>
    Malformed = 1,

    /// <summary>The message is over the configured size limit.</summary>
    TooLarge,

    /// <summary>The request names a key identifier the gateway does not hold.</summary>
    UnknownKeyId,

    /// <summary>The KEM, KDF or AEAD is not implemented, or not offered by the key configuration.</summary>
    UnsupportedSuite,

    /// <summary>The ciphertext does not authenticate: tampered, truncated, or sealed to another key.</summary>
    DecryptionFailed,
}

/// <summary>An Oblivious HTTP (RFC 9458) operation was refused; <see cref="Error"/> says why.</summary>
public sealed class OhttpException : Exception
{
    /// <summary>Creates an exception with an error code and a sentence saying what is wrong.</summary>
    public OhttpException(OhttpError error, string message)
        : base(message) => Error = error;

    /// <summary>Creates an exception with an error code, a sentence and the cause.</summary>
    public OhttpException(OhttpError error, string message, Exception innerException)
        : base(message, innerException) => Error = error;

    /// <summary>Creates an exception with a message only.</summary>
    public OhttpException(string message)
        : base(message) => Error = OhttpError.Malformed;

    /// <summary>Creates an exception with a message and a cause.</summary>
    public OhttpException(string message, Exception innerException)
        : base(message, innerException) => Error = OhttpError.Malformed;

    /// <summary>Creates an empty exception.</summary>
    public OhttpException()
        : this("The Oblivious HTTP message is malformed.")
    {
    }

    /// <summary>What went wrong.</summary>
    public OhttpError Error { get; }
}

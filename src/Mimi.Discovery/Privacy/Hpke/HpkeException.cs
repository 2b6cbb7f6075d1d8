namespace Mimi.Discovery.Privacy.Hpke;

/// <summary>Why an HPKE operation on untrusted input failed (RFC 9180 §5 error classes).</summary>
public enum HpkeError
{
    /// <summary>A public key or encapsulated key is not a valid point for the KEM (DeserializeError, ValidationError).</summary>
    InvalidPublicKey = 1,

    /// <summary>A private key is not a valid scalar for the KEM.</summary>
    InvalidPrivateKey,

    /// <summary>DeriveKeyPair found no valid scalar (DeriveKeyPairError, §7.1.3).</summary>
    DeriveKeyPairFailed,

    /// <summary>The context's sequence number is exhausted (MessageLimitReachedError, §5.2).</summary>
    MessageLimitReached,
}

/// <summary>An HPKE operation failed because of its input; <see cref="Error"/> says which way.</summary>
public sealed class HpkeException : Exception
{
    /// <summary>Creates an exception with an error code and a sentence describing it.</summary>
    public HpkeException(HpkeError error, string message)
        : base(message) => Error = error;

    /// <summary>Creates an exception with an error code, a sentence describing it and the cause.</summary>
    public HpkeException(HpkeError error, string message, Exception innerException)
        : base(message, innerException) => Error = error;

    /// <summary>Creates an exception with a message only.</summary>
    public HpkeException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and a cause.</summary>
    public HpkeException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an empty exception.</summary>
    public HpkeException()
    {
    }

    /// <summary>What went wrong.</summary>
    public HpkeError Error { get; }
}

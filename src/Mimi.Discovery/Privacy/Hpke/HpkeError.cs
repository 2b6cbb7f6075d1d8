namespace Mimi.Discovery.Privacy.Hpke;

/// <summary>Why an HPKE operation on untrusted input failed (RFC 9180 §5 error classes).</summary>
internal enum HpkeError
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

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

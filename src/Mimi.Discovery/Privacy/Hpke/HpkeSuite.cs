// RFC 9180 §7: the algorithm identifiers this library implements (Tables 2, 3 and 5).
namespace Mimi.Discovery.Privacy.Hpke;

/// <summary>An HPKE key encapsulation mechanism identifier (RFC 9180 §7.1, Table 2).</summary>
#pragma warning disable CA1028 // The IANA registry defines these as 16-bit values.
public enum HpkeKem : ushort
#pragma warning restore CA1028
{
    /// <summary>DHKEM(P-256, HKDF-SHA256), 0x0010.</summary>
    P256HkdfSha256 = 0x0010,

    /// <summary>DHKEM(X25519, HKDF-SHA256), 0x0020.</summary>
    X25519HkdfSha256 = 0x0020,
}

/// <summary>An HPKE key derivation function identifier (RFC 9180 §7.2, Table 3).</summary>
#pragma warning disable CA1028 // The IANA registry defines these as 16-bit values.
public enum HpkeKdf : ushort
#pragma warning restore CA1028
{
    /// <summary>HKDF-SHA256, 0x0001.</summary>
    HkdfSha256 = 0x0001,
}

/// <summary>An HPKE AEAD identifier (RFC 9180 §7.3, Table 5).</summary>
#pragma warning disable CA1028 // The IANA registry defines these as 16-bit values.
public enum HpkeAead : ushort
#pragma warning restore CA1028
{
    /// <summary>AES-128-GCM, 0x0001.</summary>
    Aes128Gcm = 0x0001,

    /// <summary>AES-256-GCM, 0x0002.</summary>
    Aes256Gcm = 0x0002,

    /// <summary>ChaCha20-Poly1305, 0x0003.</summary>
    ChaCha20Poly1305 = 0x0003,

    /// <summary>Export-only: the context can Export secrets but not Seal or Open, 0xFFFF.</summary>
    ExportOnly = 0xFFFF,
}

/// <summary>An HPKE ciphersuite: one KEM, one KDF and one AEAD.</summary>
/// <param name="Kem">The key encapsulation mechanism.</param>
/// <param name="Kdf">The key derivation function.</param>
/// <param name="Aead">The authenticated encryption algorithm.</param>
public readonly record struct HpkeSuite(HpkeKem Kem, HpkeKdf Kdf, HpkeAead Aead)
{
    /// <summary>Whether this library implements all three algorithms of the suite.</summary>
    public bool IsSupported => IsSupportedKem(Kem) && Kdf == HpkeKdf.HkdfSha256 && IsSupportedAead(Aead);

    /// <summary>Whether this library implements <paramref name="kem"/>.</summary>
    public static bool IsSupportedKem(HpkeKem kem) => kem is HpkeKem.X25519HkdfSha256 or HpkeKem.P256HkdfSha256;

    /// <summary>Whether this library implements <paramref name="aead"/>.</summary>
    public static bool IsSupportedAead(HpkeAead aead) =>
        aead is HpkeAead.Aes128Gcm or HpkeAead.Aes256Gcm or HpkeAead.ExportOnly
        || (aead is HpkeAead.ChaCha20Poly1305 && System.Security.Cryptography.ChaCha20Poly1305.IsSupported);

    /// <inheritdoc/>
    public override string ToString() => $"HPKE(kem 0x{(ushort)Kem:x4}, kdf 0x{(ushort)Kdf:x4}, aead 0x{(ushort)Aead:x4})";
}

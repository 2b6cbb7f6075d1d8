using System.Security.Cryptography;

namespace Mimi.Discovery.Privacy.Hpke;

/// <summary>An HPKE KEM key pair in its serialized form (RFC 9180 §7.1.1–§7.1.2): a recipient's long-term key, or an ephemeral one.</summary>
internal sealed class HpkeKeyPair : IDisposable
{
    private readonly byte[] _privateKey;
    private readonly byte[] _publicKey;

    private HpkeKeyPair(HpkeKem kem, byte[] privateKey, byte[] publicKey)
    {
        Kem = kem;
        _privateKey = privateKey;
        _publicKey = publicKey;
    }

    /// <summary>The KEM this key pair belongs to.</summary>
    public HpkeKem Kem { get; }

    /// <summary>SerializePublicKey(pk): 32 bytes for X25519, a 65-byte uncompressed point for P-256.</summary>
    public ReadOnlyMemory<byte> PublicKey => _publicKey;

    internal ReadOnlySpan<byte> PrivateKey => _privateKey;

    /// <summary>A fresh random key pair.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="kem"/> is not implemented.</exception>
    public static HpkeKeyPair Generate(HpkeKem kem)
    {
        var dhkem = DhKem.For(kem);
        var sk = dhkem.GeneratePrivateKey();
        return new HpkeKeyPair(kem, sk, dhkem.PublicKeyOf(sk));
    }

    /// <summary>DeriveKeyPair(ikm) (RFC 9180 §7.1.3): the same key pair every time for the same input keying material.</summary>
    /// <exception cref="ArgumentException"><paramref name="ikm"/> is shorter than 32 bytes (§7.1.3 asks for at least Nsk bytes of entropy).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="kem"/> is not implemented.</exception>
    public static HpkeKeyPair Derive(HpkeKem kem, ReadOnlySpan<byte> ikm)
    {
        var dhkem = DhKem.For(kem);
        if (ikm.Length < dhkem.PrivateKeyLength)
        {
            throw new ArgumentException($"DeriveKeyPair needs at least {dhkem.PrivateKeyLength} bytes of input keying material.", nameof(ikm));
        }

        var sk = dhkem.DerivePrivateKey(ikm);
        return new HpkeKeyPair(kem, sk, dhkem.PublicKeyOf(sk));
    }

    /// <summary>Imports a serialized private key (DeserializePrivateKey) and computes its public key.</summary>
    /// <exception cref="ProtocolException{HpkeError}">The bytes are not a private key for <paramref name="kem"/> (<see cref="HpkeError.InvalidPrivateKey"/>).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="kem"/> is not implemented.</exception>
    public static HpkeKeyPair Import(HpkeKem kem, ReadOnlySpan<byte> privateKey)
    {
        var dhkem = DhKem.For(kem);
        var sk = privateKey.ToArray();
        return new HpkeKeyPair(kem, sk, dhkem.PublicKeyOf(sk));
    }

    /// <summary>SerializePrivateKey(sk): a copy of the private key, for storing it.</summary>
    public byte[] ExportPrivateKey() => _privateKey.ToArray();

    /// <summary>Overwrites the private key in memory.</summary>
    public void Dispose() => CryptographicOperations.ZeroMemory(_privateKey);
}

// RFC 9180 §4.1: DHKEM (Encap, Decap, ExtractAndExpand) and §7.1: its two instantiations here.
// X25519 (RFC 7748) comes from BouncyCastle, in managed memory: libsodium (NSec) computes the scalar
// multiplication faster but puts every key and shared secret in guarded pages (mmap, mprotect, munmap),
// which cost a DP's gateway more than the DH itself (docs/benchmarks.md, "HPKE"). P-256 ECDH comes from the BCL.
using System.Security.Cryptography;
using BcX25519 = Org.BouncyCastle.Math.EC.Rfc7748.X25519;

namespace Mimi.Discovery.Privacy.Hpke;

/// <summary>A Diffie-Hellman based KEM: key (de)serialization, DH and the §4.1 Encap/Decap around it.</summary>
internal abstract class DhKem
{
    private readonly byte[] _suiteId;

    private protected DhKem(HpkeKem id)
    {
        Id = id;
        _suiteId = HpkeLabels.KemSuiteId(id);
    }

    public HpkeKem Id { get; }

    /// <summary>Nsecret: the length of the KEM shared secret.</summary>
    public static int SharedSecretLength => 32;

    /// <summary>Nenc, which equals Npk for both DHKEMs here.</summary>
    public abstract int EncapsulatedKeyLength { get; }

    /// <summary>Nsk.</summary>
    public abstract int PrivateKeyLength { get; }

    protected ReadOnlySpan<byte> SuiteId => _suiteId;

    public static DhKem For(HpkeKem kem) => kem switch
    {
        HpkeKem.X25519HkdfSha256 => X25519Kem.Instance,
        HpkeKem.P256HkdfSha256 => P256Kem.Instance,
        _ => throw new ArgumentOutOfRangeException(nameof(kem), kem, "This KEM is not implemented."),
    };

    /// <summary>The serialized public key of a serialized private key; throws <see cref="ProtocolException{HpkeError}"/> for a bad scalar.</summary>
    public abstract byte[] PublicKeyOf(ReadOnlySpan<byte> privateKey);

    /// <summary>§7.1.3 DeriveKeyPair: the serialized private key for <paramref name="ikm"/>.</summary>
    public abstract byte[] DerivePrivateKey(ReadOnlySpan<byte> ikm);

    public abstract byte[] GeneratePrivateKey();

    /// <summary>
    /// DH(sk, pk) as serialized bytes, sk being <paramref name="own"/>'s private key; throws
    /// <see cref="ProtocolException{HpkeError}"/> for an invalid public key or a zero result.
    /// </summary>
    public abstract byte[] Dh(HpkeKeyPair own, ReadOnlySpan<byte> publicKey);

    /// <summary>Encap(pkR) with the ephemeral pair given: returns (shared_secret, enc).</summary>
    public (byte[] SharedSecret, byte[] Enc) Encap(ReadOnlySpan<byte> recipientPublicKey, HpkeKeyPair ephemeral)
    {
        var dh = Dh(ephemeral, recipientPublicKey);
        var enc = ephemeral.PublicKey.ToArray();
        return (ExtractAndExpand(dh, [.. enc, .. recipientPublicKey]), enc);
    }

    /// <summary>Decap(enc, skR): the shared secret.</summary>
    public byte[] Decap(ReadOnlySpan<byte> enc, HpkeKeyPair recipient)
    {
        if (enc.Length != EncapsulatedKeyLength)
        {
            throw new ProtocolException<HpkeError>(HpkeError.InvalidPublicKey, $"An encapsulated key for this KEM is {EncapsulatedKeyLength} bytes.");
        }

        var dh = Dh(recipient, enc);
        return ExtractAndExpand(dh, [.. enc, .. recipient.PublicKey.Span]);
    }

    private byte[] ExtractAndExpand(byte[] dh, ReadOnlySpan<byte> kemContext)
    {
        var eaePrk = HpkeLabels.LabeledExtract(SuiteId, [], "eae_prk"u8, dh);
        CryptographicOperations.ZeroMemory(dh);
        var sharedSecret = HpkeLabels.LabeledExpand(SuiteId, eaePrk, "shared_secret"u8, kemContext, SharedSecretLength);
        CryptographicOperations.ZeroMemory(eaePrk);
        return sharedSecret;
    }
}

/// <summary>DHKEM(X25519, HKDF-SHA256): Nsk = Npk = Nenc = 32.</summary>
internal sealed class X25519Kem : DhKem
{
    public static readonly X25519Kem Instance = new();

    private X25519Kem()
        : base(HpkeKem.X25519HkdfSha256)
    {
    }

    public override int EncapsulatedKeyLength => 32;

    public override int PrivateKeyLength => 32;

    public override byte[] PublicKeyOf(ReadOnlySpan<byte> privateKey)
    {
        if (privateKey.Length != PrivateKeyLength)
        {
            throw new ProtocolException<HpkeError>(HpkeError.InvalidPrivateKey, "An X25519 private key is 32 bytes.");
        }

        var publicKey = new byte[32];
        BcX25519.GeneratePublicKey(privateKey, publicKey);
        return publicKey;
    }

    // §7.1.3: sk = LabeledExpand(LabeledExtract("", "dkp_prk", ikm), "sk", "", Nsk); X25519 clamps on use.
    public override byte[] DerivePrivateKey(ReadOnlySpan<byte> ikm)
    {
        var dkpPrk = HpkeLabels.LabeledExtract(SuiteId, [], "dkp_prk"u8, ikm);
        var sk = HpkeLabels.LabeledExpand(SuiteId, dkpPrk, "sk"u8, [], PrivateKeyLength);
        CryptographicOperations.ZeroMemory(dkpPrk);
        return sk;
    }

    public override byte[] GeneratePrivateKey() => RandomNumberGenerator.GetBytes(PrivateKeyLength);

    public override byte[] Dh(HpkeKeyPair own, ReadOnlySpan<byte> publicKey)
    {
        if (publicKey.Length != 32)
        {
            throw new ProtocolException<HpkeError>(HpkeError.InvalidPublicKey, "An X25519 public key is 32 bytes.");
        }

        // §7.1.4: an all-zero output (a low-order peer key) must be rejected; BouncyCastle reports it as false.
        var shared = new byte[32];
        return BcX25519.CalculateAgreement(own.PrivateKey, publicKey, shared)
            ? shared
            : throw new ProtocolException<HpkeError>(HpkeError.InvalidPublicKey, "The X25519 public key has low order: the shared secret would be zero.");
    }
}

/// <summary>DHKEM(P-256, HKDF-SHA256): Nsk = 32, Npk = Nenc = 65 (uncompressed SEC1 point).</summary>
internal sealed class P256Kem : DhKem
{
    public static readonly P256Kem Instance = new();

    // The order n of the P-256 base point, big-endian.
    private static readonly byte[] Order = Convert.FromHexString("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");

    private P256Kem()
        : base(HpkeKem.P256HkdfSha256)
    {
    }

    public override int EncapsulatedKeyLength => 65;

    public override int PrivateKeyLength => 32;

    public override byte[] PublicKeyOf(ReadOnlySpan<byte> privateKey)
    {
        using var ecdh = ImportPrivate(privateKey);
        var q = ecdh.ExportParameters(false).Q;
        return [0x04, .. q.X!, .. q.Y!];
    }

    // §7.1.3 with bitmask 0xff: the first candidate LabeledExpand(dkp_prk, "candidate", counter, 32) in [1, n-1].
    public override byte[] DerivePrivateKey(ReadOnlySpan<byte> ikm)
    {
        var dkpPrk = HpkeLabels.LabeledExtract(SuiteId, [], "dkp_prk"u8, ikm);
        try
        {
            for (var counter = 0; counter < 256; counter++)
            {
                var candidate = HpkeLabels.LabeledExpand(SuiteId, dkpPrk, "candidate"u8, [(byte)counter], PrivateKeyLength);
                if (IsValidScalar(candidate))
                {
                    return candidate;
                }

                CryptographicOperations.ZeroMemory(candidate);
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dkpPrk);
        }

        throw new ProtocolException<HpkeError>(HpkeError.DeriveKeyPairFailed, "No P-256 scalar was found for this input keying material.");
    }

    public override byte[] GeneratePrivateKey()
    {
        using var ecdh = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        return PadScalar(ecdh.ExportParameters(true).D!);
    }

    public override byte[] Dh(HpkeKeyPair own, ReadOnlySpan<byte> publicKey)
    {
        using var ecdh = ImportPrivate(own.PrivateKey);
        using var peer = ImportPublic(publicKey);
        return ecdh.DeriveRawSecretAgreement(peer.PublicKey);
    }

    internal static bool IsValidScalar(ReadOnlySpan<byte> scalar) =>
        scalar.Length == 32 && scalar.IndexOfAnyExcept((byte)0) >= 0 && scalar.SequenceCompareTo(Order) < 0;

    private static ECDiffieHellman ImportPrivate(ReadOnlySpan<byte> privateKey)
    {
        if (!IsValidScalar(privateKey))
        {
            throw new ProtocolException<HpkeError>(HpkeError.InvalidPrivateKey, "A P-256 private key is a 32-byte scalar in [1, n-1].");
        }

        return ECDiffieHellman.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, D = privateKey.ToArray() });
    }

    // §7.1.1 SerializePublicKey is the uncompressed point; §7.1.4: the import validates that it is on the curve.
    private static ECDiffieHellman ImportPublic(ReadOnlySpan<byte> publicKey)
    {
        if (publicKey.Length != 65 || publicKey[0] != 0x04)
        {
            throw new ProtocolException<HpkeError>(HpkeError.InvalidPublicKey, "A P-256 public key is a 65-byte uncompressed point.");
        }

        try
        {
            return ECDiffieHellman.Create(new ECParameters
            {
                Curve = ECCurve.NamedCurves.nistP256,
                Q = new ECPoint { X = publicKey[1..33].ToArray(), Y = publicKey[33..].ToArray() },
            });
        }
        catch (CryptographicException e)
        {
            throw new ProtocolException<HpkeError>(HpkeError.InvalidPublicKey, "The P-256 public key is not a point on the curve.", e);
        }
    }

    private static byte[] PadScalar(byte[] d) => d.Length == 32 ? d : [.. new byte[32 - d.Length], .. d];
}

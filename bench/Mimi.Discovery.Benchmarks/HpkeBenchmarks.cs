using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Mimi.Discovery.Privacy.Hpke;
using NSec.Cryptography;
using BcX25519 = Org.BouncyCastle.Math.EC.Rfc7748.X25519;

namespace Mimi.Discovery.Benchmarks;

/// <summary>
/// HPKE base mode with AES-128-GCM on a 200-byte message: what one OHTTP request costs a client (setup + seal)
/// and a gateway (setup + open), per KEM. Beside it, the bare X25519 DH from the two libraries we could use.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class HpkeBenchmarks
{
    private static readonly byte[] Info = "message/bhttp request"u8.ToArray();
    private readonly byte[] _message = new byte[200];
    private HpkeKeyPair _x25519Recipient = null!;
    private HpkeKeyPair _p256Recipient = null!;
    private (byte[] Enc, byte[] Ct) _x25519Sealed;
    private (byte[] Enc, byte[] Ct) _p256Sealed;

    [Params("X25519", "P-256")]
    public string Kem { get; set; } = "X25519";

    [GlobalSetup]
    public void Setup()
    {
        RandomNumberGenerator.Fill(_message);
        _x25519Recipient = HpkeKeyPair.Generate(HpkeKem.X25519HkdfSha256);
        _p256Recipient = HpkeKeyPair.Generate(HpkeKem.P256HkdfSha256);
        _x25519Sealed = SealTo(_x25519Recipient);
        _p256Sealed = SealTo(_p256Recipient);
        if (Open() is null)
        {
            throw new InvalidOperationException("benchmark inputs do not open");
        }
    }

    private HpkeKeyPair Recipient => Kem == "X25519" ? _x25519Recipient : _p256Recipient;

    private HpkeSuite Suite => new(Recipient.Kem, HpkeKdf.HkdfSha256, HpkeAead.Aes128Gcm);

    [Benchmark(Description = "HPKE setup + seal, 200 B")]
    public byte[] Seal() => SealTo(Recipient).Ct;

    [Benchmark(Description = "HPKE setup + open, 200 B")]
    public byte[]? Open()
    {
        var (enc, ct) = Kem == "X25519" ? _x25519Sealed : _p256Sealed;
        using var context = Hpke.SetupBaseReceiver(Suite, enc, Recipient, Info);
        return context.TryOpen([], ct, out var pt) ? pt : null;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _x25519Recipient.Dispose();
        _p256Recipient.Dispose();
    }

    private (byte[] Enc, byte[] Ct) SealTo(HpkeKeyPair recipient)
    {
        using var context = Hpke.SetupBaseSender(new HpkeSuite(recipient.Kem, HpkeKdf.HkdfSha256, HpkeAead.Aes128Gcm), recipient.PublicKey.Span, Info, out var enc);
        return (enc, context.Seal([], _message));
    }
}

/// <summary>One X25519 Diffie-Hellman (the cost HPKE pays twice per request) in NSec and in BouncyCastle, on the same keys.</summary>
[MemoryDiagnoser]
[MedianColumn]
public class HpkeX25519LibraryBenchmarks
{
    private byte[] _private = null!;
    private byte[] _peerPublic = null!;
    private Key _nsecKey = null!;
    private NSec.Cryptography.PublicKey _nsecPeer = null!;

    [GlobalSetup]
    public void Setup()
    {
        _private = RandomNumberGenerator.GetBytes(32);
        _nsecKey = Key.Import(KeyAgreementAlgorithm.X25519, _private, KeyBlobFormat.RawPrivateKey);
        using var peer = HpkeKeyPair.Generate(HpkeKem.X25519HkdfSha256);
        _peerPublic = peer.PublicKey.ToArray();
        _nsecPeer = NSec.Cryptography.PublicKey.Import(KeyAgreementAlgorithm.X25519, _peerPublic, KeyBlobFormat.RawPublicKey);
        if (!BouncyCastleDh().AsSpan().SequenceEqual(NSecDh()))
        {
            throw new InvalidOperationException("the two libraries disagree");
        }
    }

    [Benchmark(Baseline = true, Description = "X25519 DH, NSec (libsodium)")]
    public byte[] NSecDh()
    {
        using var secret = KeyAgreementAlgorithm.X25519.Agree(_nsecKey, _nsecPeer, new SharedSecretCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport })!;
        return secret.Export(SharedSecretBlobFormat.RawSharedSecret);
    }

    [Benchmark(Description = "X25519 DH, BouncyCastle")]
    public byte[] BouncyCastleDh()
    {
        var shared = new byte[32];
        return BcX25519.CalculateAgreement(_private, 0, _peerPublic, 0, shared, 0) ? shared : throw new InvalidOperationException("zero DH output");
    }

    [GlobalCleanup]
    public void Cleanup() => _nsecKey.Dispose();
}

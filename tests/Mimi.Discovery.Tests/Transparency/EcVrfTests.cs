using System.Text.Json;
using Mimi.Discovery.Transparency;

namespace Mimi.Discovery.Tests.Transparency;

/// <summary>RFC 9381 Appendix B.1 (Examples 10–12), ECVRF-P256-SHA256-TAI; Vectors/Vrf is copied from shared/testvectors.</summary>
public class EcVrfTests
{
    private static readonly JsonElement Vectors = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Vectors", "Vrf", "rfc9381-ecvrf-p256-sha256-tai.json"))).RootElement.GetProperty("vectors");

    public static TheoryData<string> Examples => new(Vectors.EnumerateArray().Select(v => v.GetProperty("example").ToString()));

    private static (byte[] Sk, byte[] Pk, byte[] Alpha, byte[] Pi, byte[] Beta) Example(string example)
    {
        var v = Vectors.EnumerateArray().Single(e => e.GetProperty("example").ToString() == example);
        byte[] Hex(string name) => Convert.FromHexString(v.GetProperty(name).GetString()!);
        return (Hex("SK"), Hex("PK"), Hex("alpha"), Hex("pi"), Hex("beta"));
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public void ProveAndVerify_Rfc9381AppendixB1(string example)
    {
        var (sk, pk, alpha, pi, beta) = Example(example);

        Assert.Equal(pk, EcVrf.PublicKey(sk));
        Assert.Equal(pi, EcVrf.Prove(sk, alpha));
        Assert.Equal(beta, EcVrf.ProofToHash(pi));
        Assert.Equal(beta, EcVrf.Verify(pk, alpha, pi));
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public void Verify_AnyChangedInput_Fails(string example)
    {
        var (_, pk, alpha, pi, _) = Example(example);

        Assert.Null(EcVrf.Verify(pk, [.. alpha, 0x00], pi));
        for (var i = 0; i < pi.Length; i += 7)
        {
            var tampered = pi.ToArray();
            tampered[i] ^= 0x01;
            Assert.Null(EcVrf.Verify(pk, alpha, tampered));
        }

        var otherKey = EcVrf.PublicKey(Enumerable.Repeat((byte)7, 32).ToArray());
        Assert.Null(EcVrf.Verify(otherKey, alpha, pi));
        Assert.Null(EcVrf.Verify(pk, alpha, pi.AsSpan(0, 80)));
        Assert.Null(EcVrf.Verify(new byte[33], alpha, pi));
    }

    [Fact]
    public void OpenSsl_IsUsedOnThisPlatform()
    {
        // CI runs on Linux with OpenSSL 3: a silent fallback to BouncyCastle would only be slower, so say it.
        Assert.SkipUnless(OperatingSystem.IsLinux(), "the OpenSSL path is for Linux");
        Assert.True(EcVrf.OnOpenSsl, "EcVrf fell back to BouncyCastle: libcrypto.so.3 missing or its self-test failed");
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public void BothArithmetics_ProveAndVerify_Rfc9381AppendixB1(string example)
    {
        Assert.SkipUnless(EcVrf.OnOpenSsl, "no OpenSSL 3 here");
        var (sk, pk, alpha, pi, beta) = Example(example);
        var x = EcVrf.Scalar(sk);

        Assert.Equal(pi, EcVrf.ProveManaged(x, pk, alpha));
        Assert.Equal(pi, OpenSslEcVrf.Prove(x, pk, alpha));
        Assert.Equal(beta, EcVrf.VerifyManaged(pk, alpha, pi));
        Assert.Equal(beta, OpenSslEcVrf.Verify(pk, alpha, pi));
    }

    [Fact]
    public void BothArithmetics_AgreeOnRandomKeysInputsAndTamperedProofs()
    {
        Assert.SkipUnless(EcVrf.OnOpenSsl, "no OpenSSL 3 here");
        var random = new Random(9381);
        for (var i = 0; i < 100; i++)
        {
            var sk = new byte[32];
            random.NextBytes(sk);
            sk[0] &= 0x7f; // below q
            var alpha = new byte[random.Next(0, 64)];
            random.NextBytes(alpha);
            var key = new EcVrfSecretKey(sk);
            var x = EcVrf.Scalar(sk);

            var native = OpenSslEcVrf.Prove(x, key.PublicKey, alpha);
            Assert.Equal(EcVrf.ProveManaged(x, key.PublicKey, alpha), native);
            Assert.Equal(EcVrf.VerifyManaged(key.PublicKey, alpha, native), OpenSslEcVrf.Verify(key.PublicKey, alpha, native));

            var tampered = native.ToArray();
            tampered[random.Next(tampered.Length)] ^= (byte)(1 << random.Next(8));
            Assert.Null(OpenSslEcVrf.Verify(key.PublicKey, alpha, tampered));
            Assert.Null(EcVrf.VerifyManaged(key.PublicKey, alpha, tampered));
        }
    }

    [Fact]
    public void OpenSsl_MalformedKeysAndProofs_AreRefusedNotThrown()
    {
        Assert.SkipUnless(EcVrf.OnOpenSsl, "no OpenSSL 3 here");
        var (_, pk, alpha, pi, _) = Example(Vectors[0].GetProperty("example").ToString());
        var notOnCurve = pk.ToArray();
        notOnCurve[0] = 0x04; // uncompressed tag on a compressed length
        var sAboveQ = pi.ToArray();
        sAboveQ.AsSpan(EcVrf.PointSize + EcVrf.ChallengeLength).Fill(0xff);

        Assert.Null(OpenSslEcVrf.Verify(notOnCurve, alpha, pi));
        Assert.Null(OpenSslEcVrf.Verify(pk.AsSpan(0, 32), alpha, pi));
        Assert.Null(OpenSslEcVrf.Verify(pk, alpha, sAboveQ));
        Assert.Null(OpenSslEcVrf.Verify(pk, alpha, [0x02, .. new byte[80]]));
        Assert.Null(OpenSslEcVrf.Verify(pk, alpha, []));
    }

    [Fact]
    public void PublicKey_BadScalar_Throws()
    {
        Assert.Throws<ArgumentException>(() => EcVrf.PublicKey(new byte[32]));
        Assert.Throws<ArgumentException>(() => EcVrf.PublicKey(new byte[31]));
    }
}

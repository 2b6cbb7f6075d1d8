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
    public void PublicKey_BadScalar_Throws()
    {
        Assert.Throws<ArgumentException>(() => EcVrf.PublicKey(new byte[32]));
        Assert.Throws<ArgumentException>(() => EcVrf.PublicKey(new byte[31]));
    }
}

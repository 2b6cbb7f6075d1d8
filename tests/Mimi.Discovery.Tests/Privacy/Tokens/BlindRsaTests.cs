using System.Security.Cryptography;
using System.Text.Json;
using Mimi.Discovery.Privacy.Tokens;
using BigInteger = Org.BouncyCastle.Math.BigInteger;

namespace Mimi.Discovery.Tests.Privacy.Tokens;

/// <summary>
/// RFC 9474 Appendix A, all four RSABSSA-SHA384 variants (4096-bit key). Vectors/BlindRsa is copied
/// from shared/testvectors; the salt and the blind r (the inverse of the published inv) enter through
/// the internal Blind seam.
/// </summary>
public class BlindRsaTests
{
    private static readonly JsonElement Vectors = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Vectors", "BlindRsa", "rfc9474-appendix-a.json"))).RootElement.GetProperty("vectors");

    public static TheoryData<string> Variants => new(Vectors.EnumerateArray().Select(v => v.GetProperty("name").GetString()!));

    private static BlindRsa Variant(string name) =>
        new[] { BlindRsa.Sha384PssRandomized, BlindRsa.Sha384PssZeroRandomized, BlindRsa.Sha384PssDeterministic, BlindRsa.Sha384PssZeroDeterministic }.Single(v => v.Name == name);

    private static Func<string, byte[]> Vector(string name)
    {
        var v = Vectors.EnumerateArray().Single(e => e.GetProperty("name").GetString() == name);
        return field => Convert.FromHexString(v.GetProperty(field).GetString()!);
    }

    private static BlindRsaPrivateKey Key(Func<string, byte[]> hex) => BlindRsaPrivateKey.FromPrimes(hex("p"), hex("q"), hex("e"));

    [Theory]
    [MemberData(nameof(Variants))]
    public void PrivateOperation_OpenSslAndManaged_AgreeOnTheVectors(string name)
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "the OpenSSL path is used where the BCL runs on OpenSSL 3 (Linux)");
        var hex = Vector(name);
        var key = Key(hex);

        Assert.True(NativeRsa.IsSupported, "this Linux BCL does not run on OpenSSL 3");
        Assert.NotNull(key.Native);
        Assert.Equal(hex("blind_sig"), key.Native!.PrivateOperation(hex("blinded_msg")));
        Assert.Equal(hex("blind_sig"), BlindRsa.ManagedPrivateOperation(key, hex("blinded_msg")));
        Assert.Null(key.Native.PrivateOperation(hex("n")));
        Assert.Null(key.Native.PrivateOperation(hex("blinded_msg")[1..]));
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void AllSteps_Rfc9474AppendixA_ReproduceEveryValue(string name)
    {
        var hex = Vector(name);
        var variant = Variant(name);
        var key = Key(hex);
        var pk = key.PublicKey;
        Assert.Equal(hex("n"), pk.ExportParameters().Modulus);
        Assert.Equal(hex("e"), pk.ExportParameters().Exponent);
        Assert.Equal(hex("salt").Length, variant.SaltLength);
        Assert.Equal(hex("msg_prefix").Length == BlindRsa.MessagePrefixLength, variant.RandomizesMessage);
        Assert.Equal(hex("prepared_msg"), hex("msg_prefix").Concat(hex("msg")).ToArray());

        Assert.Equal(hex("encoded_msg"), BlindRsa.EmsaPssEncode(hex("prepared_msg"), pk.ModulusBits - 1, hex("salt")));

        var n = new BigInteger(1, hex("n"));
        var r = new BigInteger(1, hex("inv")).ModInverse(n);
        var blinding = variant.Blind(pk, hex("prepared_msg"), hex("salt"), r);
        Assert.Equal(hex("blinded_msg"), blinding.BlindedMessage);
        Assert.Equal(hex("inv"), blinding.Inverse);

        var blindSig = variant.BlindSign(key, blinding.BlindedMessage);
        Assert.Equal(hex("blind_sig"), blindSig);

        Assert.Equal(hex("sig"), variant.Finalize(pk, hex("prepared_msg"), hex("blind_sig"), hex("inv")));
        Assert.True(variant.Verify(pk, hex("prepared_msg"), hex("sig")));
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void Verify_ChangedMessageOrSignatureOrOtherSaltLength_Fails(string name)
    {
        var hex = Vector(name);
        var variant = Variant(name);
        var pk = Key(hex).PublicKey;
        var sig = hex("sig");

        Assert.False(variant.Verify(pk, [.. hex("prepared_msg"), 0x00], sig));
        Assert.False(variant.Verify(pk, hex("msg").Length == hex("prepared_msg").Length ? [0x01, .. hex("msg")] : hex("msg"), sig));
        for (var i = 0; i < sig.Length; i += 61)
        {
            var tampered = sig.ToArray();
            tampered[i] ^= 0x04;
            Assert.False(variant.Verify(pk, hex("prepared_msg"), tampered));
        }

        Assert.False(variant.Verify(pk, hex("prepared_msg"), sig.AsSpan(1)));
        Assert.False(variant.Verify(pk, hex("prepared_msg"), hex("n")));
        var otherSalt = variant.SaltLength == 0 ? BlindRsa.Sha384PssDeterministic : BlindRsa.Sha384PssZeroDeterministic;
        Assert.False(otherSalt.Verify(pk, hex("prepared_msg"), sig));
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void Finalize_WrongBlindSignatureOrInverse_ReturnsNull(string name)
    {
        var hex = Vector(name);
        var variant = Variant(name);
        var pk = Key(hex).PublicKey;
        var blindSig = hex("blind_sig");
        blindSig[^1] ^= 0x01;

        Assert.Null(variant.Finalize(pk, hex("prepared_msg"), blindSig, hex("inv")));
        Assert.Null(variant.Finalize(pk, hex("prepared_msg"), hex("blind_sig"), hex("blinded_msg")));
        Assert.Null(variant.Finalize(pk, hex("prepared_msg"), hex("blind_sig").AsSpan(1), hex("inv")));
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void BlindSign_OutOfRangeOrWrongLength_ReturnsNull(string name)
    {
        var hex = Vector(name);
        var key = Key(hex);

        Assert.Null(Variant(name).BlindSign(key, hex("n")));
        Assert.Null(Variant(name).BlindSign(key, Enumerable.Repeat((byte)0xFF, 512).ToArray()));
        Assert.Null(Variant(name).BlindSign(key, hex("blinded_msg").AsSpan(1)));
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void RoundTrip_FreshKeyAndRandomness_Verifies(string name)
    {
        var variant = Variant(name);
        using var rsa = RSA.Create(2048);
        var key = BlindRsaPrivateKey.FromRsa(rsa);
        var prepared = variant.Prepare("lookup"u8);
        Assert.Equal(variant.RandomizesMessage ? 6 + BlindRsa.MessagePrefixLength : 6, prepared.Length);

        var blinding = variant.Blind(key.PublicKey, prepared);
        var blindSig = variant.BlindSign(key, blinding.BlindedMessage);
        var sig = variant.Finalize(key.PublicKey, prepared, blindSig, blinding.Inverse);

        Assert.NotNull(sig);
        Assert.True(variant.Verify(key.PublicKey, prepared, sig));
        Assert.True(variant.Verify(BlindRsaPublicKey.FromRsa(rsa), prepared, sig));
        Assert.NotEqual(blinding.BlindedMessage, variant.Blind(key.PublicKey, prepared).BlindedMessage);
        if (variant.SaltLength == 48)
        {
            // PSS with a 48-byte salt is what the BCL verifies, so the finalized signature is an ordinary RSASSA-PSS one.
            Assert.True(rsa.VerifyData(prepared, sig, HashAlgorithmName.SHA384, RSASignaturePadding.Pss));
        }
        else
        {
            Assert.False(rsa.VerifyData(prepared, sig, HashAlgorithmName.SHA384, RSASignaturePadding.Pss));
        }
    }

    [Fact]
    public void FromParameters_PrimesDoNotMatchModulus_Throws()
    {
        using var rsa = RSA.Create(2048);
        var p = rsa.ExportParameters(true);
        p.P = p.Q;
        Assert.Throws<ArgumentException>(() => BlindRsaPrivateKey.FromParameters(p));
        Assert.Throws<ArgumentException>(() => BlindRsaPrivateKey.FromParameters(rsa.ExportParameters(false)));
    }
}

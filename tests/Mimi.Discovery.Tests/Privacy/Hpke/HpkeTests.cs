using Mimi.Discovery.Privacy;
using Mimi.Discovery.Privacy.Hpke;
using HpkeSetup = Mimi.Discovery.Privacy.Hpke.Hpke;

namespace Mimi.Discovery.Tests.Privacy.Hpke;

public class HpkeTests
{
    private static readonly byte[] Info = "mimi discovery test"u8.ToArray();

    public static TheoryData<HpkeKem, HpkeAead> AllSuites => new(
        from kem in new[] { HpkeKem.X25519HkdfSha256, HpkeKem.P256HkdfSha256 }
        from aead in new[] { HpkeAead.Aes128Gcm, HpkeAead.Aes256Gcm, HpkeAead.ChaCha20Poly1305 }
        select (kem, aead));

    [Theory]
    [MemberData(nameof(AllSuites))]
    public void SealOpen_GeneratedKeys_RoundTrips(HpkeKem kem, HpkeAead aead)
    {
        var suite = new HpkeSuite(kem, HpkeKdf.HkdfSha256, aead);
        using var recipient = HpkeKeyPair.Generate(kem);
        using var sender = HpkeSetup.SetupBaseSender(suite, recipient.PublicKey.Span, Info, out var enc);
        using var receiver = HpkeSetup.SetupBaseReceiver(suite, enc, recipient, Info);

        for (var i = 0; i < 3; i++)
        {
            var ct = sender.Seal("aad"u8, [.. "message "u8, (byte)i]);
            Assert.True(receiver.TryOpen("aad"u8, ct, out var pt));
            Assert.Equal([.. "message "u8, (byte)i], pt);
        }

        Assert.Equal(sender.Export("x"u8, 42), receiver.Export("x"u8, 42));
    }

    [Theory]
    [MemberData(nameof(AllSuites))]
    public void OneRecipientPair_OpensManySendersInParallel_EachWithItsOwnSecret(HpkeKem kem, HpkeAead aead)
    {
        // A gateway's long-term pair decapsulates many requests at once.
        var suite = new HpkeSuite(kem, HpkeKdf.HkdfSha256, aead);
        using var recipient = HpkeKeyPair.Generate(kem);
        var opened = Enumerable.Range(0, 64).AsParallel().Select(i =>
        {
            using var sender = HpkeSetup.SetupBaseSender(suite, recipient.PublicKey.Span, Info, out var enc);
            using var receiver = HpkeSetup.SetupBaseReceiver(suite, enc, recipient, Info);
            var ok = receiver.TryOpen("aad"u8, sender.Seal("aad"u8, [(byte)i]), out var pt) && pt is [var b] && b == i;
            return (ok, Secret: Convert.ToHexString(receiver.Export("x"u8, 32)));
        }).ToList();

        Assert.All(opened, o => Assert.True(o.ok));
        Assert.Equal(64, opened.Select(o => o.Secret).Distinct().Count());
    }

    [Theory]
    [MemberData(nameof(AllSuites))]
    public void TryOpen_TamperedCiphertextOrAad_FailsAndKeepsSequence(HpkeKem kem, HpkeAead aead)
    {
        var suite = new HpkeSuite(kem, HpkeKdf.HkdfSha256, aead);
        using var recipient = HpkeKeyPair.Generate(kem);
        using var sender = HpkeSetup.SetupBaseSender(suite, recipient.PublicKey.Span, Info, out var enc);
        using var receiver = HpkeSetup.SetupBaseReceiver(suite, enc, recipient, Info);
        var ct = sender.Seal("aad"u8, "hello"u8);

        for (var i = 0; i < ct.Length; i++)
        {
            var tampered = ct.ToArray();
            tampered[i] ^= 0x80;
            Assert.False(receiver.TryOpen("aad"u8, tampered, out _));
        }

        Assert.False(receiver.TryOpen("aae"u8, ct, out _));
        Assert.False(receiver.TryOpen("aad"u8, ct.AsSpan(0, 15), out _));
        Assert.Equal(0UL, receiver.SequenceNumber);
        Assert.True(receiver.TryOpen("aad"u8, ct, out _));
    }

    [Theory]
    [MemberData(nameof(AllSuites))]
    public void SetupBaseReceiver_TamperedEnc_CannotOpen(HpkeKem kem, HpkeAead aead)
    {
        var suite = new HpkeSuite(kem, HpkeKdf.HkdfSha256, aead);
        using var recipient = HpkeKeyPair.Generate(kem);
        using var sender = HpkeSetup.SetupBaseSender(suite, recipient.PublicKey.Span, Info, out var enc);
        var ct = sender.Seal([], "hello"u8);
        enc[^1] ^= 0x01;

        // A flipped bit gives either an invalid point (typed error) or another shared secret (Open fails).
        try
        {
            using var receiver = HpkeSetup.SetupBaseReceiver(suite, enc, recipient, Info);
            Assert.False(receiver.TryOpen([], ct, out _));
        }
        catch (ProtocolException<HpkeError> e)
        {
            Assert.Equal(HpkeError.InvalidPublicKey, e.Error);
        }
    }

    [Fact]
    public void SetupBaseReceiver_WrongInfo_CannotOpen()
    {
        var suite = new HpkeSuite(HpkeKem.X25519HkdfSha256, HpkeKdf.HkdfSha256, HpkeAead.Aes128Gcm);
        using var recipient = HpkeKeyPair.Generate(suite.Kem);
        using var sender = HpkeSetup.SetupBaseSender(suite, recipient.PublicKey.Span, Info, out var enc);
        using var receiver = HpkeSetup.SetupBaseReceiver(suite, enc, recipient, "other"u8);

        Assert.False(receiver.TryOpen([], sender.Seal([], "hello"u8), out _));
    }

    [Theory]
    [InlineData(HpkeKem.X25519HkdfSha256, "0000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData(HpkeKem.X25519HkdfSha256, "0100000000000000000000000000000000000000000000000000000000000000")]
    [InlineData(HpkeKem.X25519HkdfSha256, "00")]
    [InlineData(HpkeKem.P256HkdfSha256, "04" + "0000000000000000000000000000000000000000000000000000000000000001" + "0000000000000000000000000000000000000000000000000000000000000002")]
    [InlineData(HpkeKem.P256HkdfSha256, "02" + "6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296")]
    [InlineData(HpkeKem.P256HkdfSha256, "")]
    public void SetupBaseSender_InvalidPublicKey_ThrowsTyped(HpkeKem kem, string publicKeyHex)
    {
        var suite = new HpkeSuite(kem, HpkeKdf.HkdfSha256, HpkeAead.Aes128Gcm);

        var e = Assert.Throws<ProtocolException<HpkeError>>(() => HpkeSetup.SetupBaseSender(suite, Convert.FromHexString(publicKeyHex), Info, out _));
        Assert.Equal(HpkeError.InvalidPublicKey, e.Error);
    }

    [Theory]
    [InlineData("0000000000000000000000000000000000000000000000000000000000000000")] // u = 0
    [InlineData("0100000000000000000000000000000000000000000000000000000000000000")] // u = 1, order 4
    [InlineData("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")] // order 8
    [InlineData("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")] // u = p - 1, order 2
    public void SetupBaseReceiver_X25519LowOrderEnc_IsRefused(string encHex)
    {
        // RFC 9180 §7.1.4: a DH output of all zeros is an error; the gateway must not derive keys from it.
        var suite = new HpkeSuite(HpkeKem.X25519HkdfSha256, HpkeKdf.HkdfSha256, HpkeAead.Aes128Gcm);
        using var recipient = HpkeKeyPair.Generate(HpkeKem.X25519HkdfSha256);

        var e = Assert.Throws<ProtocolException<HpkeError>>(() => HpkeSetup.SetupBaseReceiver(suite, Convert.FromHexString(encHex), recipient, Info));
        Assert.Equal(HpkeError.InvalidPublicKey, e.Error);
    }

    [Theory]
    [InlineData(HpkeKem.P256HkdfSha256, "0000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData(HpkeKem.P256HkdfSha256, "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551")]
    [InlineData(HpkeKem.X25519HkdfSha256, "0102")]
    public void Import_InvalidPrivateKey_ThrowsTyped(HpkeKem kem, string privateKeyHex)
    {
        var e = Assert.Throws<ProtocolException<HpkeError>>(() => HpkeKeyPair.Import(kem, Convert.FromHexString(privateKeyHex)));
        Assert.Equal(HpkeError.InvalidPrivateKey, e.Error);
    }

    [Fact]
    public void ContextRoles_WrongOperation_Throws()
    {
        var suite = new HpkeSuite(HpkeKem.X25519HkdfSha256, HpkeKdf.HkdfSha256, HpkeAead.ExportOnly);
        using var recipient = HpkeKeyPair.Generate(suite.Kem);
        using var sender = HpkeSetup.SetupBaseSender(suite, recipient.PublicKey.Span, Info, out var enc);
        using var receiver = HpkeSetup.SetupBaseReceiver(suite, enc, recipient, Info);

        Assert.Throws<InvalidOperationException>(() => sender.Seal([], "x"u8));
        Assert.Throws<InvalidOperationException>(() => receiver.TryOpen([], new byte[32], out _));
        Assert.Throws<InvalidOperationException>(() => receiver.Seal([], "x"u8));
        Assert.Equal(sender.Export("ctx"u8, 64), receiver.Export("ctx"u8, 64));
    }

    [Fact]
    public void Setup_UnsupportedSuiteOrMismatchedKey_ThrowsArgumentException()
    {
        using var x25519 = HpkeKeyPair.Generate(HpkeKem.X25519HkdfSha256);
        var unknownKdf = new HpkeSuite(HpkeKem.X25519HkdfSha256, (HpkeKdf)3, HpkeAead.Aes128Gcm);
        var p256Suite = new HpkeSuite(HpkeKem.P256HkdfSha256, HpkeKdf.HkdfSha256, HpkeAead.Aes128Gcm);

        Assert.False(unknownKdf.IsSupported);
        Assert.Throws<ArgumentException>(() => HpkeSetup.SetupBaseSender(unknownKdf, x25519.PublicKey.Span, Info, out _));
        Assert.Throws<ArgumentException>(() => HpkeSetup.SetupBaseReceiver(p256Suite, new byte[65], x25519, Info));
        Assert.Throws<ArgumentException>(() => HpkeKeyPair.Derive(HpkeKem.X25519HkdfSha256, new byte[31]));
    }

    [Fact]
    public void Derive_SameIkm_SameKeyPair()
    {
        var ikm = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
        using var a = HpkeKeyPair.Derive(HpkeKem.P256HkdfSha256, ikm);
        using var b = HpkeKeyPair.Derive(HpkeKem.P256HkdfSha256, ikm);

        Assert.Equal(a.PublicKey.ToArray(), b.PublicKey.ToArray());
        Assert.Equal(65, a.PublicKey.Length);
    }
}

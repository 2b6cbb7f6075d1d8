using CsCheck;
using Mimi.Discovery.Privacy;
using Mimi.Discovery.Privacy.Hpke;
using Mimi.Discovery.Privacy.Ohttp;

namespace Mimi.Discovery.Tests.Privacy.Ohttp;

public class OhttpTests
{
    private static readonly OhttpSymmetricSuite[] AllSymmetric =
    [
        new(HpkeKdf.HkdfSha256, HpkeAead.Aes128Gcm),
        new(HpkeKdf.HkdfSha256, HpkeAead.Aes256Gcm),
        new(HpkeKdf.HkdfSha256, HpkeAead.ChaCha20Poly1305),
    ];

    public static TheoryData<HpkeKem, HpkeAead> Suites => new(
        from kem in new[] { HpkeKem.X25519HkdfSha256, HpkeKem.P256HkdfSha256 }
        from s in AllSymmetric
        select (kem, s.Aead));

    private sealed class Setup : IDisposable
    {
        public Setup(HpkeKem kem, byte keyId = 7, IEnumerable<OhttpSymmetricSuite>? suites = null, int maxRequestLength = OhttpGateway.DefaultMaxRequestLength)
        {
            KeyPair = HpkeKeyPair.Generate(kem);
            Config = new OhttpKeyConfig(keyId, kem, KeyPair.PublicKey.Span, suites ?? AllSymmetric);
            Gateway = new OhttpGateway([new OhttpGatewayKey(Config, KeyPair)], maxRequestLength);
        }

        public HpkeKeyPair KeyPair { get; }

        public OhttpKeyConfig Config { get; }

        public OhttpGateway Gateway { get; }

        public void Dispose() => KeyPair.Dispose();
    }

    private static OhttpError Error(Action action) => Assert.Throws<ProtocolException<OhttpError>>(action).Error;

    [Theory]
    [MemberData(nameof(Suites))]
    public void RequestResponse_EachSuite_RoundTrips(HpkeKem kem, HpkeAead aead)
    {
        using var setup = new Setup(kem);
        var client = new OhttpClient(setup.Config, new OhttpSymmetricSuite(HpkeKdf.HkdfSha256, aead));
        var bhttp = new BinaryHttpRequest("POST", "https", "dp.example", "/lookup") { Content = "query"u8.ToArray() }.Encode();

        var request = client.EncapsulateRequest(bhttp);
        using var received = setup.Gateway.DecapsulateRequest(request.EncapsulatedRequest.Span);
        var response = received.EncapsulateResponse(new BinaryHttpResponse(200) { Content = "answer"u8.ToArray() }.Encode());

        Assert.Equal(bhttp, received.Request.ToArray());
        Assert.Equal(new HpkeSuite(kem, HpkeKdf.HkdfSha256, aead), received.Suite);
        Assert.Equal("answer"u8.ToArray(), BinaryHttpResponse.Decode(request.DecapsulateResponse(response)).Content.ToArray());
        Assert.Equal(7 + OhttpKeyConfig.PublicKeyLength(kem) + bhttp.Length + 16, request.EncapsulatedRequest.Length);
    }

    [Fact]
    public void EncapsulateRequest_Twice_DifferentEncAndCiphertext()
    {
        using var setup = new Setup(HpkeKem.X25519HkdfSha256);
        var client = new OhttpClient(setup.Config);

        var a = client.EncapsulateRequest("same"u8).EncapsulatedRequest.ToArray();
        var b = client.EncapsulateRequest("same"u8).EncapsulatedRequest.ToArray();

        Assert.Equal(a[..7], b[..7]);
        Assert.NotEqual(a[7..], b[7..]);
    }

    [Fact]
    public void DecapsulateRequest_EveryTamperedByte_TypedError()
    {
        using var setup = new Setup(HpkeKem.X25519HkdfSha256);
        var encapsulated = new OhttpClient(setup.Config).EncapsulateRequest("GET /"u8).EncapsulatedRequest.ToArray();

        for (var i = 0; i < encapsulated.Length; i++)
        {
            var tampered = encapsulated.ToArray();
            tampered[i] ^= 0x01;
            var expected = i switch
            {
                0 => OhttpError.UnknownKeyId,
                < 7 => OhttpError.UnsupportedSuite,
                _ => OhttpError.DecryptionFailed,
            };
            Assert.Equal(expected, Error(() => setup.Gateway.DecapsulateRequest(tampered)));
        }
    }

    [Fact]
    public void DecapsulateRequest_TruncatedOrOversized_TypedError()
    {
        using var setup = new Setup(HpkeKem.P256HkdfSha256, maxRequestLength: 200);
        var encapsulated = new OhttpClient(setup.Config).EncapsulateRequest(new byte[50]).EncapsulatedRequest.ToArray();

        Assert.Equal(OhttpError.Malformed, Error(() => setup.Gateway.DecapsulateRequest([])));
        Assert.Equal(OhttpError.Malformed, Error(() => setup.Gateway.DecapsulateRequest(encapsulated.AsSpan(0, 6))));
        Assert.Equal(OhttpError.Malformed, Error(() => setup.Gateway.DecapsulateRequest(encapsulated.AsSpan(0, 7 + 65 + 15))));
        Assert.Equal(OhttpError.DecryptionFailed, Error(() => setup.Gateway.DecapsulateRequest(encapsulated.AsSpan(0, encapsulated.Length - 1))));
        Assert.Equal(OhttpError.DecryptionFailed, Error(() => setup.Gateway.DecapsulateRequest([.. encapsulated, 0])));
        Assert.Equal(OhttpError.TooLarge, Error(() => setup.Gateway.DecapsulateRequest(new byte[201])));
    }

    [Fact]
    public void DecapsulateRequest_EncNotOnCurve_Malformed()
    {
        using var setup = new Setup(HpkeKem.P256HkdfSha256);
        var encapsulated = new OhttpClient(setup.Config).EncapsulateRequest("x"u8).EncapsulatedRequest.ToArray();
        encapsulated[7 + 64] ^= 0x01;

        Assert.Equal(OhttpError.Malformed, Error(() => setup.Gateway.DecapsulateRequest(encapsulated)));
    }

    [Fact]
    public void DecapsulateRequest_UnknownKeyIdOrSuiteNotOffered_TypedError()
    {
        using var offersAes = new Setup(HpkeKem.X25519HkdfSha256, keyId: 1, suites: [AllSymmetric[0]]);
        using var other = new Setup(HpkeKem.X25519HkdfSha256, keyId: 2);
        var toOther = new OhttpClient(other.Config, AllSymmetric[2]).EncapsulateRequest("x"u8).EncapsulatedRequest.ToArray();

        Assert.Equal(OhttpError.UnknownKeyId, Error(() => offersAes.Gateway.DecapsulateRequest(toOther)));

        // Key id 1 now, but ChaCha20-Poly1305, which key 1 does not offer.
        toOther[0] = 1;
        Assert.Equal(OhttpError.UnsupportedSuite, Error(() => offersAes.Gateway.DecapsulateRequest(toOther)));

        // Export-only and unknown algorithms are never usable for OHTTP.
        byte[] header = [1, 0x00, 0x20, 0x00, 0x01, 0xff, 0xff];
        Assert.Equal(OhttpError.UnsupportedSuite, Error(() => offersAes.Gateway.DecapsulateRequest([.. header, .. new byte[64]])));
    }

    [Fact]
    public void DecapsulateRequest_SealedToOtherKeyWithSameId_DecryptionFailed()
    {
        using var gatewayKey = new Setup(HpkeKem.X25519HkdfSha256, keyId: 3);
        using var impostor = new Setup(HpkeKem.X25519HkdfSha256, keyId: 3);
        var encapsulated = new OhttpClient(impostor.Config).EncapsulateRequest("x"u8).EncapsulatedRequest.ToArray();

        Assert.Equal(OhttpError.DecryptionFailed, Error(() => gatewayKey.Gateway.DecapsulateRequest(encapsulated)));
    }

    [Fact]
    public void DecapsulateResponse_TamperedTruncatedOversizedOrForOtherRequest_TypedError()
    {
        using var setup = new Setup(HpkeKem.X25519HkdfSha256);
        var client = new OhttpClient(setup.Config, maxResponseLength: 100);
        var request = client.EncapsulateRequest("a"u8);
        var otherRequest = client.EncapsulateRequest("a"u8);
        using var received = setup.Gateway.DecapsulateRequest(request.EncapsulatedRequest.Span);
        var response = received.EncapsulateResponse("0140c8"u8);

        for (var i = 0; i < response.Length; i++)
        {
            var tampered = response.ToArray();
            tampered[i] ^= 0x80;
            Assert.Equal(OhttpError.DecryptionFailed, Error(() => request.DecapsulateResponse(tampered)));
        }

        Assert.Equal(OhttpError.DecryptionFailed, Error(() => otherRequest.DecapsulateResponse(response)));
        Assert.Equal(OhttpError.DecryptionFailed, Error(() => request.DecapsulateResponse(response.AsSpan(0, response.Length - 1))));
        Assert.Equal(OhttpError.Malformed, Error(() => request.DecapsulateResponse(response.AsSpan(0, 16 + 15))));
        Assert.Equal(OhttpError.TooLarge, Error(() => request.DecapsulateResponse(new byte[101])));
        Assert.Equal("0140c8"u8.ToArray(), request.DecapsulateResponse(response));
    }

    [Fact]
    public void Client_NoUsableSuite_UnsupportedSuite()
    {
        using var keyPair = HpkeKeyPair.Generate(HpkeKem.X25519HkdfSha256);
        var exportOnly = new OhttpKeyConfig(1, HpkeKem.X25519HkdfSha256, keyPair.PublicKey.Span, [new(HpkeKdf.HkdfSha256, HpkeAead.ExportOnly), new((HpkeKdf)2, HpkeAead.Aes128Gcm)]);
        var aesOnly = new OhttpKeyConfig(1, HpkeKem.X25519HkdfSha256, keyPair.PublicKey.Span, [AllSymmetric[0]]);

        Assert.Equal(OhttpError.UnsupportedSuite, Error(() => _ = new OhttpClient(exportOnly)));
        Assert.Equal(OhttpError.UnsupportedSuite, Error(() => _ = new OhttpClient(aesOnly, AllSymmetric[2])));
        Assert.Equal(HpkeAead.Aes128Gcm, new OhttpClient(aesOnly).Suite.Aead);
    }

    [Fact]
    public void KeyConfigList_EncodeDecode_SkipsUnknownKemsAndRoundTrips()
    {
        using var x25519 = new Setup(HpkeKem.X25519HkdfSha256, keyId: 1);
        using var p256 = new Setup(HpkeKem.P256HkdfSha256, keyId: 2);
        using var gateway = new Setup(HpkeKem.X25519HkdfSha256, keyId: 9);
        var list = OhttpKeyConfig.EncodeList([x25519.Config, p256.Config]);

        // A configuration for KEM 0x0021 (X448), which this client cannot use, between the two.
        byte[] x448 = [5, 0x00, 0x21, .. new byte[56], 0x00, 0x04, 0x00, 0x01, 0x00, 0x01];
        byte[] mixed = [.. list[..(2 + x25519.Config.Encode().Length)], 0x00, (byte)x448.Length, .. x448, .. list[(2 + x25519.Config.Encode().Length)..]];

        var decoded = OhttpKeyConfig.DecodeList(mixed);

        Assert.Equal([1, 2], decoded.Select(c => c.KeyId));
        Assert.Equal(list, OhttpKeyConfig.EncodeList(decoded));
        Assert.Equal(OhttpError.UnsupportedSuite, Error(() => OhttpKeyConfig.Decode(x448)));
        Assert.Equal(OhttpKeyConfig.EncodeList([gateway.Config]), gateway.Gateway.EncodeKeyConfigs());
    }

    [Theory]
    [InlineData("")]
    [InlineData("0100")]
    [InlineData("010020")]
    [InlineData("0100200000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("010020000000000000000000000000000000000000000000000000000000000000000000000003000100")]
    [InlineData("01002000000000000000000000000000000000000000000000000000000000000000000004000100")]
    [InlineData("0100200000000000000000000000000000000000000000000000000000000000000000000400010001ff")]
    public void KeyConfigDecode_Malformed_TypedError(string hex) =>
        Assert.Equal(OhttpError.Malformed, Error(() => OhttpKeyConfig.Decode(Convert.FromHexString(hex))));

    [Theory]
    [InlineData("00")]
    [InlineData("0005010020")]
    [InlineData("0003010020")]
    public void KeyConfigDecodeList_Malformed_TypedError(string hex) =>
        Assert.Equal(OhttpError.Malformed, Error(() => OhttpKeyConfig.DecodeList(Convert.FromHexString(hex))));

    [Fact]
    public void Gateway_DuplicateKeyIdOrMismatchedKey_ThrowsArgumentException()
    {
        using var a = new Setup(HpkeKem.X25519HkdfSha256, keyId: 4);
        using var b = new Setup(HpkeKem.X25519HkdfSha256, keyId: 4);

        Assert.Throws<ArgumentException>(() => new OhttpGateway([new OhttpGatewayKey(a.Config, a.KeyPair), new OhttpGatewayKey(b.Config, b.KeyPair)]));
        Assert.Throws<ArgumentException>(() => new OhttpGatewayKey(a.Config, b.KeyPair));
        Assert.Throws<ArgumentException>(() => new OhttpGateway([]));
        Assert.Throws<ArgumentException>(() => new OhttpKeyConfig(1, HpkeKem.P256HkdfSha256, a.KeyPair.PublicKey.Span, AllSymmetric));
    }

    [Fact]
    public void Gateway_RandomBytes_OnlyTypedException()
    {
        using var setup = new Setup(HpkeKem.X25519HkdfSha256, keyId: 1);
        Gen.OneOf(Gen.Byte.Array[0, 120], Gen.Byte.Array[0, 80].Select(rest => (byte[])[1, 0x00, 0x20, 0x00, 0x01, 0x00, 0x01, .. rest]))
            .Sample(bytes =>
            {
                var e = Assert.Throws<ProtocolException<OhttpError>>(() => setup.Gateway.DecapsulateRequest(bytes));
                Assert.True(Enum.IsDefined(e.Error));
            }, iter: 2_000);
    }
}

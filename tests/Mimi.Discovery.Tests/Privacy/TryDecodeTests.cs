using CsCheck;
using Mimi.Discovery.Privacy;
using Mimi.Discovery.Privacy.Hpke;
using Mimi.Discovery.Privacy.Ohttp;
using Mimi.Discovery.Privacy.Tokens;

namespace Mimi.Discovery.Tests.Privacy;

/// <summary>
/// The Try forms of the decoders of attacker-controlled bytes: each malformed, truncated, oversized
/// or forged input returns its specific error and nothing is thrown.
/// </summary>
public sealed class TryDecodeTests : IDisposable
{
    private readonly HpkeKeyPair _keyPair = HpkeKeyPair.Generate(HpkeKem.X25519HkdfSha256);
    private readonly OhttpKeyConfig _config;
    private readonly OhttpGateway _gateway;

    public TryDecodeTests()
    {
        _config = new OhttpKeyConfig(7, HpkeKem.X25519HkdfSha256, _keyPair.PublicKey.Span, [new(HpkeKdf.HkdfSha256, HpkeAead.Aes128Gcm)]);
        _gateway = new OhttpGateway([new OhttpGatewayKey(_config, _keyPair)], maxRequestLength: 1024);
    }

    public void Dispose() => _keyPair.Dispose();

    private byte[] Encapsulated(out OhttpClientRequest request)
    {
        request = new OhttpClient(_config).EncapsulateRequest(new BinaryHttpRequest("GET", "https", "dp.example", "/").Encode());
        return request.EncapsulatedRequest.ToArray();
    }

    public static TheoryData<string, OhttpError> GatewayInputs => new()
    {
        { "empty", OhttpError.Malformed },
        { "header-only", OhttpError.Malformed },
        { "truncated-enc", OhttpError.Malformed },
        { "oversized", OhttpError.TooLarge },
        { "unknown-key", OhttpError.UnknownKeyId },
        { "other-aead", OhttpError.UnsupportedSuite },
        { "other-kem", OhttpError.UnsupportedSuite },
        { "tampered", OhttpError.DecryptionFailed },
        { "forged-enc", OhttpError.DecryptionFailed },
    };

    [Theory]
    [MemberData(nameof(GatewayInputs))]
    public void TryDecapsulateRequest_BadInput_ReturnsTheSpecificError(string form, OhttpError expected)
    {
        var good = Encapsulated(out _);
        var input = form switch
        {
            "empty" => [],
            "header-only" => good[..7],
            "truncated-enc" => good[..(7 + 31)],
            "oversized" => new byte[1025],
            "unknown-key" => [8, .. good[1..]],
            "other-aead" => [.. good[..5], 0x00, 0x03, .. good[7..]],
            "other-kem" => [good[0], 0x00, 0x10, .. good[3..]],
            "tampered" => [.. good[..^1], (byte)(good[^1] ^ 1)],
            "forged-enc" => [.. good[..7], .. new byte[32].Select((_, i) => (byte)(i + 1)), .. good[(7 + 32)..]],
            _ => throw new ArgumentOutOfRangeException(nameof(form)),
        };

        Assert.False(_gateway.TryDecapsulateRequest(input, out var request, out var error));
        Assert.Null(request);
        Assert.Equal(expected, error.Code);
        Assert.False(string.IsNullOrWhiteSpace(error.Message));
        Assert.Equal(expected, Assert.Throws<ProtocolException<OhttpError>>(() => _gateway.DecapsulateRequest(input)).Error);
    }

    [Fact]
    public void TryDecapsulateRequest_Valid_OpensTheBinaryHttpRequest()
    {
        Assert.True(_gateway.TryDecapsulateRequest(Encapsulated(out _), out var request, out var error));
        using (request)
        {
            Assert.Equal(default, error);
            Assert.True(BinaryHttpRequest.TryDecode(request.Request.Span, out var inner, out _));
            Assert.Equal("/", inner.Path);
        }
    }

    [Fact]
    public void TryDecapsulateResponse_BadInput_ReturnsTheSpecificError()
    {
        var encapsulated = Encapsulated(out var client);
        using var opened = _gateway.DecapsulateRequest(encapsulated);
        var response = opened.EncapsulateResponse(new BinaryHttpResponse(200).Encode());

        Assert.True(client.TryDecapsulateResponse(response, out var plaintext, out _));
        Assert.True(BinaryHttpResponse.TryDecode(plaintext, out var decoded, out _));
        Assert.Equal(200, decoded.StatusCode);

        Assert.False(client.TryDecapsulateResponse(response.AsSpan(0, 20), out _, out var truncated));
        Assert.Equal(OhttpError.Malformed, truncated.Code);
        Assert.False(client.TryDecapsulateResponse([.. response[..^1], (byte)(response[^1] ^ 0x80)], out _, out var tampered));
        Assert.Equal(OhttpError.DecryptionFailed, tampered.Code);
        Assert.False(client.TryDecapsulateResponse(new byte[OhttpClient.DefaultMaxResponseLength + 1], out _, out var oversized));
        Assert.Equal(OhttpError.TooLarge, oversized.Code);

        // A response sealed for another request does not open for this one.
        Encapsulated(out var other);
        Assert.False(other.TryDecapsulateResponse(response, out _, out var forged));
        Assert.Equal(OhttpError.DecryptionFailed, forged.Code);
    }

    public static TheoryData<string, byte[], BinaryHttpError> BinaryHttpRequestInputs()
    {
        var good = new BinaryHttpRequest("POST", "https", "dp.example", "/v1/lookup") { Content = "{}"u8.ToArray() }.Encode();
        return new()
        {
            { "empty", [], BinaryHttpError.Truncated },
            { "truncated", good[..^3], BinaryHttpError.Truncated },
            { "response", new BinaryHttpResponse(200).Encode(), BinaryHttpError.UnexpectedMessageType },
            { "indeterminate", [2, .. good[1..]], BinaryHttpError.IndeterminateLength },
            { "nonzero-padding", [.. good, 1], BinaryHttpError.Malformed },
            { "oversized", new byte[(1 << 20) + 1], BinaryHttpError.TooLarge },
            { "bad-method", [0, 3, (byte)'G', (byte)' ', (byte)'T', 0, 0, 0], BinaryHttpError.Malformed },
        };
    }

    [Theory]
    [MemberData(nameof(BinaryHttpRequestInputs))]
    public void BinaryHttpRequestTryDecode_BadInput_ReturnsTheSpecificError(string form, byte[] input, BinaryHttpError expected)
    {
        Assert.False(BinaryHttpRequest.TryDecode(input, out var request, out var error), form);
        Assert.Null(request);
        Assert.Equal(expected, error.Code);
        Assert.Equal(expected, Assert.Throws<ProtocolException<BinaryHttpError>>(() => BinaryHttpRequest.Decode(input)).Error);
    }

    [Theory]
    [InlineData(new byte[] { }, BinaryHttpError.Truncated)]
    [InlineData(new byte[] { 0 }, BinaryHttpError.UnexpectedMessageType)]
    [InlineData(new byte[] { 3 }, BinaryHttpError.IndeterminateLength)]
    [InlineData(new byte[] { 1, 0x40, 99 }, BinaryHttpError.Malformed)]
    [InlineData(new byte[] { 1, 0x40, 0xc8, 5, 1 }, BinaryHttpError.Truncated)]
    public void BinaryHttpResponseTryDecode_BadInput_ReturnsTheSpecificError(byte[] input, BinaryHttpError expected)
    {
        Assert.False(BinaryHttpResponse.TryDecode(input, out var response, out var error));
        Assert.Null(response);
        Assert.Equal(expected, error.Code);
    }

    [Fact]
    public void BinaryHttpResponseTryDecode_OverLimits_IsTooLarge()
    {
        var encoded = new BinaryHttpResponse(200) { Content = new byte[100] }.Encode();
        Assert.False(BinaryHttpResponse.TryDecode(encoded, out _, out var error, new BinaryHttpLimits { MaxContentLength = 99 }));
        Assert.Equal(BinaryHttpError.TooLarge, error.Code);
    }

    [Theory]
    [InlineData(0, PrivacyPassError.Malformed)]
    [InlineData(1, PrivacyPassError.Malformed)]
    [InlineData(Token.EncodedLength - 1, PrivacyPassError.Malformed)]
    [InlineData(Token.EncodedLength + 1, PrivacyPassError.Malformed)]
    public void TokenTryDecode_WrongLength_IsMalformed(int length, PrivacyPassError expected)
    {
        var input = new byte[length];
        if (length >= 2)
        {
            input[1] = 2;
        }

        Assert.False(Token.TryDecode(input, out var token, out var error));
        Assert.Null(token);
        Assert.Equal(expected, error.Code);
    }

    [Fact]
    public void TokenTryDecode_OtherTypeOrSize_ReturnsTheSpecificError()
    {
        var valid = new byte[Token.EncodedLength];
        valid[1] = 2;
        Assert.True(Token.TryDecode(valid, out var token, out _));
        Assert.Equal(valid, token.Encode());

        byte[] otherType = [0, 1, .. valid[2..]];
        Assert.False(Token.TryDecode(otherType, out _, out var error));
        Assert.Equal(PrivacyPassError.UnsupportedTokenType, error.Code);
        Assert.Equal(PrivacyPassError.UnsupportedTokenType, Assert.Throws<ProtocolException<PrivacyPassError>>(() => Token.Decode(otherType)).Error);

        // The type is read first, as a reader meets it: a short token of another type is refused for its type.
        Assert.False(Token.TryDecode(otherType.AsSpan(0, 10), out _, out error));
        Assert.Equal(PrivacyPassError.UnsupportedTokenType, error.Code);
    }

    [Fact]
    public void TokenRequestAndResponseTryDecode_BadInput_ReturnsTheSpecificError()
    {
        var request = new byte[TokenRequest.EncodedLength];
        request[1] = 2;
        Assert.True(TokenRequest.TryDecode(request, out var decoded, out _));
        Assert.Equal(request, decoded.Encode());
        Assert.False(TokenRequest.TryDecode(request.AsSpan(0, request.Length - 1), out _, out var truncated));
        Assert.Equal(PrivacyPassError.Malformed, truncated.Code);
        Assert.False(TokenRequest.TryDecode([.. request, 0], out _, out var trailing));
        Assert.Equal(PrivacyPassError.Malformed, trailing.Code);
        Assert.False(TokenRequest.TryDecode([0, 5, .. request[2..]], out _, out var otherType));
        Assert.Equal(PrivacyPassError.UnsupportedTokenType, otherType.Code);

        Assert.True(TokenResponse.TryDecode(new byte[256], out _, out _));
        Assert.False(TokenResponse.TryDecode(new byte[255], out var response, out var shortResponse));
        Assert.Null(response);
        Assert.Equal(PrivacyPassError.Malformed, shortResponse.Code);
        Assert.False(TokenResponse.TryDecode(new byte[257], out _, out var longResponse));
        Assert.Equal(PrivacyPassError.Malformed, longResponse.Code);
    }

    [Fact]
    public void GenericBatchTokenRequestTryDecode_BadInput_ReturnsTheSpecificError()
    {
        Assert.False(GenericBatchTokenRequest.TryDecode([], 4, out var requests, out var error));
        Assert.Null(requests);
        Assert.Equal(PrivacyPassError.Malformed, error.Code);
        Assert.False(GenericBatchTokenRequest.TryDecode([0x41, 0x03, 0x00, 0x02], 4, out _, out error));
        Assert.Equal(PrivacyPassError.Malformed, error.Code);
    }

    [Fact]
    public void TryForms_ArbitraryBytes_NeverThrow()
    {
        var client = new OhttpClient(_config);
        var pending = client.EncapsulateRequest([0]);
        Gen.Byte.Array[0, 600].Sample(bytes =>
        {
            _ = _gateway.TryDecapsulateRequest(bytes, out var request, out _);
            request?.Dispose();
            _ = pending.TryDecapsulateResponse(bytes, out _, out _);
            _ = BinaryHttpRequest.TryDecode(bytes, out _, out _);
            _ = BinaryHttpResponse.TryDecode(bytes, out _, out _);
            _ = Token.TryDecode(bytes, out _, out _);
            _ = TokenRequest.TryDecode(bytes, out _, out _);
            _ = TokenResponse.TryDecode(bytes, out _, out _);
            _ = GenericBatchTokenRequest.TryDecode(bytes, 8, out _, out _);
        }, iter: 2000);
    }
}

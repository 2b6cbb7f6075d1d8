using CsCheck;
using Mimi.Discovery.Privacy;
using Mimi.Discovery.Privacy.Ohttp;

namespace Mimi.Discovery.Tests.Privacy.Ohttp;

public class BinaryHttpTests
{
    private static BinaryHttpRequest SampleRequest()
    {
        var request = new BinaryHttpRequest("POST", "https", "dp.example", "/lookup") { Content = "{\"csi\":\"x\"}"u8.ToArray() };
        request.Headers.Add(new("content-type", "application/json"));
        request.Trailers.Add(new("x-check", "1"));
        return request;
    }

    private static BinaryHttpError DecodeError(string hex, bool response = false) =>
        (response
            ? Assert.Throws<ProtocolException<BinaryHttpError>>(() => BinaryHttpResponse.Decode(Convert.FromHexString(hex)))
            : Assert.Throws<ProtocolException<BinaryHttpError>>(() => BinaryHttpRequest.Decode(Convert.FromHexString(hex)))).Error;

    [Theory]
    [InlineData("", BinaryHttpError.Truncated)]
    [InlineData("00", BinaryHttpError.Truncated)]
    [InlineData("0003474554", BinaryHttpError.Truncated)]
    [InlineData("000347455405687474707300", BinaryHttpError.Truncated)]
    [InlineData("40", BinaryHttpError.Truncated)]
    [InlineData("01", BinaryHttpError.UnexpectedMessageType)]
    [InlineData("04", BinaryHttpError.UnexpectedMessageType)]
    [InlineData("02", BinaryHttpError.IndeterminateLength)]
    [InlineData("0000056874747073000000", BinaryHttpError.Malformed)]
    [InlineData("0003474554056874747073000120", BinaryHttpError.Malformed)]
    [InlineData("00034745540568747470730001", BinaryHttpError.Truncated)]
    [InlineData("000347455405687474707300012f0403413a6201", BinaryHttpError.Truncated)]
    [InlineData("000347455405687474707300012f04033a6162", BinaryHttpError.Truncated)]
    [InlineData("000347455405687474707300012f05033a61620000", BinaryHttpError.Malformed)]
    [InlineData("000347455405687474707300012f05036120620000", BinaryHttpError.Malformed)]
    [InlineData("000347455405687474707300012f05026162010d00", BinaryHttpError.Malformed)]
    [InlineData("000347455405687474707300012f0502616201200000", BinaryHttpError.Malformed)]
    [InlineData("000347455405687474707300012f0400000000", BinaryHttpError.Malformed)]
    [InlineData("000347455405687474707300012f00000001", BinaryHttpError.Malformed)]
    [InlineData("000347455405687474707300012f000000000001", BinaryHttpError.Malformed)]
    public void RequestDecode_BadInput_TypedError(string hex, BinaryHttpError expected) => Assert.Equal(expected, DecodeError(hex));

    [Theory]
    [InlineData("014063", BinaryHttpError.Malformed)]
    [InlineData("0140c7", BinaryHttpError.Truncated)]
    [InlineData("014258", BinaryHttpError.Malformed)]
    [InlineData("014064", BinaryHttpError.Truncated)]
    [InlineData("0100", BinaryHttpError.Malformed)]
    [InlineData("00", BinaryHttpError.UnexpectedMessageType)]
    [InlineData("03", BinaryHttpError.IndeterminateLength)]
    public void ResponseDecode_BadInput_TypedError(string hex, BinaryHttpError expected) => Assert.Equal(expected, DecodeError(hex, response: true));

    [Fact]
    public void Decode_OverLimits_TooLarge()
    {
        var encoded = SampleRequest().Encode(paddingLength: 100);

        Assert.Equal(BinaryHttpError.TooLarge, Assert.Throws<ProtocolException<BinaryHttpError>>(() => BinaryHttpRequest.Decode(encoded, new BinaryHttpLimits { MaxMessageLength = 100 })).Error);
        Assert.Equal(BinaryHttpError.TooLarge, Assert.Throws<ProtocolException<BinaryHttpError>>(() => BinaryHttpRequest.Decode(encoded, new BinaryHttpLimits { MaxContentLength = 5 })).Error);
        Assert.Equal(BinaryHttpError.TooLarge, Assert.Throws<ProtocolException<BinaryHttpError>>(() => BinaryHttpRequest.Decode(encoded, new BinaryHttpLimits { MaxFieldSectionLength = 10 })).Error);
        Assert.Equal(BinaryHttpError.TooLarge, Assert.Throws<ProtocolException<BinaryHttpError>>(() => BinaryHttpRequest.Decode(encoded, new BinaryHttpLimits { MaxFieldLines = 0 })).Error);
        Assert.NotNull(BinaryHttpRequest.Decode(encoded, new BinaryHttpLimits { MaxMessageLength = encoded.Length }));

        // A declared content length of 2^62-1 is refused before anything is allocated.
        Assert.Equal(BinaryHttpError.TooLarge, DecodeError("000347455405687474707300012f00ffffffffffffffff"));
    }

    [Fact]
    public void ResponseDecode_TooManyInformationalResponses_TooLarge()
    {
        var response = new BinaryHttpResponse(204);
        for (var i = 0; i < 3; i++)
        {
            response.InformationalResponses.Add(new BinaryHttpInformationalResponse(103));
        }

        var e = Assert.Throws<ProtocolException<BinaryHttpError>>(() => BinaryHttpResponse.Decode(response.Encode(), new BinaryHttpLimits { MaxInformationalResponses = 2 }));
        Assert.Equal(BinaryHttpError.TooLarge, e.Error);
    }

    [Fact]
    public void Encode_InvalidFields_ThrowsArgumentException()
    {
        var request = SampleRequest();
        request.Headers.Add(new(":path", "/"));
        Assert.Throws<ArgumentException>(() => request.Encode());

        var response = new BinaryHttpResponse(200);
        response.Headers.Add(new("x", "a\r\nb"));
        Assert.Throws<ArgumentException>(() => response.Encode());

        Assert.Throws<ArgumentException>(() => new BinaryHttpRequest("G T", "https", "a", "/"));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BinaryHttpResponse(199));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BinaryHttpInformationalResponse(200));
    }

    [Fact]
    public void Encode_Padding_ZerosThatDecodeAway()
    {
        var plain = SampleRequest().Encode();
        var padded = SampleRequest().Encode(paddingLength: 32);

        Assert.Equal(plain, padded.AsSpan(0, plain.Length).ToArray());
        Assert.All(padded.Skip(plain.Length), b => Assert.Equal(0, b));
        Assert.Equal(plain, BinaryHttpRequest.Decode(padded).Encode());
    }

    private static readonly Gen<string> Token = Gen.String[Gen.Char["abcdefghijklmnopqrstuvwxyzABCXYZ0123456789-_.!#$%&'*+^`|~"], 1, 12];

    private static readonly Gen<string> FieldValue = Gen.String[Gen.Char[(char)0x21, (char)0xff], 0, 20]
        .SelectMany(core => Gen.Bool.Select(space => space && core.Length > 0 ? core[0] + " " + core : core));

    private static readonly Gen<BinaryHttpField[]> FieldList = Gen.Select(Token, FieldValue, (n, v) => new BinaryHttpField(n, v)).Array[0, 6];

    private static readonly Gen<string> Visible = Gen.String[Gen.Char['!', '~'], 0, 16];

    [Fact]
    public void RequestEncodeDecode_RandomRequests_RoundTrip()
    {
        Gen.Select(Token, Visible, Visible, Visible, FieldList, Gen.Byte.Array[0, 300], FieldList, Gen.Int[0, 8])
            .Sample((method, scheme, authority, path, headers, content, trailers, padding) =>
            {
                var request = new BinaryHttpRequest(method, scheme, authority, path) { Content = content };
                foreach (var h in headers)
                {
                    request.Headers.Add(h);
                }

                foreach (var t in trailers)
                {
                    request.Trailers.Add(t);
                }

                var encoded = request.Encode(padding);
                var decoded = BinaryHttpRequest.Decode(encoded);
                return decoded.Method == method && decoded.Scheme == scheme && decoded.Authority == authority && decoded.Path == path
                    && decoded.Headers.SequenceEqual(headers) && decoded.Trailers.SequenceEqual(trailers)
                    && decoded.Content.Span.SequenceEqual(content) && decoded.Encode(padding).AsSpan().SequenceEqual(encoded);
            });
    }

    [Fact]
    public void ResponseEncodeDecode_RandomResponses_RoundTrip()
    {
        Gen.Select(Gen.Int[200, 599], Gen.Int[100, 199].Array[0, 3], FieldList, Gen.Byte.Array[0, 300], FieldList)
            .Sample((status, informational, headers, content, trailers) =>
            {
                var response = new BinaryHttpResponse(status) { Content = content };
                foreach (var code in informational)
                {
                    response.InformationalResponses.Add(new BinaryHttpInformationalResponse(code, headers));
                }

                foreach (var h in headers)
                {
                    response.Headers.Add(h);
                }

                foreach (var t in trailers)
                {
                    response.Trailers.Add(t);
                }

                var decoded = BinaryHttpResponse.Decode(response.Encode());
                return decoded.StatusCode == status && decoded.InformationalResponses.Select(i => i.StatusCode).SequenceEqual(informational)
                    && decoded.Headers.SequenceEqual(headers) && decoded.Trailers.SequenceEqual(trailers) && decoded.Content.Span.SequenceEqual(content);
            });
    }

    [Fact]
    public void Decode_RandomBytes_OnlyTypedException()
    {
        // Random bytes, and valid messages with random bytes flipped or cut: decoding either succeeds or throws ProtocolException<BinaryHttpError>.
        byte[][] samples = [SampleRequest().Encode(), new BinaryHttpResponse(404).Encode(), Convert.FromHexString("0140c8")];
        var valid = Gen.Int[0, samples.Length - 1].Select(i => samples[i]);
        var mutated = Gen.Select(valid, Gen.Int[0, 1000], Gen.Byte, Gen.Int[0, 60]).Select((bytes, at, value, cut) =>
        {
            var copy = bytes.ToArray();
            copy[at % copy.Length] = value;
            return copy[..Math.Max(0, copy.Length - (cut % (copy.Length + 1)))];
        });
        Gen.OneOf(Gen.Byte.Array[0, 200], Gen.Byte[0, 3].SelectMany(first => Gen.Byte.Array[0, 100].Select(rest => (byte[])[first, .. rest])), mutated)
            .Sample(bytes =>
            {
                Decodes(() => BinaryHttpRequest.Decode(bytes));
                Decodes(() => BinaryHttpResponse.Decode(bytes));
            }, iter: 20_000);
    }

    private static void Decodes(Action decode)
    {
        try
        {
            decode();
        }
        catch (ProtocolException<BinaryHttpError>)
        {
            // the only failure allowed
        }
    }
}

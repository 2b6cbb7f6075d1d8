using System.Text.Json;
using Mimi.Discovery.Privacy;
using Mimi.Discovery.Privacy.Ohttp;

namespace Mimi.Discovery.Tests.Privacy.Ohttp;

/// <summary>RFC 9292 §5 examples (Vectors/Ohttp/rfc9292-examples.json): Figures 8 and 13 decode and re-encode; Figures 9 and 11 (indeterminate length) are refused.</summary>
public class BinaryHttpVectorTests
{
    private static readonly JsonElement[] Examples = [.. JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Vectors", "Ohttp", "rfc9292-examples.json"))).RootElement.GetProperty("examples").EnumerateArray()];

    private static JsonElement Example(string name) => Examples.Single(e => e.GetProperty("name").GetString() == name);

    private static byte[] Encoded(JsonElement e) => Convert.FromHexString(e.GetProperty("encoded").GetString()!);

    private static List<BinaryHttpField> Fields(JsonElement decoded, string name) =>
        [.. decoded.GetProperty(name).EnumerateArray().Select(f => new BinaryHttpField(f[0].GetString()!, f[1].GetString()!))];

    [Fact]
    public void Decode_Rfc9292Figure8KnownLengthRequest_MatchesAndReencodes()
    {
        var example = Example("ex-bink-request");
        var decoded = example.GetProperty("decoded");

        var request = BinaryHttpRequest.Decode(Encoded(example));

        Assert.Equal(decoded.GetProperty("method").GetString(), request.Method);
        Assert.Equal(decoded.GetProperty("scheme").GetString(), request.Scheme);
        Assert.Equal(decoded.GetProperty("authority").GetString(), request.Authority);
        Assert.Equal(decoded.GetProperty("path").GetString(), request.Path);
        Assert.Equal(Fields(decoded, "header_fields"), request.Headers);
        Assert.Equal(Fields(decoded, "trailer_fields"), request.Trailers);
        Assert.Equal(Convert.FromHexString(decoded.GetProperty("content_hex").GetString()!), request.Content.ToArray());
        Assert.Equal(Encoded(example), request.Encode());
    }

    [Fact]
    public void Decode_Rfc9292Figure8Truncated_SameRequest()
    {
        var encoded = Encoded(Example("ex-bink-request"));

        // §5.1: the last two bytes (empty content and trailer lengths) may each be removed.
        foreach (var cut in new[] { 1, 2 })
        {
            var request = BinaryHttpRequest.Decode(encoded.AsSpan(0, encoded.Length - cut));
            Assert.Equal(encoded, request.Encode());
        }

        // Cutting a third byte lands inside the header section.
        var e = Assert.Throws<ProtocolException<BinaryHttpError>>(() => BinaryHttpRequest.Decode(encoded.AsSpan(0, encoded.Length - 3)));
        Assert.Equal(BinaryHttpError.Truncated, e.Error);
    }

    [Fact]
    public void Decode_Rfc9292Figure13KnownLengthResponse_MatchesAndReencodes()
    {
        var example = Example("ex-bink-chunked");
        var decoded = example.GetProperty("decoded");

        var response = BinaryHttpResponse.Decode(Encoded(example));

        Assert.Equal(decoded.GetProperty("status").GetInt32(), response.StatusCode);
        Assert.Empty(response.InformationalResponses);
        Assert.Equal(Fields(decoded, "header_fields"), response.Headers);
        Assert.Equal(Fields(decoded, "trailer_fields"), response.Trailers);
        Assert.Equal(Convert.FromHexString(decoded.GetProperty("content_hex").GetString()!), response.Content.ToArray());
        Assert.Equal(Encoded(example), response.Encode());
    }

    [Theory]
    [InlineData("ex-bini-request")]
    [InlineData("ex-bini-response")]
    public void Decode_Rfc9292IndeterminateLength_RefusedWithSpecificError(string name)
    {
        var example = Example(name);
        Assert.Equal("indeterminate-length", example.GetProperty("encoding").GetString());

        var e = example.GetProperty("message_type").GetString() == "request"
            ? Assert.Throws<ProtocolException<BinaryHttpError>>(() => BinaryHttpRequest.Decode(Encoded(example)))
            : Assert.Throws<ProtocolException<BinaryHttpError>>(() => BinaryHttpResponse.Decode(Encoded(example)));

        Assert.Equal(BinaryHttpError.IndeterminateLength, e.Error);
    }

    [Fact]
    public void Encode_Rfc9292Figure11AsKnownLength_InformationalResponsesRoundTrip()
    {
        // The Figure 11 message, re-expressed in the known-length form this implementation speaks.
        var decoded = Example("ex-bini-response").GetProperty("decoded");
        var response = new BinaryHttpResponse(decoded.GetProperty("status").GetInt32())
        {
            Content = Convert.FromHexString(decoded.GetProperty("content_hex").GetString()!),
        };
        foreach (var i in decoded.GetProperty("informational_responses").EnumerateArray())
        {
            response.InformationalResponses.Add(new BinaryHttpInformationalResponse(i.GetProperty("status").GetInt32(), Fields(i, "fields")));
        }

        foreach (var field in Fields(decoded, "header_fields"))
        {
            response.Headers.Add(field);
        }

        var again = BinaryHttpResponse.Decode(response.Encode(paddingLength: 10));

        Assert.Equal([102, 103], again.InformationalResponses.Select(i => i.StatusCode));
        Assert.Equal(Fields(decoded.GetProperty("informational_responses")[1], "fields"), again.InformationalResponses[1].Fields);
        Assert.Equal(Fields(decoded, "header_fields"), again.Headers);
        Assert.Equal(response.Content.ToArray(), again.Content.ToArray());
    }
}

using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Mimi.Discovery.Privacy;
using Mimi.Discovery.Privacy.Tokens;
using Mimi.Discovery.Protocol;

namespace Mimi.Discovery.Tests.Privacy.Tokens;

/// <summary>
/// Generic batched issuance (draft-ietf-privacypass-batched-tokens §6): the draft's test vector 4 of
/// Appendix A (two type 0x0002 issuances under the RFC 9578 A.2 key, transcribed into
/// Vectors/PrivacyPass/batched), and the refusals of what is not a batch.
/// </summary>
public sealed class BatchedIssuanceTests
{
    private static readonly JsonElement Vector = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Vectors", "PrivacyPass", "batched", "generic-batch-type2.json"))).RootElement;

    // The draft's vector uses the RFC 9578 A.2 issuer key, which the pat-go type-2 vectors carry.
    private static readonly JsonElement Key = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Vectors", "PrivacyPass", "pat-go", "type2-issuance-test-vectors.json"))).RootElement[0];

    private static byte[] Hex(JsonElement e, string name) => Convert.FromHexString(e.GetProperty(name).GetString()!);

    private static TokenIssuer Issuer()
    {
        using var rsa = RSA.Create();
        rsa.ImportFromPem(Encoding.ASCII.GetString(Hex(Key, "skS")));
        return new TokenIssuer(BlindRsaPrivateKey.FromRsa(rsa));
    }

    [Fact]
    public void Decode_DraftVector_TwoType2Requests_ReencodesToTheSameBytes()
    {
        var encoded = Hex(Vector, "tokenRequest");

        var (requests, supported) = GenericBatchTokenRequest.Decode(encoded, maxRequests: 10);

        Assert.Equal(2, supported);
        Assert.All(requests, r => Assert.Equal(PrivateTokenTypes.BlindRsa2048, r!.TokenType));
        Assert.Equal(encoded, new GenericBatchTokenRequest(requests.Select(r => r!).ToList()).Encode());
    }

    [Fact]
    public void Issue_DraftVectorRequests_GivesTheVectorsResponseByteForByte_AndItsTokensVerify()
    {
        var issuer = Issuer();
        Assert.Equal(Hex(Key, "pkS"), issuer.PublicKey.Encoded.ToArray());
        var (requests, _) = GenericBatchTokenRequest.Decode(Hex(Vector, "tokenRequest"), 10);

        // Blind RSA signing is deterministic: the same blinded messages give the same signatures.
        var response = new GenericBatchTokenResponse(requests.Select(r => issuer.Issue(r!)).ToList()).Encode();

        Assert.Equal(Hex(Vector, "tokenResponse"), response);
        Assert.Equal(2, GenericBatchTokenResponse.Decode(response).Responses.Count(r => r is not null));
        var verifier = new TokenVerifier([issuer.PublicKey]);
        foreach (var issuance in Vector.GetProperty("issuances").EnumerateArray())
        {
            Assert.True(verifier.TryVerify(Token.Decode(Hex(issuance, "token")), Hex(issuance, "tokenChallenge"), out var error), error.ToString());
        }
    }

    [Fact]
    public void Response_WithAbsentEntries_RoundTrips()
    {
        var signature = new TokenResponse(new byte[PrivateTokenTypes.BlindRsa2048Nk]);
        var encoded = new GenericBatchTokenResponse([null, signature, null]).Encode();

        var decoded = GenericBatchTokenResponse.Decode(encoded);

        Assert.Equal([false, true, false], decoded.Responses.Select(r => r is not null));
        Assert.Equal(encoded, decoded.Encode());
    }

    [Fact]
    public void Decode_OtherDefinedTypes_AreSteppedOverAndLeftOut()
    {
        var type2 = new TokenRequest(7, new byte[PrivateTokenTypes.BlindRsa2048Nk]).Encode();
        byte[] voprf = [0x00, 0x01, 0x09, .. new byte[49]];
        byte[] body = [.. voprf, .. type2];
        byte[] encoded = [0x41, (byte)body.Length, .. body];
        encoded[0] = (byte)(0x40 | (body.Length >> 8));

        var (requests, supported) = GenericBatchTokenRequest.Decode(encoded, 10);

        Assert.Equal(1, supported);
        Assert.Null(requests[0]);
        Assert.Equal(7, requests[1]!.TruncatedTokenKeyId);
    }

    public static TheoryData<string, string> BadBatches => new()
    {
        { "", "truncated" },
        { "05" + "0002", "says 5 bytes" },
        { "4003" + "000200", "not minimally encoded" },
        { "03" + "000200", "ends inside a token request" },
        { "02" + "0099", "0x0099" },
        { "00", "no token request" },
    };

    [Theory]
    [MemberData(nameof(BadBatches))]
    public void Decode_NotABatch_IsRefusedWithTheReason(string hex, string reason)
    {
        var e = Assert.Throws<ProtocolException<PrivacyPassError>>(() => GenericBatchTokenRequest.Decode(Convert.FromHexString(hex), 10));

        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_MoreRequestsThanAllowed_IsMalformed()
    {
        var requests = Enumerable.Range(0, 3).Select(i => new TokenRequest((byte)i, new byte[PrivateTokenTypes.BlindRsa2048Nk])).ToList();

        var e = Assert.Throws<ProtocolException<PrivacyPassError>>(() => GenericBatchTokenRequest.Decode(new GenericBatchTokenRequest(requests).Encode(), maxRequests: 2));

        Assert.Equal(PrivacyPassError.Malformed, e.Error);
    }

    [Theory]
    [InlineData("02")]
    [InlineData("0100")]
    [InlineData("010001")]
    public void DecodeResponse_BadPresenceByteOrTruncated_IsRefused(string body)
    {
        var bytes = Convert.FromHexString(body);
        Assert.Throws<ProtocolException<PrivacyPassError>>(() => GenericBatchTokenResponse.Decode([(byte)bytes.Length, .. bytes]));
    }

    // RFC 9000 Appendix A.1's sample decodings; 0x4025 is a valid but not minimal encoding of 37.
    [Theory]
    [InlineData("c2197c5eff14e88c", 151288809941952652UL, 8)]
    [InlineData("9d7f3e7d", 494878333UL, 4)]
    [InlineData("7bbd", 15293UL, 2)]
    [InlineData("25", 37UL, 1)]
    [InlineData("4025", 37UL, 2)]
    public void QuicVarInt_Rfc9000Samples_DecodeAndShortestEncodingRoundTrips(string hex, ulong value, int length)
    {
        Assert.True(QuicVarInt.TryRead(Convert.FromHexString(hex), out var read, out var size));
        Assert.Equal((value, length), (read, size));

        var buffer = new byte[8];
        var written = QuicVarInt.Write(buffer, value);
        Assert.Equal(QuicVarInt.EncodedLength(value), written);
        if (length == written)
        {
            Assert.Equal(hex, Convert.ToHexStringLower(buffer.AsSpan(0, written)));
        }
    }

    [Theory]
    [InlineData(0, 10, 0)]
    [InlineData(1, 10, 1)]
    [InlineData(10, 10, 1)]
    [InlineData(11, 10, 2)]
    [InlineData(1000, 10, 100)]
    [InlineData(3, 1, 3)]
    public void LookupPrice_OneTokenPerKCsisRoundedUp(int csis, int perToken, int tokens) => Assert.Equal(tokens, LookupPrice.Tokens(csis, perToken));

    [Fact]
    public void LookupPrice_CountsDistinctValidCsisOnly()
    {
        Assert.Equal(["tel:+33612345678", "mailto:bob@example.com"], LookupPrice.DistinctValidCsis(["+33612345678", "tel:+33612345678", "+33 6 12 34 56 78", "bob@example.com", "nonsense", null]));
        Assert.Equal(1, LookupPrice.For(["+33612345678", "bob@example.com"], 10));
    }
}

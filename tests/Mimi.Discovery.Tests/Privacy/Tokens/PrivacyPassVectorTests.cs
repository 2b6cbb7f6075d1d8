using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Mimi.Discovery.Privacy;
using Mimi.Discovery.Privacy.Tokens;
using BigInteger = Org.BouncyCastle.Math.BigInteger;

namespace Mimi.Discovery.Tests.Privacy.Tokens;

/// <summary>
/// Published Privacy Pass vectors, copied into Vectors/PrivacyPass from shared/testvectors/privacypass:
/// <list type="bullet">
/// <item>apple/PrivacyPassPublicTokens.json = RFC 9578 Appendix A.2 (token type 0x0002), and
/// pat-go/type2-issuance-test-vectors.json, a second draw of the random values for the same key and challenges;</item>
/// <item>rfc9577-appendix-a.json = RFC 9577 Appendix A.1 (TokenChallenge and token input) and A.2 (WWW-Authenticate);
/// apple/PrivacyPassChallengeAndRedemptionStructure.json and pat-go/token-test-vectors.json are the same A.1
/// vectors as published by two implementations, and are run too.</item>
/// </list>
/// Every file in the shared folder is used. RFC 9578 Appendix A.1 (type 0x0001, VOPRF) was never copied
/// because this library implements only type 0x0002; the type 0x0001 challenges inside the A.2 header vectors
/// are still parsed as headers but not decoded as keys.
/// </summary>
public class PrivacyPassVectorTests
{
    private static string VectorPath(params string[] parts) => Path.Combine([AppContext.BaseDirectory, "Vectors", "PrivacyPass", .. parts]);

    private static JsonElement Load(params string[] parts) => JsonDocument.Parse(File.ReadAllText(VectorPath(parts))).RootElement;

    private static readonly Dictionary<string, JsonElement> IssuanceFiles = new()
    {
        ["rfc9578-a2"] = Load("apple", "PrivacyPassPublicTokens.json"),
        ["pat-go-type2"] = Load("pat-go", "type2-issuance-test-vectors.json"),
    };

    private static readonly JsonElement Rfc9577 = Load("rfc9577-appendix-a.json");

    private static readonly Dictionary<string, JsonElement> StructureFiles = new()
    {
        ["rfc9577-a1"] = Rfc9577.GetProperty("challenge_and_redemption_structure").GetProperty("vectors"),
        ["apple-a1"] = Load("apple", "PrivacyPassChallengeAndRedemptionStructure.json"),
        ["pat-go-a1"] = Load("pat-go", "token-test-vectors.json"),
    };

    public static TheoryData<string, int> IssuanceVectors => new(IssuanceFiles.SelectMany(f => Enumerable.Range(0, f.Value.GetArrayLength()).Select(i => (f.Key, i))));

    public static TheoryData<string, int> StructureVectors => new(StructureFiles.SelectMany(f => Enumerable.Range(0, f.Value.GetArrayLength()).Select(i => (f.Key, i))));

    public static TheoryData<int> HeaderVectors => new(Enumerable.Range(0, Rfc9577.GetProperty("http_header").GetProperty("vectors").GetArrayLength()));

    private static Func<string, byte[]> Hex(JsonElement v) => name => Convert.FromHexString(v.GetProperty(name).GetString()!);

    [Theory]
    [MemberData(nameof(IssuanceVectors))]
    public void Issuance_Rfc9578AppendixA2_ReproducesRequestResponseAndToken(string file, int index)
    {
        var hex = Hex(IssuanceFiles[file][index]);
        using var rsa = RSA.Create();
        rsa.ImportFromPem(Encoding.ASCII.GetString(hex("skS")));
        var issuer = new TokenIssuer(BlindRsaPrivateKey.FromRsa(rsa));
        var clientKey = TokenPublicKey.Decode(hex("pkS"));
        Assert.Equal(hex("pkS"), issuer.PublicKey.Encoded.ToArray());
        Assert.Equal(SHA256.HashData(hex("pkS")), clientKey.KeyId.ToArray());

        var pending = PendingTokenRequest.Create(hex("token_challenge"), clientKey, hex("nonce"), hex("salt"), new BigInteger(1, hex("blind")));
        Assert.Equal(hex("token_request"), pending.Request.Encode());
        Assert.Equal(hex("token_request"), TokenRequest.Decode(hex("token_request")).Encode());

        Assert.Equal(hex("token_response"), issuer.Issue(hex("token_request")));
        Assert.Equal(hex("token_response"), TokenResponse.Decode(hex("token_response")).Encode());

        var token = pending.Finalize(TokenResponse.Decode(hex("token_response")));
        Assert.Equal(hex("token"), token.Encode());
        Assert.Equal(hex("token"), Token.Decode(hex("token")).Encode());
        Assert.Equal(hex("nonce"), token.Nonce.ToArray());
        Assert.Equal(SHA256.HashData(hex("token_challenge")), token.ChallengeDigest.ToArray());

        Assert.Equal(hex("token_challenge"), TokenChallenge.Decode(hex("token_challenge")).Encode());
        new TokenVerifier([clientKey]).Verify(Token.Decode(hex("token")), hex("token_challenge"));
    }

    [Theory]
    [MemberData(nameof(StructureVectors))]
    public void ChallengeAndTokenInput_Rfc9577AppendixA1_Match(string file, int index)
    {
        var v = StructureFiles[file][index];
        var hex = Hex(v);
        var input = hex("token_authenticator_input");
        var tokenType = Convert.ToUInt16(v.GetProperty("token_type").GetString(), 16);
        if (tokenType == 0)
        {
            // The grease vector: a token of type 0x0000 is refused for its type, whatever follows.
            var error = Assert.Throws<ProtocolException<PrivacyPassError>>(() => Token.Decode(input));
            Assert.Equal(PrivacyPassError.UnsupportedTokenType, error.Error);
            return;
        }

        var origins = Encoding.ASCII.GetString(hex("origin_info"));
        var challenge = new TokenChallenge(tokenType, Encoding.ASCII.GetString(hex("issuer_name")), hex("redemption_context"), origins.Length == 0 ? [] : origins.Split(','));
        var encoded = challenge.Encode();
        var decoded = TokenChallenge.Decode(encoded);
        Assert.Equal(encoded, decoded.Encode());
        Assert.Equal(hex("redemption_context"), decoded.RedemptionContext.ToArray());

        var authenticator = new byte[Token.EncodedLength - input.Length];
        var token = new Token(tokenType, hex("nonce"), challenge.Digest(), hex("token_key_id"), authenticator);
        Assert.Equal(input, token.AuthenticatorInput());
    }

    [Theory]
    [MemberData(nameof(HeaderVectors))]
    public void ParseChallenges_Rfc9577AppendixA2_YieldsEveryChallenge(int index)
    {
        var v = Rfc9577.GetProperty("http_header").GetProperty("vectors")[index];
        var expected = v.GetProperty("challenges").EnumerateArray().ToList();

        var parsed = PrivateTokenHeaders.ParseChallenges(v.GetProperty("www_authenticate").GetString()!);

        Assert.Equal(expected.Count, parsed.Count);
        foreach (var (want, got) in expected.Zip(parsed))
        {
            Assert.Equal(want.GetProperty("token_type").GetInt32(), got.TokenType);
            Assert.Equal(Convert.FromHexString(want.GetProperty("token_challenge").GetString()!), got.TokenChallenge.ToArray());
            Assert.Equal(Convert.FromHexString(want.GetProperty("token_key").GetString()!), got.TokenKey.ToArray());
            Assert.Equal(want.GetProperty("max_age").ValueKind == JsonValueKind.Null ? null : want.GetProperty("max_age").GetInt32(), got.MaxAge);
            if (got.TokenType == PrivateTokenTypes.BlindRsa2048)
            {
                Assert.Equal(got.TokenKey.ToArray(), TokenPublicKey.Decode(got.TokenKey).Encoded.ToArray());
                Assert.Equal("issuer.example", TokenChallenge.Decode(got.TokenChallenge).IssuerName);
            }
        }

        var reformatted = PrivateTokenHeaders.ParseChallenges(PrivateTokenHeaders.FormatChallenges(parsed));
        Assert.Equal(parsed.Select(c => c.TokenChallenge.ToArray()), reformatted.Select(c => c.TokenChallenge.ToArray()));
        Assert.Equal(parsed.Select(c => c.TokenKey.ToArray()), reformatted.Select(c => c.TokenKey.ToArray()));
        Assert.Equal(parsed.Select(c => c.MaxAge), reformatted.Select(c => c.MaxAge));
    }
}

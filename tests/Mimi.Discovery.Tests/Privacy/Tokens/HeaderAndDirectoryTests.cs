using System.Security.Cryptography;
using Mimi.Discovery.Privacy;
using Mimi.Discovery.Privacy.Tokens;

namespace Mimi.Discovery.Tests.Privacy.Tokens;

/// <summary>PrivateToken header fields (RFC 9577 §2) and the issuer directory (RFC 9578 §4) beyond the published vectors.</summary>
public class HeaderAndDirectoryTests
{
    private static readonly byte[] Challenge = new TokenChallenge(PrivateTokenTypes.BlindRsa2048, "issuer.example", [], ["mimi.example"]).Encode();

    private static PrivacyPassError ErrorOf(Action action) => Assert.Throws<ProtocolException<PrivacyPassError>>(action).Error;

    [Fact]
    public void FormatChallenges_ThenParse_RoundTrips()
    {
        var key = RandomNumberGenerator.GetBytes(294);
        var header = PrivateTokenHeaders.FormatChallenges([new PrivateTokenChallenge(Challenge, key, 60), new PrivateTokenChallenge(Challenge, key)]);

        var parsed = PrivateTokenHeaders.ParseChallenges(header);

        Assert.StartsWith("PrivateToken challenge=\"", header, StringComparison.Ordinal);
        Assert.Equal([60, null], parsed.Select(c => c.MaxAge));
        Assert.All(parsed, c => Assert.Equal(key, c.TokenKey.ToArray()));
        Assert.All(parsed, c => Assert.Equal(Challenge, c.TokenChallenge.ToArray()));
    }

    [Theory]
    [InlineData("privatetoken   Challenge = \"AAIAAWkAAAA\" ,TOKEN-KEY=AAAA,max-age=0", 0)]
    [InlineData("Bearer abc==, PrivateToken challenge=\"AAIAAWkAAAA=\", token-key=\"AA==\"", null)]
    [InlineData("Basic realm=\"x\", Negotiate, PrivateToken challenge=AAIAAWkAAAA, token-key=\"\"", null)]
    public void ParseChallenges_LenientForms_AreAccepted(string header, int? maxAge)
    {
        var parsed = Assert.Single(PrivateTokenHeaders.ParseChallenges(header));

        Assert.Equal(PrivateTokenTypes.BlindRsa2048, parsed.TokenType);
        Assert.Equal(maxAge, parsed.MaxAge);
    }

    [Fact]
    public void ParseChallenges_NoPrivateToken_IsEmpty() =>
        Assert.Empty(PrivateTokenHeaders.ParseChallenges("Basic realm=\"x\", Bearer abc"));

    [Theory]
    [InlineData("PrivateToken token-key=\"AAAA\"")] // no challenge
    [InlineData("PrivateToken challenge=\"AAIAAWkAAAA\"")] // no token-key
    [InlineData("PrivateToken challenge=\"AAIA*WkAAAA\", token-key=\"AAAA\"")] // not base64url
    [InlineData("PrivateToken challenge=\"AAIA+WkAAAA\", token-key=\"AAAA\"")] // standard base64
    [InlineData("PrivateToken challenge=\"AAIAAWkAAAA===\", token-key=\"AAAA\"")] // too much padding
    [InlineData("PrivateToken challenge=\"AA\", token-key=\"AAAA\"")] // shorter than a token type
    [InlineData("PrivateToken challenge=\"AAIAAWkAAAA\", challenge=\"AAIAAWkAAAA\", token-key=\"AAAA\"")] // repeated
    [InlineData("PrivateToken challenge=\"AAIAAWkAAAA\", token-key=\"AAAA\", max-age=\"-1\"")]
    [InlineData("PrivateToken challenge=\"AAIAAWkAAAA\", token-key=\"AAAA\", max-age=\"99999999999\"")]
    [InlineData("PrivateToken challenge=\"AAIAAWkAAAA, token-key=\"AAAA\"")] // unterminated quote
    [InlineData("PrivateToken challenge=\"AAIAAWkAAAA\" token-key=\"AAAA\"")] // missing comma
    [InlineData("PrivateToken challenge=")]
    [InlineData("challenge=\"AAIAAWkAAAA\"")] // parameter before any scheme
    [InlineData("\"PrivateToken\"")]
    public void ParseChallenges_MalformedField_IsMalformed(string header) =>
        Assert.Equal(PrivacyPassError.Malformed, ErrorOf(() => PrivateTokenHeaders.ParseChallenges(header)));

    [Theory]
    [InlineData("Basic dXNlcjpwYXNz")]
    [InlineData("PrivateToken")]
    [InlineData("PrivateToken token=\"AAIA\"")]
    [InlineData("PrivateToken token=\"AAIA\", PrivateToken token=\"AAIA\"")]
    [InlineData("PrivateToken tokens=\"AAIA\"")]
    public void ParseAuthorization_NotOneWellFormedToken_IsMalformed(string header) =>
        Assert.Equal(PrivacyPassError.Malformed, ErrorOf(() => PrivateTokenHeaders.ParseAuthorization(header)));

    [Fact]
    public void ParseAuthorization_TokenOfOtherType_IsUnsupported()
    {
        var bytes = new byte[Token.EncodedLength];
        bytes[1] = 0x01;
        var header = $"PrivateToken token=\"{Convert.ToBase64String(bytes).Replace('+', '-').Replace('/', '_')}\"";

        Assert.Equal(PrivacyPassError.UnsupportedTokenType, ErrorOf(() => PrivateTokenHeaders.ParseAuthorization(header)));
    }

    [Fact]
    public void Directory_ToJsonThenParse_RoundTripsAndSelectsActiveKeys()
    {
        using var rsa = RSA.Create(2048);
        var key = TokenPublicKey.FromKey(BlindRsaPublicKey.FromRsa(rsa));
        var now = DateTimeOffset.FromUnixTimeSeconds(1_760_000_000);
        var directory = new IssuerDirectory(new Uri("https://issuer.example/token-request"),
        [
            new IssuerDirectoryKey(PrivateTokenTypes.BlindRsa2048, key.Encoded.ToArray()),
            new IssuerDirectoryKey(PrivateTokenTypes.BlindRsa2048, key.Encoded.ToArray(), now.AddDays(1)),
            new IssuerDirectoryKey(0x0001, new byte[49], now),
            new IssuerDirectoryKey(PrivateTokenTypes.BlindRsa2048, new byte[3], now),
        ]);

        var json = directory.ToJson();
        var parsed = IssuerDirectory.Parse(json);

        Assert.Contains("\"issuer-request-uri\":\"https://issuer.example/token-request\"", json, StringComparison.Ordinal);
        Assert.Contains("\"not-before\":1760086400", json, StringComparison.Ordinal);
        Assert.DoesNotContain("=", json, StringComparison.Ordinal);
        Assert.Equal(directory.IssuerRequestUri, parsed.IssuerRequestUri);
        Assert.Equal(directory.TokenKeys.Select(k => (k.TokenType, k.NotBefore)), parsed.TokenKeys.Select(k => (k.TokenType, k.NotBefore)));
        Assert.Equal(directory.TokenKeys.Select(k => k.TokenKey.ToArray()), parsed.TokenKeys.Select(k => k.TokenKey.ToArray()));
        var active = Assert.Single(parsed.ActiveBlindRsaKeys(now));
        Assert.Equal(key.KeyId.ToArray(), active.KeyId.ToArray());
        Assert.Equal(2, parsed.ActiveBlindRsaKeys(now.AddDays(2)).Count);
    }

    [Fact]
    public void Directory_RelativeRequestUri_IsKeptRelative()
    {
        var parsed = IssuerDirectory.Parse("""{"issuer-request-uri":"/token-request","token-keys":[]}""");

        Assert.False(parsed.IssuerRequestUri.IsAbsoluteUri);
        Assert.Equal("https://issuer.example/token-request", new Uri(new Uri("https://issuer.example/.well-known/private-token-issuer-directory"), parsed.IssuerRequestUri).AbsoluteUri);
    }

    [Fact]
    public void Directory_ExtraMembers_AreIgnored()
    {
        var parsed = IssuerDirectory.Parse("""{"issuer-request-uri":"https://i.example/r","token-keys":[{"token-type":2,"token-key":"AAAA","extra":true}],"more":{}}""");

        Assert.Equal(new byte[3], Assert.Single(parsed.TokenKeys).TokenKey.ToArray());
    }

    [Theory]
    [InlineData("")]
    [InlineData("[]")]
    [InlineData("{\"token-keys\":[]}")]
    [InlineData("{\"issuer-request-uri\":\"file:///etc/passwd\",\"token-keys\":[]}")]
    [InlineData("{\"issuer-request-uri\":7,\"token-keys\":[]}")]
    [InlineData("{\"issuer-request-uri\":\"https://i.example/r\"}")]
    [InlineData("{\"issuer-request-uri\":\"https://i.example/r\",\"token-keys\":{}}")]
    [InlineData("{\"issuer-request-uri\":\"https://i.example/r\",\"token-keys\":[{\"token-type\":70000,\"token-key\":\"AAAA\"}]}")]
    [InlineData("{\"issuer-request-uri\":\"https://i.example/r\",\"token-keys\":[{\"token-type\":\"2\",\"token-key\":\"AAAA\"}]}")]
    [InlineData("{\"issuer-request-uri\":\"https://i.example/r\",\"token-keys\":[{\"token-type\":2}]}")]
    [InlineData("{\"issuer-request-uri\":\"https://i.example/r\",\"token-keys\":[{\"token-type\":2,\"token-key\":\"A*AA\"}]}")]
    [InlineData("{\"issuer-request-uri\":\"https://i.example/r\",\"token-keys\":[{\"token-type\":2,\"token-key\":\"AAAA\",\"not-before\":-1}]}")]
    [InlineData("{\"issuer-request-uri\":\"https://i.example/r\",\"token-keys\":[{\"token-type\":2,\"token-key\":\"AAAA\",\"not-before\":1.5}]}")]
    [InlineData("{\"issuer-request-uri\":\"https://i.example/r\",\"token-keys\":[3]}")]
    public void Directory_Malformed_IsMalformed(string json) =>
        Assert.Equal(PrivacyPassError.Malformed, ErrorOf(() => IssuerDirectory.Parse(json)));
}

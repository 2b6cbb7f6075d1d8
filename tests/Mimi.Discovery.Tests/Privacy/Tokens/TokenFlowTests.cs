using System.Security.Cryptography;
using Mimi.Discovery.Privacy;
using Mimi.Discovery.Privacy.Tokens;

namespace Mimi.Discovery.Tests.Privacy.Tokens;

/// <summary>Issue → finalize → verify with freshly generated 2048-bit keys, and every refusal with its specific code.</summary>
public class TokenFlowTests
{
    private static readonly Lazy<(RSA Rsa, TokenIssuer Issuer)> Fresh = new(() => NewIssuer());
    private static readonly Lazy<(RSA Rsa, TokenIssuer Issuer)> Other = new(() => NewIssuer());

    private static TokenIssuer Issuer => Fresh.Value.Issuer;

    private static readonly byte[] Challenge = new TokenChallenge(PrivateTokenTypes.BlindRsa2048, "issuer.example", RandomNumberGenerator.GetBytes(32), ["mimi.example"]).Encode();

    private static (RSA, TokenIssuer) NewIssuer()
    {
        var rsa = RSA.Create(2048);
        return (rsa, new TokenIssuer(BlindRsaPrivateKey.FromRsa(rsa)));
    }

    private static Token IssueToken(byte[]? challenge = null)
    {
        var pending = PendingTokenRequest.Create(challenge ?? Challenge, TokenPublicKey.Decode(Issuer.PublicKey.Encoded));
        var response = Issuer.Issue(pending.Request.Encode());
        return pending.Finalize(TokenResponse.Decode(response));
    }

    private static PrivacyPassError ErrorOf(Action action) => Assert.Throws<ProtocolException<PrivacyPassError>>(action).Error;

    [Fact]
    public void IssueFinalizeVerify_FreshKey_Verifies()
    {
        var token = IssueToken();
        var redeemed = PrivateTokenHeaders.ParseAuthorization(PrivateTokenHeaders.FormatAuthorization(token));

        Assert.True(new TokenVerifier([Issuer.PublicKey]).TryVerify(redeemed, Challenge, out _));
        Assert.Equal(token.Encode(), redeemed.Encode());
        Assert.True(BlindRsa.Sha384PssDeterministic.Verify(BlindRsaPublicKey.FromRsa(Fresh.Value.Rsa), token.AuthenticatorInput(), token.Authenticator));
        Assert.True(Fresh.Value.Rsa.VerifyData(token.AuthenticatorInput(), token.Authenticator, HashAlgorithmName.SHA384, RSASignaturePadding.Pss));
    }

    [Fact]
    public void IssueToken_SameChallengeTwice_TokensAreUnlinkable()
    {
        var a = IssueToken();
        var b = IssueToken();

        Assert.NotEqual(a.Nonce.ToArray(), b.Nonce.ToArray());
        Assert.NotEqual(a.Authenticator.ToArray(), b.Authenticator.ToArray());
    }

    [Theory]
    [InlineData(2, PrivacyPassError.InvalidSignature)] // nonce
    [InlineData(40, PrivacyPassError.ChallengeMismatch)] // challenge_digest
    [InlineData(70, PrivacyPassError.UnknownKey)] // token_key_id
    [InlineData(98, PrivacyPassError.InvalidSignature)] // authenticator, first byte
    [InlineData(Token.EncodedLength - 1, PrivacyPassError.InvalidSignature)] // authenticator, last byte
    public void Verify_TamperedField_FailsWithItsCode(int offset, PrivacyPassError expected)
    {
        var bytes = IssueToken().Encode();
        bytes[offset] ^= 0x01;
        var verifier = new TokenVerifier([Issuer.PublicKey]);

        Assert.False(verifier.TryVerify(Token.Decode(bytes), Challenge, out var error));
        Assert.Equal(expected, error);
        Assert.Equal(expected, ErrorOf(() => verifier.Verify(Token.Decode(bytes), Challenge)));
    }

    [Fact]
    public void Decode_TamperedTokenType_IsUnsupported()
    {
        var bytes = IssueToken().Encode();
        bytes[1] = 0x01;

        Assert.Equal(PrivacyPassError.UnsupportedTokenType, ErrorOf(() => Token.Decode(bytes)));
    }

    [Fact]
    public void Verify_OtherIssuersKey_IsUnknownKey()
    {
        var verifier = new TokenVerifier([Other.Value.Issuer.PublicKey]);

        Assert.Equal(PrivacyPassError.UnknownKey, ErrorOf(() => verifier.Verify(IssueToken(), Challenge)));
        Assert.True(new TokenVerifier([Other.Value.Issuer.PublicKey, Issuer.PublicKey]).TryVerify(IssueToken(), Challenge, out _));
    }

    [Fact]
    public void Verify_OtherChallenge_IsChallengeMismatch()
    {
        var other = new TokenChallenge(PrivateTokenTypes.BlindRsa2048, "issuer.example", [], ["mimi.example"]).Encode();
        var token = IssueToken(other);

        Assert.Equal(PrivacyPassError.ChallengeMismatch, ErrorOf(() => new TokenVerifier([Issuer.PublicKey]).Verify(token, Challenge)));
        new TokenVerifier([Issuer.PublicKey]).Verify(token, other);
    }

    [Fact]
    public void Issue_RequestForAnotherKey_IsUnknownKey()
    {
        var pending = PendingTokenRequest.Create(Challenge, Other.Value.Issuer.PublicKey);
        var request = new TokenRequest((byte)(Issuer.PublicKey.TruncatedKeyId ^ 0xFF), pending.Request.BlindedMessage);

        Assert.Equal(PrivacyPassError.UnknownKey, ErrorOf(() => Issuer.Issue(request)));
    }

    [Fact]
    public void Issue_BlindedMessageNotBelowModulus_IsMalformed()
    {
        var request = new TokenRequest(Issuer.PublicKey.TruncatedKeyId, Enumerable.Repeat((byte)0xFF, 256).ToArray());

        Assert.Equal(PrivacyPassError.Malformed, ErrorOf(() => Issuer.Issue(request)));
    }

    [Fact]
    public void Finalize_TamperedOrForeignResponse_IsInvalidSignature()
    {
        var pending = PendingTokenRequest.Create(Challenge, Issuer.PublicKey);
        var response = Issuer.Issue(pending.Request.Encode());
        response[17] ^= 0x80;

        Assert.Equal(PrivacyPassError.InvalidSignature, ErrorOf(() => pending.Finalize(TokenResponse.Decode(response))));

        // A valid answer from another issuer to another request: the client must refuse it.
        var foreign = Other.Value.Issuer.Issue(PendingTokenRequest.Create(Challenge, Other.Value.Issuer.PublicKey).Request);
        Assert.Equal(PrivacyPassError.InvalidSignature, ErrorOf(() => pending.Finalize(foreign)));
    }

    [Fact]
    public void CreateRequest_ChallengeForOtherTokenType_IsUnsupported()
    {
        var voprf = new TokenChallenge(0x0001, "issuer.example", [], []).Encode();

        Assert.Equal(PrivacyPassError.UnsupportedTokenType, ErrorOf(() => PendingTokenRequest.Create(voprf, Issuer.PublicKey)));
        Assert.Equal(PrivacyPassError.Malformed, ErrorOf(() => PendingTokenRequest.Create(Challenge.AsSpan(1), Issuer.PublicKey)));
    }

    [Fact]
    public void Decode_TruncatedOrExtendedStructures_AreMalformed()
    {
        var token = IssueToken().Encode();
        var pending = PendingTokenRequest.Create(Challenge, Issuer.PublicKey);
        var request = pending.Request.Encode();
        var response = Issuer.Issue(request);

        Assert.Equal(PrivacyPassError.Malformed, ErrorOf(() => Token.Decode(token.AsSpan(0, token.Length - 1))));
        Assert.Equal(PrivacyPassError.Malformed, ErrorOf(() => Token.Decode([.. token, 0x00])));
        Assert.Equal(PrivacyPassError.Malformed, ErrorOf(() => Token.Decode(token.AsSpan(0, 1))));
        Assert.Equal(PrivacyPassError.Malformed, ErrorOf(() => TokenRequest.Decode(request.AsSpan(0, 258))));
        Assert.Equal(PrivacyPassError.Malformed, ErrorOf(() => TokenRequest.Decode([.. request, 0x00])));
        Assert.Equal(PrivacyPassError.Malformed, ErrorOf(() => TokenResponse.Decode(response.AsSpan(1))));
        Assert.Equal(PrivacyPassError.Malformed, ErrorOf(() => TokenResponse.Decode([.. response, 0x00])));
        Assert.Equal(PrivacyPassError.Malformed, ErrorOf(() => Issuer.Issue(request.AsSpan(0, 100))));
        for (var length = 0; length < Challenge.Length; length++)
        {
            Assert.Equal(PrivacyPassError.Malformed, ErrorOf(() => TokenChallenge.Decode(Challenge.AsSpan(0, length))));
        }

        Assert.Equal(PrivacyPassError.Malformed, ErrorOf(() => TokenChallenge.Decode([.. Challenge, 0x00])));
    }

    [Fact]
    public void DecodeChallenge_BadFields_AreMalformed()
    {
        byte[] badContext = [0x00, 0x02, 0x00, 0x01, (byte)'i', 0x05, 1, 2, 3, 4, 5, 0x00, 0x00];
        byte[] emptyIssuer = [0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00];
        byte[] nonAscii = [0x00, 0x02, 0x00, 0x01, 0xC3, 0x00, 0x00, 0x00];
        byte[] emptyOrigin = [0x00, 0x02, 0x00, 0x01, (byte)'i', 0x00, 0x00, 0x02, (byte)'a', (byte)','];
        byte[] good = [0x00, 0x02, 0x00, 0x01, (byte)'i', 0x00, 0x00, 0x03, (byte)'a', (byte)',', (byte)'b'];

        Assert.Equal(PrivacyPassError.Malformed, ErrorOf(() => TokenChallenge.Decode(badContext)));
        Assert.Equal(PrivacyPassError.Malformed, ErrorOf(() => TokenChallenge.Decode(emptyIssuer)));
        Assert.Equal(PrivacyPassError.Malformed, ErrorOf(() => TokenChallenge.Decode(nonAscii)));
        Assert.Equal(PrivacyPassError.Malformed, ErrorOf(() => TokenChallenge.Decode(emptyOrigin)));
        Assert.Equal(["a", "b"], TokenChallenge.Decode(good).OriginInfo);
        Assert.Throws<ArgumentException>(() => new TokenChallenge(2, "issuer.example", new byte[5], []));
        Assert.Throws<ArgumentException>(() => new TokenChallenge(2, "", [], []));
        Assert.Throws<ArgumentException>(() => new TokenChallenge(2, "issuer.example", [], ["a,b"]));
    }

    [Fact]
    public void DecodeTokenKey_OtherEncodingsAndSizes_AreRefused()
    {
        var spki = Issuer.PublicKey.Encoded.ToArray();
        using var rsa3072 = RSA.Create(3072);

        Assert.Equal(PrivacyPassError.InvalidKey, ErrorOf(() => TokenPublicKey.Decode(Fresh.Value.Rsa.ExportSubjectPublicKeyInfo())));
        Assert.Equal(PrivacyPassError.InvalidKey, ErrorOf(() => TokenPublicKey.FromKey(BlindRsaPublicKey.FromRsa(rsa3072))));
        Assert.Equal(PrivacyPassError.Malformed, ErrorOf(() => TokenPublicKey.Decode(spki.AsSpan(0, spki.Length - 1))));
        Assert.Equal(PrivacyPassError.Malformed, ErrorOf(() => TokenPublicKey.Decode([.. spki, 0x00])));
        Assert.Equal(PrivacyPassError.Malformed, ErrorOf(() => TokenPublicKey.Decode([])));

        var otherSalt = spki.ToArray();
        var saltAt = spki.AsSpan().IndexOf(new byte[] { 0xA2, 0x03, 0x02, 0x01, 0x30 });
        otherSalt[saltAt + 4] = 0x20;
        Assert.Equal(PrivacyPassError.InvalidKey, ErrorOf(() => TokenPublicKey.Decode(otherSalt)));
    }
}

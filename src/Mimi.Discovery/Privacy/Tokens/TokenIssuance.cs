// RFC 9578 §6: issuance protocol for publicly verifiable tokens (type 0x0002), on RFC 9474
// RSABSSA-SHA384-PSS-Deterministic. Client: §6.1 request, §6.3 finalization; issuer: §6.2 response.
using System.Security.Cryptography;
using Org.BouncyCastle.Math;

namespace Mimi.Discovery.Privacy.Tokens;

/// <summary>
/// The client side of one issuance: the TokenRequest to send, and the secret state that turns the
/// issuer's TokenResponse into a <see cref="Token"/>. Use once; keep it private to the client.
/// </summary>
public sealed class PendingTokenRequest
{
    private static readonly BlindRsa Scheme = BlindRsa.Sha384PssDeterministic;

    private readonly TokenPublicKey issuerKey;
    private readonly byte[] nonce;
    private readonly byte[] challengeDigest;
    private readonly byte[] tokenInput;
    private readonly byte[] inverse;

    private PendingTokenRequest(TokenPublicKey issuerKey, byte[] nonce, byte[] challengeDigest, byte[] tokenInput, BlindingResult blinding)
    {
        this.issuerKey = issuerKey;
        this.nonce = nonce;
        this.challengeDigest = challengeDigest;
        this.tokenInput = tokenInput;
        inverse = blinding.Inverse;
        Request = new TokenRequest(issuerKey.TruncatedKeyId, blinding.BlindedMessage);
    }

    /// <summary>The request to POST to the issuer as <see cref="PrivacyPassMediaTypes.TokenRequest"/>.</summary>
    public TokenRequest Request { get; }

    /// <summary>§6.1: builds a TokenRequest for an encoded TokenChallenge and the issuer key named with it.</summary>
    /// <exception cref="ProtocolException{PrivacyPassError}">
    /// <see cref="PrivacyPassError.Malformed"/>: the challenge does not decode; <see cref="PrivacyPassError.UnsupportedTokenType"/>: it is not for type 0x0002.
    /// </exception>
    public static PendingTokenRequest Create(ReadOnlySpan<byte> tokenChallenge, TokenPublicKey issuerKey)
    {
        var nonce = RandomNumberGenerator.GetBytes(PrivateTokenTypes.NonceLength);
        var salt = RandomNumberGenerator.GetBytes(Scheme.SaltLength);
        return Create(tokenChallenge, issuerKey, nonce, salt, null);
    }

    /// <summary>Test seam: Create with a chosen nonce, salt and blind (a null blind draws one at random).</summary>
    internal static PendingTokenRequest Create(ReadOnlySpan<byte> tokenChallenge, TokenPublicKey issuerKey, byte[] nonce, byte[] salt, BigInteger? blind)
    {
        ArgumentNullException.ThrowIfNull(issuerKey);
        var challenge = TokenChallenge.Decode(tokenChallenge);
        PrivateTokenTypes.RequireSupported(challenge.TokenType);
        var digest = SHA256.HashData(tokenChallenge);
        var input = Token.AuthenticatorInput(PrivateTokenTypes.BlindRsa2048, nonce, digest, issuerKey.KeyId);

        // PrepareIdentity: type 0x0002 signs token_input itself, with no random prefix.
        var blinding = blind is null
            ? Scheme.Blind(issuerKey.Key, input)
            : Scheme.Blind(issuerKey.Key, input, salt, blind);
        return new PendingTokenRequest(issuerKey, nonce, digest, input, blinding);
    }

    /// <summary>§6.3: unblinds the issuer's response and checks it, giving the token to redeem.</summary>
    /// <exception cref="ProtocolException{PrivacyPassError}"><see cref="PrivacyPassError.InvalidSignature"/>: the issuer's answer does not yield a valid signature.</exception>
    public Token Finalize(TokenResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        var authenticator = Scheme.Finalize(issuerKey.Key, tokenInput, response.BlindSignature, inverse)
            ?? throw new ProtocolException<PrivacyPassError>(PrivacyPassError.InvalidSignature, "The issuer's blind signature does not unblind to a valid token signature.");
        return new Token(PrivateTokenTypes.BlindRsa2048, nonce, challengeDigest, issuerKey.KeyId, authenticator);
    }
}

/// <summary>The issuer side of type 0x0002 issuance: blind-signs TokenRequests with one key.</summary>
internal sealed class TokenIssuer
{
    private readonly BlindRsaPrivateKey privateKey;

    /// <summary>Creates an issuer for a 2048-bit RSA private key.</summary>
    /// <exception cref="ProtocolException{PrivacyPassError}"><see cref="PrivacyPassError.InvalidKey"/>: the key is not 2048 bits.</exception>
    public TokenIssuer(BlindRsaPrivateKey privateKey)
    {
        ArgumentNullException.ThrowIfNull(privateKey);
        this.privateKey = privateKey;
        PublicKey = TokenPublicKey.FromKey(privateKey.PublicKey);
    }

    /// <summary>The public key to publish in the issuer directory.</summary>
    public TokenPublicKey PublicKey { get; }

    /// <summary>§6.2: decodes an encoded TokenRequest and returns the encoded TokenResponse.</summary>
    /// <exception cref="ProtocolException{PrivacyPassError}">See <see cref="Issue(TokenRequest)"/>, plus <see cref="PrivacyPassError.Malformed"/> and <see cref="PrivacyPassError.UnsupportedTokenType"/> from decoding.</exception>
    public byte[] Issue(ReadOnlySpan<byte> encodedRequest) => Issue(TokenRequest.Decode(encodedRequest)).Encode();

    /// <summary>§6.2: blind-signs a request, checking the result before releasing it.</summary>
    /// <exception cref="ProtocolException{PrivacyPassError}">
    /// <see cref="PrivacyPassError.UnknownKey"/>: the truncated key id is not this key's;
    /// <see cref="PrivacyPassError.Malformed"/>: the blinded message is not below the modulus;
    /// <see cref="PrivacyPassError.SigningFailed"/>: the private operation failed its check.
    /// </exception>
    public TokenResponse Issue(TokenRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.TruncatedTokenKeyId != PublicKey.TruncatedKeyId)
        {
            throw new ProtocolException<PrivacyPassError>(PrivacyPassError.UnknownKey, "The request's truncated token key id does not match this issuer's key.");
        }

        byte[]? signature;
        try
        {
            signature = BlindRsa.Sha384PssDeterministic.BlindSign(privateKey, request.BlindedMessage);
        }
        catch (CryptographicException e)
        {
            throw new ProtocolException<PrivacyPassError>(PrivacyPassError.SigningFailed, "The blind signature failed its verification check and was withheld.", e);
        }

        return new TokenResponse(signature
            ?? throw new ProtocolException<PrivacyPassError>(PrivacyPassError.Malformed, "The blinded message is not an integer below the issuer's modulus."));
    }
}

/// <summary>The origin side of redemption (RFC 9577 §2.2, RFC 9578 §6.4): checks a token against a challenge and known issuer keys.</summary>
internal sealed class TokenVerifier
{
    private readonly TokenPublicKey[] keys;

    /// <summary>Creates a verifier that accepts tokens under any of <paramref name="issuerKeys"/>.</summary>
    public TokenVerifier(IEnumerable<TokenPublicKey> issuerKeys)
    {
        ArgumentNullException.ThrowIfNull(issuerKeys);
        keys = [.. issuerKeys];
    }

    /// <summary>Checks the token: supported type, known key, the challenge it was issued for, and its signature.</summary>
    /// <param name="token">The redeemed token.</param>
    /// <param name="tokenChallenge">The encoded TokenChallenge the origin issued and expects the token to answer.</param>
    /// <param name="error">Why the token was refused, when it was.</param>
    /// <returns>Whether the token is valid. Double-spending is the caller's to track (by nonce).</returns>
    public bool TryVerify(Token token, ReadOnlySpan<byte> tokenChallenge, out PrivacyPassError error)
    {
        ArgumentNullException.ThrowIfNull(token);
        error = Check(token, tokenChallenge) ?? default;
        return error == default;
    }

    /// <summary>As <see cref="TryVerify"/>, but throws.</summary>
    /// <exception cref="ProtocolException{PrivacyPassError}">
    /// <see cref="PrivacyPassError.UnsupportedTokenType"/>, <see cref="PrivacyPassError.UnknownKey"/>,
    /// <see cref="PrivacyPassError.ChallengeMismatch"/> or <see cref="PrivacyPassError.InvalidSignature"/>.
    /// </exception>
    public void Verify(Token token, ReadOnlySpan<byte> tokenChallenge)
    {
        if (!TryVerify(token, tokenChallenge, out var error))
        {
            throw new ProtocolException<PrivacyPassError>(error, error switch
            {
                PrivacyPassError.UnsupportedTokenType => "The token's type is not supported.",
                PrivacyPassError.UnknownKey => "The token was issued under a key this origin does not accept.",
                PrivacyPassError.ChallengeMismatch => "The token was issued for a different challenge.",
                _ => "The token's authenticator does not verify.",
            });
        }
    }

    private PrivacyPassError? Check(Token token, ReadOnlySpan<byte> tokenChallenge)
    {
        if (token.TokenType != PrivateTokenTypes.BlindRsa2048)
        {
            return PrivacyPassError.UnsupportedTokenType;
        }

        var keyId = token.TokenKeyId;
        TokenPublicKey? key = null;
        foreach (var candidate in keys)
        {
            if (candidate.KeyId.SequenceEqual(keyId))
            {
                key = candidate;
                break;
            }
        }

        if (key is null)
        {
            return PrivacyPassError.UnknownKey;
        }

        Span<byte> digest = stackalloc byte[PrivateTokenTypes.DigestLength];
        SHA256.HashData(tokenChallenge, digest);
        if (!CryptographicOperations.FixedTimeEquals(digest, token.ChallengeDigest))
        {
            return PrivacyPassError.ChallengeMismatch;
        }

        return BlindRsa.Sha384PssDeterministic.Verify(key.Key, token.AuthenticatorInput(), token.Authenticator)
            ? null
            : PrivacyPassError.InvalidSignature;
    }
}

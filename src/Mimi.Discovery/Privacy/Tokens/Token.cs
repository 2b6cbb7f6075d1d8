// RFC 9577 §2.2: the Token a client redeems.
//   struct { uint16 token_type; uint8 nonce[32]; uint8 challenge_digest[32];
//            uint8 token_key_id[Nid]; uint8 authenticator[Nk]; } Token;
// For token type 0x0002, Nid = 32 and Nk = 256 (RFC 9578 §6).
using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;

namespace Mimi.Discovery.Privacy.Tokens;

/// <summary>A Privacy Pass token of type 0x0002.</summary>
public sealed class Token
{
    /// <summary>Encoded length of a type 0x0002 token: 2 + 32 + 32 + 32 + 256.</summary>
    public const int EncodedLength = 2 + PrivateTokenTypes.NonceLength + (2 * PrivateTokenTypes.DigestLength) + PrivateTokenTypes.BlindRsa2048Nk;

    private readonly byte[] nonce;
    private readonly byte[] challengeDigest;
    private readonly byte[] tokenKeyId;
    private readonly byte[] authenticator;

    /// <summary>Assembles a token from its fields.</summary>
    /// <exception cref="ArgumentException">A field has the wrong length.</exception>
    /// <exception cref="ProtocolException{PrivacyPassError}"><see cref="PrivacyPassError.UnsupportedTokenType"/>: the token type is not 0x0002.</exception>
    public Token(ushort tokenType, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> challengeDigest, ReadOnlySpan<byte> tokenKeyId, ReadOnlySpan<byte> authenticator)
    {
        PrivateTokenTypes.RequireSupported(tokenType);
        Require(nonce, PrivateTokenTypes.NonceLength, nameof(nonce));
        Require(challengeDigest, PrivateTokenTypes.DigestLength, nameof(challengeDigest));
        Require(tokenKeyId, PrivateTokenTypes.DigestLength, nameof(tokenKeyId));
        Require(authenticator, PrivateTokenTypes.BlindRsa2048Nk, nameof(authenticator));
        TokenType = tokenType;
        this.nonce = nonce.ToArray();
        this.challengeDigest = challengeDigest.ToArray();
        this.tokenKeyId = tokenKeyId.ToArray();
        this.authenticator = authenticator.ToArray();
    }

    /// <summary>token_type.</summary>
    public ushort TokenType { get; }

    /// <summary>nonce (32 random bytes chosen by the client).</summary>
    public ReadOnlySpan<byte> Nonce => nonce;

    /// <summary>challenge_digest = SHA-256(TokenChallenge).</summary>
    public ReadOnlySpan<byte> ChallengeDigest => challengeDigest;

    /// <summary>token_key_id: SHA-256 of the issuer's token key.</summary>
    public ReadOnlySpan<byte> TokenKeyId => tokenKeyId;

    /// <summary>authenticator: the RSASSA-PSS signature over <see cref="AuthenticatorInput()"/>.</summary>
    public ReadOnlySpan<byte> Authenticator => authenticator;

    /// <summary>token_input = token_type ‖ nonce ‖ challenge_digest ‖ token_key_id: the message the authenticator signs.</summary>
    public byte[] AuthenticatorInput() => AuthenticatorInput(TokenType, nonce, challengeDigest, tokenKeyId);

    /// <summary>The wire encoding (<see cref="EncodedLength"/> bytes).</summary>
    public byte[] Encode()
    {
        var buffer = new byte[EncodedLength];
        AuthenticatorInput().CopyTo(buffer, 0);
        authenticator.CopyTo(buffer, EncodedLength - authenticator.Length);
        return buffer;
    }

    /// <summary>Decodes a token, for callers with no recovery; servers use <see cref="TryDecode"/>.</summary>
    /// <exception cref="ProtocolException{PrivacyPassError}">See <see cref="TryDecode"/>.</exception>
    public static Token Decode(ReadOnlySpan<byte> encoded) =>
        TryDecode(encoded, out var token, out var error) ? token : throw error.ToException();

    /// <summary>Decodes a token (RFC 9577 §2.2, type 0x0002: <see cref="EncodedLength"/> bytes); never throws for bad input.</summary>
    /// <param name="encoded">token_type, nonce, challenge_digest, token_key_id, authenticator.</param>
    /// <param name="token">The token.</param>
    /// <param name="error">
    /// <see cref="PrivacyPassError.UnsupportedTokenType"/>: not type 0x0002; <see cref="PrivacyPassError.Malformed"/>: truncated or trailing bytes.
    /// </param>
    /// <returns>Whether the bytes are a token.</returns>
    public static bool TryDecode(ReadOnlySpan<byte> encoded, [NotNullWhen(true)] out Token? token, out ProtocolError<PrivacyPassError> error)
    {
        token = null;
        if (!PrivateTokenTypes.TryCheckFixedLength(encoded, "Token", EncodedLength, typed: true, out error))
        {
            return false;
        }

        var reader = new TokenReader(encoded, "Token");
        var tokenType = reader.ReadUInt16();
        var nonce = reader.Take(PrivateTokenTypes.NonceLength);
        var digest = reader.Take(PrivateTokenTypes.DigestLength);
        var keyId = reader.Take(PrivateTokenTypes.DigestLength);
        var authenticator = reader.Take(PrivateTokenTypes.BlindRsa2048Nk);
        token = new Token(tokenType, nonce, digest, keyId, authenticator);
        return true;
    }

    internal static byte[] AuthenticatorInput(ushort tokenType, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> challengeDigest, ReadOnlySpan<byte> tokenKeyId)
    {
        var input = new byte[2 + nonce.Length + challengeDigest.Length + tokenKeyId.Length];
        BinaryPrimitives.WriteUInt16BigEndian(input, tokenType);
        nonce.CopyTo(input.AsSpan(2));
        challengeDigest.CopyTo(input.AsSpan(2 + nonce.Length));
        tokenKeyId.CopyTo(input.AsSpan(2 + nonce.Length + challengeDigest.Length));
        return input;
    }

    private static void Require(ReadOnlySpan<byte> value, int length, string name)
    {
        if (value.Length != length)
        {
            throw new ArgumentException($"This field is {length} bytes.", name);
        }
    }
}

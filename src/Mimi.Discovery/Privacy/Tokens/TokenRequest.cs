// RFC 9578 §6.1 and §6.2: the issuance messages of token type 0x0002.
//   struct { uint16 token_type = 0x0002; uint8 truncated_token_key_id; uint8 blinded_msg[Nk]; } TokenRequest;
//   struct { uint8 blind_sig[Nk]; } TokenResponse;
using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;

namespace Mimi.Discovery.Privacy.Tokens;

/// <summary>A type 0x0002 TokenRequest (media type <see cref="PrivacyPassMediaTypes.TokenRequest"/>).</summary>
public sealed class TokenRequest
{
    /// <summary>Encoded length: 2 + 1 + 256.</summary>
    public const int EncodedLength = 3 + PrivateTokenTypes.BlindRsa2048Nk;

    private readonly byte[] blindedMessage;

    /// <summary>Assembles a request.</summary>
    /// <exception cref="ArgumentException">The blinded message is not 256 bytes.</exception>
    public TokenRequest(byte truncatedTokenKeyId, ReadOnlySpan<byte> blindedMessage)
    {
        if (blindedMessage.Length != PrivateTokenTypes.BlindRsa2048Nk)
        {
            throw new ArgumentException("A type 0x0002 blinded message is 256 bytes.", nameof(blindedMessage));
        }

        TruncatedTokenKeyId = truncatedTokenKeyId;
        this.blindedMessage = blindedMessage.ToArray();
    }

    /// <summary>token_type (always 0x0002).</summary>
    public ushort TokenType { get; } = PrivateTokenTypes.BlindRsa2048;

    /// <summary>truncated_token_key_id: the last byte of the issuer key's token_key_id.</summary>
    public byte TruncatedTokenKeyId { get; }

    /// <summary>blinded_msg.</summary>
    public ReadOnlySpan<byte> BlindedMessage => blindedMessage;

    /// <summary>The wire encoding.</summary>
    public byte[] Encode()
    {
        var buffer = new byte[EncodedLength];
        BinaryPrimitives.WriteUInt16BigEndian(buffer, TokenType);
        buffer[2] = TruncatedTokenKeyId;
        blindedMessage.CopyTo(buffer, 3);
        return buffer;
    }

    /// <summary>Decodes a request, for callers with no recovery; issuers use <see cref="TryDecode"/>.</summary>
    /// <exception cref="ProtocolException{PrivacyPassError}">See <see cref="TryDecode"/>.</exception>
    public static TokenRequest Decode(ReadOnlySpan<byte> encoded) =>
        TryDecode(encoded, out var request, out var error) ? request : throw error.ToException();

    /// <summary>Decodes a request (RFC 9578 §6.1: token_type, truncated_token_key_id, blinded_msg; 259 bytes); never throws for bad input.</summary>
    /// <param name="encoded">The <see cref="PrivacyPassMediaTypes.TokenRequest"/> body.</param>
    /// <param name="request">The request.</param>
    /// <param name="error">
    /// <see cref="PrivacyPassError.UnsupportedTokenType"/>: not type 0x0002; <see cref="PrivacyPassError.Malformed"/>: truncated or trailing bytes.
    /// </param>
    /// <returns>Whether the bytes are a request.</returns>
    public static bool TryDecode(ReadOnlySpan<byte> encoded, [NotNullWhen(true)] out TokenRequest? request, out ProtocolError<PrivacyPassError> error)
    {
        request = null;
        if (!PrivateTokenTypes.TryCheckFixedLength(encoded, "TokenRequest", EncodedLength, typed: true, out error))
        {
            return false;
        }

        var reader = new TokenReader(encoded, "TokenRequest");
        _ = reader.ReadUInt16();
        var keyId = reader.ReadByte();
        request = new TokenRequest(keyId, reader.Take(PrivateTokenTypes.BlindRsa2048Nk));
        return true;
    }
}

/// <summary>A type 0x0002 TokenResponse (media type <see cref="PrivacyPassMediaTypes.TokenResponse"/>).</summary>
public sealed class TokenResponse
{
    private readonly byte[] blindSignature;

    /// <summary>Wraps a blind signature.</summary>
    /// <exception cref="ArgumentException">The blind signature is not 256 bytes.</exception>
    public TokenResponse(ReadOnlySpan<byte> blindSignature)
    {
        if (blindSignature.Length != PrivateTokenTypes.BlindRsa2048Nk)
        {
            throw new ArgumentException("A type 0x0002 blind signature is 256 bytes.", nameof(blindSignature));
        }

        this.blindSignature = blindSignature.ToArray();
    }

    /// <summary>blind_sig.</summary>
    public ReadOnlySpan<byte> BlindSignature => blindSignature;

    /// <summary>The wire encoding (the 256 bytes of blind_sig).</summary>
    public byte[] Encode() => blindSignature.ToArray();

    /// <summary>Decodes a response, for callers with no recovery.</summary>
    /// <exception cref="ProtocolException{PrivacyPassError}">See <see cref="TryDecode"/>.</exception>
    public static TokenResponse Decode(ReadOnlySpan<byte> encoded) =>
        TryDecode(encoded, out var response, out var error) ? response : throw error.ToException();

    /// <summary>Decodes a response (RFC 9578 §6.2: blind_sig, 256 bytes); never throws for bad input.</summary>
    /// <param name="encoded">The <see cref="PrivacyPassMediaTypes.TokenResponse"/> body.</param>
    /// <param name="response">The response.</param>
    /// <param name="error"><see cref="PrivacyPassError.Malformed"/>: not exactly 256 bytes.</param>
    /// <returns>Whether the bytes are a response.</returns>
    public static bool TryDecode(ReadOnlySpan<byte> encoded, [NotNullWhen(true)] out TokenResponse? response, out ProtocolError<PrivacyPassError> error)
    {
        response = PrivateTokenTypes.TryCheckFixedLength(encoded, "TokenResponse", PrivateTokenTypes.BlindRsa2048Nk, typed: false, out error)
            ? new TokenResponse(encoded)
            : null;
        return response is not null;
    }
}

/// <summary>HTTP media types of Privacy Pass issuance (RFC 9578 §8.3) and the issuer directory (§4).</summary>
public static class PrivacyPassMediaTypes
{
    /// <summary>The body of an issuance request: a TokenRequest.</summary>
    public const string TokenRequest = "application/private-token-request";

    /// <summary>The body of an issuance response: a TokenResponse.</summary>
    public const string TokenResponse = "application/private-token-response";

    /// <summary>The issuer directory JSON document.</summary>
    public const string IssuerDirectory = "application/private-token-issuer-directory";

    /// <summary>A batch of TokenRequests (draft-ietf-privacypass-batched-tokens §8.2).</summary>
    public const string GenericBatchTokenRequest = "application/private-token-generic-batch-request";

    /// <summary>The answers to a batch (draft-ietf-privacypass-batched-tokens §8.2).</summary>
    public const string GenericBatchTokenResponse = "application/private-token-generic-batch-response";
}

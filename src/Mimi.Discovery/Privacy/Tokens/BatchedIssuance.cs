// draft-ietf-privacypass-batched-tokens §6, Generic Token Batch Issuance (as written in the -06 text,
// the working-group last-call version read here; @cloudflare/privacypass-ts 0.9 speaks the same bytes):
//   GenericBatchTokenRequest  = TokenRequest generic_token_requests<V>
//                               (each an RFC 9578 TokenRequest, which starts with its token_type)
//   OptionalTokenResponse     = uint8 present (0 or 1); if 1: uint16 token_type, TokenResponse
//   GenericBatchTokenResponse = OptionalTokenResponse optional_token_responses<V>
// <V> is a vector whose byte length is a QUIC variable-length integer, minimally encoded (§4.2).
// Media types application/private-token-generic-batch-request and -response (§8.2).
using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;

namespace Mimi.Discovery.Privacy.Tokens;

/// <summary>Many TokenRequests in one issuance request (media type <see cref="PrivacyPassMediaTypes.GenericBatchTokenRequest"/>).</summary>
public sealed class GenericBatchTokenRequest
{
    /// <summary>Batches the requests, in order.</summary>
    /// <exception cref="ArgumentException">No request.</exception>
    public GenericBatchTokenRequest(IReadOnlyList<TokenRequest> requests)
    {
        ArgumentNullException.ThrowIfNull(requests);
        ArgumentOutOfRangeException.ThrowIfZero(requests.Count);
        Requests = requests;
    }

    /// <summary>The token requests, in order; the response answers them in the same order.</summary>
    public IReadOnlyList<TokenRequest> Requests { get; }

    /// <summary>The wire encoding.</summary>
    public byte[] Encode()
    {
        var body = (ulong)(Requests.Count * TokenRequest.EncodedLength);
        var prefix = QuicVarInt.EncodedLength(body);
        var buffer = new byte[prefix + (int)body];
        QuicVarInt.Write(buffer, body);
        for (var i = 0; i < Requests.Count; i++)
        {
            Requests[i].Encode().CopyTo(buffer, prefix + (i * TokenRequest.EncodedLength));
        }

        return buffer;
    }

    /// <summary>Decodes a batch of at most <paramref name="maxRequests"/> requests (the cases of <see cref="Decode"/>); never throws for bad input.</summary>
    /// <param name="encoded">The <see cref="PrivacyPassMediaTypes.GenericBatchTokenRequest"/> body.</param>
    /// <param name="maxRequests">The most requests accepted.</param>
    /// <param name="requests">The requests in order, <see langword="null"/> where a request is of a type stepped over.</param>
    /// <param name="error">Which check failed, with a sentence.</param>
    /// <returns>Whether the bytes are a batch.</returns>
    public static bool TryDecode(ReadOnlySpan<byte> encoded, int maxRequests, [NotNullWhen(true)] out IReadOnlyList<TokenRequest?>? requests, out ProtocolError<PrivacyPassError> error)
        => ProtocolErrors.Try(encoded, maxRequests, static (bytes, max) => (IReadOnlyList<TokenRequest?>)Decode(bytes, max).Requests, out requests, out error);

    /// <summary>
    /// Decodes a batch of at most <paramref name="maxRequests"/> requests. Requests of the other token
    /// types RFC 9578 and the draft define (0x0001, 0x0005) are read over and left out; their
    /// positions are returned so the issuer can answer them as absent.
    /// </summary>
    /// <exception cref="ProtocolException{PrivacyPassError}">
    /// <see cref="PrivacyPassError.Malformed"/>: a length prefix that is truncated, not minimal or not the body's length, a
    /// truncated request, an empty batch or more than <paramref name="maxRequests"/>;
    /// <see cref="PrivacyPassError.UnsupportedTokenType"/>: a token type this decoder cannot even step over.
    /// </exception>
    public static (IReadOnlyList<TokenRequest?> Requests, int Supported) Decode(ReadOnlySpan<byte> encoded, int maxRequests)
    {
        var body = ReadVector(encoded, "GenericBatchTokenRequest");
        var requests = new List<TokenRequest?>();
        while (!body.IsEmpty)
        {
            if (requests.Count == maxRequests)
            {
                throw new ProtocolException<PrivacyPassError>(PrivacyPassError.Malformed, $"The batch holds more than {maxRequests} token requests.");
            }

            if (body.Length < 2)
            {
                throw new ProtocolException<PrivacyPassError>(PrivacyPassError.Malformed, "The GenericBatchTokenRequest ends inside a token type.");
            }

            var type = BinaryPrimitives.ReadUInt16BigEndian(body);
            var length = type switch
            {
                PrivateTokenTypes.BlindRsa2048 => TokenRequest.EncodedLength,
                0x0001 => 3 + 49, // VOPRF(P-384, SHA-384): truncated key id, blinded element (RFC 9578 §5.1)
                0x0005 => 3 + 32, // VOPRF(ristretto255, SHA-512): the draft's §5
                _ => throw new ProtocolException<PrivacyPassError>(PrivacyPassError.UnsupportedTokenType, $"Token type 0x{type:x4} in the batch is not one this issuer can read over."),
            };
            if (body.Length < length)
            {
                throw new ProtocolException<PrivacyPassError>(PrivacyPassError.Malformed, "The GenericBatchTokenRequest ends inside a token request.");
            }

            requests.Add(type == PrivateTokenTypes.BlindRsa2048 ? TokenRequest.Decode(body[..length]) : null);
            body = body[length..];
        }

        if (requests.Count == 0)
        {
            throw new ProtocolException<PrivacyPassError>(PrivacyPassError.Malformed, "The batch holds no token request.");
        }

        return (requests, requests.Count(r => r is not null));
    }

    /// <summary>The body of a <c>&lt;V&gt;</c> vector that must span the whole of <paramref name="encoded"/>.</summary>
    internal static ReadOnlySpan<byte> ReadVector(ReadOnlySpan<byte> encoded, string structure)
    {
        if (!QuicVarInt.TryRead(encoded, out var length, out var prefix))
        {
            throw new ProtocolException<PrivacyPassError>(PrivacyPassError.Malformed, $"The {structure} is truncated.");
        }

        if (QuicVarInt.EncodedLength(length) != prefix)
        {
            throw new ProtocolException<PrivacyPassError>(PrivacyPassError.Malformed, $"The {structure}'s length is not minimally encoded.");
        }

        if (length != (ulong)(encoded.Length - prefix))
        {
            throw new ProtocolException<PrivacyPassError>(PrivacyPassError.Malformed, $"The {structure}'s length says {length} bytes but {encoded.Length - prefix} follow.");
        }

        return encoded[prefix..];
    }
}

/// <summary>The answers to a <see cref="GenericBatchTokenRequest"/> (media type <see cref="PrivacyPassMediaTypes.GenericBatchTokenResponse"/>), absent where the issuer did not issue.</summary>
public sealed class GenericBatchTokenResponse
{
    /// <summary>Wraps the answers, in request order; null for a request the issuer refused.</summary>
    public GenericBatchTokenResponse(IReadOnlyList<TokenResponse?> responses)
    {
        ArgumentNullException.ThrowIfNull(responses);
        Responses = responses;
    }

    /// <summary>The answers in request order; null where the issuer did not issue.</summary>
    public IReadOnlyList<TokenResponse?> Responses { get; }

    /// <summary>The wire encoding (every present response is of type 0x0002).</summary>
    public byte[] Encode()
    {
        var body = Responses.Sum(r => r is null ? 1 : 3 + PrivateTokenTypes.BlindRsa2048Nk);
        var prefix = QuicVarInt.EncodedLength((ulong)body);
        var buffer = new byte[prefix + body];
        var at = QuicVarInt.Write(buffer, (ulong)body);
        foreach (var response in Responses)
        {
            if (response is null)
            {
                buffer[at++] = 0;
                continue;
            }

            buffer[at] = 1;
            BinaryPrimitives.WriteUInt16BigEndian(buffer.AsSpan(at + 1), PrivateTokenTypes.BlindRsa2048);
            response.BlindSignature.CopyTo(buffer.AsSpan(at + 3));
            at += 3 + PrivateTokenTypes.BlindRsa2048Nk;
        }

        return buffer;
    }

    /// <summary>Decodes a batch response.</summary>
    /// <exception cref="ProtocolException{PrivacyPassError}">
    /// <see cref="PrivacyPassError.Malformed"/>: a bad length prefix, presence byte or truncation;
    /// <see cref="PrivacyPassError.UnsupportedTokenType"/>: a present response not of type 0x0002.
    /// </exception>
    public static GenericBatchTokenResponse Decode(ReadOnlySpan<byte> encoded)
    {
        var body = GenericBatchTokenRequest.ReadVector(encoded, "GenericBatchTokenResponse");
        var responses = new List<TokenResponse?>();
        var reader = new TokenReader(body, "GenericBatchTokenResponse");
        while (!reader.IsEmpty)
        {
            switch (reader.ReadByte())
            {
                case 0:
                    responses.Add(null);
                    break;
                case 1:
                    PrivateTokenTypes.RequireSupported(reader.ReadUInt16());
                    responses.Add(new TokenResponse(reader.Take(PrivateTokenTypes.BlindRsa2048Nk)));
                    break;
                default:
                    throw new ProtocolException<PrivacyPassError>(PrivacyPassError.Malformed, "An OptionalTokenResponse's presence byte is neither 0 nor 1 (draft §4.1).");
            }
        }

        return new GenericBatchTokenResponse(responses);
    }
}

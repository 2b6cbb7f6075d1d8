// TLS presentation-language reading (RFC 8446 §3) for the Privacy Pass structures: big-endian
// integers and opaque vectors with 1- or 2-byte length prefixes. Every failure is Malformed.
using System.Buffers.Binary;

namespace Mimi.Discovery.Privacy.Tokens;

internal ref struct TokenReader(ReadOnlySpan<byte> data, string structure)
{
    private readonly string structure = structure;
    private ReadOnlySpan<byte> rest = data;

    public readonly bool IsEmpty => rest.IsEmpty;

    public ushort ReadUInt16() => BinaryPrimitives.ReadUInt16BigEndian(Take(2));

    public byte ReadByte() => Take(1)[0];

    public ReadOnlySpan<byte> Take(int length)
    {
        if (rest.Length < length)
        {
            throw new ProtocolException<PrivacyPassError>(PrivacyPassError.Malformed, $"The {structure} is truncated.");
        }

        var taken = rest[..length];
        rest = rest[length..];
        return taken;
    }

    public ReadOnlySpan<byte> ReadVector8() => Take(ReadByte());

    public ReadOnlySpan<byte> ReadVector16() => Take(ReadUInt16());

    public readonly void End()
    {
        if (!rest.IsEmpty)
        {
            throw new ProtocolException<PrivacyPassError>(PrivacyPassError.Malformed, $"The {structure} has {rest.Length} unexpected trailing bytes.");
        }
    }
}

/// <summary>Privacy Pass token types (RFC 9578 §8.2 registry) and the sizes they fix.</summary>
public static class PrivateTokenTypes
{
    /// <summary>Token type 0x0002: Blind RSA (2048-bit), RSABSSA-SHA384-PSS-Deterministic, publicly verifiable (RFC 9578 §6).</summary>
    public const ushort BlindRsa2048 = 0x0002;

    /// <summary>Nk for token type 0x0002: the authenticator, blinded message and blind signature are 256 bytes.</summary>
    public const int BlindRsa2048Nk = 256;

    /// <summary>Length of Token.nonce (RFC 9577 §2.2).</summary>
    public const int NonceLength = 32;

    /// <summary>Length of challenge_digest and token_key_id (SHA-256).</summary>
    public const int DigestLength = 32;

    internal static void RequireSupported(ushort tokenType)
    {
        if (tokenType != BlindRsa2048)
        {
            throw Unsupported(tokenType).ToException();
        }
    }

    /// <summary>
    /// The checks of a fixed-length structure of type 0x0002, in the order a reader meets them: a
    /// token type (when <paramref name="typed"/>) that must be supported, then exactly <paramref name="length"/> bytes.
    /// </summary>
    internal static bool TryCheckFixedLength(ReadOnlySpan<byte> encoded, string structure, int length, bool typed, out ProtocolError<PrivacyPassError> error)
    {
        if (typed && encoded.Length >= 2 && BinaryPrimitives.ReadUInt16BigEndian(encoded) is var tokenType && tokenType != BlindRsa2048)
        {
            error = Unsupported(tokenType);
            return false;
        }

        error = encoded.Length < length
            ? new(PrivacyPassError.Malformed, $"The {structure} is truncated.")
            : encoded.Length > length
                ? new(PrivacyPassError.Malformed, $"The {structure} has {encoded.Length - length} unexpected trailing bytes.")
                : default;
        return encoded.Length == length;
    }

    private static ProtocolError<PrivacyPassError> Unsupported(ushort tokenType) =>
        new(PrivacyPassError.UnsupportedTokenType, $"Token type 0x{tokenType:x4} is not supported; only 0x0002 (Blind RSA 2048) is.");
}

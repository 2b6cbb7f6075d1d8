// RFC 9577 §2.1.1: the TokenChallenge structure an origin sends in a PrivateToken challenge.
//   struct { uint16 token_type; opaque issuer_name<1..2^16-1>;
//            opaque redemption_context<0..32>; opaque origin_info<0..2^16-1>; } TokenChallenge;
using System.Security.Cryptography;
using System.Text;

namespace Mimi.Discovery.Privacy.Tokens;

/// <summary>An RFC 9577 TokenChallenge: which issuer, which origin(s), and an optional per-challenge context.</summary>
public sealed class TokenChallenge
{
    /// <summary>The only non-empty redemption_context length allowed (§2.1.1).</summary>
    public const int RedemptionContextLength = 32;

    private readonly byte[] redemptionContext;

    /// <summary>Creates a challenge.</summary>
    /// <param name="tokenType">The token type requested (0x0002 for Blind RSA 2048).</param>
    /// <param name="issuerName">The issuer's host name (ASCII, 1–65535 bytes).</param>
    /// <param name="redemptionContext">Empty, or 32 bytes binding the token to this challenge (e.g. random per request).</param>
    /// <param name="originInfo">The origin names the token may be redeemed at (empty: any origin); encoded comma-separated.</param>
    /// <exception cref="ArgumentException">A field is outside what the structure can carry.</exception>
    public TokenChallenge(ushort tokenType, string issuerName, ReadOnlySpan<byte> redemptionContext, IReadOnlyList<string> originInfo)
    {
        ArgumentNullException.ThrowIfNull(issuerName);
        ArgumentNullException.ThrowIfNull(originInfo);
        if (issuerName.Length is 0 or > ushort.MaxValue || !Ascii.IsValid(issuerName))
        {
            throw new ArgumentException("The issuer name is 1 to 65535 ASCII characters.", nameof(issuerName));
        }

        if (redemptionContext.Length is not (0 or RedemptionContextLength))
        {
            throw new ArgumentException("The redemption context is empty or 32 bytes.", nameof(redemptionContext));
        }

        if (originInfo.Any(o => o.Length == 0 || o.Contains(',', StringComparison.Ordinal) || !Ascii.IsValid(o))
            || originInfo.Sum(o => o.Length + 1) - 1 > ushort.MaxValue)
        {
            throw new ArgumentException("Origin names are non-empty ASCII without commas, 65535 bytes in all.", nameof(originInfo));
        }

        TokenType = tokenType;
        IssuerName = issuerName;
        this.redemptionContext = redemptionContext.ToArray();
        OriginInfo = [.. originInfo];
    }

    /// <summary>token_type.</summary>
    public ushort TokenType { get; }

    /// <summary>issuer_name.</summary>
    public string IssuerName { get; }

    /// <summary>redemption_context (0 or 32 bytes).</summary>
    public ReadOnlySpan<byte> RedemptionContext => redemptionContext;

    /// <summary>origin_info split at commas; empty when the token is not bound to an origin.</summary>
    public IReadOnlyList<string> OriginInfo { get; }

    /// <summary>The wire encoding.</summary>
    public byte[] Encode()
    {
        var origins = string.Join(',', OriginInfo);
        var buffer = new byte[2 + 2 + IssuerName.Length + 1 + redemptionContext.Length + 2 + origins.Length];
        var span = buffer.AsSpan();
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(span, TokenType);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(span[2..], (ushort)IssuerName.Length);
        var at = 4 + Encoding.ASCII.GetBytes(IssuerName, span[4..]);
        span[at++] = (byte)redemptionContext.Length;
        redemptionContext.CopyTo(span[at..]);
        at += redemptionContext.Length;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(span[at..], (ushort)origins.Length);
        Encoding.ASCII.GetBytes(origins, span[(at + 2)..]);
        return buffer;
    }

    /// <summary>challenge_digest = SHA-256(TokenChallenge), as carried in a Token (RFC 9577 §2.2).</summary>
    public byte[] Digest() => SHA256.HashData(Encode());

    /// <summary>Decodes a TokenChallenge of any token type.</summary>
    /// <exception cref="ProtocolException{PrivacyPassError}"><see cref="PrivacyPassError.Malformed"/>: truncated, trailing bytes, bad lengths or non-ASCII names.</exception>
    public static TokenChallenge Decode(ReadOnlySpan<byte> encoded)
    {
        var reader = new TokenReader(encoded, "TokenChallenge");
        var tokenType = reader.ReadUInt16();
        var issuer = reader.ReadVector16();
        var context = reader.ReadVector8();
        var origins = reader.ReadVector16();
        reader.End();
        if (issuer.IsEmpty || !Ascii.IsValid(issuer) || !Ascii.IsValid(origins))
        {
            throw new ProtocolException<PrivacyPassError>(PrivacyPassError.Malformed, "The TokenChallenge issuer name must be non-empty ASCII and the origin info ASCII.");
        }

        if (context.Length is not (0 or RedemptionContextLength))
        {
            throw new ProtocolException<PrivacyPassError>(PrivacyPassError.Malformed, "The TokenChallenge redemption context must be empty or 32 bytes.");
        }

        var originList = origins.IsEmpty ? [] : Encoding.ASCII.GetString(origins).Split(',');
        if (originList.Any(o => o.Length == 0))
        {
            throw new ProtocolException<PrivacyPassError>(PrivacyPassError.Malformed, "The TokenChallenge origin info has an empty origin name.");
        }

        return new TokenChallenge(tokenType, Encoding.ASCII.GetString(issuer), context, originList);
    }
}

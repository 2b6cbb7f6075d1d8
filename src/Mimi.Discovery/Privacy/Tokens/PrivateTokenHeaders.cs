// RFC 9577 §2.1 (WWW-Authenticate: PrivateToken challenge=…, token-key=…[, max-age=…]) and §2.2
// (Authorization: PrivateToken token=…), parsed with the RFC 9110 §11 challenge and credentials
// grammar. Values are base64url (RFC 4648 §5); parsing accepts them with or without padding.
using System.Buffers.Binary;
using System.Buffers.Text;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;

namespace Mimi.Discovery.Privacy.Tokens;

/// <summary>One PrivateToken challenge from a WWW-Authenticate field.</summary>
public sealed class PrivateTokenChallenge
{
    private readonly byte[] tokenChallenge;
    private readonly byte[] tokenKey;

    /// <summary>Creates a challenge from an encoded TokenChallenge and the issuer's token key.</summary>
    /// <exception cref="ArgumentException">The challenge is shorter than a token type, or max-age is negative.</exception>
    public PrivateTokenChallenge(ReadOnlySpan<byte> tokenChallenge, ReadOnlySpan<byte> tokenKey, int? maxAge = null)
    {
        if (tokenChallenge.Length < 2)
        {
            throw new ArgumentException("A TokenChallenge starts with its 2-byte token type.", nameof(tokenChallenge));
        }

        if (maxAge < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(maxAge), "max-age is a number of seconds, zero or more.");
        }

        this.tokenChallenge = tokenChallenge.ToArray();
        this.tokenKey = tokenKey.ToArray();
        MaxAge = maxAge;
    }

    /// <summary>The token type the challenge asks for (its first two bytes); clients skip types they do not support, such as 0x0000 grease.</summary>
    public ushort TokenType => BinaryPrimitives.ReadUInt16BigEndian(tokenChallenge);

    /// <summary>The encoded TokenChallenge (the <c>challenge</c> parameter); decode it with <see cref="Tokens.TokenChallenge.Decode"/>.</summary>
    public ReadOnlySpan<byte> TokenChallenge => tokenChallenge;

    /// <summary>The issuer's token key (the <c>token-key</c> parameter); for type 0x0002 decode it with <see cref="TokenPublicKey.Decode"/>.</summary>
    public ReadOnlySpan<byte> TokenKey => tokenKey;

    /// <summary>The <c>max-age</c> parameter: seconds for which the challenge may be reused; null when absent.</summary>
    public int? MaxAge { get; }
}

/// <summary>Builds and parses the PrivateToken HTTP authentication scheme fields.</summary>
public static class PrivateTokenHeaders
{
    /// <summary>The authentication scheme name.</summary>
    public const string Scheme = "PrivateToken";

    /// <summary>A WWW-Authenticate field value carrying the given challenges, in order.</summary>
    public static string FormatChallenges(IEnumerable<PrivateTokenChallenge> challenges)
    {
        ArgumentNullException.ThrowIfNull(challenges);
        var text = new StringBuilder();
        foreach (var c in challenges)
        {
            if (text.Length > 0)
            {
                text.Append(", ");
            }

            text.Append(CultureInfo.InvariantCulture, $"{Scheme} challenge=\"{Encode(c.TokenChallenge)}\", token-key=\"{Encode(c.TokenKey)}\"");
            if (c.MaxAge is { } maxAge)
            {
                text.Append(CultureInfo.InvariantCulture, $", max-age=\"{maxAge}\"");
            }
        }

        return text.Length > 0 ? text.ToString() : throw new ArgumentException("At least one challenge is needed.", nameof(challenges));
    }

    /// <summary>
    /// The PrivateToken challenges in a WWW-Authenticate field value, in order, including token types this
    /// library does not support. Other schemes and unknown parameters are skipped.
    /// </summary>
    /// <exception cref="ProtocolException{PrivacyPassError}"><see cref="PrivacyPassError.Malformed"/>: the field does not follow the challenge grammar, or a PrivateToken challenge lacks or repeats a parameter or has a bad value.</exception>
    public static IReadOnlyList<PrivateTokenChallenge> ParseChallenges(string wwwAuthenticate)
    {
        ArgumentNullException.ThrowIfNull(wwwAuthenticate);
        var result = new List<PrivateTokenChallenge>();
        foreach (var (scheme, parameters) in AuthHeaderParser.Parse(wwwAuthenticate))
        {
            if (!scheme.Equals(Scheme, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var challenge = Decode(Required(parameters, "challenge"), "challenge");
            var key = Decode(Required(parameters, "token-key"), "token-key");
            int? maxAge = null;
            if (parameters.TryGetValue("max-age", out var age))
            {
                maxAge = age.Length is > 0 and <= 9 && age.All(char.IsAsciiDigit)
                    ? int.Parse(age, NumberStyles.None, CultureInfo.InvariantCulture)
                    : throw new ProtocolException<PrivacyPassError>(PrivacyPassError.Malformed, "The PrivateToken max-age parameter is not a number of seconds.");
            }

            if (challenge.Length < 2)
            {
                throw new ProtocolException<PrivacyPassError>(PrivacyPassError.Malformed, "The PrivateToken challenge parameter is too short to hold a token type.");
            }

            result.Add(new PrivateTokenChallenge(challenge, key, maxAge));
        }

        return result;
    }

    /// <summary>An Authorization field value redeeming <paramref name="token"/>.</summary>
    public static string FormatAuthorization(Token token)
    {
        ArgumentNullException.ThrowIfNull(token);
        return $"{Scheme} token=\"{Encode(token.Encode())}\"";
    }

    /// <summary>The token in an Authorization field value of the PrivateToken scheme.</summary>
    /// <exception cref="ProtocolException{PrivacyPassError}">
    /// <see cref="PrivacyPassError.Malformed"/>: not PrivateToken credentials with one token parameter, or a malformed token;
    /// <see cref="PrivacyPassError.UnsupportedTokenType"/>: a token of another type.
    /// </exception>
    public static Token ParseAuthorization(string authorization)
    {
        ArgumentNullException.ThrowIfNull(authorization);
        var credentials = AuthHeaderParser.Parse(authorization);
        if (credentials.Count != 1 || !credentials[0].Scheme.Equals(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            throw new ProtocolException<PrivacyPassError>(PrivacyPassError.Malformed, "The Authorization field does not hold PrivateToken credentials.");
        }

        return Token.Decode(Decode(Required(credentials[0].Parameters, "token"), "token"));
    }

    private static string Encode(ReadOnlySpan<byte> value)
    {
        // Padded, as in the RFC 9577 Appendix A examples; parsers accept either form.
        var text = Base64Url.EncodeToString(value);
        return (text.Length % 4) switch
        {
            2 => text + "==",
            3 => text + "=",
            _ => text,
        };
    }

    private static string Required(Dictionary<string, string> parameters, string name) =>
        parameters.TryGetValue(name, out var value)
            ? value
            : throw new ProtocolException<PrivacyPassError>(PrivacyPassError.Malformed, $"The PrivateToken {name} parameter is missing.");

    internal static byte[] Decode(string value, string name) =>
        TryDecode(value, name, out var bytes, out var error) ? bytes : throw error.ToException();

    internal static bool TryDecode(string value, string name, out byte[] bytes, out ProtocolError<PrivacyPassError> error)
    {
        bytes = [];
        error = default;
        var unpadded = value.AsSpan().TrimEnd('=');
        if (value.Length - unpadded.Length > 2 || (value.Length != unpadded.Length && value.Length % 4 != 0))
        {
            error = new(PrivacyPassError.Malformed, $"The {name} value has bad base64url padding.");
            return false;
        }

        if (!Base64Url.IsValid(unpadded))
        {
            error = new(PrivacyPassError.Malformed, $"The {name} value is not base64url.");
            return false;
        }

        bytes = Base64Url.DecodeFromChars(unpadded);
        return true;
    }
}

// RFC 9110 §11.3 and §11.6.1: #challenge, challenge = auth-scheme [ 1*SP ( token68 / #auth-param ) ],
// auth-param = token BWS "=" BWS ( token / quoted-string ). Parameter names are case-insensitive.
internal static class AuthHeaderParser
{
    public static bool TryParse(string field, [NotNullWhen(true)] out List<(string Scheme, Dictionary<string, string> Parameters)>? credentials, out ProtocolError<PrivacyPassError> error)
        => ProtocolErrors.Try(default, field, static (_, f) => Parse(f), out credentials, out error);

    public static List<(string Scheme, Dictionary<string, string> Parameters)> Parse(string field)
    {
        var result = new List<(string, Dictionary<string, string>)>();
        var p = 0;
        while (true)
        {
            SkipListSeparators(field, ref p);
            if (p == field.Length)
            {
                return result;
            }

            var name = ReadToken(field, ref p);
            if (name.Length == 0)
            {
                throw new ProtocolException<PrivacyPassError>(PrivacyPassError.Malformed, "The authentication field has an unexpected character.");
            }

            var afterName = p;
            SkipWhitespace(field, ref p);
            if (p < field.Length && field[p] == '=' && result.Count > 0 && !IsToken68Tail(field, p))
            {
                AddParameter(result[^1].Item2, name, field, ref p);
                continue;
            }

            // A new scheme; it may be followed by a token68 (kept by no caller here) or its first parameter.
            p = afterName;
            result.Add((name, new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)));
            if (p < field.Length && field[p] == ' ')
            {
                SkipWhitespace(field, ref p);
                var start = p;
                var first = ReadToken(field, ref p);
                SkipWhitespace(field, ref p);
                if (first.Length > 0 && p < field.Length && field[p] == '=' && !IsToken68Tail(field, p))
                {
                    AddParameter(result[^1].Item2, first, field, ref p);
                }
                else
                {
                    p = start;
                    SkipToken68(field, ref p);
                }
            }

            SkipWhitespace(field, ref p);
            if (p < field.Length && field[p] != ',')
            {
                throw new ProtocolException<PrivacyPassError>(PrivacyPassError.Malformed, "The authentication field has text after a challenge where a comma belongs.");
            }
        }
    }

    // At an '=': it starts a parameter value unless it is token68 padding ("=" runs up to a comma or the end).
    private static bool IsToken68Tail(string s, int p)
    {
        while (p < s.Length && s[p] == '=')
        {
            p++;
        }

        SkipWhitespace(s, ref p);
        return p == s.Length || s[p] == ',';
    }

    private static void AddParameter(Dictionary<string, string> parameters, string name, string s, ref int p)
    {
        p++; // '='
        SkipWhitespace(s, ref p);
        string value;
        if (p < s.Length && s[p] == '"')
        {
            value = ReadQuoted(s, ref p);
        }
        else
        {
            value = ReadToken(s, ref p);
            if (value.Length == 0)
            {
                throw new ProtocolException<PrivacyPassError>(PrivacyPassError.Malformed, $"The {name} parameter has no value.");
            }
        }

        if (!parameters.TryAdd(name, value))
        {
            throw new ProtocolException<PrivacyPassError>(PrivacyPassError.Malformed, $"The {name} parameter appears twice in one challenge.");
        }

        SkipWhitespace(s, ref p);
        if (p < s.Length && s[p] != ',')
        {
            throw new ProtocolException<PrivacyPassError>(PrivacyPassError.Malformed, $"The {name} parameter is followed by unexpected text.");
        }
    }

    private static string ReadQuoted(string s, ref int p)
    {
        var text = new StringBuilder();
        p++;
        while (p < s.Length)
        {
            var c = s[p++];
            if (c == '"')
            {
                return text.ToString();
            }

            if (c == '\\')
            {
                if (p == s.Length)
                {
                    break;
                }

                c = s[p++];
            }

            if (c is < ' ' and not '\t' || c == 0x7F || c > 0xFF)
            {
                throw new ProtocolException<PrivacyPassError>(PrivacyPassError.Malformed, "A quoted parameter value has a control or non-Latin-1 character.");
            }

            text.Append(c);
        }

        throw new ProtocolException<PrivacyPassError>(PrivacyPassError.Malformed, "A quoted parameter value is not terminated.");
    }

    private static string ReadToken(string s, ref int p)
    {
        var start = p;
        while (p < s.Length && IsTChar(s[p]))
        {
            p++;
        }

        return s[start..p];
    }

    private static void SkipToken68(string s, ref int p)
    {
        var start = p;
        while (p < s.Length && (char.IsAsciiLetterOrDigit(s[p]) || s[p] is '-' or '.' or '_' or '~' or '+' or '/'))
        {
            p++;
        }

        if (p == start)
        {
            throw new ProtocolException<PrivacyPassError>(PrivacyPassError.Malformed, "The authentication field has an unexpected character after a scheme.");
        }

        while (p < s.Length && s[p] == '=')
        {
            p++;
        }
    }

    private static void SkipWhitespace(string s, ref int p)
    {
        while (p < s.Length && s[p] is ' ' or '\t')
        {
            p++;
        }
    }

    private static void SkipListSeparators(string s, ref int p)
    {
        while (p < s.Length && s[p] is ' ' or '\t' or ',')
        {
            p++;
        }
    }

    private static bool IsTChar(char c) =>
        char.IsAsciiLetterOrDigit(c) || c is '!' or '#' or '$' or '%' or '&' or '\'' or '*' or '+' or '-' or '.' or '^' or '_' or '`' or '|' or '~';
}

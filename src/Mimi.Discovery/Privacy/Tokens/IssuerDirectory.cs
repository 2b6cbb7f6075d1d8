// RFC 9578 §4: the issuer directory, a JSON object served as application/private-token-issuer-directory:
//   { "issuer-request-uri": "<URI>", "token-keys": [ { "token-type": 2, "token-key": "<base64url>",
//     "not-before": <seconds since the epoch, optional> }, … ] }
// Unknown members are ignored so that issuers can extend the document.
using System.Buffers.Text;
using System.Text.Json;

namespace Mimi.Discovery.Privacy.Tokens;

/// <summary>One entry of <c>token-keys</c>: a key of some token type, valid from an optional time.</summary>
/// <param name="TokenType">token-type.</param>
/// <param name="TokenKey">token-key, decoded from base64url (for type 0x0002 see <see cref="TokenPublicKey.Decode"/>).</param>
/// <param name="NotBefore">not-before: when the key starts being used; null when absent.</param>
internal sealed record IssuerDirectoryKey(ushort TokenType, ReadOnlyMemory<byte> TokenKey, DateTimeOffset? NotBefore = null);

/// <summary>An RFC 9578 §4 issuer directory.</summary>
/// <param name="IssuerRequestUri">issuer-request-uri: where clients POST TokenRequests; absolute, or relative to the directory's URL.</param>
/// <param name="TokenKeys">token-keys, in the issuer's order.</param>
internal sealed record IssuerDirectory(Uri IssuerRequestUri, IReadOnlyList<IssuerDirectoryKey> TokenKeys)
{
    /// <summary>The type 0x0002 keys in use at <paramref name="now"/> (no not-before, or not-before reached), decoded; undecodable keys are skipped.</summary>
    public IReadOnlyList<TokenPublicKey> ActiveBlindRsaKeys(DateTimeOffset now)
    {
        var keys = new List<TokenPublicKey>();
        foreach (var entry in TokenKeys)
        {
            if (entry.TokenType != PrivateTokenTypes.BlindRsa2048 || entry.NotBefore > now)
            {
                continue;
            }

            try
            {
                keys.Add(TokenPublicKey.Decode(entry.TokenKey.Span));
            }
            catch (ProtocolException<PrivacyPassError>)
            {
                // RFC 9578 §4: clients ignore keys they cannot use.
            }
        }

        return keys;
    }

    /// <summary>The JSON document (token-key in unpadded base64url, not-before in whole seconds).</summary>
    public string ToJson()
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteString("issuer-request-uri", IssuerRequestUri.OriginalString);
            json.WriteStartArray("token-keys");
            foreach (var key in TokenKeys)
            {
                json.WriteStartObject();
                json.WriteNumber("token-type", key.TokenType);
                json.WriteString("token-key", Base64Url.EncodeToString(key.TokenKey.Span));
                if (key.NotBefore is { } notBefore)
                {
                    json.WriteNumber("not-before", notBefore.ToUnixTimeSeconds());
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>Parses a directory document.</summary>
    /// <exception cref="ProtocolException{PrivacyPassError}"><see cref="PrivacyPassError.Malformed"/>: not JSON, a required member missing or of the wrong kind, or a bad value.</exception>
    public static IssuerDirectory Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("issuer-request-uri", out var uriElement) || uriElement.ValueKind != JsonValueKind.String
                || ParseRequestUri(uriElement.GetString()!) is not { } uri
                || !root.TryGetProperty("token-keys", out var keysElement) || keysElement.ValueKind != JsonValueKind.Array)
            {
                throw new ProtocolException<PrivacyPassError>(PrivacyPassError.Malformed, "The issuer directory needs an HTTP(S) or relative issuer-request-uri and a token-keys array.");
            }

            var keys = new List<IssuerDirectoryKey>();
            foreach (var entry in keysElement.EnumerateArray())
            {
                if (entry.ValueKind != JsonValueKind.Object
                    || !entry.TryGetProperty("token-type", out var type) || type.ValueKind != JsonValueKind.Number || !type.TryGetUInt16(out var tokenType)
                    || !entry.TryGetProperty("token-key", out var key) || key.ValueKind != JsonValueKind.String)
                {
                    throw new ProtocolException<PrivacyPassError>(PrivacyPassError.Malformed, "Each token-keys entry needs a token-type (0–65535) and a token-key string.");
                }

                DateTimeOffset? notBefore = null;
                if (entry.TryGetProperty("not-before", out var nb))
                {
                    notBefore = nb.ValueKind == JsonValueKind.Number && nb.TryGetInt64(out var seconds) && seconds >= 0 && seconds <= 253402300799
                        ? DateTimeOffset.FromUnixTimeSeconds(seconds)
                        : throw new ProtocolException<PrivacyPassError>(PrivacyPassError.Malformed, "A not-before value is not a whole number of seconds since the epoch.");
                }

                keys.Add(new IssuerDirectoryKey(tokenType, PrivateTokenHeaders.Decode(key.GetString()!, "token-key"), notBefore));
            }

            return new IssuerDirectory(uri, keys);
        }
        catch (JsonException e)
        {
            throw new ProtocolException<PrivacyPassError>(PrivacyPassError.Malformed, "The issuer directory is not valid JSON.", e);
        }
    }

    // The URI is absolute or relative to the directory's own URL. A leading '/' is forced relative
    // because on Unix .NET would otherwise read it as an absolute file: URI.
    private static Uri? ParseRequestUri(string text) =>
        Uri.TryCreate(text, text.StartsWith('/') ? UriKind.Relative : UriKind.RelativeOrAbsolute, out var uri)
        && (!uri.IsAbsoluteUri || uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp)
            ? uri
            : null;
}

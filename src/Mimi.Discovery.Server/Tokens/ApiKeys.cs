using System.Buffers.Text;
using System.Security.Cryptography;

namespace Mimi.Discovery.Server.Tokens;

/// <summary>
/// Token-account API keys: <c>mdk_</c> and 32 random bytes in base64url. The DP stores only the
/// SHA-256 of the 32 bytes, so a copy of the database cannot be used to obtain tokens.
/// </summary>
internal static class ApiKeys
{
    public const string Prefix = "mdk_";

    private const int SecretLength = 32;

    /// <summary>A new key and the hash to store; the key is shown once and never kept.</summary>
    public static (string Key, string Hash) Create()
    {
        var secret = RandomNumberGenerator.GetBytes(SecretLength);
        return (Prefix + Base64Url.EncodeToString(secret), Convert.ToHexStringLower(SHA256.HashData(secret)));
    }

    /// <summary>The stored hash of a presented key; null when it is not a key of this form.</summary>
    public static string? Hash(string? key)
    {
        if (key is null || !key.StartsWith(Prefix, StringComparison.Ordinal) || key.Length != Prefix.Length + 43)
        {
            return null;
        }

        Span<byte> secret = stackalloc byte[SecretLength];
        return Base64Url.TryDecodeFromChars(key.AsSpan(Prefix.Length), secret, out var written) && written == SecretLength
            ? Convert.ToHexStringLower(SHA256.HashData(secret))
            : null;
    }

    /// <summary>The key in an <c>Authorization: Bearer …</c> value, hashed; null when absent or malformed.</summary>
    public static string? FromBearer(string? authorization)
    {
        const string scheme = "Bearer ";
        return authorization is not null && authorization.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)
            ? Hash(authorization[scheme.Length..].Trim())
            : null;
    }
}

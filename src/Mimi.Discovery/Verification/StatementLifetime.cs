using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Base64Url = System.Buffers.Text.Base64Url;

namespace Mimi.Discovery.Verification;

/// <summary>
/// The one definition of how long a mapping statement may be used, shared by the DP (which refuses
/// to store a statement that breaks it and stops serving one at the end of its life) and the sender's
/// <see cref="StatementVerifier"/> and proof check (docs/protocol.md §5, "Lifetime"): a statement's
/// <c>exp</c> must not be after its credential's <c>notAfter</c>, and it is current while the verifier's
/// clock is before the earlier of the two — the credential's expiry ends every statement signed under it.
/// </summary>
public static class StatementLifetime
{
    /// <summary>Whether <paramref name="expiresAt"/> (the statement's <c>exp</c>) is after <paramref name="credentialNotAfter"/>: such a statement is refused (<see cref="VerificationStatus.OutlivesCredential"/>).</summary>
    public static bool OutlivesCredential(DateTimeOffset expiresAt, DateTimeOffset credentialNotAfter) => expiresAt > credentialNotAfter;

    /// <summary>The instant the statement stops being current: the earlier of its <c>exp</c> and its credential's <c>notAfter</c>.</summary>
    public static DateTimeOffset ValidUntil(DateTimeOffset expiresAt, DateTimeOffset credentialNotAfter) =>
        expiresAt < credentialNotAfter ? expiresAt : credentialNotAfter;

    /// <summary>Whether a statement with these times is still current at <paramref name="at"/>.</summary>
    public static bool IsCurrent(DateTimeOffset expiresAt, DateTimeOffset credentialNotAfter, DateTimeOffset at) =>
        at < ValidUntil(expiresAt, credentialNotAfter);

    /// <summary>
    /// Reads <see cref="ValidUntil"/> from a compact JWS mapping statement — its payload's <c>exp</c>
    /// and its <c>x5c</c> credential's <c>notAfter</c> — without verifying anything: for deciding what
    /// to serve or what a DP may leave out, never for trusting a statement.
    /// </summary>
    /// <returns>False when the statement has no readable <c>exp</c> or credential.</returns>
    public static bool TryReadValidUntil(string? jws, out DateTimeOffset validUntil)
    {
        validUntil = default;
        var parts = jws?.Split('.');
        if (parts is not { Length: 3 })
        {
            return false;
        }

        try
        {
            using var header = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[0]));
            using var payload = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[1]));
            if (header.RootElement.ValueKind != JsonValueKind.Object || payload.RootElement.ValueKind != JsonValueKind.Object
                || !payload.RootElement.TryGetProperty("exp", out var exp) || !exp.TryGetInt64(out var seconds) || seconds is < 0 or > 253402300799
                || !header.RootElement.TryGetProperty("x5c", out var x5c) || x5c.ValueKind != JsonValueKind.Array || x5c.GetArrayLength() == 0
                || x5c[0].GetString() is not { } der)
            {
                return false;
            }

            using var certificate = X509CertificateLoader.LoadCertificate(Convert.FromBase64String(der));
            validUntil = ValidUntil(DateTimeOffset.FromUnixTimeSeconds(seconds), new DateTimeOffset(certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero));
            return true;
        }
        catch (Exception e) when (e is FormatException or JsonException or CryptographicException or InvalidOperationException)
        {
            return false;
        }
    }
}

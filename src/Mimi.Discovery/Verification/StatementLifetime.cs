using System.Formats.Asn1;
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

            if (!TryReadNotAfter(Convert.FromBase64String(der), out var notAfter))
            {
                return false;
            }

            validUntil = ValidUntil(DateTimeOffset.FromUnixTimeSeconds(seconds), notAfter);
            return true;
        }
        catch (Exception e) when (e is FormatException or JsonException or InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>
    /// Reads a certificate's <c>notAfter</c> (RFC 5280 §4.1.2.5) straight from its DER: a DP reads it
    /// for every statement it serves, and loading the whole certificate costs about a hundred times more.
    /// </summary>
    private static bool TryReadNotAfter(byte[] der, out DateTimeOffset notAfter)
    {
        notAfter = default;
        try
        {
            var tbs = new AsnReader(der, AsnEncodingRules.DER).ReadSequence().ReadSequence();
            if (tbs.PeekTag().HasSameClassAndValue(new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true)))
            {
                tbs.ReadEncodedValue(); // version
            }

            tbs.ReadIntegerBytes(); // serialNumber
            tbs.ReadSequence(); // signature
            tbs.ReadSequence(); // issuer
            var validity = tbs.ReadSequence();
            ReadTime(validity);
            notAfter = ReadTime(validity);
            return true;
        }
        catch (AsnContentException)
        {
            return false;
        }
    }

    private static DateTimeOffset ReadTime(AsnReader reader) =>
        reader.PeekTag().HasSameClassAndValue(Asn1Tag.UtcTime) ? reader.ReadUtcTime() : reader.ReadGeneralizedTime();
}

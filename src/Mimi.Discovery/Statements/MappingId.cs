namespace Mimi.Discovery.Statements;

/// <summary>
/// Identifies one mapping of a CSI: the RFC 7638 thumbprint of the recipient key that signs it,
/// plus its audience. Versions of the same mapping share the id; a recipient who publishes for
/// two audiences has two mappings.
/// </summary>
/// <param name="KeyThumbprint">Base64url SHA-256 JWK thumbprint (RFC 7638) of the signing key.</param>
/// <param name="AudienceToken">The audience's canonical token (<see cref="Audience.Token"/>).</param>
public readonly record struct MappingId(string KeyThumbprint, string AudienceToken)
{
    /// <summary><c>thumbprint/audience</c>, e.g. <c>NzbL…9Xs/any</c>.</summary>
    public override string ToString() => KeyThumbprint + "/" + AudienceToken;

    /// <summary>Parses the <c>thumbprint/audience</c> form.</summary>
    public static bool TryParse(string? text, out MappingId id)
    {
        id = default;
        var slash = text?.IndexOf('/', StringComparison.Ordinal) ?? -1;
        if (text is null || slash != 43 || text.Length > 43 + 1 + 2048)
        {
            return false;
        }

        var thumb = text[..slash];
        if (!thumb.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')
            || !Audience.TryParse(text[(slash + 1)..], out var audience, out _)
            || !string.Equals(audience.Token, text[(slash + 1)..], StringComparison.Ordinal))
        {
            return false;
        }

        id = new MappingId(thumb, audience.Token);
        return true;
    }
}

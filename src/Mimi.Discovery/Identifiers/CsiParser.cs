using PhoneNumbers;

namespace Mimi.Discovery.Identifiers;

/// <summary>
/// Turns any string into a canonical <see cref="Csi"/> or a typed rejection. Parsing is total:
/// it never throws for any input, however malformed.
/// </summary>
/// <remarks>
/// Accepted forms: <c>tel:+…</c> URIs, <c>+…</c> international numbers, national numbers with a
/// region (ISO 3166 alpha-2, e.g. <c>FR</c>), <c>mailto:</c> URIs and bare email addresses.
/// Phone numbers are validated against libphonenumber's numbering-plan metadata. The email rules
/// are listed in <c>docs/protocol.md</c> ("Identifiers").
/// </remarks>
public static class CsiParser
{
    /// <summary>Longest input looked at; anything longer cannot be a phone number or an RFC 5321 address.</summary>
    public const int MaxInputLength = 512;

    private const int MaxLocalPartLength = 64;
    private const int MaxAddressLength = 254;
    private const string AText = "!#$%&'*+-/=?^_`{|}~";

    private static readonly PhoneNumberUtil Phones = PhoneNumberUtil.GetInstance();

    /// <summary>Parses <paramref name="input"/> into a canonical CSI.</summary>
    /// <param name="input">A phone number or email address in any accepted form.</param>
    /// <param name="defaultRegion">Region used to read national phone numbers (e.g. <c>GB</c>); optional.</param>
    public static CsiParseResult Parse(string? input, string? defaultRegion = null)
    {
        if (string.IsNullOrWhiteSpace(input))
        {
            return CsiParseResult.Fail(CsiError.Empty, "no identifier was given");
        }

        if (input.Length > MaxInputLength)
        {
            return CsiParseResult.Fail(CsiError.TooLong, $"the identifier is longer than {MaxInputLength} characters");
        }

        var text = input.Trim();
        if (text.Any(c => char.IsControl(c) || c is '\u200B' or '\u200C' or '\u200D' or '\u2060' or '\uFEFF'))
        {
            return CsiParseResult.Fail(CsiError.ControlCharacter, "the identifier contains a control or invisible character");
        }

        if (text.StartsWith("tel:", StringComparison.OrdinalIgnoreCase))
        {
            return ParseTelUri(text[4..]);
        }

        if (text.StartsWith("mailto:", StringComparison.OrdinalIgnoreCase))
        {
            return ParseMailtoUri(text[7..]);
        }

        if (text.Contains('@', StringComparison.Ordinal))
        {
            return ParseEmail(text);
        }

        // libphonenumber decides what a phone number looks like: any Unicode decimal digits (full-width
        // ０-９, Arabic-Indic…), its punctuation (including the ideographic space and full-width +),
        // and extensions ("ext. 5", "x5", ";ext=5"), which ParsePhone then refuses by name.
        if (PhoneNumberUtil.IsViablePhoneNumber(text))
        {
            return ParsePhone(text, defaultRegion);
        }

        return CsiParseResult.Fail(CsiError.UnrecognisedForm, $"'{HostName.Printable(text)}' is neither a phone number nor an email address");
    }

    /// <summary>Whether <paramref name="region"/> is an ISO 3166 alpha-2 code national phone numbers can be read in (libphonenumber's supported regions; case-insensitive).</summary>
    public static bool IsKnownRegion(string? region) =>
        region is { Length: 2 } && Phones.GetSupportedRegions().Contains(region.ToUpperInvariant());

    /// <summary>Parses an input and returns the CSI, or throws <see cref="FormatException"/> with the reason.</summary>
    /// <exception cref="FormatException">The input is not a valid CSI.</exception>
    public static Csi ParseOrThrow(string? input, string? defaultRegion = null)
    {
        var result = Parse(input, defaultRegion);
        return result.Success ? result.Csi : throw new FormatException(result.Reason);
    }

    // RFC 3966 §3: a global number starts with '+' and uses ASCII DIGIT and the visual separators
    // - . ( ); parameters (;ext=, ;isub=, ;phone-context=) follow ';'.
    private static CsiParseResult ParseTelUri(string body)
    {
        var semicolon = body.IndexOf(';', StringComparison.Ordinal);
        if (semicolon >= 0)
        {
            var parameters = body[(semicolon + 1)..].Split(';').Select(p => p.Split('=')[0].Trim().ToLowerInvariant()).ToList();
            if (parameters.Contains("ext"))
            {
                return CsiParseResult.Fail(CsiError.PhoneHasExtension, "the tel URI has an extension (;ext=); a CSI is the subscriber number alone, without it");
            }

            if (parameters.Contains("phone-context"))
            {
                return CsiParseResult.Fail(CsiError.PhoneRegionRequired, "the tel URI holds a local number (;phone-context=); write it as a global number starting with '+'");
            }

            return CsiParseResult.Fail(CsiError.PhoneUnparsable, $"tel URI parameters ({HostName.Printable(string.Join(", ", parameters))}) cannot be part of a CSI; give the number alone");
        }

        if (!body.StartsWith('+'))
        {
            return CsiParseResult.Fail(CsiError.PhoneRegionRequired, "a tel URI must hold a global number starting with '+'");
        }

        if (!body.All(c => char.IsAsciiDigit(c) || c is '+' or '-' or '.' or '(' or ')'))
        {
            return CsiParseResult.Fail(CsiError.PhoneUnparsable, "a tel URI holds only digits and the separators - . ( )");
        }

        return ParsePhone(body, null);
    }

    private static CsiParseResult ParsePhone(string text, string? defaultRegion)
    {
        var international = text[0] is '+' or '\uFF0B'; // libphonenumber's PLUS_CHARS: + and full-width ＋
        if (!international && string.IsNullOrEmpty(defaultRegion))
        {
            return CsiParseResult.Fail(CsiError.PhoneRegionRequired, "a national number needs a region (such as GB or US), or write it in international form starting with '+'");
        }

        PhoneNumber number;
        try
        {
            number = Phones.Parse(text, international ? null : defaultRegion!.ToUpperInvariant());
        }
        catch (NumberParseException e)
        {
            return CsiParseResult.Fail(CsiError.PhoneUnparsable, e.ErrorType switch
            {
                ErrorType.INVALID_COUNTRY_CODE => international ? "the number has no valid country calling code" : $"'{HostName.Printable(defaultRegion!)}' is not a known region",
                ErrorType.TOO_SHORT_NSN or ErrorType.TOO_SHORT_AFTER_IDD => "the number is too short",
                ErrorType.TOO_LONG => "the number is too long",
                _ => "the text is not a phone number",
            });
        }

        if (number.HasExtension)
        {
            return CsiParseResult.Fail(CsiError.PhoneHasExtension, $"the number has an extension ({HostName.Printable(number.Extension)}); a CSI is the subscriber number alone, without it");
        }

        // libphonenumber's length categories (IsPossibleNumberWithReason) come before validity: a
        // number of a length its country never uses is unparsable, not merely unassigned.
        var possible = Phones.IsPossibleNumberWithReason(number);
        if (possible is PhoneNumberUtil.ValidationResult.TOO_SHORT or PhoneNumberUtil.ValidationResult.TOO_LONG or PhoneNumberUtil.ValidationResult.INVALID_LENGTH or PhoneNumberUtil.ValidationResult.INVALID_COUNTRY_CODE)
        {
            var e164 = Phones.Format(number, PhoneNumberFormat.E164);
            return CsiParseResult.Fail(CsiError.PhoneUnparsable, possible switch
            {
                PhoneNumberUtil.ValidationResult.TOO_SHORT => $"{e164} is too short for its country",
                PhoneNumberUtil.ValidationResult.TOO_LONG => $"{e164} is too long for its country",
                PhoneNumberUtil.ValidationResult.INVALID_COUNTRY_CODE => "the number has no valid country calling code",
                _ => $"{e164} has a length its country does not use",
            });
        }

        if (!Phones.IsValidNumber(number))
        {
            var e164 = Phones.Format(number, PhoneNumberFormat.E164);
            return CsiParseResult.Fail(CsiError.PhoneNotAssignable, $"{e164} is not a valid number in its numbering plan");
        }

        return CsiParseResult.Ok(new Csi(CsiKind.Phone, Phones.Format(number, PhoneNumberFormat.E164)));
    }

    // RFC 6068: one address, no header fields; %-encoding is decoded once.
    private static CsiParseResult ParseMailtoUri(string body)
    {
        if (body.Contains('?', StringComparison.Ordinal) || body.Contains(',', StringComparison.Ordinal))
        {
            return CsiParseResult.Fail(CsiError.EmailInvalidUri, "a mailto URI for a CSI holds exactly one address and no header fields");
        }

        string decoded;
        try
        {
            decoded = Uri.UnescapeDataString(body);
        }
        catch (UriFormatException)
        {
            return CsiParseResult.Fail(CsiError.EmailInvalidUri, "the mailto URI has invalid percent-encoding");
        }

        if (decoded.Any(char.IsControl))
        {
            return CsiParseResult.Fail(CsiError.ControlCharacter, "the identifier contains a control or invisible character");
        }

        return ParseEmail(decoded);
    }

    private static CsiParseResult ParseEmail(string text)
    {
        var at = text.LastIndexOf('@');
        if (at < 0)
        {
            return CsiParseResult.Fail(CsiError.EmailInvalidLocalPart, "an email address has the form local@domain");
        }

        var local = text[..at];
        var domain = text[(at + 1)..];

        if (local.StartsWith('"'))
        {
            return CsiParseResult.Fail(CsiError.EmailQuotedLocalPart, "quoted local parts (\"…\"@domain) are not supported");
        }

        if (local.Length == 0 || !local.All(c => char.IsAsciiLetterOrDigit(c) || c == '.' || AText.Contains(c, StringComparison.Ordinal))
            || local.StartsWith('.') || local.EndsWith('.') || local.Contains("..", StringComparison.Ordinal))
        {
            return CsiParseResult.Fail(CsiError.EmailInvalidLocalPart, "the local part must be ASCII letters, digits and !#$%&'*+-/=?^_`{|}~ in dot-separated runs");
        }

        if (local.Length > MaxLocalPartLength)
        {
            return CsiParseResult.Fail(CsiError.EmailLocalPartTooLong, $"the local part is {local.Length} octets long; the limit is {MaxLocalPartLength}");
        }

        if (!HostName.TryNormalize(domain, out var asciiDomain, out var reason))
        {
            return CsiParseResult.Fail(CsiError.EmailInvalidDomain, reason);
        }

        var address = local.ToLowerInvariant() + "@" + asciiDomain;
        if (address.Length > MaxAddressLength)
        {
            return CsiParseResult.Fail(CsiError.EmailTooLong, $"the address is {address.Length} octets long; the limit is {MaxAddressLength}");
        }

        return CsiParseResult.Ok(new Csi(CsiKind.Email, address));
    }
}

using System.Text;
using Mimi.Discovery.Identifiers;

namespace Mimi.Discovery.Dns;

/// <summary>
/// The DNS names MIMI discovery queries (draft-bertola-mimi-discovery §4–5, RFC 6116): where the
/// MIMI records of a MUI live, where an email domain's MIMIX record lives, how an email address
/// becomes a MUI under its resolution domain, and a phone number's ENUM name.
/// </summary>
internal static class DiscoveryNames
{
    /// <summary>The public ENUM apex (RFC 6116 §2.4); private ENUM trees use their own.</summary>
    public const string PublicEnumApex = "e164.arpa";

    /// <summary>Prefix of the encoded label used for local parts that are not DNS host labels.</summary>
    public const string EncodedLabelPrefix = "x--";

    /// <summary>Owner name of a MUI's MIMI records in the TXT encoding: <c>_mimi.&lt;mui&gt;</c>.</summary>
    public static string MimiTxtName(string name) => "_mimi." + name;

    /// <summary>Owner name of a domain's MIMIX record in the TXT encoding: <c>_mimix.&lt;domain&gt;</c>.</summary>
    public static string MimixTxtName(string domain) => "_mimix." + domain;

    /// <summary>
    /// Where a DP authoritative for <paramref name="csi"/> may be named (docs/protocol.md §11, "Named in
    /// the DNS"), most specific first: for an email address <c>_mimi-dp.&lt;domain&gt;</c>; for a phone
    /// number <c>_mimi-dp.</c> before the ENUM name of each of its prefixes, from the whole number
    /// down to the country digit (<c>_mimi-dp.1.6.3.3.e164.arpa</c> names the DP of +3361…).
    /// </summary>
    public static IReadOnlyList<string> DpTxtNames(Csi csi, string enumApex = PublicEnumApex)
    {
        ArgumentNullException.ThrowIfNull(csi);
        if (csi.Kind != CsiKind.Phone)
        {
            return ["_mimi-dp." + csi.EmailDomain];
        }

        var digits = csi.Value.Where(char.IsAsciiDigit).ToArray();
        return Enumerable.Range(1, digits.Length).Reverse()
            .Select(n => "_mimi-dp." + string.Join('.', digits.Take(n).Reverse()) + "." + enumApex.TrimEnd('.'))
            .ToList();
    }

    /// <summary>
    /// RFC 6116 §2.4: the E.164 digits of <paramref name="phone"/> reversed, dot-separated, under
    /// <paramref name="apex"/>. <c>tel:+15551234567</c> → <c>7.6.5.4.3.2.1.5.5.5.1.e164.arpa</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The CSI is not a phone number.</exception>
    public static string EnumName(Csi phone, string apex = PublicEnumApex)
    {
        ArgumentNullException.ThrowIfNull(phone);
        ArgumentException.ThrowIfNullOrEmpty(apex);
        if (phone.Kind != CsiKind.Phone)
        {
            throw new ArgumentException("ENUM names are for phone numbers.", nameof(phone));
        }

        var digits = phone.Value.Where(char.IsAsciiDigit).Reverse();
        return string.Join('.', digits) + "." + apex.TrimEnd('.');
    }

    /// <summary>
    /// The MUI for an email address under the resolution domain its MIMIX record names (§5.1.1):
    /// the local part in front of the domain. A canonical local part whose dot-separated pieces are
    /// all host labels (letters, digits, inner hyphens, ≤ 63) is used as is; any other local part
    /// (with <c>+</c>, <c>_</c>, <c>!</c>…) becomes one label <c>x--</c> + lower-case unpadded
    /// base32 of its UTF-8 bytes, so distinct addresses never share a MUI. Returns
    /// <see langword="null"/> when that label would exceed 63 octets or the name 253.
    /// </summary>
    /// <exception cref="ArgumentException">The CSI is not an email address.</exception>
    public static string? EmailMui(Csi email, string resolutionDomain)
    {
        ArgumentNullException.ThrowIfNull(email);
        ArgumentException.ThrowIfNullOrEmpty(resolutionDomain);
        if (email.Kind != CsiKind.Email)
        {
            throw new ArgumentException("Only email CSIs map to a MUI through MIMIX.", nameof(email));
        }

        var local = email.Value[..email.Value.LastIndexOf('@')];
        var labels = local.Split('.');
        var prefix = labels.All(HostName.IsLdhLabel) && !local.StartsWith(EncodedLabelPrefix, StringComparison.Ordinal)
            ? local
            : EncodedLabelPrefix + Base32Lower(Encoding.UTF8.GetBytes(local));
        if (prefix.Split('.').Any(l => l.Length > 63))
        {
            return null;
        }

        var name = prefix + "." + resolutionDomain.TrimEnd('.');
        return name.Length <= HostName.MaxLength ? name : null;
    }

    // RFC 4648 §6 alphabet in lower case, no padding.
    internal static string Base32Lower(ReadOnlySpan<byte> data)
    {
        const string Alphabet = "abcdefghijklmnopqrstuvwxyz234567";
        var output = new StringBuilder((data.Length * 8 + 4) / 5);
        int buffer = 0, bits = 0;
        foreach (var b in data)
        {
            buffer = (buffer << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                output.Append(Alphabet[(buffer >> (bits - 5)) & 31]);
                bits -= 5;
            }
        }

        if (bits > 0)
        {
            output.Append(Alphabet[(buffer << (5 - bits)) & 31]);
        }

        return output.ToString();
    }
}

using System.Globalization;

namespace Mimi.Discovery.Identifiers;

/// <summary>
/// Normalises a DNS host name to its canonical ASCII form: IDNA (UTS #46 via ICU) A-labels,
/// lower case, no trailing dot, LDH labels of 1–63 octets, at most 253 octets, at least two labels,
/// and a top-level label that is not all digits (so IPv4 literals are never taken for names).
/// </summary>
internal static class HostName
{
    public const int MaxLength = 253;
    private const int MaxLabelLength = 63;

    private static readonly IdnMapping Idn = new() { UseStd3AsciiRules = true, AllowUnassigned = false };

    public static bool TryNormalize(string input, out string ascii, out string reason)
    {
        ascii = string.Empty;
        var name = input.EndsWith('.') ? input[..^1] : input;
        if (name.Length == 0 || name.Length > 4 * MaxLength)
        {
            reason = "the domain name is empty or far too long";
            return false;
        }

        if (name.Length > MaxLength && name.All(char.IsAscii))
        {
            reason = $"the domain name is {name.Length} octets long; the limit is {MaxLength}";
            return false;
        }

        if (name.StartsWith('['))
        {
            reason = "address literals such as [192.0.2.1] are not domain names";
            return false;
        }

        string converted;
        try
        {
            converted = Idn.GetAscii(name);
        }
        catch (ArgumentException)
        {
            reason = $"'{Printable(name)}' is not a valid internationalised domain name";
            return false;
        }

        converted = converted.ToLowerInvariant();
        if (converted.Length > MaxLength)
        {
            reason = $"the domain name is {converted.Length} octets long; the limit is {MaxLength}";
            return false;
        }

        var labels = converted.Split('.');
        if (labels.Length < 2)
        {
            reason = "the domain name needs at least two labels (for example example.com)";
            return false;
        }

        foreach (var label in labels)
        {
            if (!IsLdhLabel(label))
            {
                reason = $"the label '{label}' is not 1–63 letters, digits or inner hyphens";
                return false;
            }
        }

        if (labels[^1].All(char.IsAsciiDigit))
        {
            reason = "the top-level label is all digits, which no domain name has";
            return false;
        }

        ascii = converted;
        reason = string.Empty;
        return true;
    }

    internal static bool IsLdhLabel(string label) =>
        label.Length is > 0 and <= MaxLabelLength
        && label[0] != '-' && label[^1] != '-'
        && label.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-');

    /// <summary>Renders input for an error message without echoing control characters.</summary>
    internal static string Printable(string s)
    {
        var shortened = s.Length > 80 ? s[..80] + "…" : s;
        return new string(shortened.Select(c => char.IsControl(c) ? '?' : c).ToArray());
    }
}

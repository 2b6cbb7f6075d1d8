using System.Diagnostics.CodeAnalysis;

namespace Mimi.Discovery.Identifiers;

/// <summary>
/// A MIMI user identifier: a fully qualified domain name owned by the user (<c>bob.example.net</c>),
/// resolved in the DNS. Held in canonical form: A-labels, lower case, no trailing dot.
/// </summary>
public sealed record Mui
{
    private Mui(string name) => Name = name;

    /// <summary>The canonical name.</summary>
    public string Name { get; }

    /// <summary>Validates and canonicalises a MUI; never throws.</summary>
    /// <param name="input">A domain name, Unicode or ASCII, with or without a trailing dot.</param>
    /// <param name="mui">The canonical MUI on success.</param>
    /// <param name="reason">Why the input was rejected, on failure.</param>
    public static bool TryParse(string? input, [NotNullWhen(true)] out Mui? mui, out string reason)
    {
        mui = null;
        if (string.IsNullOrWhiteSpace(input))
        {
            reason = "no name was given";
            return false;
        }

        if (input.Any(char.IsControl))
        {
            reason = "the name contains a control character";
            return false;
        }

        if (!HostName.TryNormalize(input.Trim(), out var ascii, out reason))
        {
            return false;
        }

        mui = new Mui(ascii);
        return true;
    }

    /// <summary>The canonical name.</summary>
    public override string ToString() => Name;
}

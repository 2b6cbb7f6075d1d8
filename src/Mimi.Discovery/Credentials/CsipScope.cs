using Mimi.Discovery.Identifiers;

namespace Mimi.Discovery.Credentials;

/// <summary>
/// What a CSI issuer (a telco, an email domain) may act for: E.164 number prefixes and email
/// domains. In a CSIP credential each prefix is a SAN URI <c>tel:+44</c> and each domain a SAN
/// dNSName; the CSIP extended key usage tells them apart from a single-CSI credential.
/// </summary>
public sealed record CsipScope
{
    private CsipScope(IReadOnlyList<string> phonePrefixes, IReadOnlyList<string> emailDomains)
    {
        PhonePrefixes = phonePrefixes;
        EmailDomains = emailDomains;
    }

    /// <summary>Number prefixes including the '+', e.g. <c>+4420</c>; a CSI is covered when its E.164 form starts with one.</summary>
    public IReadOnlyList<string> PhonePrefixes { get; }

    /// <summary>Email domains (A-labels); a CSI is covered when its domain equals one exactly (subdomains are not covered).</summary>
    public IReadOnlyList<string> EmailDomains { get; }

    /// <summary>Builds a scope; returns <see langword="false"/> with a reason on any malformed element.</summary>
    public static bool TryCreate(IEnumerable<string> phonePrefixes, IEnumerable<string> emailDomains, out CsipScope? scope, out string reason)
    {
        ArgumentNullException.ThrowIfNull(phonePrefixes);
        ArgumentNullException.ThrowIfNull(emailDomains);
        scope = null;
        var prefixes = new List<string>();
        foreach (var p in phonePrefixes)
        {
            if (p is not { Length: >= 2 and <= 16 } || p[0] != '+' || p[1] == '0' || !p.Skip(1).All(char.IsAsciiDigit))
            {
                reason = $"'{p}' is not an E.164 prefix such as +4420";
                return false;
            }

            prefixes.Add(p);
        }

        var domains = new List<string>();
        foreach (var d in emailDomains)
        {
            if (!HostName.TryNormalize(d ?? string.Empty, out var ascii, out reason))
            {
                return false;
            }

            domains.Add(ascii);
        }

        if (prefixes.Count + domains.Count == 0)
        {
            reason = "a CSIP scope needs at least one number prefix or email domain";
            return false;
        }

        scope = new CsipScope(prefixes.Distinct().Order(StringComparer.Ordinal).ToArray(), domains.Distinct().Order(StringComparer.Ordinal).ToArray());
        reason = string.Empty;
        return true;
    }

    /// <summary>
    /// Builds a scope from its elements as people and delegations write them: an element starting
    /// with '+' or a digit is a number prefix (so <c>33</c> is refused as a prefix without its '+',
    /// not taken for a domain), any other an email domain.
    /// </summary>
    public static bool TryParse(IEnumerable<string> elements, out CsipScope? scope, out string reason)
    {
        ArgumentNullException.ThrowIfNull(elements);
        var list = elements.ToList();
        static bool IsPrefix(string e) => e.Length > 0 && (e[0] == '+' || char.IsAsciiDigit(e[0]));
        return TryCreate(list.Where(IsPrefix), list.Where(e => !IsPrefix(e)), out scope, out reason);
    }

    /// <summary>Every element: the number prefixes, then the email domains.</summary>
    public IEnumerable<string> Elements => PhonePrefixes.Concat(EmailDomains);

    /// <summary>Builds a scope.</summary>
    /// <exception cref="ArgumentException">An element is malformed or the scope is empty.</exception>
    public static CsipScope Create(IEnumerable<string> phonePrefixes, IEnumerable<string> emailDomains) =>
        TryCreate(phonePrefixes, emailDomains, out var scope, out var reason) ? scope! : throw new ArgumentException(reason);

    /// <summary>Whether this scope covers <paramref name="csi"/>.</summary>
    public bool Covers(Csi csi)
    {
        ArgumentNullException.ThrowIfNull(csi);
        return csi.Kind == CsiKind.Phone
            ? PhonePrefixes.Any(p => csi.Value.StartsWith(p, StringComparison.Ordinal))
            : EmailDomains.Contains(csi.EmailDomain!, StringComparer.Ordinal);
    }

    /// <summary>A readable summary, e.g. <c>+4420, example.com</c>.</summary>
    public override string ToString() => string.Join(", ", Elements);
}

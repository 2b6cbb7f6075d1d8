// draft-bertola-mimi-discovery §4.3: the MSSSI definition string, a DKIM-style tag=value list
// (RFC 6376 §3.2): tag-spec *( ";" tag-spec ) [ ";" ], where tag-spec is
// [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS] and FWS (RFC 5322 §3.2.2) is spaces and tabs,
// optionally folded with CRLF. Values may be UTF-8 (the draft's accounts are not ASCII-only).
using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Mimi.Discovery.Dns;

/// <summary>One MIMI record: how to reach a user on one messaging service.</summary>
/// <param name="Account">Tag <c>a</c>: the user's account on the service (required).</param>
/// <param name="Endpoint">Tag <c>e</c>: the service's MIMI endpoint (required).</param>
/// <param name="Priority">Tag <c>p</c>: lower is preferred; records without one sort last.</param>
/// <param name="Service">Tag <c>s</c>: the service type or brand, if given.</param>
/// <param name="ProtocolVersion">Tag <c>pv</c>: highest MIMI protocol version at the endpoint, if given.</param>
public sealed record MimiRecord(string Account, string Endpoint, int? Priority, string? Service, string? ProtocolVersion)
{
    /// <summary>The only version this implementation understands.</summary>
    public const string Version1 = "MIMI1";

    /// <summary>Longest definition string accepted (a TXT RDATA holds at most 65535 octets; records are far shorter).</summary>
    public const int MaxLength = 2048;

    private static readonly string[] KnownTags = ["v", "a", "e", "pv", "p", "s"];

    // White space of the tag-list grammar: WSP (SP, HTAB) and the CR LF of a folded line.
    private static readonly char[] Fws = [' ', '\t', '\r', '\n'];

    /// <summary>
    /// Parses a definition string. Returns <see langword="false"/> with a diagnostic when the record
    /// must be ignored: a version other than MIMI1, a missing <c>v</c>, <c>a</c> or <c>e</c>, a
    /// duplicate or malformed tag, or a bad priority. Unknown tags are ignored (RFC 6376 §3.2), the
    /// record is not.
    /// </summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out MimiRecord? record, out string diagnostic)
    {
        record = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            diagnostic = "empty record";
            return false;
        }

        if (text.Length > MaxLength)
        {
            diagnostic = "record longer than 2048 characters";
            return false;
        }

        if (FirstStrayControl(text) is { } control)
        {
            diagnostic = $"record contains the control character U+{(int)control:X4} (only space, tab and folded CRLF white space are allowed)";
            return false;
        }

        var tags = new Dictionary<string, string>(StringComparer.Ordinal);
        var specs = text.Split(';');
        for (var i = 0; i < specs.Length; i++)
        {
            var spec = specs[i].Trim(Fws);
            if (spec.Length == 0)
            {
                if (i == specs.Length - 1)
                {
                    break; // a trailing ';' is allowed
                }

                diagnostic = "empty tag between two ';'";
                return false;
            }

            var eq = spec.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                diagnostic = $"'{Shorten(spec)}' is not tag=value";
                return false;
            }

            var name = spec[..eq].TrimEnd(Fws);
            var value = spec[(eq + 1)..].TrimStart(Fws);
            if (!name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_') || !char.IsAsciiLetter(name[0]))
            {
                diagnostic = $"'{Shorten(name)}' is not a tag name";
                return false;
            }

            if (!tags.TryAdd(name, value))
            {
                diagnostic = $"tag '{name}' appears twice";
                return false;
            }
        }

        if (!tags.TryGetValue("v", out var version))
        {
            diagnostic = "no version tag v";
            return false;
        }

        if (!string.Equals(version, Version1, StringComparison.Ordinal))
        {
            diagnostic = $"version '{Shorten(version)}' is not {Version1}";
            return false;
        }

        if (!tags.TryGetValue("a", out var account) || account.Length == 0)
        {
            diagnostic = "no account tag a";
            return false;
        }

        if (!tags.TryGetValue("e", out var endpoint) || endpoint.Length == 0)
        {
            diagnostic = "no endpoint tag e";
            return false;
        }

        int? priority = null;
        if (tags.TryGetValue("p", out var p))
        {
            if (!int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value > ushort.MaxValue)
            {
                diagnostic = $"priority '{Shorten(p)}' is not an integer 0–65535";
                return false;
            }

            priority = value;
        }

        record = new MimiRecord(account, endpoint, priority, NonEmpty(tags, "s"), NonEmpty(tags, "pv"));
        var unknown = tags.Keys.Where(k => !KnownTags.Contains(k, StringComparer.Ordinal)).ToList();
        diagnostic = unknown.Count == 0 ? string.Empty : "ignored unknown tags: " + string.Join(", ", unknown);
        return true;
    }

    /// <summary>The canonical definition string: <c>v=MIMI1; a=…; e=…</c> then <c>p</c>, <c>s</c>, <c>pv</c> when set.</summary>
    public override string ToString()
    {
        var parts = new List<string> { "v=" + Version1, "a=" + Account, "e=" + Endpoint };
        if (Priority is { } p)
        {
            parts.Add("p=" + p.ToString(CultureInfo.InvariantCulture));
        }

        if (Service is not null)
        {
            parts.Add("s=" + Service);
        }

        if (ProtocolVersion is not null)
        {
            parts.Add("pv=" + ProtocolVersion);
        }

        return string.Join("; ", parts);
    }

    /// <summary>Orders records as a sender should try them: by priority, records without one last.</summary>
    public static IEnumerable<MimiRecord> ByPreference(IEnumerable<MimiRecord> records) =>
        records.OrderBy(r => r.Priority ?? int.MaxValue);

    private static string? NonEmpty(Dictionary<string, string> tags, string name) =>
        tags.TryGetValue(name, out var v) && v.Length > 0 ? v : null;

    // FWS allows CR LF only as a fold, followed by a space or tab; any other control character
    // (a bare CR or LF, NUL, escape…) makes the record unreadable.
    private static char? FirstStrayControl(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\t' || !char.IsControl(c))
            {
                continue;
            }

            if (c == '\r' && i + 2 < text.Length && text[i + 1] == '\n' && text[i + 2] is ' ' or '\t')
            {
                i++;
                continue;
            }

            return c;
        }

        return null;
    }

    private static string Shorten(string s) => s.Length > 40 ? s[..40] + "…" : s;
}

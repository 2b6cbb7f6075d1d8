using System.Globalization;
using Mimi.Discovery.Statements;

namespace Mimi.Discovery.Cli;

/// <summary>Parses <c>name[,endpoint=URI][,account=ID][,priority=N][,tags=a+b][,pv=V][,audience=same-service|a+b]</c> into an MSP entry.</summary>
internal static class ServiceSpec
{
    public static MspEntry Parse(string spec) => ParseSealed(spec) is { SealedFor: null } parsed ? parsed.Entry
        : throw new UsageException($"sealed-for in --service '{spec}' is for register only");

    /// <summary>As <see cref="Parse"/>, with <c>sealed-for=NAME</c>: the entry is sealed with the route key NAME (docs/protocol.md §2, "Sealed routes").</summary>
    public static (MspEntry Entry, string? SealedFor) ParseSealed(string spec)
    {
        string? sealedFor = null;
        var parts = spec.Split(',');
        var entry = new MspEntry(parts[0].Trim());
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var part in parts.Skip(1))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new UsageException($"'{part}' in --service '{spec}' is not key=value");
            }

            var (key, value) = (part[..eq].Trim(), part[(eq + 1)..]);
            if (!seen.Add(key))
            {
                throw new UsageException($"'{key}' appears twice in --service '{spec}'");
            }

            if (key == "sealed-for")
            {
                sealedFor = RouteKey.IsValidName(value) ? value : throw new UsageException($"sealed-for '{value}' in --service '{spec}' is not a route key name (1–64 of A-Z a-z 0-9 . - _)");
                continue;
            }

            entry = key switch
            {
                "endpoint" when Uri.TryCreate(value, UriKind.Absolute, out var uri) => entry with { Endpoint = uri },
                "endpoint" => throw new UsageException($"endpoint '{value}' is not an absolute URI"),
                "account" => entry with { Account = value },
                "priority" when int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var priority) => entry with { Priority = priority },
                "priority" => throw new UsageException($"priority '{value}' is not a number 0–65535"),
                "tags" => entry with { Tags = value.Split('+', StringSplitOptions.RemoveEmptyEntries).Select(PreferenceTags.Normalize).ToList() },
                "pv" => entry with { ProtocolVersion = value },
                "audience" when value is not ("" or "any") && Audience.TryParse(value, out var audience, out _) => entry with { Audience = audience },
                "audience" => throw new UsageException($"audience '{value}' in --service '{spec}' is not same-service or services joined by '+'"),
                _ => throw new UsageException($"unknown key '{key}' in --service '{spec}' (use endpoint, account, priority, tags, pv, audience, sealed-for)"),
            };
        }

        if (entry.Validate() is { } problem)
        {
            throw new UsageException(problem);
        }

        if (sealedFor is not null && entry.Audience is not null)
        {
            throw new UsageException($"a sealed route has no audience of its own (--service '{spec}'): its route key decides who reads it");
        }

        return (entry, sealedFor);
    }
}

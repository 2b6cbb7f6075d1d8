using System.Text.Json;
using Mimi.Discovery.Client;

namespace Mimi.Discovery.Cli.Commands;

/// <summary><c>lookup --pick</c>: one route per identifier, chosen by <see cref="RoutePicker"/> from the verified answer.</summary>
internal static class PickOutput
{
    public static readonly System.CommandLine.Option<bool> Pick = new("--pick") { Description = "Print the one route to use for each identifier (context tags, usable services, sealed routes, default, priority, then a stable tie-break)." };

    public static readonly System.CommandLine.Option<string[]> Context = new("--context")
    {
        Description = "With --pick: your context tags (e.g. business), matched ignoring case; repeat or join with ','.",
        AllowMultipleArgumentsPerToken = false,
    };

    public static readonly System.CommandLine.Option<string?> Can = new("--can") { Description = "With --pick: the services you can use, joined with ',' (e.g. wire,signal); default any." };

    public static RoutePreferences Preferences(System.CommandLine.ParseResult result)
    {
        var can = result.GetValue(Can)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (can?.FirstOrDefault(s => !Statements.MspEntry.IsValidServiceId(s)) is { } bad)
        {
            throw new UsageException($"--can: '{bad}' is not a service id (1–64 of a-z 0-9 . - _)");
        }

        var context = (result.GetValue(Context) ?? []).SelectMany(c => c.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .Select(Statements.PreferenceTags.Normalize).ToList();
        return new RoutePreferences { Context = context, Services = can };
    }

    /// <summary>Prints each answer's pick (a line, or JSON); identifiers without a usable route say why.</summary>
    public static void Print(IReadOnlyList<AddressBookEntry> entries, RoutePreferences preferences, Func<VerifiedLookup, IReadOnlyList<Route>> routes, bool json)
    {
        var picks = entries.Select(e => (e.Answer, Route: e.Answer.Outcome == LookupOutcome.Found ? RoutePicker.Pick(routes(e.Answer), preferences) : null)).ToList();
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(picks.Select(p => new
            {
                query = p.Answer.Query,
                csi = p.Answer.Csi?.Uri,
                result = VerifiedLookup.OutcomeName(p.Answer.Outcome),
                route = p.Route is not { } r ? null : new
                {
                    service = r.Entry.Service,
                    account = r.Entry.Account,
                    endpoint = r.Entry.Endpoint?.ToString(),
                    priority = r.Entry.Priority,
                    tags = r.Entry.Tags,
                    sealedWith = r.SealedWith,
                    mappingId = r.Mapping.Id.ToString(),
                    version = r.Mapping.Version,
                },
            }), Cli.Indented));
            return;
        }

        foreach (var (answer, route) in picks)
        {
            var name = answer.Csi?.Uri ?? answer.Query;
            Console.WriteLine(route is null
                ? $"{name}: no route ({(answer.Outcome == LookupOutcome.Found ? "none on a service you can use" : VerifiedLookup.OutcomeName(answer.Outcome))})"
                : $"{name}: {route.Entry.Service} {route.Entry.Account ?? route.Entry.Endpoint?.ToString()}"
                  + (route.Entry.Tags.Count > 0 ? $" [{string.Join(", ", route.Entry.Tags)}]" : "")
                  + (route.SealedWith is { } key ? $" (sealed, opened with {key})" : "")
                  + FormattableString.Invariant($" (priority {route.Entry.Priority}, v{route.Mapping.Version})"));
        }
    }
}

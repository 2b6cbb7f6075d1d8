// One route per sender (requirements draft appendix B, journeys 3, 4 and 7): a sender's app picks
// exactly one of the recipient's routes, the same one on every device of that sender.
// docs/protocol.md §2, "One route per sender".
using System.Security.Cryptography;
using System.Text;
using Mimi.Discovery.Statements;

namespace Mimi.Discovery.Client;

/// <summary>One way to reach a recipient: a verified entry, and the mapping that carries it.</summary>
/// <param name="Mapping">The verified statement the entry is in.</param>
/// <param name="Entry">The entry.</param>
public sealed record Route(MappingStatement Mapping, MspEntry Entry)
{
    /// <summary>The name of the route key that opened this entry, for a sealed route; <see langword="null"/> for a public entry.</summary>
    public string? SealedWith { get; init; }
}

/// <summary>What a sender brings to <see cref="RoutePicker.Pick"/>.</summary>
public sealed record RoutePreferences
{
    /// <summary>The sender's context tags (<c>Business</c>), matched against entries' tags ignoring case (<see cref="PreferenceTags.Comparer"/>).</summary>
    public IReadOnlyList<string> Context { get; init; } = [];

    /// <summary>The services the sender can use; <see langword="null"/> for any.</summary>
    public IReadOnlyList<string>? Services { get; init; }

    /// <summary>
    /// Mixed into the tie-break hash: the same for every device of one sender (an account id), so they pick
    /// alike while different senders may spread over equal routes; empty by default.
    /// </summary>
    public string TieBreakSeed { get; init; } = "";
}

/// <summary>
/// Picks exactly one route for a sender from a verified answer (journeys 3, 4, 7), in this order:
/// <list type="number">
/// <item>only routes on a service the sender can use (<see cref="RoutePreferences.Services"/>);</item>
/// <item>routes carrying one of the sender's context tags before others;</item>
/// <item>sealed routes (meant for this sender or their group) before public ones;</item>
/// <item>the entry tagged <c>default</c> before others;</item>
/// <item>lower <see cref="MspEntry.Priority"/>;</item>
/// <item>the lower tie-break hash: SHA-256 of seed, mapping id, service, account and endpoint, so every call and every device of one sender picks the same.</item>
/// </list>
/// </summary>
public static class RoutePicker
{
    /// <summary>The chosen route, or <see langword="null"/> when no route is on a service the sender can use.</summary>
    /// <param name="routes">The candidates, e.g. <see cref="VerifiedLookup.Routes"/>.</param>
    /// <param name="preferences">The sender's context and services.</param>
    public static Route? Pick(IEnumerable<Route> routes, RoutePreferences? preferences = null) => Rank(routes, preferences) is [var first, ..] ? first : null;

    /// <summary>Every usable route in the order of <see cref="Pick"/> (the first is the one picked).</summary>
    public static IReadOnlyList<Route> Rank(IEnumerable<Route> routes, RoutePreferences? preferences = null)
    {
        ArgumentNullException.ThrowIfNull(routes);
        var p = preferences ?? new RoutePreferences();
        return routes
            .Where(r => p.Services is null || p.Services.Contains(r.Entry.Service, StringComparer.Ordinal))
            .OrderByDescending(r => p.Context.Any(r.Entry.HasTag))
            .ThenByDescending(r => r.SealedWith is not null)
            .ThenByDescending(r => r.Entry.IsDefault)
            .ThenBy(r => r.Entry.Priority)
            .ThenBy(r => TieBreak(r, p.TieBreakSeed), StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>The tie-break key: hex SHA-256 of the seed, the mapping id and the entry's service, account and endpoint, 0x00-separated.</summary>
    internal static string TieBreak(Route route, string seed) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(
            string.Join('\0', seed, route.Mapping.Id.ToString(), route.Entry.Service, route.Entry.Account ?? "", route.Entry.Endpoint?.OriginalString ?? ""))));
}

namespace Mimi.Discovery.Statements;

/// <summary>How an audience admits querying services.</summary>
public enum AudienceKind
{
    /// <summary>Every querying service may see the statement.</summary>
    Any,

    /// <summary>Only a querying service that is one of the statement's own entries' services.</summary>
    SameService,

    /// <summary>Only the listed services.</summary>
    Services,
}

/// <summary>
/// Which querying services may see a mapping statement (recipient journeys "only find me from
/// service X" and "only from the same service"). It is matched against the querying service,
/// never against who the sender is. One audience per statement.
/// </summary>
public sealed class Audience : IEquatable<Audience>
{
    internal const int MaxServices = 32;

    private Audience(AudienceKind kind, IReadOnlyList<string> services)
    {
        Kind = kind;
        Services = services;
        Token = kind switch
        {
            AudienceKind.Any => "any",
            AudienceKind.SameService => "same-service",
            _ => "only:" + string.Join('+', services),
        };
    }

    /// <summary>Visible to every querying service (the default).</summary>
    public static Audience Any { get; } = new(AudienceKind.Any, []);

    /// <summary>Visible only to services the statement itself lists.</summary>
    public static Audience SameService { get; } = new(AudienceKind.SameService, []);

    /// <summary>The kind of audience.</summary>
    public AudienceKind Kind { get; }

    /// <summary>For <see cref="AudienceKind.Services"/>, the admitted services, sorted and distinct.</summary>
    public IReadOnlyList<string> Services { get; }

    /// <summary>Canonical short form: <c>any</c>, <c>same-service</c> or <c>only:a+b</c>. Part of the mapping id.</summary>
    public string Token { get; }

    /// <summary>An audience of exactly the given services.</summary>
    /// <exception cref="ArgumentException">The list is empty, too long, or holds an invalid service id.</exception>
    public static Audience Only(IEnumerable<string> services)
    {
        ArgumentNullException.ThrowIfNull(services);
        return TryOnly(services, out var audience, out var reason) ? audience : throw new ArgumentException(reason, nameof(services));
    }

    /// <summary>Parses the CLI / token form: <c>any</c>, <c>same-service</c>, <c>a+b</c> or <c>only:a+b</c>.</summary>
    public static bool TryParse(string? text, out Audience audience, out string reason)
    {
        audience = Any;
        reason = string.Empty;
        switch (text)
        {
            case null or "" or "any":
                return true;
            case "same-service":
                audience = SameService;
                return true;
            default:
                var list = text.StartsWith("only:", StringComparison.Ordinal) ? text[5..] : text;
                return TryOnly(list.Split('+'), out audience, out reason);
        }
    }

    internal static bool TryOnly(IEnumerable<string> services, out Audience audience, out string reason)
    {
        audience = Any;
        var list = services.ToList();
        if (list.Count is 0 or > MaxServices)
        {
            reason = $"an audience lists 1–{MaxServices} services";
            return false;
        }

        if (list.FirstOrDefault(s => !MspEntry.IsValidServiceId(s)) is { } bad)
        {
            reason = $"'{bad}' is not a valid service id in the audience";
            return false;
        }

        var sorted = list.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        audience = new Audience(AudienceKind.Services, sorted);
        reason = string.Empty;
        return true;
    }

    /// <summary>Whether a lookup made on behalf of <paramref name="queryingService"/> may see a statement
    /// with this audience and these entries. An anonymous query (<see langword="null"/>) sees only <see cref="Any"/>.</summary>
    public bool Admits(string? queryingService, IEnumerable<MspEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        return Admits(queryingService, entries.Select(e => e.Service));
    }

    /// <summary>As <see cref="Admits(string?, IEnumerable{MspEntry})"/>, given only the entries' service ids.</summary>
    public bool Admits(string? queryingService, IEnumerable<string> entryServices)
    {
        ArgumentNullException.ThrowIfNull(entryServices);
        return Kind switch
        {
            AudienceKind.Any => true,
            _ when queryingService is null => false,
            AudienceKind.SameService => entryServices.Contains(queryingService, StringComparer.Ordinal),
            _ => Services.Contains(queryingService, StringComparer.Ordinal),
        };
    }

    /// <inheritdoc/>
    public bool Equals(Audience? other) => other is not null && string.Equals(Token, other.Token, StringComparison.Ordinal);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as Audience);

    /// <inheritdoc/>
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Token);

    /// <summary>The canonical token.</summary>
    public override string ToString() => Token;
}

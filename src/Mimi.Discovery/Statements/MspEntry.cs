namespace Mimi.Discovery.Statements;

/// <summary>
/// One messaging service at which a CSI's owner can be reached (R2).
/// </summary>
/// <param name="Service">Service id: 1–64 lower-case letters, digits, <c>.</c>, <c>-</c> or <c>_</c> (e.g. <c>wire</c>, <c>matrix.org</c>).</param>
public sealed record MspEntry(string Service)
{
    /// <summary>The tag that marks the entry a sender should try first.</summary>
    public const string DefaultTag = "default";

    internal const int MaxServiceLength = 64;
    internal const int MaxEndpointLength = 512;
    internal const int MaxAccountLength = 256;
    internal const int MaxTags = 16;
    internal const int MaxProtocolVersionLength = 32;

    /// <summary>Where to reach the account (absolute URI), if the service needs one.</summary>
    public Uri? Endpoint { get; init; }

    /// <summary>The service-specific identifier (SSI) of the owner's account, if any.</summary>
    public string? Account { get; init; }

    /// <summary>Lower is preferred, as for DNS MX records; 0–65535.</summary>
    public int Priority { get; init; }

    /// <summary>
    /// Preference tags (R2) as people write them — <c>Business</c>, <c>Basketball Friends</c> — under the
    /// rules of <see cref="PreferenceTags"/>, matched case-insensitively; <c>default</c> is reserved for at most one entry.
    /// </summary>
    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>The protocol version the account speaks, if the recipient states one.</summary>
    public string? ProtocolVersion { get; init; }

    /// <summary>
    /// Which querying services may see this entry (journeys 1 and 2, per entry): <see cref="Statements.Audience.SameService"/>
    /// (only a lookup made for this entry's own service) or <see cref="Statements.Audience.Only"/>; <see langword="null"/> (the
    /// default) for every service the statement admits. Only in a statement whose own audience is <see cref="Statements.Audience.Any"/>
    /// (docs/protocol.md §2, "Per-entry audiences").
    /// </summary>
    public Audience? Audience { get; init; }

    /// <summary>Whether a lookup made for <paramref name="queryingService"/> (null: anonymous) may see this entry by its own audience.</summary>
    public bool Admits(string? queryingService) => Audience is null || Audience.Admits(queryingService, [Service]);

    /// <summary>Whether this entry carries the <c>default</c> tag.</summary>
    public bool IsDefault => Tags.Contains(DefaultTag, StringComparer.Ordinal);

    /// <summary>Whether this entry carries <paramref name="tag"/>, compared by <see cref="PreferenceTags.Comparer"/>.</summary>
    public bool HasTag(string tag) => Tags.Contains(tag, PreferenceTags.Comparer);

    /// <summary>Value equality, tags compared in order.</summary>
    public bool Equals(MspEntry? other) =>
        other is not null
        && string.Equals(Service, other.Service, StringComparison.Ordinal)
        && Equals(Endpoint, other.Endpoint)
        && string.Equals(Account, other.Account, StringComparison.Ordinal)
        && Priority == other.Priority
        && Tags.SequenceEqual(other.Tags, StringComparer.Ordinal)
        && string.Equals(ProtocolVersion, other.ProtocolVersion, StringComparison.Ordinal)
        && Equals(Audience, other.Audience);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Service, Endpoint, Account, Priority, Tags.Count, ProtocolVersion);

    /// <summary>Whether <paramref name="service"/> is a well-formed service id.</summary>
    public static bool IsValidServiceId(string? service) =>
        service is { Length: > 0 and <= MaxServiceLength } && service.All(IsIdChar);

    internal static bool IsIdChar(char c) => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '.' or '-' or '_';

    /// <summary>Returns why this entry is invalid, or <see langword="null"/> when it is valid.</summary>
    internal string? Validate()
    {
        if (!IsValidServiceId(Service))
        {
            return $"service id '{Shorten(Service)}' must be 1–{MaxServiceLength} lower-case letters, digits, '.', '-' or '_'";
        }

        if (Endpoint is not null && (!Endpoint.IsAbsoluteUri || Endpoint.OriginalString.Length > MaxEndpointLength))
        {
            return $"the endpoint of '{Service}' must be an absolute URI of at most {MaxEndpointLength} characters";
        }

        if (Account is not null && (Account.Length is 0 or > MaxAccountLength || Account.Any(char.IsControl)))
        {
            return $"the account of '{Service}' must be 1–{MaxAccountLength} characters without control characters";
        }

        if (Priority is < 0 or > ushort.MaxValue)
        {
            return $"the priority of '{Service}' must be between 0 and {ushort.MaxValue}";
        }

        if (TagsProblem(Tags) is { } tagProblem)
        {
            return $"the tags of '{Service}' are invalid: {tagProblem}";
        }

        if (ProtocolVersion is not null && (ProtocolVersion.Length is 0 or > MaxProtocolVersionLength || ProtocolVersion.Any(char.IsControl)))
        {
            return $"the protocol version of '{Service}' must be 1–{MaxProtocolVersionLength} printable characters";
        }

        if (Audience is { Kind: AudienceKind.Any })
        {
            return $"the audience of '{Service}' is 'any': leave it out (an entry's audience narrows the statement's)";
        }

        return null;
    }

    /// <summary>Why a tag list breaks <see cref="PreferenceTags"/>' rules (each tag valid, at most <see cref="MaxTags"/>, distinct ignoring case), or <see langword="null"/>.</summary>
    internal static string? TagsProblem(IReadOnlyList<string>? tags)
    {
        if (tags is null)
        {
            return "the tag list is missing";
        }

        if (tags.Count > MaxTags)
        {
            return FormattableString.Invariant($"at most {MaxTags} tags");
        }

        if (tags.Select(PreferenceTags.Validate).FirstOrDefault(r => r is not null) is { } problem)
        {
            return problem;
        }

        return tags.Distinct(PreferenceTags.Comparer).Count() != tags.Count ? "the same tag twice (tags match ignoring case)" : null;
    }

    private static string Shorten(string? s) => s is null ? "(null)" : s.Length > 40 ? s[..40] + "…" : s;
}

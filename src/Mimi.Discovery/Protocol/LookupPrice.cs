using Mimi.Discovery.Identifiers;

namespace Mimi.Discovery.Protocol;

/// <summary>
/// What a lookup costs in Privacy Pass tokens, one definition for the DP that charges and the client
/// that pays (docs/protocol.md §10, "The price of a lookup"): one token per
/// <see cref="TokenSettings.CsisPerToken"/> distinct valid CSIs, rounded up. Invalid queries and
/// repeats of a CSI are free; a request the DP refuses anyway costs nothing.
/// </summary>
internal static class LookupPrice
{
    /// <summary>The distinct valid CSIs among <paramref name="queries"/>, canonical and in first-seen order.</summary>
    public static IReadOnlyList<string> DistinctValidCsis(IEnumerable<string?> queries)
    {
        ArgumentNullException.ThrowIfNull(queries);
        return queries.Select(q => CsiParser.Parse(q)).Where(p => p.Success).Select(p => p.Csi!.Uri).Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary>Tokens for <paramref name="distinctValidCsis"/> CSIs at <paramref name="csisPerToken"/> CSIs a token.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A negative count, or fewer than one CSI per token.</exception>
    public static int Tokens(int distinctValidCsis, int csisPerToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(distinctValidCsis);
        ArgumentOutOfRangeException.ThrowIfLessThan(csisPerToken, 1);
        return (int)(((long)distinctValidCsis + csisPerToken - 1) / csisPerToken);
    }

    /// <summary>Tokens a lookup of <paramref name="queries"/> costs.</summary>
    public static int For(IEnumerable<string?> queries, int csisPerToken) => Tokens(DistinctValidCsis(queries).Count, csisPerToken);
}

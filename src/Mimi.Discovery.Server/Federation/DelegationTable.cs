using Mimi.Discovery.Federation;
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Server.Storage;
using Mimi.Discovery.Server.Transparency;

namespace Mimi.Discovery.Server.Federation;

/// <summary>A delegation as the DP holds it.</summary>
/// <param name="Id">The delegation's id.</param>
/// <param name="Version">Its version.</param>
/// <param name="Dp">The delegate's origin.</param>
/// <param name="Subjects">Its subjects (one per delegated prefix or domain).</param>
/// <param name="ExpiresAt">When it stops being served.</param>
/// <param name="Token">The signed delegation.</param>
internal sealed record HeldDelegation(string Id, long Version, string Dp, IReadOnlyList<string> Subjects, DateTimeOffset ExpiresAt, string Token);

/// <summary>
/// The DP's delegation table (docs/architecture.md, "Delegation and referrals"). Delegations are kept
/// in the mappings table, one row per subject (<see cref="Delegation.Subject"/>), so that adding,
/// renewing and removing one is marked pending and sealed into the transparency log exactly like a
/// mapping: a redirection of a prefix is a logged change. Lookups refer a CSI to the delegation
/// committed for the most specific subject covering it; the set of delegated subjects is re-read
/// whenever the log moves to a new epoch.
/// </summary>
internal sealed class DelegationTable(ILookupStore reads, TransparencyLog log)
{
    /// <summary>The audience column value that marks a delegation row.</summary>
    public const string RowAudience = Mimi.Discovery.Transparency.Labels.DelegationScope;

    private volatile Subjects? _subjects;

    /// <summary>The subjects with a live delegation row (sealed or about to be), as of the log's current epoch.</summary>
    public async Task<IReadOnlySet<string>> SubjectsAsync(CancellationToken cancellationToken)
    {
        var epoch = log.Epoch;
        if (_subjects is { } cached && cached.Epoch == epoch)
        {
            return cached.Delegated;
        }

        var rows = await reads.GetDelegationsAsync(cancellationToken).ConfigureAwait(false);
        var subjects = rows.Select(r => r.Csi).ToHashSet(StringComparer.Ordinal);
        _subjects = new Subjects(epoch, subjects);
        return subjects;
    }

    /// <summary>
    /// The delegation subjects a lookup of <paramref name="csi"/> proves: from the most specific
    /// subject covering it down to the least specific one delegated (empty when none is), so the
    /// answer can show the most specific delegation committed and that none more specific is.
    /// </summary>
    public static IReadOnlyList<string> Chain(Csi csi, IReadOnlySet<string> delegated)
    {
        var covering = Delegation.CoveringSubjects(csi);
        var last = -1;
        for (var i = 0; i < covering.Count; i++)
        {
            if (delegated.Contains(covering[i]))
            {
                last = i;
            }
        }

        return covering.Take(last + 1).ToList();
    }

    /// <summary>Every delegation held, one entry per delegation (its rows gathered).</summary>
    public static async Task<IReadOnlyList<HeldDelegation>> ListAsync(IDiscoveryStore store, CancellationToken cancellationToken)
    {
        var rows = await store.GetDelegationsAsync(cancellationToken).ConfigureAwait(false);
        return rows.GroupBy(r => r.MappingId, StringComparer.Ordinal)
            .Select(g => new HeldDelegation(g.Key, g.Max(r => r.Version), g.First().Services, g.Select(r => r.Csi).Order(StringComparer.Ordinal).ToList(),
                DateTimeOffset.FromUnixTimeSeconds(g.First().ExpiresAt), g.MaxBy(r => r.Version)!.Statement!))
            .OrderBy(d => d.Subjects[0], StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>
    /// Stores a signed delegation under each of its subjects (a new version of the same id replaces
    /// the old one row by row, in one epoch when sealed together). Returns the epoch that will seal it,
    /// or why it was refused: a subject already delegated by another delegation, or a version not newer.
    /// </summary>
    public static async Task<(long? DueEpoch, string? Problem)> AddAsync(IDiscoveryStore store, Delegation delegation, TimeProvider time, CancellationToken cancellationToken)
    {
        var held = await ListAsync(store, cancellationToken).ConfigureAwait(false);
        var subjects = Delegation.Subjects(delegation.Scope);
        if (held.FirstOrDefault(h => h.Id != delegation.Id && h.Subjects.Intersect(subjects, StringComparer.Ordinal).Any()) is { } clash)
        {
            return (null, $"{string.Join(", ", clash.Subjects.Intersect(subjects, StringComparer.Ordinal))} is delegated already (delegation {clash.Id} to {clash.Dp}); remove it first");
        }

        if (held.FirstOrDefault(h => h.Id == delegation.Id) is { } previous)
        {
            if (previous.Version >= delegation.Version)
            {
                return (null, $"delegation {delegation.Id} is at version {previous.Version} already");
            }

            // Subjects the new version no longer covers are removed with it.
            var dropped = previous.Subjects.Except(subjects, StringComparer.Ordinal).ToList();
            if (dropped.Count > 0)
            {
                await RemoveRowsAsync(store, delegation.Id, dropped, time, cancellationToken).ConfigureAwait(false);
            }
        }

        long due = 0;
        foreach (var subject in subjects)
        {
            var result = await store.PublishAsync(new StoredMapping
            {
                Csi = subject,
                MappingId = delegation.Id,
                KeyThumbprint = RowAudience,
                Audience = RowAudience,
                Services = Mimi.Discovery.Identifiers.HttpsOrigin.Of(delegation.Dp),
                Version = delegation.Version,
                IssuedAt = delegation.IssuedAt.ToUnixTimeSeconds(),
                ExpiresAt = delegation.ExpiresAt.ToUnixTimeSeconds(),
                CredentialNotBefore = 0,
                OptOut = false,
                Statement = delegation.Token,
            }, supersede: false, cancellationToken).ConfigureAwait(false);
            if (result.Status != PublishStatus.Stored)
            {
                return (null, $"the store refused {subject}: {result.Status}");
            }

            due = Math.Max(due, result.DueEpoch);
        }

        return (due, null);
    }

    /// <summary>Removes a delegation (all its subjects); returns the epoch that will seal the removal, or null when no such delegation is held.</summary>
    public static async Task<long?> RemoveAsync(IDiscoveryStore store, string id, TimeProvider time, CancellationToken cancellationToken)
    {
        var held = (await ListAsync(store, cancellationToken).ConfigureAwait(false)).FirstOrDefault(h => h.Id == id);
        return held is null ? null : await RemoveRowsAsync(store, id, held.Subjects, time, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<long> RemoveRowsAsync(IDiscoveryStore store, string id, IReadOnlyList<string> subjects, TimeProvider time, CancellationToken cancellationToken)
    {
        long due = 0;
        var now = time.GetUtcNow().ToUnixTimeSeconds();
        foreach (var subject in subjects)
        {
            var row = (await store.GetMappingsAsync(subject, cancellationToken).ConfigureAwait(false)).FirstOrDefault(r => r.MappingId == id && r.Statement is not null);
            if (row is not null)
            {
                due = Math.Max(due, (await store.RemoveAsync(subject, [new RemovalTarget(id, row.Version, row.Version)], now, null, cancellationToken).ConfigureAwait(false)).DueEpoch);
            }
        }

        return due;
    }

    private sealed record Subjects(long Epoch, IReadOnlySet<string> Delegated);
}

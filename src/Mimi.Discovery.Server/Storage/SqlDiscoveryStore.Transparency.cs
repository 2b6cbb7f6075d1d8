using System.Data.Common;
using System.Globalization;

namespace Mimi.Discovery.Server.Storage;

/// <summary>
/// Transparency storage (docs/architecture.md, "Transparency"): sealed epochs, every label's
/// current leaf and every version a label had. Binary values are stored as base64url text so
/// SQLite and PostgreSQL share the SQL. A publish or removal marks its CSI pending in the same
/// transaction as the change, so no change is lost between a write and the next seal.
/// </summary>
internal abstract partial class SqlDiscoveryStore
{
    private const string TransparencySchema = """
        CREATE TABLE tx_pending (
            csi TEXT PRIMARY KEY
        );
        CREATE TABLE tx_epochs (
            epoch BIGINT PRIMARY KEY,
            sealed_at BIGINT NOT NULL,
            prefix_root TEXT NOT NULL,
            log_root TEXT NOT NULL,
            signature TEXT NOT NULL
        );
        CREATE TABLE tx_labels (
            search_key TEXT PRIMARY KEY,
            csi TEXT NOT NULL,
            scope TEXT NOT NULL,
            vrf_proof TEXT NOT NULL,
            version BIGINT NOT NULL,
            commitment TEXT NOT NULL
        );
        CREATE UNIQUE INDEX tx_labels_by_csi ON tx_labels (csi, scope);
        CREATE TABLE tx_versions (
            search_key TEXT NOT NULL,
            version BIGINT NOT NULL,
            epoch BIGINT NOT NULL,
            commitment TEXT NOT NULL,
            opening TEXT NULL,
            statements TEXT NULL,
            mapping_ids TEXT NOT NULL,
            path TEXT NOT NULL,
            PRIMARY KEY (search_key, version)
        );
        CREATE INDEX tx_versions_by_epoch ON tx_versions (epoch);
        """;

    private const string VersionColumns = "search_key, version, epoch, commitment, opening, statements, mapping_ids, path";

    /// <summary>Takes the right to seal for this transaction; false when another process holds it.</summary>
    protected virtual Task<bool> TryLockSealAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) => Task.FromResult(true);

    public async Task<StoredEpoch?> SealAsync(int maxBatch, long now, Func<SealInput, SealPlan?> plan, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        if (!await TryLockSealAsync(connection, transaction, cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        var last = await LastEpochAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        if (last is not null)
        {
            // Statements that expired since the last seal leave their sets too.
            await ExecuteAsync(connection, transaction, """
                INSERT INTO tx_pending (csi)
                SELECT DISTINCT csi FROM mappings WHERE statement IS NOT NULL AND expires_at <= @now AND expires_at > @since
                ON CONFLICT (csi) DO NOTHING
                """, cancellationToken, ("now", now), ("since", last.SealedAt / 1000)).ConfigureAwait(false);
        }

        var csis = await QueryAsync(connection, transaction, "SELECT csi FROM tx_pending ORDER BY csi LIMIT @n", r => r.GetString(0), cancellationToken, ("n", maxBatch)).ConfigureAwait(false);
        if (csis.Count == 0 && last is not null)
        {
            return null;
        }

        // An empty list still yields valid SQL ("IN (NULL)" matches nothing) for the genesis epoch.
        var (inList, parameters) = InList("c", csis);
        inList = csis.Count == 0 ? "NULL" : inList;
        var mappings = await QueryMappingsAsync(connection, transaction, $"csi IN ({inList}) AND statement IS NOT NULL AND expires_at > @now", cancellationToken,
            [.. parameters, ("now", now)]).ConfigureAwait(false);
        var labels = await QueryAsync(connection, transaction, $"""
            SELECT l.search_key, l.csi, l.scope, l.vrf_proof, l.version, l.commitment, v.statements, v.mapping_ids
            FROM tx_labels l JOIN tx_versions v ON v.search_key = l.search_key AND v.version = l.version
            WHERE l.csi IN ({inList})
            """, r => new StoredLabel(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetInt64(4), r.GetString(5),
                r.IsDBNull(6) ? null : r.GetString(6), r.GetString(7)), cancellationToken, parameters).ConfigureAwait(false);

        var sealing = plan(new SealInput(last?.Epoch ?? 0, csis, mappings.ToLookup(m => m.Csi, StringComparer.Ordinal), labels));
        if (sealing is null)
        {
            return null;
        }

        foreach (var label in sealing.Labels)
        {
            await ExecuteAsync(connection, transaction, """
                INSERT INTO tx_labels (search_key, csi, scope, vrf_proof, version, commitment) VALUES (@key, @csi, @scope, @vrf, @version, @commitment)
                ON CONFLICT (search_key) DO UPDATE SET version = excluded.version, commitment = excluded.commitment
                """, cancellationToken, ("key", label.SearchKey), ("csi", label.Csi), ("scope", label.Scope), ("vrf", label.VrfProof),
                ("version", label.Version), ("commitment", label.Commitment)).ConfigureAwait(false);
        }

        foreach (var v in sealing.Versions)
        {
            await ExecuteAsync(connection, transaction, $"INSERT INTO tx_versions ({VersionColumns}) VALUES (@key, @version, @epoch, @commitment, @opening, @statements, @ids, @path)", cancellationToken,
                ("key", v.SearchKey), ("version", v.Version), ("epoch", v.Epoch), ("commitment", v.Commitment), ("opening", v.Opening),
                ("statements", v.Statements), ("ids", v.MappingIds), ("path", v.Path)).ConfigureAwait(false);
        }

        foreach (var (searchKey, mappingId) in sealing.Erase)
        {
            // Erasure: a removed mapping's statement text and the openings that reveal it go.
            await ExecuteAsync(connection, transaction, """
                UPDATE tx_versions SET opening = NULL, statements = NULL
                WHERE search_key = @key AND (' ' || mapping_ids || ' ') LIKE @id
                """, cancellationToken, ("key", searchKey), ("id", "% " + mappingId + " %")).ConfigureAwait(false);
        }

        if (sealing.Epoch is { } e)
        {
            await ExecuteAsync(connection, transaction, "INSERT INTO tx_epochs (epoch, sealed_at, prefix_root, log_root, signature) VALUES (@e, @t, @p, @l, @s)", cancellationToken,
                ("e", e.Epoch), ("t", e.SealedAt), ("p", e.PrefixRoot), ("l", e.LogRoot), ("s", e.Signature)).ConfigureAwait(false);
        }

        await ExecuteAsync(connection, transaction, $"DELETE FROM tx_pending WHERE csi IN ({inList})", cancellationToken, parameters).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return sealing.Epoch;
    }

    public async Task<IReadOnlyList<StoredEpoch>> GetEpochsAsync(long after, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await QueryAsync(connection, null, "SELECT epoch, sealed_at, prefix_root, log_root, signature FROM tx_epochs WHERE epoch > @after ORDER BY epoch", ReadEpoch,
            cancellationToken, ("after", after)).ConfigureAwait(false);
    }

    public async Task<long> GetLastEpochAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return (await LastEpochAsync(connection, null, cancellationToken).ConfigureAwait(false))?.Epoch ?? 0;
    }

    public async Task<IReadOnlyList<LeafRow>> GetLeavesAsync(long after, long upTo, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        if (after == 0)
        {
            // Start-up: every label's leaf as of epoch upTo.
            return await QueryAsync(connection, null, """
                SELECT v.search_key, v.commitment, v.epoch FROM tx_versions v
                WHERE v.version = (SELECT MAX(w.version) FROM tx_versions w WHERE w.search_key = v.search_key AND w.epoch <= @upTo)
                """, r => new LeafRow(r.GetString(0), r.GetString(1), r.GetInt64(2)), cancellationToken, ("upTo", upTo)).ConfigureAwait(false);
        }

        return await QueryAsync(connection, null, "SELECT search_key, commitment, epoch FROM tx_versions WHERE epoch > @after AND epoch <= @upTo ORDER BY epoch, search_key",
            r => new LeafRow(r.GetString(0), r.GetString(1), r.GetInt64(2)), cancellationToken, ("after", after), ("upTo", upTo)).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<CommittedLabel>> GetCommittedAsync(IReadOnlyCollection<string> csis, long epoch, CancellationToken cancellationToken)
    {
        if (csis.Count == 0)
        {
            return [];
        }

        var (inList, parameters) = InList("c", csis);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await QueryAsync(connection, null, $"""
            SELECT l.csi, l.scope, l.search_key, l.vrf_proof, v.version, v.opening, v.statements
            FROM tx_labels l JOIN tx_versions v ON v.search_key = l.search_key
            WHERE l.csi IN ({inList})
              AND v.version = (SELECT MAX(w.version) FROM tx_versions w WHERE w.search_key = l.search_key AND w.epoch <= @epoch)
            """, r => new CommittedLabel(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetInt64(4),
                r.IsDBNull(5) ? null : r.GetString(5), r.IsDBNull(6) ? null : r.GetString(6)), cancellationToken, [.. parameters, ("epoch", epoch)]).ConfigureAwait(false);
    }

    public async Task<(StoredLabel? Label, IReadOnlyList<VersionRow> Versions)> GetHistoryAsync(string csi, string scope, long epoch, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        var label = (await QueryAsync(connection, null, "SELECT search_key, csi, scope, vrf_proof, version, commitment FROM tx_labels WHERE csi = @csi AND scope = @scope",
            r => new StoredLabel(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetInt64(4), r.GetString(5), null, ""), cancellationToken,
            ("csi", csi), ("scope", scope)).ConfigureAwait(false)).SingleOrDefault();
        if (label is null)
        {
            return (null, []);
        }

        var versions = await QueryAsync(connection, null, $"SELECT {VersionColumns} FROM tx_versions WHERE search_key = @key AND epoch <= @epoch ORDER BY version", ReadVersion,
            cancellationToken, ("key", label.SearchKey), ("epoch", epoch)).ConfigureAwait(false);
        return (label, versions);
    }

    private static async Task<StoredEpoch?> LastEpochAsync(DbConnection connection, DbTransaction? transaction, CancellationToken cancellationToken) =>
        (await QueryAsync(connection, transaction, "SELECT epoch, sealed_at, prefix_root, log_root, signature FROM tx_epochs ORDER BY epoch DESC LIMIT 1", ReadEpoch, cancellationToken).ConfigureAwait(false))
        .SingleOrDefault();

    /// <summary>After a bulk load: every CSI with a live mapping waits for the next seal.</summary>
    protected static Task<int> MarkAllPendingAsync(DbConnection connection, DbTransaction? transaction, CancellationToken cancellationToken) =>
        ExecuteAsync(connection, transaction, "INSERT INTO tx_pending (csi) SELECT DISTINCT csi FROM mappings WHERE statement IS NOT NULL ON CONFLICT (csi) DO NOTHING", cancellationToken);

    private static Task<int> MarkPendingAsync(DbConnection connection, DbTransaction transaction, string csi, CancellationToken cancellationToken) =>
        ExecuteAsync(connection, transaction, "INSERT INTO tx_pending (csi) VALUES (@csi) ON CONFLICT (csi) DO NOTHING", cancellationToken, ("csi", csi));

    private static StoredEpoch ReadEpoch(DbDataReader r) => new(r.GetInt64(0), r.GetInt64(1), r.GetString(2), r.GetString(3), r.GetString(4));

    private static VersionRow ReadVersion(DbDataReader r) =>
        new(r.GetString(0), r.GetInt64(1), r.GetInt64(2), r.GetString(3), r.IsDBNull(4) ? null : r.GetString(4), r.IsDBNull(5) ? null : r.GetString(5), r.GetString(6), r.GetString(7));

    private static (string List, (string Name, object? Value)[] Parameters) InList(string prefix, IEnumerable<string> values)
    {
        var parameters = values.Select((v, i) => (prefix + i.ToString(CultureInfo.InvariantCulture), (object?)v)).ToArray();
        return (string.Join(", ", parameters.Select(p => "@" + p.Item1)), parameters);
    }
}

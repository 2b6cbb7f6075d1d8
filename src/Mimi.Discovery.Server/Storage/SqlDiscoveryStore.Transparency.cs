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

    /// <summary>
    /// Changes since the first transparency schema: each pending mark carries a generation (bumped by
    /// every change, so a seal clears only the marks it read) and the epoch its change is due in;
    /// <c>tx_clock</c> holds the open epoch, the one changes acknowledged now are promised, and the time
    /// up to which expired statements were queued (Unix seconds).
    /// </summary>
    private const string EpochClockSchema = """
        ALTER TABLE tx_pending ADD COLUMN gen BIGINT NOT NULL DEFAULT 0;
        ALTER TABLE tx_pending ADD COLUMN due BIGINT NULL;
        CREATE INDEX tx_pending_by_due ON tx_pending (due);
        CREATE TABLE tx_clock (
            id INTEGER PRIMARY KEY,
            open_epoch BIGINT NOT NULL,
            expired_through BIGINT NOT NULL
        );
        INSERT INTO tx_clock (id, open_epoch, expired_through) SELECT 1, COALESCE(MAX(epoch), 0) + 1, COALESCE(MAX(sealed_at), 0) / 1000 FROM tx_epochs;
        CREATE INDEX mappings_by_expiry ON mappings (expires_at);
        """;

    // IN lists are split so no statement exceeds either database's parameter limit.
    private const int InListChunk = 1000;

    /// <summary>
    /// Locks the epoch clock for this transaction: shared by changes, exclusive for a close, in a lock
    /// queue where a waiting close holds back later changes (so a stream of changes cannot starve a
    /// seal). SQLite needs nothing: its writers are serialised.
    /// </summary>
    protected virtual Task LockClockAsync(DbConnection connection, DbTransaction transaction, bool exclusive, CancellationToken cancellationToken) => Task.CompletedTask;

    public virtual Task<IAsyncDisposable?> TryLockSealAsync(CancellationToken cancellationToken) => Task.FromResult<IAsyncDisposable?>(NoLock.Instance);

    public async Task<EpochClose?> CloseEpochAsync(long now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);

        // The clock first: a change takes it shared before its pending mark, so this order cannot deadlock.
        await LockClockAsync(connection, transaction, exclusive: true, cancellationToken).ConfigureAwait(false);
        var open = Convert.ToInt64(await ScalarAsync(connection, transaction, "SELECT open_epoch FROM tx_clock WHERE id = 1", cancellationToken).ConfigureAwait(false),
            CultureInfo.InvariantCulture);
        var last = await LastEpochAsync(connection, transaction, cancellationToken).ConfigureAwait(false);

        // Statements that expired since the last close leave their sets too (no receipt promised them
        // an epoch). The horizon is kept apart from head times, which may run ahead of this clock.
        await ExecuteAsync(connection, transaction, """
            INSERT INTO tx_pending (csi, gen, due)
            SELECT DISTINCT csi, 0, CAST(NULL AS BIGINT) FROM mappings
            WHERE statement IS NOT NULL AND expires_at <= @now AND expires_at > (SELECT expired_through FROM tx_clock WHERE id = 1)
            ON CONFLICT (csi) DO NOTHING
            """, cancellationToken, ("now", now)).ConfigureAwait(false);
        await ExecuteAsync(connection, transaction, "UPDATE tx_clock SET expired_through = @now WHERE id = 1 AND expired_through < @now", cancellationToken, ("now", now)).ConfigureAwait(false);
        if (last is not null && Convert.ToInt64(await ScalarAsync(connection, transaction, "SELECT COUNT(*) FROM (SELECT 1 FROM tx_pending LIMIT 1) p", cancellationToken).ConfigureAwait(false),
                CultureInfo.InvariantCulture) == 0)
        {
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return null;
        }

        // Close the open epoch — unless an earlier close was not followed by a seal (a sealer that lost
        // the race, died, or found nothing to change): then the epoch after the last is closed already,
        // and every change promised it was committed before that close. So the open epoch stays at most
        // two ahead of the last sealed one, and receipts stay tight.
        var lastEpoch = last?.Epoch ?? 0;
        if (open <= lastEpoch + 1)
        {
            await ExecuteAsync(connection, transaction, "UPDATE tx_clock SET open_epoch = open_epoch + 1 WHERE id = 1", cancellationToken).ConfigureAwait(false);
            open++;
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return new EpochClose(lastEpoch, last?.SealedAt ?? 0, open - 1);
    }

    public async Task<long> CountPendingAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return Convert.ToInt64(await ScalarAsync(connection, null, "SELECT COUNT(*) FROM tx_pending", cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
    }

    public async Task<SealInput> ReadPendingAsync(EpochClose close, int extra, long now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        var due = await QueryAsync(connection, null, "SELECT csi, gen FROM tx_pending WHERE due <= @closed ORDER BY csi", ReadPendingMark, cancellationToken,
            ("closed", close.Closed)).ConfigureAwait(false);
        var more = extra <= 0 ? [] : await QueryAsync(connection, null, "SELECT csi, gen FROM tx_pending WHERE due IS NULL OR due > @closed ORDER BY csi LIMIT @n",
            ReadPendingMark, cancellationToken, ("closed", close.Closed), ("n", extra)).ConfigureAwait(false);
        var marks = due.Concat(more).ToList();
        var csis = marks.Select(m => m.Csi).ToList();

        var mappings = new List<StoredMapping>();
        var labels = new List<StoredLabel>();
        foreach (var chunk in csis.Chunk(InListChunk))
        {
            var (inList, parameters) = InList("c", chunk);
            mappings.AddRange(await QueryMappingsAsync(connection, null, $"csi IN ({inList}) AND statement IS NOT NULL AND expires_at > @now", cancellationToken,
                [.. parameters, ("now", now)]).ConfigureAwait(false));
            labels.AddRange(await QueryAsync(connection, null, $"""
                SELECT l.search_key, l.csi, l.scope, l.vrf_proof, l.version, l.commitment, v.statements, v.mapping_ids
                FROM tx_labels l JOIN tx_versions v ON v.search_key = l.search_key AND v.version = l.version
                WHERE l.csi IN ({inList})
                """, r => new StoredLabel(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetInt64(4), r.GetString(5),
                    r.IsDBNull(6) ? null : r.GetString(6), r.GetString(7)), cancellationToken, parameters).ConfigureAwait(false));
        }

        return new SealInput(close.LastEpoch, marks, mappings.ToLookup(m => m.Csi, StringComparer.Ordinal), labels, BatchFull: extra > 0 && more.Count >= extra);
    }

    public async Task<bool> CommitSealAsync(long lastEpoch, SealPlan plan, IReadOnlyList<PendingMark> sealedMarks, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        if ((await LastEpochAsync(connection, transaction, cancellationToken).ConfigureAwait(false))?.Epoch is { } stored ? stored != lastEpoch : lastEpoch != 0)
        {
            // Another sealer committed since this one closed its epoch: its plan is built on an old tree.
            return false;
        }

        await ExecuteEachAsync(connection, transaction, """
            INSERT INTO tx_labels (search_key, csi, scope, vrf_proof, version, commitment) VALUES (@key, @csi, @scope, @vrf, @version, @commitment)
            ON CONFLICT (search_key) DO UPDATE SET version = excluded.version, commitment = excluded.commitment
            """, ["key", "csi", "scope", "vrf", "version", "commitment"],
            [.. plan.Labels.Select(l => new object?[] { l.SearchKey, l.Csi, l.Scope, l.VrfProof, l.Version, l.Commitment })], cancellationToken).ConfigureAwait(false);
        await ExecuteEachAsync(connection, transaction, $"INSERT INTO tx_versions ({VersionColumns}) VALUES (@key, @version, @epoch, @commitment, @opening, @statements, @ids, @path)",
            ["key", "version", "epoch", "commitment", "opening", "statements", "ids", "path"],
            [.. plan.Versions.Select(v => new object?[] { v.SearchKey, v.Version, v.Epoch, v.Commitment, v.Opening, v.Statements, v.MappingIds, v.Path })], cancellationToken).ConfigureAwait(false);

        // Erasure: a removed mapping's statement text and the openings that reveal it go.
        await ExecuteEachAsync(connection, transaction, """
            UPDATE tx_versions SET opening = NULL, statements = NULL
            WHERE search_key = @key AND (' ' || mapping_ids || ' ') LIKE @id
            """, ["key", "id"], [.. plan.Erase.Select(x => new object?[] { x.SearchKey, "% " + x.MappingId + " %" })], cancellationToken).ConfigureAwait(false);

        var e = plan.Epoch;
        await ExecuteAsync(connection, transaction, "INSERT INTO tx_epochs (epoch, sealed_at, prefix_root, log_root, signature) VALUES (@e, @t, @p, @l, @s)", cancellationToken,
            ("e", e.Epoch), ("t", e.SealedAt), ("p", e.PrefixRoot), ("l", e.LogRoot), ("s", e.Signature)).ConfigureAwait(false);

        // A mark whose generation moved on was set by a change this seal may not have read: it stays for
        // the next. So does one promised a later epoch than this (a change that made it into this seal's
        // read after the close): the log must still reach the epoch its receipt named.
        await ExecuteEachAsync(connection, transaction, "DELETE FROM tx_pending WHERE csi = @csi AND gen = @gen AND (due IS NULL OR due <= @epoch)",
            ["csi", "gen", "epoch"], [.. sealedMarks.Select(m => new object?[] { m.Csi, m.Generation, lastEpoch + 1 })], cancellationToken).ConfigureAwait(false);

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    public async Task<IReadOnlyList<StoredEpoch>> GetEpochsAsync(long after, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await QueryAsync(connection, null, "SELECT epoch, sealed_at, prefix_root, log_root, signature FROM tx_epochs WHERE epoch > @after ORDER BY epoch", ReadEpoch,
            cancellationToken, ("after", after)).ConfigureAwait(false);
    }

    public virtual async Task<long> GetLastEpochAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await LastEpochNumberAsync(connection, cancellationToken).ConfigureAwait(false);
    }

    protected static async Task<long> LastEpochNumberAsync(DbConnection connection, CancellationToken cancellationToken) =>
        (await LastEpochAsync(connection, null, cancellationToken).ConfigureAwait(false))?.Epoch ?? 0;

    // Every label's leaf as of epoch @upTo: its latest version sealed by then.
    private const string TreeAsOf = """
        SELECT v.search_key, v.commitment, v.epoch FROM tx_versions v
        WHERE v.version = (SELECT MAX(w.version) FROM tx_versions w WHERE w.search_key = v.search_key AND w.epoch <= @upTo)
        """;

    public async Task<IReadOnlyList<LeafRow>> GetLeavesAsync(long after, long upTo, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        var rows = after == 0
            ? await QueryAsync(connection, null, TreeAsOf, r => new LeafRow(r.GetString(0), r.GetString(1), r.GetInt64(2)), cancellationToken, ("upTo", upTo)).ConfigureAwait(false)
            : await QueryAsync(connection, null, "SELECT search_key, commitment, epoch FROM tx_versions WHERE epoch > @after AND epoch <= @upTo",
                r => new LeafRow(r.GetString(0), r.GetString(1), r.GetInt64(2)), cancellationToken, ("after", after), ("upTo", upTo)).ConfigureAwait(false);

        // Auditors check each epoch's changes in strict key order, ordinal over the base64url keys.
        // Sorted here, not by SQL: SQL gives no order without ORDER BY (the start-up query), and
        // PostgreSQL orders text by the database's collation, which need not be ordinal.
        return [.. rows.OrderBy(r => r.Epoch).ThenBy(r => r.SearchKey, StringComparer.Ordinal)];
    }

    public async Task ReadTreeAsync(long upTo, Action<string, string> leaf, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, null, TreeAsOf, [("upTo", upTo)]);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            leaf(reader.GetString(0), reader.GetString(1));
        }
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

    /// <summary>After a bulk load: every CSI with a live mapping waits for a seal, in batches (no receipt promised them an epoch).</summary>
    protected static Task<int> MarkAllPendingAsync(DbConnection connection, DbTransaction? transaction, CancellationToken cancellationToken) =>
        ExecuteAsync(connection, transaction, "INSERT INTO tx_pending (csi, gen, due) SELECT DISTINCT csi, 0, CAST(NULL AS BIGINT) FROM mappings WHERE statement IS NOT NULL ON CONFLICT (csi) DO NOTHING", cancellationToken);

    /// <summary>
    /// Marks <paramref name="csi"/> changed, in the transaction of the change, and returns the epoch
    /// the change is due in: the open epoch, read under a shared lock so no seal closes it until this
    /// transaction ends. The mark keeps the earliest epoch any of its changes was promised.
    /// </summary>
    private Task<long> MarkPendingAsync(DbConnection connection, DbTransaction transaction, string csi, CancellationToken cancellationToken) =>
        MarkPendingAsync(connection, transaction, [csi], cancellationToken);

    /// <summary><see cref="MarkPendingAsync(DbConnection, DbTransaction, string, CancellationToken)"/> for the CSIs of one change (a reassignment feed): the clock is locked and read once.</summary>
    private async Task<long> MarkPendingAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<string> csis, CancellationToken cancellationToken)
    {
        await LockClockAsync(connection, transaction, exclusive: false, cancellationToken).ConfigureAwait(false);
        var due = Convert.ToInt64(await ScalarAsync(connection, transaction, "SELECT open_epoch FROM tx_clock WHERE id = 1", cancellationToken).ConfigureAwait(false),
            CultureInfo.InvariantCulture);
        await ExecuteEachAsync(connection, transaction, """
            INSERT INTO tx_pending (csi, gen, due) VALUES (@csi, 0, @due)
            ON CONFLICT (csi) DO UPDATE SET gen = tx_pending.gen + 1,
                due = CASE WHEN tx_pending.due IS NULL OR tx_pending.due > excluded.due THEN excluded.due ELSE tx_pending.due END
            """, ["csi", "due"], [.. csis.Select(c => new object?[] { c, due })], cancellationToken).ConfigureAwait(false);

        return due;
    }

    private static PendingMark ReadPendingMark(DbDataReader r) => new(r.GetString(0), r.GetInt64(1));

    private static StoredEpoch ReadEpoch(DbDataReader r) => new(r.GetInt64(0), r.GetInt64(1), r.GetString(2), r.GetString(3), r.GetString(4));

    private static VersionRow ReadVersion(DbDataReader r) =>
        new(r.GetString(0), r.GetInt64(1), r.GetInt64(2), r.GetString(3), r.IsDBNull(4) ? null : r.GetString(4), r.IsDBNull(5) ? null : r.GetString(5), r.GetString(6), r.GetString(7));

    private static (string List, (string Name, object? Value)[] Parameters) InList(string prefix, IEnumerable<string> values)
    {
        var parameters = values.Select((v, i) => (prefix + i.ToString(CultureInfo.InvariantCulture), (object?)v)).ToArray();
        return (string.Join(", ", parameters.Select(p => "@" + p.Item1)), parameters);
    }

    /// <summary>The seal lock where the database needs none (SQLite: <see cref="CommitSealAsync"/>'s check keeps sealers apart).</summary>
    private sealed class NoLock : IAsyncDisposable
    {
        public static NoLock Instance { get; } = new();

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}

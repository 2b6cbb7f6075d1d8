using System.Data.Common;
using Npgsql;
using NpgsqlTypes;

namespace Mimi.Discovery.Server.Storage;

/// <summary>
/// PostgreSQL storage for several stateless DP processes on one database. Conflicting publishes
/// are decided by the conditional upsert under PostgreSQL's row locks; migrations take a
/// transaction-scoped advisory lock so concurrent starts do not race.
/// </summary>
internal sealed class PostgresDiscoveryStore : SqlDiscoveryStore, IAsyncDisposable, IDisposable
{
    // An arbitrary constant naming "the Mimi Discovery schema" among advisory locks.
    private const long MigrationLockKey = 0x4D494D4944495343;

    private readonly NpgsqlDataSource _dataSource;

    public PostgresDiscoveryStore(string connectionString) => _dataSource = NpgsqlDataSource.Create(connectionString);

    protected override async ValueTask<DbConnection> OpenAsync(CancellationToken cancellationToken) =>
        await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);

    protected override Task LockForMigrationAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) =>
        ExecuteAsync(connection, transaction, "SELECT pg_advisory_xact_lock(@key)", cancellationToken, ("key", MigrationLockKey));

    // Names "the right to seal transparency epochs"; only one process holds it at a time.
    internal const long SealLockKey = 0x4D494D4945504F43;

    protected override string RowLockClause => " FOR UPDATE";

    // Names "the epoch clock": taken shared by every change, exclusively by a close.
    internal const long ClockLockKey = 0x4D494D49434C4F43;

    /// <summary>
    /// A transaction-scoped advisory lock rather than a row lock: PostgreSQL grants a new shared row
    /// lock past a waiting exclusive request, so a steady stream of changes could hold a close off for
    /// ever; its lock manager queues advisory locks fairly.
    /// </summary>
    protected override Task LockClockAsync(DbConnection connection, DbTransaction transaction, bool exclusive, CancellationToken cancellationToken) =>
        ExecuteAsync(connection, transaction, exclusive ? "SELECT pg_advisory_xact_lock(@key)" : "SELECT pg_advisory_xact_lock_shared(@key)", cancellationToken, ("key", ClockLockKey));

    /// <summary>
    /// A session-level advisory lock, held on a connection of its own across the seal's transactions
    /// (close, read, plan, commit); if the process dies the server ends the session and frees it.
    /// </summary>
    public override async Task<IAsyncDisposable?> TryLockSealAsync(CancellationToken cancellationToken)
    {
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // The connection idles while the seal plans. If this host dies or is cut off rather than its
            // process being killed, the server notices only by TCP keepalive: probe within seconds, not
            // after the two-hour default, so another process can take over the sealing.
            await ExecuteAsync(connection, null, "SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 3", cancellationToken).ConfigureAwait(false);
            if (await ScalarAsync(connection, null, "SELECT pg_try_advisory_lock(@key)", cancellationToken, ("key", SealLockKey)).ConfigureAwait(false) is true)
            {
                return new SealLock(connection);
            }
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        await connection.DisposeAsync().ConfigureAwait(false);
        return null;
    }

    public override async Task BulkInsertAsync(IReadOnlyList<StoredMapping> mappings, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var writer = await connection.BeginBinaryImportAsync(
            "COPY mappings (csi, mapping_id, key_thumbprint, audience, services, version, issued_at, expires_at, credential_not_before, opt_out, statement) FROM STDIN (FORMAT BINARY)",
            cancellationToken).ConfigureAwait(false);
        foreach (var m in mappings)
        {
            await writer.StartRowAsync(cancellationToken).ConfigureAwait(false);
            await writer.WriteAsync(m.Csi, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
            await writer.WriteAsync(m.MappingId, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
            await writer.WriteAsync(m.KeyThumbprint, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
            await writer.WriteAsync(m.Audience, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
            await writer.WriteAsync(m.Services, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
            await writer.WriteAsync(m.Version, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
            await writer.WriteAsync(m.IssuedAt, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
            await writer.WriteAsync(m.ExpiresAt, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
            await writer.WriteAsync(m.CredentialNotBefore, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
            await writer.WriteAsync(m.OptOut ? 1 : 0, NpgsqlDbType.Integer, cancellationToken).ConfigureAwait(false);
            await writer.WriteAsync(m.Statement, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
        }

        await writer.CompleteAsync(cancellationToken).ConfigureAwait(false);
        await writer.DisposeAsync().ConfigureAwait(false);
        await MarkAllPendingAsync(connection, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Checks, before a DP process starts on it as its read replica (<see cref="Hosting.DiscoveryOptions.ReadReplica"/>),
    /// that this database answers, is a hot standby (in recovery) and holds the DP's schema.
    /// </summary>
    /// <exception cref="InvalidOperationException">It does not; the message names the setting, the server and what to do.</exception>
    public async Task CheckReadReplicaAsync(CancellationToken cancellationToken)
    {
        var target = new NpgsqlConnectionStringBuilder(_dataSource.ConnectionString);
        var where = $"{target.Host}:{target.Port}, database '{target.Database}'";
        try
        {
            await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            if (await ScalarAsync(connection, null, "SELECT pg_is_in_recovery()", cancellationToken).ConfigureAwait(false) is not true)
            {
                throw new InvalidOperationException($"Discovery:ReadReplica ({where}) is not in recovery: it is a primary, not a hot standby. Point it at a streaming replica of Discovery:Database, or leave it out to read Discovery:Database.");
            }

            if (await ScalarAsync(connection, null, "SELECT to_regclass('tx_epochs') IS NOT NULL", cancellationToken).ConfigureAwait(false) is not true)
            {
                throw new InvalidOperationException($"Discovery:ReadReplica ({where}) holds no Mimi Discovery schema: name the database Discovery:Database names, on a standby that replicates it.");
            }
        }
        catch (NpgsqlException e)
        {
            throw new InvalidOperationException($"Discovery:ReadReplica ({where}) cannot be read: {e.Message}", e);
        }
    }

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();

    private sealed class SealLock(NpgsqlConnection connection) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            try
            {
                await ExecuteAsync(connection, null, "SELECT pg_advisory_unlock(@key)", CancellationToken.None, ("key", SealLockKey)).ConfigureAwait(false);
            }
            catch (NpgsqlException)
            {
                // The session is gone, and with it the lock.
            }
            finally
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    public void Dispose() => _dataSource.Dispose();
}

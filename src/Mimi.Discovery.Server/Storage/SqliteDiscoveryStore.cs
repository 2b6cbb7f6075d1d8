using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Mimi.Discovery.Server.Storage;

/// <summary>
/// The embedded default: one SQLite file in write-ahead-log mode with <c>synchronous=FULL</c>, so
/// a write is on disk before the DP acknowledges it. Writers take the lock up front
/// (<c>BEGIN IMMEDIATE</c>), so concurrent publishes serialise instead of failing to upgrade.
/// </summary>
internal sealed class SqliteDiscoveryStore : SqlDiscoveryStore, IDisposable
{
    /// <summary>The native connections (<see cref="SqliteConnection.Handle"/>) whose pragmas are set; an entry goes with its connection.</summary>
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<object, object> Configured = [];

    private readonly string _connectionString;

    // The last-epoch check every lookup makes (through TransparencyLog's EpochCheck): one connection
    // kept open asks SQLite whether any other connection committed since it last looked.
    private readonly SemaphoreSlim _watchLock = new(1, 1);
    private DbConnection? _watch;
    private long _watchedVersion;
    private long? _watchedEpoch;

    public SqliteDiscoveryStore(string connectionString)
    {
        var builder = new SqliteConnectionStringBuilder(connectionString) { Pooling = true, DefaultTimeout = 30 };
        _connectionString = builder.ToString();
    }

    protected override async ValueTask<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        // The pool hands back native connections already set up: the settings are the native
        // connection's, so each is set once, not at every open (a lookup opens two).
        if (connection.Handle is { } handle && !Configured.TryGetValue(handle, out _))
        {
            await using var pragma = connection.CreateCommand();
            pragma.CommandText = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 30000;";
            await pragma.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            Configured.AddOrUpdate(handle, handle);
        }

        return connection;
    }

    /// <summary>
    /// The last sealed epoch. Between commits this is one <c>PRAGMA data_version</c> on a connection
    /// kept for it, which changes when any other connection (of this process or another) committed
    /// since that connection last asked; only then is the epoch read again.
    /// </summary>
    public override async Task<long> GetLastEpochAsync(CancellationToken cancellationToken)
    {
        await _watchLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _watch ??= await OpenAsync(cancellationToken).ConfigureAwait(false);
            // Read before the epoch: a commit between the two shows as a change at the next check.
            var version = Convert.ToInt64(await ScalarAsync(_watch, null, "PRAGMA data_version", cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
            if (_watchedEpoch is null || version != _watchedVersion)
            {
                _watchedEpoch = await LastEpochNumberAsync(_watch, cancellationToken).ConfigureAwait(false);
                _watchedVersion = version;
            }

            return _watchedEpoch.Value;
        }
        catch (SqliteException)
        {
            // Opened again at the next check.
            if (_watch is { } broken)
            {
                await broken.DisposeAsync().ConfigureAwait(false);
            }

            _watch = null;
            _watchedEpoch = null;
            throw;
        }
        finally
        {
            _watchLock.Release();
        }
    }

    /// <summary>Closes the connection kept for the last-epoch check.</summary>
    public void Dispose()
    {
        _watchLock.Wait();
        try
        {
            _watch?.Dispose();
            _watch = null;
            _watchedEpoch = null;
        }
        finally
        {
            _watchLock.Release();
        }
    }

    public override async Task BulkInsertAsync(IReadOnlyList<StoredMapping> mappings, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteEachAsync(connection, transaction, """
            INSERT INTO mappings (csi, mapping_id, key_thumbprint, audience, services, version, issued_at, expires_at, credential_not_before, opt_out, statement, removed_before)
            VALUES (@csi, @id, @key, @audience, @services, @version, @iat, @exp, @cnb, @optout, @statement, NULL)
            """, ["csi", "id", "key", "audience", "services", "version", "iat", "exp", "cnb", "optout", "statement"],
            [.. mappings.Select(m => new object?[] { m.Csi, m.MappingId, m.KeyThumbprint, m.Audience, m.Services, m.Version, m.IssuedAt, m.ExpiresAt, m.CredentialNotBefore, m.OptOut ? 1 : 0, m.Statement })],
            cancellationToken).ConfigureAwait(false);
        await MarkAllPendingAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }
}

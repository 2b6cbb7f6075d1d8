using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Mimi.Discovery.Server.Storage;

/// <summary>
/// The embedded default: one SQLite file in write-ahead-log mode with <c>synchronous=FULL</c>, so
/// a write is on disk before the DP acknowledges it. Writers take the lock up front
/// (<c>BEGIN IMMEDIATE</c>), so concurrent publishes serialise instead of failing to upgrade.
/// </summary>
internal sealed class SqliteDiscoveryStore : SqlDiscoveryStore
{
    private readonly string _connectionString;

    public SqliteDiscoveryStore(string connectionString)
    {
        var builder = new SqliteConnectionStringBuilder(connectionString) { Pooling = true, DefaultTimeout = 30 };
        _connectionString = builder.ToString();
    }

    protected override async ValueTask<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var pragma = connection.CreateCommand();
        pragma.CommandText = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 30000;";
        await pragma.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        return connection;
    }

    public override async Task BulkInsertAsync(IReadOnlyList<StoredMapping> mappings, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, transaction, """
            INSERT INTO mappings (csi, mapping_id, key_thumbprint, audience, services, version, issued_at, expires_at, credential_not_before, opt_out, statement, removed_before)
            VALUES (@csi, @id, @key, @audience, @services, @version, @iat, @exp, @cnb, @optout, @statement, NULL)
            """, ("csi", ""), ("id", ""), ("key", ""), ("audience", ""), ("services", ""), ("version", 0L), ("iat", 0L), ("exp", 0L), ("cnb", 0L), ("optout", 0), ("statement", ""));
        await command.PrepareAsync(cancellationToken).ConfigureAwait(false);
        foreach (var m in mappings)
        {
            var p = command.Parameters;
            p[0].Value = m.Csi;
            p[1].Value = m.MappingId;
            p[2].Value = m.KeyThumbprint;
            p[3].Value = m.Audience;
            p[4].Value = m.Services;
            p[5].Value = m.Version;
            p[6].Value = m.IssuedAt;
            p[7].Value = m.ExpiresAt;
            p[8].Value = m.CredentialNotBefore;
            p[9].Value = m.OptOut ? 1 : 0;
            p[10].Value = (object?)m.Statement ?? DBNull.Value;
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await MarkAllPendingAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }
}

namespace Mimi.Discovery.Server.Storage;

/// <summary>Chooses the store from a <c>--database</c> value.</summary>
internal static class StoreFactory
{
    /// <summary>
    /// <c>null</c> → SQLite at <c>&lt;data&gt;/mimi.db</c>; <c>Data Source=…</c> or a path ending
    /// <c>.db</c> → SQLite; <c>postgres://</c>, <c>postgresql://</c> or a keyword string with
    /// <c>Host=</c> → PostgreSQL.
    /// </summary>
    /// <exception cref="ArgumentException">The value is neither.</exception>
    public static IDiscoveryStore Create(string? database, string dataDirectory)
    {
        if (string.IsNullOrWhiteSpace(database))
        {
            return Sqlite("Data Source=" + Path.Combine(dataDirectory, "mimi.db"));
        }

        if (database.StartsWith("Data Source=", StringComparison.OrdinalIgnoreCase))
        {
            return Sqlite(database);
        }

        if (database.EndsWith(".db", StringComparison.OrdinalIgnoreCase))
        {
            return Sqlite("Data Source=" + database);
        }

        if (IsPostgres(database))
        {
            return new PostgresDiscoveryStore(PostgresConnectionString(database));
        }

        throw new ArgumentException("--database takes 'Data Source=FILE' or FILE.db for SQLite, or a PostgreSQL 'Host=…' string or postgresql:// URI.", nameof(database));
    }

    /// <summary>
    /// The store lookups read (<see cref="ILookupStore"/>): <paramref name="primary"/>, or a PostgreSQL
    /// hot standby of it at <paramref name="replica"/> (never migrated: the primary's schema reaches it
    /// by replication).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="replica"/> is not a PostgreSQL connection string or URI.</exception>
    /// <exception cref="InvalidOperationException">The replica cannot be read, is not in recovery or holds no schema (<see cref="PostgresDiscoveryStore.CheckReadReplicaAsync"/>).</exception>
    public static async Task<ILookupStore> LookupStoreAsync(IDiscoveryStore primary, string? replica, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(replica))
        {
            return primary;
        }

        var store = IsPostgres(replica)
            ? new PostgresDiscoveryStore(PostgresConnectionString(replica))
            : throw new ArgumentException("Discovery:ReadReplica takes a PostgreSQL 'Host=…' string or postgresql:// URI.", nameof(replica));
        try
        {
            await store.CheckReadReplicaAsync(cancellationToken).ConfigureAwait(false);
            return store;
        }
        catch
        {
            await store.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Whether <paramref name="database"/> names PostgreSQL: a <c>postgres://</c> or <c>postgresql://</c> URI, or a keyword string with <c>Host=</c>.</summary>
    public static bool IsPostgres(string? database) =>
        database is not null
        && (database.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) || database.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase)
            || database.Contains("Host=", StringComparison.OrdinalIgnoreCase));

    private static string PostgresConnectionString(string database) =>
        database.Contains("://", StringComparison.Ordinal) ? FromUri(new Uri(database)) : database;

    /// <summary>
    /// A SQLite store whose database file is created 0600 before SQLite opens it (SQLite gives its
    /// -wal, -shm and -journal files the database's mode), and tightened to 0600 when it existed.
    /// </summary>
    private static SqliteDiscoveryStore Sqlite(string connectionString)
    {
        var file = new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(connectionString);
        if (file.Mode != Microsoft.Data.Sqlite.SqliteOpenMode.Memory && file.DataSource is { Length: > 0 } path && path != ":memory:")
        {
            Mimi.Discovery.Crypto.PrivateFile.CreateEmpty(path);
            foreach (var suffix in new[] { "-wal", "-shm", "-journal" })
            {
                Mimi.Discovery.Crypto.PrivateFile.Restrict(path + suffix);
            }
        }

        return new SqliteDiscoveryStore(connectionString);
    }

    private static string FromUri(Uri uri)
    {
        var builder = new Npgsql.NpgsqlConnectionStringBuilder
        {
            Host = uri.Host,
            Port = uri.IsDefaultPort || uri.Port <= 0 ? 5432 : uri.Port,
            Database = uri.AbsolutePath.TrimStart('/'),
        };
        var userInfo = uri.UserInfo.Split(':', 2);
        if (userInfo[0].Length > 0)
        {
            builder.Username = Uri.UnescapeDataString(userInfo[0]);
        }

        if (userInfo.Length == 2)
        {
            builder.Password = Uri.UnescapeDataString(userInfo[1]);
        }

        return builder.ToString();
    }
}

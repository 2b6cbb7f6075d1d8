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
            return new SqliteDiscoveryStore("Data Source=" + Path.Combine(dataDirectory, "mimi.db"));
        }

        if (database.StartsWith("Data Source=", StringComparison.OrdinalIgnoreCase))
        {
            return new SqliteDiscoveryStore(database);
        }

        if (database.EndsWith(".db", StringComparison.OrdinalIgnoreCase))
        {
            return new SqliteDiscoveryStore("Data Source=" + database);
        }

        if (database.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) || database.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase))
        {
            return new PostgresDiscoveryStore(FromUri(new Uri(database)));
        }

        if (database.Contains("Host=", StringComparison.OrdinalIgnoreCase))
        {
            return new PostgresDiscoveryStore(database);
        }

        throw new ArgumentException("--database takes 'Data Source=FILE' or FILE.db for SQLite, or a PostgreSQL 'Host=…' string or postgresql:// URI.", nameof(database));
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

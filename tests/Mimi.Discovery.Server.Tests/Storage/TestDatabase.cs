using Mimi.Discovery.Server.Storage;
using Npgsql;

namespace Mimi.Discovery.Server.Tests.Storage;

/// <summary>
/// Where a storage suite runs: a temporary SQLite file or a temporary PostgreSQL database, each
/// opened by two stores (two DP processes). PostgreSQL needs MIMI_TEST_POSTGRES (a connection
/// string of a role that may create databases); CI sets it, and locally the suites skip without it.
/// </summary>
internal abstract class TestDatabase : IAsyncDisposable
{
    /// <summary>Why this database cannot run here, or null.</summary>
    public virtual string? Unavailable => null;

    public abstract Task<(IDiscoveryStore First, IDiscoveryStore Second)> CreateAsync();

    public abstract ValueTask DisposeAsync();
}

internal sealed class SqliteTestDatabase : TestDatabase
{
    private string? _directory;

    public override Task<(IDiscoveryStore First, IDiscoveryStore Second)> CreateAsync()
    {
        _directory = Directory.CreateTempSubdirectory("mimi-store-").FullName;
        var file = Path.Combine(_directory, "test.db");
        return Task.FromResult<(IDiscoveryStore, IDiscoveryStore)>((new SqliteDiscoveryStore("Data Source=" + file), new SqliteDiscoveryStore("Data Source=" + file)));
    }

    public override ValueTask DisposeAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (_directory is not null)
        {
            Directory.Delete(_directory, recursive: true);
        }

        return ValueTask.CompletedTask;
    }
}

internal sealed class PostgresTestDatabase : TestDatabase
{
    public const string Variable = "MIMI_TEST_POSTGRES";

    private string? _database;

    internal static string? AdminConnectionString => Environment.GetEnvironmentVariable(Variable);

    public override string? Unavailable => AdminConnectionString is null
        ? $"PostgreSQL not configured: set {Variable} to a connection string of a role that may create databases (CI does)"
        : null;

    internal static async Task<string> CreateDatabaseAsync()
    {
        var name = "mimi_test_" + Guid.NewGuid().ToString("N")[..12];
        await using var admin = new NpgsqlConnection(AdminConnectionString);
        await admin.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE {name}", admin);
        await command.ExecuteNonQueryAsync();
        return name;
    }

    internal static string ConnectionStringFor(string database) => new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = database }.ToString();

    /// <summary>
    /// Drops the database, ending the sessions still on it. PostgreSQL 15 refuses FORCE (42501) while an
    /// autovacuum worker is on the database (it has no role this one may signal); the worker ends within
    /// moments, so the drop is tried again, up to ten times a fifth of a second apart.
    /// </summary>
    internal static async Task DropDatabaseAsync(string database)
    {
        NpgsqlConnection.ClearAllPools();
        await using var admin = new NpgsqlConnection(AdminConnectionString);
        await admin.OpenAsync();
        await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS {database} WITH (FORCE)", admin);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await command.ExecuteNonQueryAsync();
                return;
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.InsufficientPrivilege && attempt < 10)
            {
                await Task.Delay(200);
            }
        }
    }

    /// <summary>A streaming replica (hot standby) of the cluster <see cref="Variable"/> names, as .ci/postgres-replica starts it; CI sets it.</summary>
    public const string ReplicaVariable = "MIMI_TEST_POSTGRES_REPLICA";

    internal static string? ReplicaAdminConnectionString => Environment.GetEnvironmentVariable(ReplicaVariable);

    internal static string ReplicaConnectionStringFor(string database) => new NpgsqlConnectionStringBuilder(ReplicaAdminConnectionString) { Database = database }.ToString();

    /// <summary>
    /// Waits until the replica has replayed everything the primary had written when this was called
    /// (a database just created, a seal just committed). Replay is asynchronous, so this polls; it
    /// fails after a minute rather than wait for ever on a replica that stopped.
    /// </summary>
    internal static async Task ReplicaCaughtUpAsync()
    {
        string target;
        await using (var primary = new NpgsqlConnection(AdminConnectionString))
        {
            await primary.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT pg_current_wal_lsn()::text", primary);
            target = (string)(await command.ExecuteScalarAsync())!;
        }

        await using var replica = new NpgsqlConnection(ReplicaAdminConnectionString);
        await replica.OpenAsync();
        await using var behind = new NpgsqlCommand("SELECT pg_wal_lsn_diff(@target::pg_lsn, pg_last_wal_replay_lsn()) > 0", replica);
        behind.Parameters.AddWithValue("target", target);
        var until = DateTime.UtcNow.AddMinutes(1);
        while ((bool)(await behind.ExecuteScalarAsync())!)
        {
            Assert.True(DateTime.UtcNow < until, $"the replica has not replayed the primary's WAL up to {target} within a minute");
            await Task.Delay(20);
        }
    }

    /// <summary>Pauses (or resumes) the replica's WAL replay: it goes on receiving but stops applying, so it lags on purpose.</summary>
    internal static async Task PauseReplicaAsync(bool pause)
    {
        await using var replica = new NpgsqlConnection(ReplicaAdminConnectionString);
        await replica.OpenAsync();
        await using var command = new NpgsqlCommand(pause ? "SELECT pg_wal_replay_pause()" : "SELECT pg_wal_replay_resume()", replica);
        await command.ExecuteNonQueryAsync();
    }

    public override async Task<(IDiscoveryStore First, IDiscoveryStore Second)> CreateAsync()
    {
        _database = await CreateDatabaseAsync();
        var connection = ConnectionStringFor(_database);
        return (new PostgresDiscoveryStore(connection), new PostgresDiscoveryStore(connection));
    }

    public override async ValueTask DisposeAsync()
    {
        if (_database is not null)
        {
            await DropDatabaseAsync(_database);
        }
    }
}

/// <summary>A storage suite: two migrated stores on one <see cref="TestDatabase"/>.</summary>
public abstract class StoreSuite : IAsyncLifetime
{
    private readonly TestDatabase _database;

    private protected StoreSuite(TestDatabase database) => _database = database;

    private protected IDiscoveryStore Store { get; private set; } = null!;

    /// <summary>A second store on the same database: another DP process.</summary>
    private protected IDiscoveryStore OtherProcess { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Assert.SkipWhen(_database.Unavailable is not null, _database.Unavailable ?? "");
        (Store, OtherProcess) = await _database.CreateAsync();
        await Store.MigrateAsync(default);
        await OtherProcess.MigrateAsync(default);
    }

    public async ValueTask DisposeAsync()
    {
        (Store as IDisposable)?.Dispose();
        (OtherProcess as IDisposable)?.Dispose();
        await _database.DisposeAsync();
    }
}

using Mimi.Discovery.Server.Storage;
using Mimi.Discovery.Server.Tests.Storage;
using Npgsql;

namespace Mimi.Discovery.Server.Tests.Consistency;

/// <summary>
/// On PostgreSQL a waiting close is not overtaken by changes that arrive after it: the epoch clock's
/// lock queues fairly, so a steady stream of publishes cannot hold a seal off.
/// </summary>
public sealed class ClockLockTests : IAsyncLifetime
{
    private string? _database;

    public async ValueTask InitializeAsync()
    {
        Assert.SkipWhen(PostgresTestDatabase.AdminConnectionString is null, $"PostgreSQL not configured: set {PostgresTestDatabase.Variable} (CI does)");
        _database = await PostgresTestDatabase.CreateDatabaseAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_database is not null)
        {
            await PostgresTestDatabase.DropDatabaseAsync(_database);
        }
    }

    [Fact]
    public async Task Publish_ArrivingWhileACloseWaits_QueuesBehindIt_AndIsDueInTheNextEpoch()
    {
        var connection = PostgresTestDatabase.ConnectionStringFor(_database!);
        await using var store = new PostgresDiscoveryStore(connection);
        await store.MigrateAsync(default);
        await store.PublishAsync(Mapping("tel:+33612345678"), false, default);

        // A long change holds the clock shared; a close then waits for it.
        await using var held = new NpgsqlConnection(connection);
        await held.OpenAsync();
        await using var transaction = await held.BeginTransactionAsync();
        await using (var take = new NpgsqlCommand($"SELECT pg_advisory_xact_lock_shared({PostgresDiscoveryStore.ClockLockKey})", held, transaction))
        {
            await take.ExecuteNonQueryAsync();
        }

        var close = Task.Run(() => store.CloseEpochAsync(1000, default));
        await WaitForWaitersAsync(connection, 1);

        // A change arriving now must not slip past the waiting close (a shared row lock would).
        var publish = Task.Run(() => store.PublishAsync(Mapping("tel:+33612345679"), false, default));
        await WaitForWaitersAsync(connection, 2);
        Assert.False(close.IsCompleted || publish.IsCompleted);

        await transaction.CommitAsync();
        var closed = (await close)!;
        Assert.Equal(closed.Closed + 1, (await publish).DueEpoch);
    }

    private static StoredMapping Mapping(string csi) => new()
    {
        Csi = csi,
        MappingId = "k/any",
        KeyThumbprint = "k",
        Audience = "any",
        Services = "wire",
        Version = 1,
        IssuedAt = 1000,
        ExpiresAt = 10_000,
        CredentialNotBefore = 100,
        OptOut = false,
        Statement = "jws",
    };

    /// <summary>Waits until <paramref name="count"/> requests for the clock lock are queued (not granted).</summary>
    private static async Task WaitForWaitersAsync(string connection, int count)
    {
        await using var probe = new NpgsqlConnection(connection);
        await probe.OpenAsync();
        var key = PostgresDiscoveryStore.ClockLockKey;
        await using var command = new NpgsqlCommand(
            $"SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND classid = {key >> 32} AND objid = {key & 0xFFFFFFFF}", probe);
        for (var deadline = DateTime.UtcNow.AddSeconds(30); Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture) < count; await Task.Delay(20))
        {
            Assert.True(DateTime.UtcNow < deadline, $"fewer than {count} requests queued for the clock lock after 30 s");
        }
    }
}

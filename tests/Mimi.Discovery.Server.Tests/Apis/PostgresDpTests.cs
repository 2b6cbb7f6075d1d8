using Mimi.Discovery.Protocol;
using Mimi.Discovery.Server.Tests.Storage;

namespace Mimi.Discovery.Server.Tests.Apis;

/// <summary>The whole DP on PostgreSQL, with two DP processes sharing the database.</summary>
public sealed class PostgresDpTests : IAsyncLifetime
{
    private string? _database;

    public async ValueTask InitializeAsync()
    {
        Assert.SkipWhen(PostgresStoreContractTests.AdminConnectionString is null, $"PostgreSQL not configured: set {PostgresStoreContractTests.Variable} (CI does)");
        _database = await PostgresStoreContractTests.CreateDatabaseAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_database is not null)
        {
            await PostgresStoreContractTests.DropDatabaseAsync(_database);
        }
    }

    [Fact]
    public async Task TwoDpProcessesOnOneDatabase_ShareProofsMappingsAndVersions()
    {
        var connection = PostgresStoreContractTests.ConnectionStringFor(_database!);
        await using var first = await DpHost.StartAsync(database: connection);
        await using var second = await DpHost.StartAsync(o => o.DataDirectory = first.DataDirectory, database: connection);

        var bob = await first.RegisterAsync("+33612345678");
        await second.Client.PublishAsync(bob.Sign(1));

        Assert.Equal(LookupResultKinds.Found, (await first.Client.LookupRawAsync(["+33612345678"])).Results[0].Result);
        await ProblemAssert.ThrowsAsync(409, "version-not-newer", () => first.Client.PublishAsync(bob.Sign(1)));
    }

    [Fact]
    public async Task Health_DatabaseGone_IsServiceUnavailable()
    {
        await using var dp = await DpHost.StartAsync(database: PostgresStoreContractTests.ConnectionStringFor(_database!));
        Assert.Equal(System.Net.HttpStatusCode.OK, (await dp.Http.GetAsync("health")).StatusCode);

        await PostgresStoreContractTests.DropDatabaseAsync(_database!);
        _database = null;

        var response = await dp.Http.GetAsync("health");
        Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("""{"status":"database-unavailable"}""", await response.Content.ReadAsStringAsync());
    }
}

using Mimi.Discovery.Protocol;
using Mimi.Discovery.Server.Tests.Storage;

namespace Mimi.Discovery.Server.Tests.Apis;

/// <summary>The whole DP on PostgreSQL, with two DP processes sharing the database.</summary>
public sealed class PostgresDpTests : IAsyncLifetime
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
    public async Task TwoDpProcessesOnOneDatabase_ShareProofsMappingsAndVersions()
    {
        var connection = PostgresTestDatabase.ConnectionStringFor(_database!);
        await using var first = await DpHost.StartAsync(database: connection);
        await using var second = await DpHost.StartAsync(o => o.DataDirectory = first.DataDirectory, database: connection);

        var bob = await first.RegisterAsync("+33612345678");
        await second.Client.PublishAsync(bob.Sign(1));

        Assert.Equal(LookupResultKinds.Found, (await first.Client.LookupRawAsync(["+33612345678"])).Results[0].Result);
        await ProblemAssert.ThrowsAsync(409, "version-not-newer", () => first.Client.PublishAsync(bob.Sign(1)));
    }

    [Fact]
    public async Task TwoDpProcesses_SealConcurrently_OneLogThatAuditsClean_AndProofsFromEither()
    {
        var connection = PostgresTestDatabase.ConnectionStringFor(_database!);
        await using var first = await DpHost.StartAsync(database: connection);
        await using var second = await DpHost.StartAsync(o => o.DataDirectory = first.DataDirectory, database: connection);
        var recipients = new List<DpHost.Recipient>();
        for (var i = 0; i < 6; i++)
        {
            recipients.Add(await first.RegisterAsync($"+3361234567{i}"));
        }

        await Task.WhenAll(recipients.Select((r, i) => (i % 2 == 0 ? first : second).Client.PublishAsync(r.Sign(1))));

        // A publish's immediate seal (a zero epoch interval) yields when the other process holds the
        // sealing lock; the sealing loop would take the rest, but this test's clock does not tick: seal them here.
        while (await Consistency.DpCluster.SealAsync(first) is not null)
        {
        }

        var keys = Discovery.Transparency.TransparencyKeyset.FromWire((await first.Client.GetMetadataAsync()).Transparency!)!;
        var verifier = new Verification.StatementVerifier(new Verification.TrustAnchors([first.LoadAuthority().Certificate]), first.Time);
        var memory = new Client.TreeHeadMemory();
        foreach (var dp in new[] { first, second })
        {
            var check = new Client.TransparencyCheck(keys, memory, TimeSpan.FromDays(1), first.Time);
            var results = await dp.Client.LookupAsync(recipients.Select(r => r.Csi.Uri).ToList(), verifier, null, check);
            Assert.All(results, r => Assert.True(r.Proof!.IsComplete && r.Outcome == Client.LookupOutcome.Found, r.Proof.Reason));
        }

        var audit = await Discovery.Transparency.LogAuditor.AuditAsync(second.Client, keys, new Discovery.Transparency.AuditState());
        Assert.Empty(audit.Violations);
    }

    [Fact]
    public async Task Health_DatabaseGone_IsServiceUnavailable()
    {
        await using var dp = await DpHost.StartAsync(database: PostgresTestDatabase.ConnectionStringFor(_database!));
        Assert.Equal(System.Net.HttpStatusCode.OK, (await dp.Http.GetAsync("health")).StatusCode);

        await PostgresTestDatabase.DropDatabaseAsync(_database!);
        _database = null;

        var response = await dp.Http.GetAsync("health");
        Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("""{"status":"database-unavailable"}""", await response.Content.ReadAsStringAsync());
    }
}

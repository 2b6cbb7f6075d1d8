using System.Globalization;
using System.Security.Cryptography;
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Server.Storage;
using Mimi.Discovery.Server.Tests.Storage;
using Mimi.Discovery.Statements;

namespace Mimi.Discovery.Server.Tests.Mappings;

/// <summary>A feed of 10,000 numbers (the limit) over HTTPS, applied atomically, on SQLite and on PostgreSQL.</summary>
public sealed class ReassignmentScaleTests
{
    private const int Count = ReassignmentFeed.MaxReassignments;

    [Fact]
    public Task Feed_TenThousandNumbers_Sqlite_EveryOneApplied() => RunAsync(null);

    [Fact]
    public async Task Feed_TenThousandNumbers_Postgres_EveryOneApplied()
    {
        Assert.SkipWhen(PostgresTestDatabase.AdminConnectionString is null, $"PostgreSQL not configured: set {PostgresTestDatabase.Variable}");
        var database = await PostgresTestDatabase.CreateDatabaseAsync();
        try
        {
            await RunAsync(PostgresTestDatabase.ConnectionStringFor(database));
        }
        finally
        {
            // 10,000 new rows wake autovacuum, whose worker (another role) a forced drop cannot end: retry until it is done.
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await PostgresTestDatabase.DropDatabaseAsync(database);
                    break;
                }
                catch (Npgsql.PostgresException e) when (e.SqlState == "42501" && attempt < 30)
                {
                    await Task.Delay(TimeSpan.FromSeconds(1));
                }
            }
        }
    }

    private static async Task RunAsync(string? database)
    {
        // Without the transparency log: sealing 10,000 labels is not what this test measures.
        await using var dp = await DpHost.StartAsync(o => o.Transparency = false, database: database);
        var numbers = Enumerable.Range(0, Count).Select(i => CsiParser.ParseOrThrow("+3361" + (i * 7).ToString("D7", CultureInfo.InvariantCulture))).ToList();
        await SeedAsync(dp, numbers);
        Assert.All((await LookupAsync(dp, numbers.Take(1000).ToList())).Results, r => Assert.Equal(LookupResultKinds.Found, r.Result));
        dp.Time.Advance(TimeSpan.FromSeconds(5));
        var csip = await CsipKit.OnboardAsync(dp, "Example Telecom", ["+3361"]);
        var at = dp.Time.GetUtcNow();

        var receipt = await dp.Client.SubmitReassignmentFeedAsync(csip.SignReassignmentFeed(numbers.Select(n => new Reassignment(n, at)).ToList()));

        Assert.Equal(Count, receipt.Results.Count);
        for (var i = 0; i < Count; i++)
        {
            Assert.Equal(numbers[i].Uri, receipt.Results[i].Csi);
            Assert.Equal(ReassignmentResults.Applied, receipt.Results[i].Result);
            Assert.Single(receipt.Results[i].Removed);
        }

        for (var batch = 0; batch < Count; batch += 1000)
        {
            Assert.All((await LookupAsync(dp, numbers.Skip(batch).Take(1000).ToList())).Results, r => Assert.Equal(LookupResultKinds.None, r.Result));
        }
    }

    private static Task<LookupResponse> LookupAsync(DpHost dp, List<Csi> numbers) => dp.Client.LookupRawAsync(numbers.Select(n => n.Uri).ToList());

    /// <summary>10,000 real statements (one key, a credential per number) stored in one bulk insert, not published one by one.</summary>
    private static async Task SeedAsync(DpHost dp, List<Csi> numbers)
    {
        using var authority = dp.LoadAuthority();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var rows = new List<StoredMapping>(numbers.Count);
        foreach (var csi in numbers)
        {
            using var credential = authority.IssueCredential(csi, key);
            var signer = new StatementSigner(key, credential, time: dp.Clock);
            var jws = signer.SignMapping(new MappingDraft(csi, 1, [new MspEntry("wire") { Account = "@x", Priority = 10, Tags = ["default"] }]));
            rows.Add(new StoredMapping
            {
                Csi = csi.Uri,
                MappingId = signer.MappingIdFor(Audience.Any).ToString(),
                KeyThumbprint = signer.Credential.KeyThumbprint,
                Audience = Audience.Any.Token,
                Services = "wire",
                Version = 1,
                IssuedAt = dp.Time.GetUtcNow().ToUnixTimeSeconds(),
                ExpiresAt = signer.Credential.NotAfter.ToUnixTimeSeconds(),
                CredentialNotBefore = signer.Credential.NotBefore.ToUnixTimeSeconds(),
                OptOut = false,
                Statement = jws,
            });
        }

        await dp.Service<IDiscoveryStore>().BulkInsertAsync(rows, default);
    }
}

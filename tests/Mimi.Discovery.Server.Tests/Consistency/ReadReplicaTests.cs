using System.Net;
using System.Text.Json;
using Mimi.Discovery.Client;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Server.Tests.Storage;
using Mimi.Discovery.Server.Transparency;
using Mimi.Discovery.Transparency;

namespace Mimi.Discovery.Server.Tests.Consistency;

/// <summary>
/// DP processes serving lookups from a PostgreSQL streaming replica (a second cluster in recovery,
/// started by .ci/postgres-replica) while a process on the primary takes the writes and seals. The
/// replica is made to lag by pausing its WAL replay, so what a lagging replica answers is placed,
/// not hoped for. One class: the replica's replay is shared by the whole cluster.
/// </summary>
public sealed class ReadReplicaTests : IAsyncLifetime
{
    private string? _database;

    public async ValueTask InitializeAsync()
    {
        Assert.SkipWhen(PostgresTestDatabase.AdminConnectionString is null || PostgresTestDatabase.ReplicaAdminConnectionString is null,
            $"PostgreSQL replica not configured: set {PostgresTestDatabase.Variable} and {PostgresTestDatabase.ReplicaVariable} (CI does, with .ci/postgres-replica)");
        await PostgresTestDatabase.PauseReplicaAsync(pause: false);
        _database = await PostgresTestDatabase.CreateDatabaseAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_database is not null)
        {
            await PostgresTestDatabase.PauseReplicaAsync(pause: false);
            await PostgresTestDatabase.DropDatabaseAsync(_database);
        }
    }

    /// <summary>A DP process on the primary (it seals only when a test says so) and one reading the replica, on one data folder and one clock.</summary>
    private async Task<(DpHost Primary, DpHost Replica)> StartAsync()
    {
        var primary = await DpHost.StartAsync(o => o.EpochInterval = TimeSpan.FromHours(1), PostgresTestDatabase.ConnectionStringFor(_database!));
        // The replica DP reads the new database and its genesis epoch from the standby: wait until it has them.
        await PostgresTestDatabase.ReplicaCaughtUpAsync();
        var replica = await DpHost.StartAsync(o =>
        {
            o.DataDirectory = primary.DataDirectory;
            o.EpochInterval = TimeSpan.FromHours(1);
            o.ReadReplica = PostgresTestDatabase.ReplicaConnectionStringFor(_database!);
        }, PostgresTestDatabase.ConnectionStringFor(_database!), clock: primary.Clock);
        return (primary, replica);
    }

    private static async Task<(string Status, JsonElement Checks)> ReadyAsync(DpHost dp)
    {
        using var response = await dp.Http.GetAsync("health/ready", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement;
        return (body.GetProperty("status").GetString()!, body.GetProperty("checks").Clone());
    }

    private static async Task<IReadOnlyList<VerifiedLookup>> VerifiedLookupAsync(DpHost dp, DpHost primary, IReadOnlyList<string> csis)
    {
        var keys = TransparencyKeyset.FromWire((await dp.Client.GetMetadataAsync(TestContext.Current.CancellationToken)).Transparency!)!;
        var verifier = new Verification.StatementVerifier(new Verification.TrustAnchors([primary.LoadAuthority().Certificate]), primary.Clock);
        return await dp.Client.LookupAsync(csis, verifier, null, new TransparencyCheck(keys, new TreeHeadMemory(), TimeSpan.FromDays(1), primary.Clock), TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task ReplicaProcess_TakesWritesToThePrimary_NeverSeals_AndAnswersProvenFromTheReplica()
    {
        var (primary, replica) = await StartAsync();
        await using (primary)
        await using (replica)
        {
            // Proof of control and the publish go through the replica process to the primary.
            var bob = await replica.RegisterAsync("+33612345678");
            var receipt = await replica.Client.PublishAsync(bob.Sign(1), TestContext.Current.CancellationToken);
            Assert.Null(await DpCluster.SealAsync(replica));
            Assert.Equal(receipt.Epoch, await DpCluster.SealAsync(primary));
            Assert.Contains("sealer", (await ReadyAsync(primary)).Checks.EnumerateObject().Select(c => c.Name));

            // Replayed on the standby, the epoch reaches the replica process's lookups once its last
            // check is older than Discovery:EpochCheckInterval.
            await PostgresTestDatabase.ReplicaCaughtUpAsync();
            replica.Time.Advance(replica.Service<Microsoft.Extensions.Options.IOptions<Hosting.DiscoveryOptions>>().Value.EpochCheckInterval);
            var raw = await replica.Client.LookupRawAsync(["+33612345678"], cancellationToken: TestContext.Current.CancellationToken);
            Assert.Equal(receipt.Epoch, raw.Transparency!.Epoch);
            Assert.Null(raw.LatestEpoch);
            var found = Assert.Single(await VerifiedLookupAsync(replica, primary, ["+33612345678"]));
            Assert.True(found.Outcome == LookupOutcome.Found && found.Proof!.IsComplete, $"{found.Outcome}: {found.Proof?.Reason}; {string.Join(", ", found.Rejected.Select(r => r.Reason))}");

            var (status, checks) = await ReadyAsync(replica);
            Assert.Equal("ready", status);
            Assert.Equal("ok", checks.GetProperty("replica").GetString());
            Assert.False(checks.TryGetProperty("sealer", out _), "a replica process never seals, so it has no sealer to report");
        }
    }

    [Fact]
    public async Task LaggingReplica_AnswersFromItsLastEpoch_Proven_SaysSo_AndCatchesUpOnceReplayed()
    {
        var (primary, replica) = await StartAsync();
        await using (primary)
        await using (replica)
        {
            var bob = await primary.RegisterAsync("+33612345678");
            await primary.Client.PublishAsync(bob.Sign(1), TestContext.Current.CancellationToken);
            var replayed = (await DpCluster.SealAsync(primary))!.Value;
            await PostgresTestDatabase.ReplicaCaughtUpAsync();

            await PostgresTestDatabase.PauseReplicaAsync(pause: true);
            try
            {
                var alice = await primary.RegisterAsync("+33698765432");
                await primary.Client.PublishAsync(alice.Sign(1), TestContext.Current.CancellationToken);
                var latest = (await DpCluster.SealAsync(primary))!.Value;
                Assert.Equal(replayed + 1, latest);
                await replica.Service<TransparencyLog>().FollowPrimaryAsync(TestContext.Current.CancellationToken);

                // The answer is the replica's last epoch, proven, and names the primary's.
                var raw = await replica.Client.LookupRawAsync(["+33612345678", "+33698765432"], cancellationToken: TestContext.Current.CancellationToken);
                Assert.Equal(replayed, raw.Transparency!.Epoch);
                Assert.Equal(latest, raw.LatestEpoch);
                var verified = await VerifiedLookupAsync(replica, primary, ["+33612345678", "+33698765432"]);
                Assert.All(verified, r => Assert.True(r.Proof!.IsComplete, r.Proof.Reason));
                Assert.Equal([LookupOutcome.Found, LookupOutcome.None], verified.Select(r => r.Outcome));

                var (status, checks) = await ReadyAsync(replica);
                Assert.Equal("degraded", status);
                Assert.Contains($"up to epoch {replayed} and the primary is at {latest}", checks.GetProperty("replica").GetString(), StringComparison.Ordinal);

                // A sender holding the newer head cannot be shown consistency from the older one: told to retry.
                using var behind = await replica.Http.PostAsync("v1/lookup", JsonContent(
                    new LookupRequest(["+33698765432"], KnownTreeSize: latest)), TestContext.Current.CancellationToken);
                await ProblemAssert.IsProblemAsync(behind, 503, "replica-behind");
                Assert.Equal(TimeSpan.FromSeconds(1), behind.Headers.RetryAfter?.Delta);

                // The SDK holding that head asks once more a second later, then gives the DP's reason.
                var counted = new CountingHandler(TlsTrust.CreateHandler(TlsTrust.LoadRoots(Path.Combine(primary.DataDirectory, "tls.crt"))));
                using var http = new HttpClient(counted) { BaseAddress = replica.BaseAddress };
                var sdk = new DiscoveryClient(http);
                var check = await TransparencyCheckHoldingAsync(primary, replica);
                var verifier = new Verification.StatementVerifier(new Verification.TrustAnchors([primary.LoadAuthority().Certificate]), primary.Clock);
                var refused = await Assert.ThrowsAsync<DiscoveryException>(() => sdk.LookupAsync(["+33698765432"], verifier, null, check, TestContext.Current.CancellationToken));
                Assert.Equal("replica-behind", refused.Code);
                Assert.Equal(2, counted.Lookups);
            }
            finally
            {
                await PostgresTestDatabase.PauseReplicaAsync(pause: false);
            }

            await PostgresTestDatabase.ReplicaCaughtUpAsync();
            await replica.Service<TransparencyLog>().FollowPrimaryAsync(TestContext.Current.CancellationToken);
            var caughtUp = await replica.Client.LookupRawAsync(["+33698765432"], cancellationToken: TestContext.Current.CancellationToken);
            Assert.Equal(replayed + 1, caughtUp.Transparency!.Epoch);
            Assert.Null(caughtUp.LatestEpoch);
            Assert.Equal(LookupResultKinds.Found, caughtUp.Results[0].Result);
            Assert.Equal("ready", (await ReadyAsync(replica)).Status);
        }
    }

    [Fact]
    public async Task ReadReplicaThatIsNoStandbyOfTheDatabase_StopsStartUp_NamingTheSettingAndWhy()
    {
        var primary = PostgresTestDatabase.ConnectionStringFor(_database!);
        await using var dp = await DpHost.StartAsync(database: primary);
        await PostgresTestDatabase.ReplicaCaughtUpAsync();
        var cases = new (string Replica, string Why)[]
        {
            (primary, "is not in recovery"),
            (PostgresTestDatabase.ReplicaConnectionStringFor("postgres"), "holds no Mimi Discovery schema"),
            (new Npgsql.NpgsqlConnectionStringBuilder(PostgresTestDatabase.ReplicaConnectionStringFor(_database!)) { Password = "wrong" }.ToString(), "cannot be read"),
        };
        foreach (var (replica, why) in cases)
        {
            var e = await Assert.ThrowsAsync<InvalidOperationException>(() => DpHost.StartAsync(o =>
            {
                o.DataDirectory = dp.DataDirectory;
                o.ReadReplica = replica;
            }, primary));
            Assert.Contains("Discovery:ReadReplica", e.Message, StringComparison.Ordinal);
            Assert.Contains(why, e.Message, StringComparison.Ordinal);
        }
    }

    /// <summary>A transparency check whose memory holds the primary's current head for <paramref name="dp"/>, as a sender's does after a lookup the primary answered there.</summary>
    private static async Task<TransparencyCheck> TransparencyCheckHoldingAsync(DpHost primary, DpHost dp)
    {
        var keys = TransparencyKeyset.FromWire((await primary.Client.GetMetadataAsync(TestContext.Current.CancellationToken)).Transparency!)!;
        var memory = new TreeHeadMemory();
        memory.Remember(dp.BaseAddress, ProofWire.Head(await primary.Client.GetTreeHeadAsync(TestContext.Current.CancellationToken))!);
        return new TransparencyCheck(keys, memory, TimeSpan.FromDays(1), primary.Clock);
    }

    private sealed class CountingHandler(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        public int Lookups;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.RequestUri!.AbsolutePath == "/v1/lookup")
            {
                Interlocked.Increment(ref Lookups);
            }

            return base.SendAsync(request, cancellationToken);
        }
    }

    private static StringContent JsonContent(LookupRequest request) =>
        new(JsonSerializer.Serialize(request, ProtocolJson.Default.LookupRequest), System.Text.Encoding.UTF8, "application/json");
}

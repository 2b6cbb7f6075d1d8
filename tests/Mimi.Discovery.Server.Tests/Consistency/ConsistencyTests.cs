using System.Collections.Concurrent;
using System.Net.Http.Json;
using Mimi.Discovery.Client;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Server.Tests.Storage;
using Mimi.Discovery.Server.Transparency;
using Mimi.Discovery.Statements;
using Mimi.Discovery.Transparency;

namespace Mimi.Discovery.Server.Tests.Consistency;

/// <summary>
/// Changes racing seals and each other across several DP processes on one database: every
/// acknowledged change is sealed by the epoch its receipt names, and every counted limit holds
/// exactly. The races are placed with the sealer's test seam or run in parallel; the assertions
/// hold whatever the interleaving, so no test depends on timing.
/// </summary>
public abstract class ConsistencyTests : IAsyncLifetime
{
    private readonly bool _postgres;
    private string? _database;

    private protected ConsistencyTests(bool postgres) => _postgres = postgres;

    private string? Connection => _database is null ? null : PostgresTestDatabase.ConnectionStringFor(_database);

    public async ValueTask InitializeAsync()
    {
        if (_postgres)
        {
            Assert.SkipWhen(PostgresTestDatabase.AdminConnectionString is null, $"PostgreSQL not configured: set {PostgresTestDatabase.Variable} (CI does)");
            _database = await PostgresTestDatabase.CreateDatabaseAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_database is not null)
        {
            await PostgresTestDatabase.DropDatabaseAsync(_database);
        }
    }

    [Fact]
    public async Task Publish_WhileAnotherProcessSealsTheSameCsi_IsSealedByItsReceiptEpoch()
    {
        await using var cluster = await DpCluster.StartAsync(3, Connection);
        var (a, b, c) = (cluster[0], cluster[1], cluster[2]);
        var bob = await a.RegisterAsync("+33612345678");
        await a.Client.PublishAsync(bob.Sign(1));
        await DpCluster.SealAsync(a);

        // v2 is pending when B's seal reads; v3 is acknowledged by A while that seal is open.
        await a.Client.PublishAsync(bob.Sign(2));
        PublishReceipt? third = null;
        var v3 = bob.Sign(3);
        b.Service<TransparencyLog>().AfterRead = async cancellationToken =>
        {
            b.Service<TransparencyLog>().AfterRead = null;
            third = await a.Client.PublishAsync(v3, cancellationToken);
        };
        var sealedByB = await DpCluster.SealAsync(b);
        Assert.NotNull(third);
        Assert.True(third.Epoch > sealedByB, $"v3 was acknowledged during epoch {sealedByB}'s seal, so it is due after it, not in epoch {third.Epoch}");

        await DpCluster.SealAsync(c);

        var verifier = cluster.Verifier();
        foreach (var dp in cluster.Hosts)
        {
            var history = await dp.Client.GetHistoryAsync(bob.Csi, Labels.AnyScope);
            var change = new AcknowledgedChange(third.MappingId, 3, third.Epoch!.Value, [Labels.AnyScope]);
            var verdict = LabelMonitor.CheckAcknowledged(history, ProofWire.Head(history.Head)!, change, verifier);
            Assert.True(verdict.Status == ReceiptStatus.Honoured, verdict.Reason);
            var found = await dp.LookupJsonAsync("+33612345678");
            Assert.Contains(v3, found.GetProperty("statements").EnumerateArray().Select(s => s.GetString()));
        }
    }

    [Fact]
    public async Task AnotherProcesssSeal_ReachesLookupsHereWithinTheEpochCheckInterval_AndAtOnceForASenderHoldingItsHead()
    {
        await using var cluster = await DpCluster.StartAsync(2, Connection);
        var (a, b) = (cluster[0], cluster[1]);
        var interval = b.Service<Microsoft.Extensions.Options.IOptions<Hosting.DiscoveryOptions>>().Value.EpochCheckInterval;
        Assert.True(interval > TimeSpan.Zero, "the default bounds how often a process asks, not zero");
        var bob = await a.RegisterAsync("+33612345678");
        await a.Client.PublishAsync(bob.Sign(1));
        var first = (await DpCluster.SealAsync(a))!.Value;
        b.Time.Advance(interval);
        Assert.Equal(first, (await b.Client.LookupRawAsync(["+33612345678"])).Transparency!.Epoch);

        // A's next epoch: B answers from the one it checked less than the interval ago…
        var v2 = bob.Sign(2);
        await a.Client.PublishAsync(v2);
        var second = (await DpCluster.SealAsync(a))!.Value;
        Assert.Equal(first, (await b.Client.LookupRawAsync(["+33612345678"])).Transparency!.Epoch);

        // …but a sender holding the newer head is answered at it at once,
        var holding = await b.Client.LookupRawAsync(new LookupRequest(["+33612345678"], KnownTreeSize: second));
        Assert.Equal(second, holding.Transparency!.Epoch);
        Assert.Equal([v2], holding.Results[0].Statements);

        // and once the interval has passed every lookup is.
        var v3 = bob.Sign(3);
        await a.Client.PublishAsync(v3);
        var third = (await DpCluster.SealAsync(a))!.Value;
        Assert.Equal(second, (await b.Client.LookupRawAsync(["+33612345678"])).Transparency!.Epoch);
        b.Time.Advance(interval);
        var later = await b.Client.LookupRawAsync(["+33612345678"]);
        Assert.Equal(third, later.Transparency!.Epoch);
        Assert.Equal([v3], later.Results[0].Statements);
    }

    [Fact]
    public async Task PublishesAndRemovals_RacingSealsOnThreeProcesses_EveryReceiptIsKept()
    {
        await using var cluster = await DpCluster.StartAsync(3, Connection);
        var recipients = new List<DpHost.Recipient>();
        for (var i = 0; i < 6; i++)
        {
            recipients.Add(await cluster[0].RegisterAsync($"+3361234567{i}"));
        }

        const int Versions = 5;
        var acknowledged = new ConcurrentBag<(DpHost.Recipient Owner, AcknowledgedChange Change)>();
        using var writing = new CancellationTokenSource();
        var sealers = cluster.Hosts.Select(dp => Task.Run(async () =>
        {
            while (!writing.IsCancellationRequested)
            {
                await DpCluster.SealAsync(dp);
            }
        })).ToList();
        var writers = recipients.Select((owner, i) => Task.Run(async () =>
        {
            AcknowledgedChange? last = null;
            for (var version = 1; version <= Versions; version++)
            {
                var draft = new MappingDraft(owner.Csi, version, [new MspEntry("wire") { Account = "@v" + version }]);
                var receipt = await cluster[(i + version) % 3].Client.PublishAsync(owner.Signer.SignMapping(draft));
                last = AcknowledgedChange.Of(draft, receipt)!;
                acknowledged.Add((owner, last));
            }

            if (i % 2 == 0)
            {
                var removal = await cluster[i % 3].Client.RemoveAsync(owner.Signer.SignRemoval(new RemovalDraft(owner.Csi) { Version = Versions }));
                acknowledged.Add((owner, last!.RemovedBy(removal)!));
            }
        })).ToList();
        await Task.WhenAll(writers);
        await writing.CancelAsync();
        await Task.WhenAll(sealers);
        await cluster.DrainAsync();

        // Receipts of mappings never removed are all checkable (nothing was erased); of removed ones, the removal.
        var verifier = cluster.Verifier();
        var checkedChanges = acknowledged.Where(a => a.Change.Removal || !acknowledged.Any(b => b.Owner == a.Owner && b.Change.Removal)).ToList();
        Assert.Equal(3 * Versions + 3, checkedChanges.Count);
        foreach (var (owner, change) in checkedChanges)
        {
            var history = await cluster[1].Client.GetHistoryAsync(owner.Csi, Labels.AnyScope);
            var verdict = LabelMonitor.CheckAcknowledged(history, ProofWire.Head(history.Head)!, change, verifier);
            Assert.True(verdict.Status == ReceiptStatus.Honoured, $"{owner.Csi} {(change.Removal ? "removal" : "v" + change.Version)} due by epoch {change.Epoch}: {verdict.Reason}");
        }

        var keys = TransparencyKeyset.FromWire((await cluster[0].Client.GetMetadataAsync()).Transparency!)!;
        foreach (var dp in cluster.Hosts)
        {
            var check = new TransparencyCheck(keys, new TreeHeadMemory(), TimeSpan.FromDays(1), dp.Clock);
            var results = await dp.Client.LookupAsync(recipients.Select(r => r.Csi.Uri).ToList(), verifier, null, check);
            Assert.All(results.Select((r, i) => (r, i)), x =>
            {
                Assert.True(x.r.Proof!.IsComplete, x.r.Proof.Reason);
                Assert.Equal(x.i % 2 == 0 ? LookupOutcome.None : LookupOutcome.Found, x.r.Outcome);
            });
        }

        Assert.Empty((await LogAuditor.AuditAsync(cluster[2].Client, keys, new AuditState())).Violations);
    }

    [Fact]
    public async Task ProofStarts_RacingOnTwoProcesses_SendExactlyTheLimit()
    {
        await using var cluster = await DpCluster.StartAsync(2, Connection, o => (o.MaxOutstandingPerCsi, o.MaxSendsPerClientAndCsi, o.MaxSendsPerClient) = (5, 3, 20));
        using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var q = key.ExportParameters(false).Q;
        var jwk = new EcPublicJwk("EC", "P-256", System.Buffers.Text.Base64Url.EncodeToString(q.X), System.Buffers.Text.Base64Url.EncodeToString(q.Y));
        using var other0 = cluster[0].HttpFrom("127.0.0.2");
        using var other1 = cluster[1].HttpFrom("127.0.0.2");

        async Task<int> StartAllAsync(IEnumerable<string> csis, HttpClient[] clients) => (await Task.WhenAll(csis.Select((csi, i) => Task.Run(async () =>
        {
            var response = await clients[i % 2].PostAsJsonAsync("v1/proofs", new ProofRequest(csi, jwk), ProtocolJson.Default.ProofRequest);
            if ((int)response.StatusCode == 429)
            {
                await ProblemAssert.IsProblemAsync(response, 429, "rate-limited");
                Assert.NotNull(response.Headers.RetryAfter);
            }

            return response.IsSuccessStatusCode ? 1 : 0;
        })))).Sum();

        // One client address racing for one CSI gets exactly its own allowance (3)…
        Assert.Equal(3, await StartAllAsync(Enumerable.Repeat("+33612345678", 30), [cluster[0].Http, cluster[1].Http]));
        Assert.Equal(3, cluster[0].Outbox().Count);

        // …which leaves another address room, up to the CSI's cap of outstanding codes (5), never more.
        Assert.Equal(2, await StartAllAsync(Enumerable.Repeat("+33612345678", 30), [other0, other1]));
        Assert.Equal(5, cluster[0].Outbox().Count);

        // One client address: 17 more distinct CSIs get codes (20 in all), then none.
        Assert.Equal(17, await StartAllAsync(Enumerable.Range(0, 60).Select(i => $"+336123400{i:D2}"), [cluster[0].Http, cluster[1].Http]));
        Assert.Equal(22, cluster[0].Outbox().Count);
    }
}

public sealed class SqliteConsistencyTests() : ConsistencyTests(postgres: false);

public sealed class PostgresConsistencyTests() : ConsistencyTests(postgres: true);

using Mimi.Discovery.Server.Storage;

namespace Mimi.Discovery.Server.Tests.Storage;

/// <summary>One contract every <see cref="IDiscoveryStore"/> keeps, run against SQLite and PostgreSQL (see <see cref="TestDatabase"/>).</summary>
public abstract class StoreContractTests : StoreSuite
{
    private protected StoreContractTests(TestDatabase database)
        : base(database)
    {
    }

    private static StoredMapping Mapping(string csi = "tel:+33612345678", string key = "k1", long version = 1, long iat = 1000, long cnb = 100, string? statement = "jws", long exp = 10_000) => new()
    {
        Csi = csi,
        MappingId = key + "/any",
        KeyThumbprint = key,
        Audience = "any",
        Services = "wire",
        Version = version,
        IssuedAt = iat,
        ExpiresAt = exp,
        CredentialNotBefore = cnb,
        OptOut = false,
        Statement = statement + "-v" + version,
    };

    [Fact]
    public async Task Migrate_Twice_IsIdempotent()
    {
        await Store.MigrateAsync(default);
        await OtherProcess.MigrateAsync(default);
        Assert.True(await Store.IsHealthyAsync(default));
    }

    [Fact]
    public async Task Publish_NewerVersionReplacesOlder_OlderIsRefused()
    {
        Assert.Equal(PublishStatus.Stored, (await Store.PublishAsync(Mapping(version: 1), false, default)).Status);
        Assert.Equal(PublishStatus.Stored, (await Store.PublishAsync(Mapping(version: 3), false, default)).Status);

        var refused = await Store.PublishAsync(Mapping(version: 2), false, default);

        Assert.Equal(PublishStatus.VersionNotNewer, refused.Status);
        Assert.Equal(3, refused.CurrentVersion);
        Assert.Equal("jws-v3", Assert.Single(await Store.GetMappingsAsync("tel:+33612345678", default)).Statement);
    }

    [Fact]
    public async Task Publish_ConcurrentSameVersionFromTwoProcesses_ExactlyOneWins()
    {
        for (var round = 1; round <= 10; round++)
        {
            var results = await Task.WhenAll(
                Task.Run(() => Store.PublishAsync(Mapping(version: round, statement: "a"), false, default)),
                Task.Run(() => OtherProcess.PublishAsync(Mapping(version: round, statement: "b"), false, default)));

            Assert.Equal(1, results.Count(r => r.Status == PublishStatus.Stored));
            Assert.Equal(1, results.Count(r => r.Status == PublishStatus.VersionNotNewer));
            var stored = Assert.Single(await Store.GetMappingsAsync("tel:+33612345678", default));
            Assert.Equal(round, stored.Version);
        }
    }

    [Fact]
    public async Task Publish_ManyConcurrentVersions_HighestEndsStored()
    {
        var versions = Enumerable.Range(1, 20).Reverse().ToList();
        await Task.WhenAll(versions.Select((v, i) => Task.Run(() => (i % 2 == 0 ? Store : OtherProcess).PublishAsync(Mapping(version: v), false, default))));

        Assert.Equal(20, Assert.Single(await Store.GetMappingsAsync("tel:+33612345678", default)).Version);
    }

    [Fact]
    public async Task Lookup_ReturnsLiveUnexpiredRowsOfTheAskedCsisOnly()
    {
        await Store.PublishAsync(Mapping(key: "a"), false, default);
        await Store.PublishAsync(Mapping(key: "b", exp: 500), false, default);
        await Store.PublishAsync(Mapping(csi: "mailto:bob@example.com", key: "c"), false, default);
        await Store.PublishAsync(Mapping(csi: "tel:+33612345679", key: "d"), false, default);

        var rows = await Store.LookupAsync(["tel:+33612345678", "mailto:bob@example.com", "tel:+10000000000"], 600, default);

        Assert.Equal(["a/any"], rows["tel:+33612345678"].Select(r => r.MappingId));
        Assert.Equal(["c/any"], rows["mailto:bob@example.com"].Select(r => r.MappingId));
        Assert.Empty(rows["tel:+10000000000"]);
        Assert.Empty(rows["tel:+33612345679"]);
    }

    [Fact]
    public async Task Remove_ErasesStatementAndBlocksReplayOfOlderStatements()
    {
        await Store.PublishAsync(Mapping(version: 2, iat: 1000), false, default);

        var removed = await Store.RemoveAsync("tel:+33612345678", [new RemovalTarget("k1/any", 2, 2)], 1500, null, default);

        Assert.Equal(["k1/any"], removed.Removed);
        Assert.True(removed.DueEpoch >= 1);
        var row = Assert.Single(await Store.GetMappingsAsync("tel:+33612345678", default));
        Assert.Null(row.Statement);
        Assert.Empty((await Store.LookupAsync(["tel:+33612345678"], 0, default))["tel:+33612345678"]);
        Assert.Equal(PublishStatus.RemovedBefore, (await Store.PublishAsync(Mapping(version: 3, iat: 1400), false, default)).Status);
        Assert.Equal(PublishStatus.Stored, (await Store.PublishAsync(Mapping(version: 3, iat: 1600), false, default)).Status);
    }

    [Fact]
    public async Task Remove_VersionChangedMeanwhile_IsSkipped()
    {
        await Store.PublishAsync(Mapping(version: 1), false, default);
        await OtherProcess.PublishAsync(Mapping(version: 2), false, default);

        var removed = await Store.RemoveAsync("tel:+33612345678", [new RemovalTarget("k1/any", 1, 1)], 2000, null, default);

        Assert.Empty(removed.Removed);
        Assert.Equal(0, removed.DueEpoch);
        Assert.NotNull(Assert.Single(await Store.GetMappingsAsync("tel:+33612345678", default)).Statement);
    }

    [Fact]
    public async Task Supersede_RemovesOlderCredentialsAndRaisesTheFloor()
    {
        await Store.PublishAsync(Mapping(key: "old", cnb: 100), false, default);
        await Store.PublishAsync(Mapping(key: "older", cnb: 50), false, default);

        var result = await Store.PublishAsync(Mapping(key: "new", cnb: 200, iat: 2000), true, default);

        Assert.Equal(["old/any", "older/any"], result.Superseded.Order(StringComparer.Ordinal));
        Assert.Equal(PublishStatus.CredentialSuperseded, (await Store.PublishAsync(Mapping(key: "old", cnb: 100, version: 2, iat: 3000), false, default)).Status);
        Assert.Equal(PublishStatus.Stored, (await Store.PublishAsync(Mapping(key: "another", cnb: 250), false, default)).Status);
    }

    [Fact]
    public async Task RemoveWithFloor_BlocksOlderCredentials()
    {
        await Store.PublishAsync(Mapping(key: "old", cnb: 100), false, default);
        await Store.RemoveAsync("tel:+33612345678", [new RemovalTarget("old/any", 1, 1)], 2000, 150, default);

        Assert.Equal(PublishStatus.CredentialSuperseded, (await Store.PublishAsync(Mapping(key: "other", cnb: 120), false, default)).Status);
    }

    private static StoredProof Proof(string id, string csi = "tel:+33612345678", string client = "127.0.0.1", long created = 1000) => new()
    {
        Id = id,
        Csi = csi,
        PublicKey = "spki",
        Client = client,
        CodeHash = "hash",
        CreatedAt = created,
        ExpiresAt = created + 600,
    };

    [Fact]
    public async Task CreateProof_LimitsPerCsiClientAndGlobal()
    {
        var limits = new ProofLimits(0, 0, PerCsi: 2, PerClientAndCsi: 9, PerClient: 3, Global: 4);
        Assert.Equal(ProofLimitHit.None, await Store.CreateProofAsync(Proof("1"), limits, default));
        Assert.Equal(ProofLimitHit.None, await Store.CreateProofAsync(Proof("2"), limits, default));
        Assert.Equal(ProofLimitHit.Csi, await Store.CreateProofAsync(Proof("3"), limits, default));
        Assert.Equal(ProofLimitHit.None, await Store.CreateProofAsync(Proof("4", csi: "tel:+1"), limits, default));
        Assert.Equal(ProofLimitHit.Client, await Store.CreateProofAsync(Proof("5", csi: "tel:+2"), limits, default));
        Assert.Equal(ProofLimitHit.None, await Store.CreateProofAsync(Proof("6", csi: "tel:+3", client: "other"), limits, default));
        Assert.Equal(ProofLimitHit.Global, await Store.CreateProofAsync(Proof("7", csi: "tel:+4", client: "third"), limits, default));
        Assert.Null(await Store.GetProofAsync("3", default));

        // Outside the window nothing counts.
        Assert.Equal(ProofLimitHit.None, await Store.CreateProofAsync(Proof("8", created: 5000), limits with { WindowStart = 4000, CsiWindowStart = 4000 }, default));
    }

    [Fact]
    public async Task CreateProof_OneClientsAllowanceForACsi_LeavesOtherClientsTheRest()
    {
        var limits = new ProofLimits(0, 0, PerCsi: 3, PerClientAndCsi: 2, PerClient: 9, Global: 9);
        Assert.Equal(ProofLimitHit.None, await Store.CreateProofAsync(Proof("a1", client: "attacker"), limits, default));
        Assert.Equal(ProofLimitHit.None, await Store.CreateProofAsync(Proof("a2", client: "attacker"), limits, default));
        Assert.Equal(ProofLimitHit.ClientAndCsi, await Store.CreateProofAsync(Proof("a3", client: "attacker"), limits, default));

        // The attacker's refused start counted nowhere: the owner still has the CSI's last slot.
        Assert.Equal(ProofLimitHit.None, await Store.CreateProofAsync(Proof("o1", client: "owner"), limits, default));
        Assert.Equal(ProofLimitHit.Csi, await Store.CreateProofAsync(Proof("x1", client: "third"), limits, default));

        // The CSI's cap is per code lifetime: the next lifetime window has room again.
        Assert.Equal(ProofLimitHit.None, await Store.CreateProofAsync(Proof("o2", client: "owner", created: 1700), limits with { CsiWindowStart = 1600 }, default));
    }

    [Fact]
    public async Task CountAttempt_StopsAtMaxAndAfterExpiry()
    {
        await Store.CreateProofAsync(Proof("p"), new ProofLimits(0, 0, 9, 9, 9, 9), default);

        Assert.Equal(1, (await Store.CountAttemptAsync("p", 2, 1100, default))!.Attempts);
        Assert.Equal(2, (await Store.CountAttemptAsync("p", 2, 1100, default))!.Attempts);
        Assert.Null(await Store.CountAttemptAsync("p", 2, 1100, default));
        Assert.Equal(2, (await Store.GetProofAsync("p", default))!.Attempts);

        await Store.CreateProofAsync(Proof("q"), new ProofLimits(0, 0, 9, 9, 9, 9), default);
        Assert.Null(await Store.CountAttemptAsync("q", 5, 1600, default));
        Assert.Null(await Store.CountAttemptAsync("missing", 5, 1100, default));
    }

    [Fact]
    public async Task ConsumeProof_ConcurrentAnswers_ExactlyOneSucceeds()
    {
        await Store.CreateProofAsync(Proof("p"), new ProofLimits(0, 0, 9, 9, 9, 9), default);

        var results = await Task.WhenAll(
            Task.Run(() => Store.ConsumeProofAsync("p", default)),
            Task.Run(() => OtherProcess.ConsumeProofAsync("p", default)));

        Assert.Single(results, r => r);
        Assert.True((await Store.GetProofAsync("p", default))!.Consumed);
        Assert.Null(await Store.CountAttemptAsync("p", 5, 1100, default));
    }

    [Fact]
    public async Task PurgeProofs_DeletesOnlyOldOnes()
    {
        await Store.CreateProofAsync(Proof("old", created: 100), new ProofLimits(0, 0, 9, 9, 9, 9), default);
        await Store.CreateProofAsync(Proof("new", created: 900), new ProofLimits(0, 0, 9, 9, 9, 9), default);

        Assert.Equal(1, await Store.PurgeProofsAsync(500, default));
        Assert.Null(await Store.GetProofAsync("old", default));
        Assert.NotNull(await Store.GetProofAsync("new", default));
    }

    [Fact]
    public async Task CreateProof_ConcurrentOnTwoProcesses_TakesExactlyTheLimit()
    {
        var limits = new ProofLimits(0, 0, PerCsi: 5, PerClientAndCsi: 100, PerClient: 100, Global: 100);
        var results = await Task.WhenAll(Enumerable.Range(0, 30).Select(i =>
            Task.Run(() => (i % 2 == 0 ? Store : OtherProcess).CreateProofAsync(Proof("p" + i, client: "c" + i), limits, default))));

        Assert.Equal(5, results.Count(r => r == ProofLimitHit.None));
        Assert.Equal(25, results.Count(r => r == ProofLimitHit.Csi));
    }

    [Fact]
    public async Task CreateProof_OneClientConcurrentOnTwoProcesses_TakesExactlyItsAllowance()
    {
        var limits = new ProofLimits(0, 0, PerCsi: 5, PerClientAndCsi: 3, PerClient: 100, Global: 100);
        var results = await Task.WhenAll(Enumerable.Range(0, 30).Select(i =>
            Task.Run(() => (i % 2 == 0 ? Store : OtherProcess).CreateProofAsync(Proof("p" + i, client: "attacker"), limits, default))));

        Assert.Equal(3, results.Count(r => r == ProofLimitHit.None));
        Assert.Equal(27, results.Count(r => r == ProofLimitHit.ClientAndCsi));
        Assert.Equal(ProofLimitHit.None, await OtherProcess.CreateProofAsync(Proof("owner", client: "owner"), limits, default));
    }

    [Fact]
    public async Task CancelProof_DeletesItAndGivesItsCountsBack()
    {
        var limits = new ProofLimits(0, 0, PerCsi: 1, PerClientAndCsi: 5, PerClient: 5, Global: 5);
        Assert.Equal(ProofLimitHit.None, await Store.CreateProofAsync(Proof("1"), limits, default));
        Assert.Equal(ProofLimitHit.Csi, await Store.CreateProofAsync(Proof("2"), limits, default));

        await Store.CancelProofAsync(Proof("1"), limits, default);

        Assert.Null(await Store.GetProofAsync("1", default));
        Assert.Equal(ProofLimitHit.None, await Store.CreateProofAsync(Proof("3"), limits, default));
    }

    private static StoredEpoch Epoch(long n) => new(n, n * 1000, "prefix", "log", "signature");

    private static async Task<SealInput> CloseAndReadAsync(IDiscoveryStore store)
    {
        var close = await store.CloseEpochAsync(2000, default);
        Assert.NotNull(close);
        return await store.ReadPendingAsync(close, extra: 100, now: 2000, default);
    }

    [Fact]
    public async Task Seal_ChangeCommittedAfterTheSealRead_KeepsItsMarkForTheNextSeal()
    {
        // Genesis: nothing pending, epoch 1.
        var genesis = await CloseAndReadAsync(Store);
        Assert.True(await Store.CommitSealAsync(0, new SealPlan(Epoch(1), [], [], []), genesis.Pending, default));

        var first = await Store.PublishAsync(Mapping(version: 1), false, default);
        Assert.Equal(2, first.DueEpoch);
        var read = await CloseAndReadAsync(Store);
        Assert.Equal(["tel:+33612345678"], read.Pending.Select(p => p.Csi));
        Assert.Equal(1, Assert.Single(read.Mappings["tel:+33612345678"]).Version);

        // Another process acknowledges v2 while the seal of epoch 2 is open: it is due in epoch 3.
        var second = await OtherProcess.PublishAsync(Mapping(version: 2), false, default);
        Assert.Equal(3, second.DueEpoch);
        Assert.True(await Store.CommitSealAsync(1, new SealPlan(Epoch(2), [], [], []), read.Pending, default));

        var next = await CloseAndReadAsync(OtherProcess);
        Assert.Equal(2, next.LastEpoch);
        Assert.Equal(2, Assert.Single(next.Mappings["tel:+33612345678"]).Version);
    }

    [Fact]
    public async Task ReadTree_StreamsEveryLabelsLatestLeafAsOfTheEpoch_AsGetLeavesFromZeroLists()
    {
        StoredLabel Label(string key, long version) => new(key, "tel:+3361234567" + key[^1], "any", "vrf", version, "c" + key + version, null, "");
        VersionRow Row(string key, long version, long epoch) => new(key, version, epoch, "c" + key + version, "o", "", "", "");
        var genesis = await CloseAndReadAsync(Store);
        Assert.True(await Store.CommitSealAsync(0, new SealPlan(Epoch(1), [], [], []), genesis.Pending, default));
        Assert.True(await Store.CommitSealAsync(1, new SealPlan(Epoch(2), [Label("k1", 1), Label("k2", 1)], [Row("k1", 1, 2), Row("k2", 1, 2)], []), [], default));
        Assert.True(await Store.CommitSealAsync(2, new SealPlan(Epoch(3), [Label("k1", 2)], [Row("k1", 2, 3)], []), [], default));

        foreach (var (epoch, expected) in new[] { (2L, new[] { "k1=ck11", "k2=ck21" }), (3L, ["k1=ck12", "k2=ck21"]) })
        {
            var streamed = new List<string>();
            await OtherProcess.ReadTreeAsync(epoch, (key, commitment) => streamed.Add(key + "=" + commitment), default);
            Assert.Equal(expected, streamed.Order(StringComparer.Ordinal));
            Assert.Equal(expected, (await OtherProcess.GetLeavesAsync(0, epoch, default)).Select(l => l.SearchKey + "=" + l.Commitment).Order(StringComparer.Ordinal));
        }
    }

    [Fact]
    public async Task CommitSeal_MarkPromisedALaterEpoch_StaysUntilThatEpoch()
    {
        var genesis = await CloseAndReadAsync(Store);
        Assert.True(await Store.CommitSealAsync(0, new SealPlan(Epoch(1), [], [], []), genesis.Pending, default));

        // Epoch 2 is closed over one change; a second, then made, is due in epoch 3 but commits before the seal's read.
        Assert.Equal(2, (await Store.PublishAsync(Mapping(csi: "tel:+33612345679"), false, default)).DueEpoch);
        var close = (await Store.CloseEpochAsync(2000, default))!;
        Assert.Equal(3, (await OtherProcess.PublishAsync(Mapping(version: 1), false, default)).DueEpoch);
        var read = await Store.ReadPendingAsync(close, 100, 2000, default);
        Assert.Equal(["tel:+33612345678", "tel:+33612345679"], read.Pending.Select(p => p.Csi).Order(StringComparer.Ordinal));
        Assert.True(await Store.CommitSealAsync(1, new SealPlan(Epoch(2), [], [], []), read.Pending, default));

        // Sealed in epoch 2 already, but still pending: the log must reach epoch 3, as the receipt said.
        var next = await CloseAndReadAsync(Store);
        Assert.Equal(["tel:+33612345678"], next.Pending.Select(p => p.Csi));
        Assert.True(await Store.CommitSealAsync(2, new SealPlan(Epoch(3), [], [], []), next.Pending, default));
        Assert.Null(await Store.CloseEpochAsync(2000, default));
    }

    [Fact]
    public async Task CloseEpoch_QueuesStatementsThatExpired_EvenWhenTheLastHeadIsTimedAhead()
    {
        await Store.PublishAsync(Mapping(exp: 1500), false, default);
        var first = (await Store.CloseEpochAsync(1000, default))!;
        var read = await Store.ReadPendingAsync(first, 100, 1000, default);
        Assert.Single(read.Mappings["tel:+33612345678"]);

        // The head is timed far ahead of the sealer's clock (a clock that ran ahead, or another process's).
        Assert.True(await Store.CommitSealAsync(0, new SealPlan(new StoredEpoch(1, 5_000_000, "p", "l", "s"), [], [], []), read.Pending, default));

        var expired = await Store.CloseEpochAsync(2000, default);
        Assert.NotNull(expired);
        var next = await Store.ReadPendingAsync(expired, 100, 2000, default);
        Assert.Equal(["tel:+33612345678"], next.Pending.Select(p => p.Csi));
        Assert.Empty(next.Mappings["tel:+33612345678"]);
        Assert.True(await Store.CommitSealAsync(1, new SealPlan(Epoch(2), [], [], []), next.Pending, default));
        Assert.Null(await Store.CloseEpochAsync(3000, default));
    }

    [Fact]
    public async Task LastEpoch_SeesEveryEpochAnotherProcessSealedBeforeItAsked_AndOnlyEpochsMoveIt()
    {
        Assert.Equal(0, await Store.GetLastEpochAsync(default));
        Assert.True(await OtherProcess.CommitSealAsync(0, new SealPlan(Epoch(1), [], [], []), [], default));
        Assert.Equal(1, await Store.GetLastEpochAsync(default));

        // Writes that seal nothing (a publish, by either process) leave it where it is.
        await OtherProcess.PublishAsync(Mapping(version: 1), false, default);
        await Store.PublishAsync(Mapping(version: 2), false, default);
        Assert.Equal(1, await Store.GetLastEpochAsync(default));

        Assert.True(await OtherProcess.CommitSealAsync(1, new SealPlan(Epoch(2), [], [], []), [], default));
        Assert.True(await Store.CommitSealAsync(2, new SealPlan(Epoch(3), [], [], []), [], default));
        Assert.Equal(3, await Store.GetLastEpochAsync(default));
        Assert.Equal(3, await OtherProcess.GetLastEpochAsync(default));
    }

    [Fact]
    public async Task CommitSeal_AnotherSealerCommittedFirst_WritesNothingAndKeepsTheMarks()
    {
        await Store.PublishAsync(Mapping(version: 1), false, default);
        var mine = await CloseAndReadAsync(Store);
        var theirs = await CloseAndReadAsync(OtherProcess);

        Assert.True(await OtherProcess.CommitSealAsync(0, new SealPlan(Epoch(1), [], [], []), [], default));
        Assert.False(await Store.CommitSealAsync(0, new SealPlan(Epoch(1), [], [], []), mine.Pending, default));

        Assert.Equal(1, await Store.GetLastEpochAsync(default));
        Assert.Equal(mine.Pending, (await CloseAndReadAsync(Store)).Pending);
        Assert.Equal(theirs.Pending, mine.Pending);
    }

    [Fact]
    public async Task CloseEpoch_NotFollowedByASeal_IsReusedSoReceiptsStayTight()
    {
        // Three closes and no seal (the sealers lost a race or died): all close epoch 1.
        foreach (var store in new[] { Store, OtherProcess, Store })
        {
            Assert.Equal(1, (await store.CloseEpochAsync(2000, default))!.Closed);
        }

        // A change made now is due in epoch 2, the one after the next seal's, not three further.
        Assert.Equal(2, (await Store.PublishAsync(Mapping(version: 1), false, default)).DueEpoch);
    }

    [Fact]
    public async Task BulkInsert_RowsAreLookedUp()
    {
        var rows = Enumerable.Range(0, 500).Select(i => Mapping(csi: $"tel:+3361234{i:D4}", key: "k" + i)).ToList();

        await Store.BulkInsertAsync(rows, default);

        var found = await Store.LookupAsync(["tel:+33612340042", "tel:+33612340499"], 0, default);
        Assert.Equal(["k42/any"], found["tel:+33612340042"].Select(r => r.MappingId));
        Assert.Single(found["tel:+33612340499"]);
    }
}

public sealed class SqliteStoreContractTests() : StoreContractTests(new SqliteTestDatabase());

public sealed class PostgresStoreContractTests() : StoreContractTests(new PostgresTestDatabase());

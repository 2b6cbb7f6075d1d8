using Mimi.Discovery.Server.Storage;

namespace Mimi.Discovery.Server.Tests.Storage;

/// <summary>The CSIP contract of <see cref="ICsipStore"/>, on SQLite and PostgreSQL, with two DP processes racing.</summary>
public abstract class CsipStoreContractTests : StoreSuite
{
    private const string Bob = "tel:+33612345678";

    private protected CsipStoreContractTests(TestDatabase database)
        : base(database)
    {
    }

    private ICsipStore First => (ICsipStore)Store;

    private ICsipStore Second => (ICsipStore)OtherProcess;

    private static StoredCsip Csip(string thumbprint = "t1", string name = "telco") => new()
    {
        Thumbprint = thumbprint,
        Name = name,
        Scope = "+336",
        Credential = "pem-" + thumbprint,
        NotAfter = 9_000,
        CreatedAt = 100,
    };

    private static StoredMapping Mapping(string key, long cnb, string csi = Bob) => new()
    {
        Csi = csi,
        MappingId = key + "/any",
        KeyThumbprint = key,
        Audience = "any",
        Services = "wire",
        Version = 1,
        IssuedAt = cnb + 1,
        ExpiresAt = 10_000,
        CredentialNotBefore = cnb,
        OptOut = false,
        Statement = "jws-" + key,
    };

    [Fact]
    public async Task AddCsip_ListGetRevoke_RoundTrip()
    {
        Assert.True(await First.AddCsipAsync(Csip("t1"), default));
        Assert.False(await Second.AddCsipAsync(Csip("t1"), default));
        Assert.True(await First.AddCsipAsync(Csip("t2"), default));
        Assert.True(await First.AddCsipAsync(Csip("t3", "other"), default));

        Assert.Equal(["other", "telco", "telco"], (await Second.ListCsipsAsync(default)).Select(c => c.Name));
        Assert.Equal(Csip("t2"), await Second.GetCsipAsync("t2", default));
        Assert.Null(await Second.GetCsipAsync("nope", default));

        Assert.Equal(2, await First.RevokeCsipAsync("telco", 500, default));
        Assert.Equal(0, await Second.RevokeCsipAsync("telco", 600, default));
        Assert.Equal(500, (await First.GetCsipAsync("t1", default))!.RevokedAt);
        Assert.Null((await First.GetCsipAsync("t3", default))!.RevokedAt);
    }

    [Fact]
    public async Task ApplyFeed_RemovesOnlyMappingsUnderOlderCredentials_AndRaisesTheFloor()
    {
        await First.AddCsipAsync(Csip(), default);
        await Store.PublishAsync(Mapping("old", 100), false, default);
        await Store.PublishAsync(Mapping("new", 300), false, default);

        var result = await First.ApplyFeedAsync(Csip(), "f1", 400, 400, [new FeedEntry(Bob, 200), new FeedEntry("tel:+33698765432", 200)], default);

        Assert.Equal(FeedStatus.Applied, result.Status);
        Assert.Equal(["old/any"], result.Removed[0]);
        Assert.Empty(result.Removed[1]);
        var rows = await Store.GetMappingsAsync(Bob, default);
        Assert.Null(rows.Single(r => r.MappingId == "old/any").Statement);
        Assert.NotNull(rows.Single(r => r.MappingId == "new/any").Statement);
        Assert.Equal(PublishStatus.CredentialSuperseded, (await Store.PublishAsync(Mapping("older", 150), false, default)).Status);
        Assert.Equal(PublishStatus.CredentialSuperseded, (await Store.PublishAsync(Mapping("other", 150, "tel:+33698765432"), false, default)).Status);
        var act = Assert.Single(await Second.GetCsipActsAsync(Bob, default));
        Assert.Equal(new CsipAct(Bob, "telco", "f1", "old/any", 400), act);
    }

    [Fact]
    public async Task ApplyFeed_SameIdFromTwoProcesses_ExactlyOneApplies()
    {
        await First.AddCsipAsync(Csip(), default);
        await Store.PublishAsync(Mapping("old", 100), false, default);

        var results = await Task.WhenAll(
            Task.Run(() => First.ApplyFeedAsync(Csip(), "f1", 400, 400, [new FeedEntry(Bob, 200)], default)),
            Task.Run(() => Second.ApplyFeedAsync(Csip(), "f1", 400, 400, [new FeedEntry(Bob, 200)], default)));

        Assert.Equal(1, results.Count(r => r.Status == FeedStatus.Applied));
        Assert.Equal(1, results.Count(r => r.Status == FeedStatus.Replayed));
        Assert.Single(await First.GetCsipActsAsync(Bob, default));
    }

    [Fact]
    public async Task ApplyFeed_SameIdFromAnotherCsip_IsNotAReplay()
    {
        await First.AddCsipAsync(Csip("t1", "telco"), default);
        await First.AddCsipAsync(Csip("t2", "mail"), default);

        Assert.Equal(FeedStatus.Applied, (await First.ApplyFeedAsync(Csip("t1", "telco"), "f1", 400, 400, [new FeedEntry(Bob, 200)], default)).Status);
        Assert.Equal(FeedStatus.Applied, (await First.ApplyFeedAsync(Csip("t2", "mail"), "f1", 400, 400, [new FeedEntry(Bob, 200)], default)).Status);
    }

    [Fact]
    public async Task ApplyFeed_RevokedOrUnknownCsip_ChangesNothing()
    {
        await First.AddCsipAsync(Csip(), default);
        await Store.PublishAsync(Mapping("old", 100), false, default);
        await First.RevokeCsipAsync("telco", 300, default);

        Assert.Equal(FeedStatus.Revoked, (await Second.ApplyFeedAsync(Csip(), "f1", 400, 400, [new FeedEntry(Bob, 200)], default)).Status);
        Assert.Equal(FeedStatus.Revoked, (await Second.ApplyFeedAsync(Csip("unknown"), "f2", 400, 400, [new FeedEntry(Bob, 200)], default)).Status);

        Assert.NotNull(Assert.Single(await Store.GetMappingsAsync(Bob, default)).Statement);
        Assert.Equal(PublishStatus.Stored, (await Store.PublishAsync(Mapping("older", 150), false, default)).Status);
        // The revoked CSIP's feed id was not used up.
        await First.AddCsipAsync(Csip("t9"), default);
        Assert.Equal(FeedStatus.Applied, (await First.ApplyFeedAsync(Csip("t9"), "f1", 400, 400, [new FeedEntry(Bob, 200)], default)).Status);
    }
}

public sealed class SqliteCsipStoreContractTests() : CsipStoreContractTests(new SqliteTestDatabase());

public sealed class PostgresCsipStoreContractTests() : CsipStoreContractTests(new PostgresTestDatabase());

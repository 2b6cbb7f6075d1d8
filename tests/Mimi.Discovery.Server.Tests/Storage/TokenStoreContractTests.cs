using Mimi.Discovery.Server.Storage;
using Mimi.Discovery.Server.Tokens;

namespace Mimi.Discovery.Server.Tests.Storage;

/// <summary>The token-account and spent-token contract of <see cref="IDiscoveryStore"/>, on SQLite and PostgreSQL.</summary>
public abstract class TokenStoreContractTests : StoreSuite
{
    private const long Hour = 3600;

    private protected TokenStoreContractTests(TestDatabase database)
        : base(database)
    {
    }

    private static TokenAccount Account(string name = "wire-prod", string hash = "h1", string? service = "wire", long quota = 3) => new()
    {
        Name = name,
        KeyHash = hash,
        Service = service,
        Quota = quota,
        WindowSeconds = Hour,
        CreatedAt = 1000,
    };

    [Fact]
    public async Task CreateAccount_NameOrKeyTaken_IsRefusedAndKeepsTheFirst()
    {
        Assert.True(await Store.CreateAccountAsync(Account(), default));

        Assert.False(await OtherProcess.CreateAccountAsync(Account(hash: "h2"), default));
        Assert.False(await OtherProcess.CreateAccountAsync(Account(name: "other"), default));

        var stored = Assert.Single(await Store.ListAccountsAsync(default));
        Assert.Equal(("wire-prod", "h1", "wire", 3L), (stored.Name, stored.KeyHash, stored.Service, stored.Quota));
        Assert.Null(await Store.GetAccountAsync("h2", default));
    }

    [Fact]
    public async Task TakeQuota_UpToQuotaThenExhausted_AndANewWindowStartsAgain()
    {
        await Store.CreateAccountAsync(Account(), default);
        var now = 10 * Hour + 5;

        for (var i = 1; i <= 3; i++)
        {
            var (outcome, account, granted) = await Store.TakeQuotaAsync("h1", now, 1, default);
            Assert.Equal(1, granted);
            Assert.Equal(QuotaOutcome.Taken, outcome);
            Assert.Equal(i, account!.Used);
        }

        Assert.Equal(QuotaOutcome.Exhausted, (await OtherProcess.TakeQuotaAsync("h1", now + 100, 1, default)).Outcome);
        Assert.Equal(3, (await Store.GetAccountAsync("h1", default))!.UsedAt(now));

        var next = await Store.TakeQuotaAsync("h1", 11 * Hour, 1, default);
        Assert.Equal(QuotaOutcome.Taken, next.Outcome);
        Assert.Equal((1L, 11 * Hour), (next.Account!.Used, next.Account.WindowStart));
        Assert.Equal(QuotaOutcome.UnknownAccount, (await Store.TakeQuotaAsync("nope", now, 1, default)).Outcome);
    }

    [Fact]
    public async Task TakeQuota_FromAProcessWhoseClockIsBehind_CountsIntoTheNewerWindow()
    {
        await Store.CreateAccountAsync(Account(quota: 2), default);
        Assert.Equal(QuotaOutcome.Taken, (await Store.TakeQuotaAsync("h1", 11 * Hour + 5, 1, default)).Outcome);

        // The other process still thinks it is the previous hour: it must not start that window again.
        Assert.Equal(QuotaOutcome.Taken, (await OtherProcess.TakeQuotaAsync("h1", 11 * Hour - 5, 1, default)).Outcome);
        Assert.Equal(QuotaOutcome.Exhausted, (await OtherProcess.TakeQuotaAsync("h1", 11 * Hour - 4, 1, default)).Outcome);
        Assert.Equal(QuotaOutcome.Exhausted, (await Store.TakeQuotaAsync("h1", 11 * Hour + 6, 1, default)).Outcome);
        Assert.Equal((2L, 11 * Hour), ((await Store.GetAccountAsync("h1", default))!.Used, (await Store.GetAccountAsync("h1", default))!.WindowStart));
    }

    [Fact]
    public async Task TakeQuota_ConcurrentFromTwoProcesses_NeverExceedsQuota()
    {
        await Store.CreateAccountAsync(Account(quota: 7), default);

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 40).Select(i =>
            Task.Run(async () => (await (i % 2 == 0 ? Store : OtherProcess).TakeQuotaAsync("h1", Hour, 1, default)).Outcome)));

        Assert.Equal(7, outcomes.Count(o => o == QuotaOutcome.Taken));
        Assert.Equal(7, (await Store.GetAccountAsync("h1", default))!.Used);
    }

    [Fact]
    public async Task ReturnQuota_GivesBackOneInThatWindowOnly()
    {
        await Store.CreateAccountAsync(Account(), default);
        await Store.TakeQuotaAsync("h1", Hour, 1, default);
        await Store.TakeQuotaAsync("h1", Hour, 1, default);

        await Store.ReturnQuotaAsync("h1", 0, 1, default);
        Assert.Equal(2, (await Store.GetAccountAsync("h1", default))!.Used);
        await Store.ReturnQuotaAsync("h1", Hour, 1, default);
        Assert.Equal(1, (await Store.GetAccountAsync("h1", default))!.Used);
    }

    [Fact]
    public async Task RemoveAccount_ThenItsKeyIsUnknown()
    {
        await Store.CreateAccountAsync(Account(), default);

        Assert.True(await OtherProcess.RemoveAccountAsync("wire-prod", default));
        Assert.False(await Store.RemoveAccountAsync("wire-prod", default));
        Assert.Null(await Store.GetAccountAsync("h1", default));
    }

    [Fact]
    public async Task SpendTokens_AnyAlreadySpent_SpendsNoneOfTheRequest()
    {
        Assert.True(await Store.SpendTokensAsync([new SpentToken("a", 100)], default));

        Assert.False(await OtherProcess.SpendTokensAsync([new SpentToken("b", 100), new SpentToken("a", 100)], default));

        // "b" was rolled back with the request, so it is still unspent.
        Assert.True(await Store.SpendTokensAsync([new SpentToken("b", 100)], default));
        Assert.False(await Store.SpendTokensAsync([new SpentToken("b", 100)], default));
    }

    [Fact]
    public async Task SpendTokens_SameNonceConcurrentlyFromTwoProcesses_ExactlyOneWins()
    {
        for (var round = 0; round < 10; round++)
        {
            var nonce = "n" + round;
            var results = await Task.WhenAll(
                Task.Run(() => Store.SpendTokensAsync([new SpentToken(nonce, 100)], default)),
                Task.Run(() => OtherProcess.SpendTokensAsync([new SpentToken(nonce, 100)], default)));
            Assert.Equal(1, results.Count(r => r));
        }
    }

    [Fact]
    public async Task SpendTokenGroups_EachGroupWholeOrNot_TheOthersUnaffected()
    {
        Assert.True(await Store.SpendTokensAsync([new SpentToken("old", 100)], default));

        var spent = await OtherProcess.SpendTokenGroupsAsync(
        [
            [new SpentToken("a", 100), new SpentToken("b", 100)],
            [new SpentToken("c", 100), new SpentToken("old", 100)], // spent before: none of it
            [new SpentToken("d", 100)],
            [new SpentToken("e", 100), new SpentToken("b", 100)], // "b" spent by the first group
            [new SpentToken("c", 100)], // "c" was rolled back with the second group
        ], default);

        Assert.Equal([true, false, true, false, true], spent);
        foreach (var (nonce, wasSpent) in new[] { ("a", true), ("b", true), ("c", true), ("d", true), ("e", false) })
        {
            Assert.Equal(!wasSpent, await Store.SpendTokensAsync([new SpentToken(nonce, 100)], default));
        }
    }

    [Fact]
    public async Task SpendTokenGroups_MoreNoncesThanOneStatementTakes_AllSpentAndChecked()
    {
        // 2,500 nonces: three insert statements and three reads of the nonces already spent.
        var many = Enumerable.Range(0, 2500).Select(i => new SpentToken("m" + i, 100)).ToList();
        Assert.Equal(new[] { true, false }, await Store.SpendTokenGroupsAsync([many, [new SpentToken("fresh", 100), new SpentToken("m1999", 100)]], default));

        Assert.Equal(new[] { false, false, true }, await OtherProcess.SpendTokenGroupsAsync(
            [[new SpentToken("m0", 100)], [new SpentToken("m2499", 100)], [new SpentToken("fresh", 100)]], default));
    }

    [Fact]
    public async Task SpentTokenLedger_TwoProcessesGroupCommittingRacingRedemptions_EachNonceSpentOnce()
    {
        // Two DP processes, each grouping its concurrent redemptions into shared transactions; every
        // nonce is redeemed by three lookups (two in one process, one in the other) and some lookups
        // carry two nonces, so groups in both processes collide on the same rows.
        var ledgers = new[] { new SpentTokenLedger(Store), new SpentTokenLedger(OtherProcess) };
        const int Nonces = 200;
        var attempts = Enumerable.Range(0, Nonces * 3).Select(i =>
        {
            var nonce = i % Nonces;
            IReadOnlyList<SpentToken> tokens = nonce % 4 == 0
                ? [new SpentToken("n" + nonce, 100), new SpentToken("n" + nonce + "-pair", 100)]
                : [new SpentToken("n" + nonce, 100)];
            return (Nonce: nonce, Task: Task.Run(() => ledgers[(i / Nonces) % 2].SpendAsync(tokens, default)));
        }).ToArray();

        await Task.WhenAll(attempts.Select(a => a.Task));

        foreach (var group in attempts.GroupBy(a => a.Nonce))
        {
            Assert.Equal(1, group.Count(a => a.Task.Result));
        }

        Assert.False(await Store.SpendTokensAsync([new SpentToken("n4-pair", 100)], default));
    }

    [Fact]
    public async Task PurgeSpentTokens_RemovesOnlyThosePastGrace()
    {
        await Store.SpendTokensAsync([new SpentToken("old", 100), new SpentToken("live", 200)], default);

        Assert.Equal(1, await Store.PurgeSpentTokensAsync(150, default));

        Assert.True(await Store.SpendTokensAsync([new SpentToken("old", 100)], default));
        Assert.False(await Store.SpendTokensAsync([new SpentToken("live", 200)], default));
    }
}

public sealed class SqliteTokenStoreContractTests() : TokenStoreContractTests(new SqliteTestDatabase());

public sealed class PostgresTokenStoreContractTests() : TokenStoreContractTests(new PostgresTestDatabase());

/// <summary>
/// A nonce another process commits between a batch's read of the spent nonces and its insert: the batch
/// decides again rather than count that nonce's request as spent by it (PostgreSQL, where the two are
/// separate snapshots; SQLite holds its write lock from the read).
/// </summary>
public sealed class PostgresSpendRaceTests : IAsyncLifetime
{
    private string? _database;
    private PostgresDiscoveryStore? _store;

    public async ValueTask InitializeAsync()
    {
        Assert.SkipWhen(PostgresTestDatabase.AdminConnectionString is null, $"PostgreSQL not configured: set {PostgresTestDatabase.Variable} (CI does)");
        _database = await PostgresTestDatabase.CreateDatabaseAsync();
        _store = new PostgresDiscoveryStore(PostgresTestDatabase.ConnectionStringFor(_database));
        await _store.MigrateAsync(default);
    }

    public async ValueTask DisposeAsync()
    {
        _store?.Dispose();
        if (_database is not null)
        {
            await PostgresTestDatabase.DropDatabaseAsync(_database);
        }
    }

    [Fact]
    public async Task SpendTokenGroups_NonceCommittedByAnotherProcessMidBatch_ThatRequestIsRefusedTheOtherSpent()
    {
        var cancel = TestContext.Current.CancellationToken;
        var connection = PostgresTestDatabase.ConnectionStringFor(_database!);
        await using var other = new Npgsql.NpgsqlConnection(connection);
        await other.OpenAsync(cancel);
        await using var transaction = await other.BeginTransactionAsync(cancel);
        await using (var insert = new Npgsql.NpgsqlCommand("INSERT INTO token_spent (nonce, expires_at) VALUES ('raced', 100)", other, transaction))
        {
            await insert.ExecuteNonQueryAsync(cancel);
        }

        // The batch reads before the other commits (so sees no 'raced'), then its insert waits on the other's row.
        var spend = Task.Run(() => _store!.SpendTokenGroupsAsync([[new SpentToken("raced", 100)], [new SpentToken("mine", 100)]], default), cancel);
        await using (var watch = new Npgsql.NpgsqlConnection(connection))
        {
            await watch.OpenAsync(cancel);
            await using var waiting = new Npgsql.NpgsqlCommand("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'", watch);
            var until = DateTime.UtcNow.AddMinutes(1);
            while ((long)(await waiting.ExecuteScalarAsync(cancel))! == 0)
            {
                Assert.False(spend.IsCompleted, "the batch finished without waiting on the other process's uncommitted nonce");
                Assert.True(DateTime.UtcNow < until, "the batch's insert never waited on the other process's row");
                await Task.Delay(20, cancel);
            }
        }

        await transaction.CommitAsync(cancel);

        Assert.Equal(new[] { false, true }, await spend);
        Assert.False(await _store!.SpendTokensAsync([new SpentToken("mine", 100)], default));
        Assert.True(await _store.SpendTokensAsync([new SpentToken("unrelated", 100)], default));
    }
}

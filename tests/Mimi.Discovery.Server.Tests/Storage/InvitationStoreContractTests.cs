using Mimi.Discovery.Server.Storage;

namespace Mimi.Discovery.Server.Tests.Storage;

/// <summary>The invitation contract of <see cref="IInvitationStore"/>, on SQLite and PostgreSQL, with two DP processes racing.</summary>
public abstract class InvitationStoreContractTests : StoreSuite
{
    private const long Day = 86_400;
    private const long Now = 100 * Day + 5;

    private protected InvitationStoreContractTests(TestDatabase database)
        : base(database)
    {
    }

    private IInvitationStore First => (IInvitationStore)Store;

    private IInvitationStore Second => (IInvitationStore)OtherProcess;

    private static StoredInvitation Row(string id, long now = Now) => new()
    {
        Id = id,
        CodeHash = "code-" + id,
        Invitation = "jws-" + id,
        CreatedAt = now,
        ExpiresAt = now + Day,
    };

    [Fact]
    public async Task StoreInvitation_ManyRacingForOneRecipient_ExactlyOneIsDelivered_TheRestKeepNoCodeOrText()
    {
        var results = await Task.WhenAll(Enumerable.Range(0, 16).Select(i =>
            (i % 2 == 0 ? First : Second).StoreInvitationAsync(Row("id" + i), "recipient", Now - Day, default)));

        Assert.Equal(1, results.Count(r => r == InvitationStored.Deliver));
        Assert.Equal(15, results.Count(r => r == InvitationStored.Suppressed));
        for (var i = 0; i < 16; i++)
        {
            var row = await First.GetInvitationAsync("id" + i, default);
            Assert.NotNull(row);
            Assert.Equal(results[i] == InvitationStored.Deliver, row.Invitation is not null && row.CodeHash is not null);
        }
    }

    [Fact]
    public async Task StoreInvitation_SameIdAgain_IsReplayed_AndTakesNoSlot()
    {
        Assert.Equal(InvitationStored.Suppressed, await First.StoreInvitationAsync(Row("a"), null, Now - Day, default));

        Assert.Equal(InvitationStored.Replayed, await Second.StoreInvitationAsync(Row("a"), "recipient", Now - Day, default));
        Assert.Equal(InvitationStored.Deliver, await Second.StoreInvitationAsync(Row("b"), "recipient", Now - Day, default));
    }

    [Fact]
    public async Task Slot_FreeAgainAfterAPeriod_AndWhenADeliveryFailed()
    {
        Assert.Equal(InvitationStored.Deliver, await First.StoreInvitationAsync(Row("a"), "recipient", Now - Day, default));
        Assert.Equal(InvitationStored.Suppressed, await First.StoreInvitationAsync(Row("b", Now + Day - 1), "recipient", Now - 1, default));

        await Second.UndeliverAsync("a", "recipient", Now, default);
        Assert.Null((await First.GetInvitationAsync("a", default))!.Invitation);
        Assert.Null(await First.GetInvitationByCodeAsync("code-a", default));
        Assert.Equal(InvitationStored.Deliver, await First.StoreInvitationAsync(Row("c", Now + 10), "recipient", Now + 10 - Day, default));
        Assert.Equal(InvitationStored.Deliver, await First.StoreInvitationAsync(Row("d", Now + 10 + Day), "recipient", Now + 10, default));
    }

    [Fact]
    public async Task SenderCount_RacingProcesses_NeverPassTheLimit_AndANewWindowStartsAgain()
    {
        var taken = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => (i % 2 == 0 ? First : Second).TakeSenderCountAsync("alice", 5, Now - (Now % Day), default)));

        Assert.Equal(5, taken.Count(t => t));
        await First.ReturnSenderCountAsync("alice", Now - (Now % Day), default);
        Assert.True(await Second.TakeSenderCountAsync("alice", 5, Now - (Now % Day), default));
        Assert.False(await Second.TakeSenderCountAsync("alice", 5, Now - (Now % Day), default));
        Assert.True(await First.TakeSenderCountAsync("alice", 5, Now - (Now % Day) + Day, default));
    }

    [Fact]
    public async Task Answer_TakenOnce_AndOnlyForADeliveredInvitation()
    {
        await First.StoreInvitationAsync(Row("a"), "recipient", Now - Day, default);
        await First.StoreInvitationAsync(Row("b"), null, Now - Day, default);

        var answers = await Task.WhenAll(First.AnswerInvitationAsync("a", "one", Now, default), Second.AnswerInvitationAsync("a", "two", Now, default));

        Assert.Single(answers, true);
        Assert.False(await First.AnswerInvitationAsync("b", "x", Now, default));
        Assert.Contains((await Second.GetInvitationAsync("a", default))!.Answer, new[] { "one", "two" });
    }

    [Fact]
    public async Task Preference_LatestWins_AndPurgeKeepsWhatIsCurrent()
    {
        Assert.True(await First.SetInvitationPreferenceAsync("bob", refuse: true, 10, default));
        Assert.False(await Second.SetInvitationPreferenceAsync("bob", refuse: false, 10, default));
        Assert.True(await Second.RefusesInvitationsAsync("bob", default));
        Assert.True(await Second.SetInvitationPreferenceAsync("bob", refuse: false, 11, default));
        Assert.False(await First.RefusesInvitationsAsync("bob", default));

        await First.StoreInvitationAsync(Row("old", Now - 2 * Day), "r1", Now - 3 * Day, default);
        await First.StoreInvitationAsync(Row("new"), "r2", Now - Day, default);
        await First.PurgeInvitationsAsync(Now, Now - Day, default);

        Assert.Null(await First.GetInvitationAsync("old", default));
        Assert.NotNull(await First.GetInvitationAsync("new", default));
        Assert.Equal(InvitationStored.Deliver, await First.StoreInvitationAsync(Row("again", Now), "r1", Now - Day, default));
    }
}

public sealed class SqliteInvitationStoreContractTests() : InvitationStoreContractTests(new SqliteTestDatabase());

public sealed class PostgresInvitationStoreContractTests() : InvitationStoreContractTests(new PostgresTestDatabase());

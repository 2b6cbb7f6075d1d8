using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Server.Storage;
using Mimi.Discovery.Server.Tests.Relay;
using Mimi.Discovery.Server.Tests.Storage;
using Mimi.Discovery.Server.Tests.Tokens;
using Mimi.Discovery.Statements;
using static Mimi.Discovery.Server.Tests.Invitations.InvitationKit;

namespace Mimi.Discovery.Server.Tests.Invitations;

/// <summary>
/// Invitations over real HTTPS (docs/protocol.md §14): delivered, fetched, verified and answered once;
/// the abuse limits, each answered exactly like a delivery; and every bad input refused with nothing
/// sent or stored. The flows that touch storage run on SQLite and on PostgreSQL.
/// </summary>
public sealed class InvitationApiTests : IAsyncLifetime
{
    private const string Alice = "alice@example.com";
    private const string Bob = "+33612345678";
    private const string Carol = "carol@example.org";
    private string? _database;

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        if (_database is not null)
        {
            await PostgresTestDatabase.DropDatabaseAsync(_database);
        }
    }

    private async Task<DpHost> StartAsync(bool postgres, Action<Hosting.DiscoveryOptions>? configure = null, LogCapture? logs = null)
    {
        string? connection = null;
        if (postgres)
        {
            Assert.SkipWhen(PostgresTestDatabase.AdminConnectionString is null, $"PostgreSQL not configured: set {PostgresTestDatabase.Variable} (CI does)");
            _database = await PostgresTestDatabase.CreateDatabaseAsync();
            connection = PostgresTestDatabase.ConnectionStringFor(_database);
        }

        // A one-day epoch interval: these tests move the clock by hours and days.
        return await DpHost.StartAsync(o =>
        {
            o.EpochInterval = TimeSpan.FromDays(1);
            configure?.Invoke(o);
        }, connection, logs);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Invite_Unregistered_DeliversALink_RecipientVerifiesRegistersAndAnswersOnce(bool postgres)
    {
        await using var dp = await StartAsync(postgres);
        var alice = await dp.RegisterAsync(Alice);
        var invitation = Sign(dp, alice, Bob);

        var accepted = await AcceptedAsync(dp, invitation);

        var id = accepted.GetProperty("id").GetString()!;
        Assert.Equal($"{dp.BaseAddress}v1/invitations/{id}/answer", accepted.GetProperty("answer").GetString());
        var message = Assert.Single(await SentToAsync(dp, Bob));
        Assert.Contains("mailto:alice@example.com invites you", message.GetProperty("text").GetString(), StringComparison.Ordinal);
        var link = LinkIn(message);
        Assert.True(Client.DiscoveryClient.TryParseInvitationLink(link, out _, out var code));
        Assert.Equal(message.GetProperty("code").GetString(), code);

        var fetched = await dp.Client.GetInvitationAsync(code);
        var verified = (await RecipientVerifierAsync(dp)).VerifyInvitation(fetched.Invitation, dp.Clock.GetUtcNow());
        Assert.True(verified.IsValid, verified.ToString());
        Assert.Equal(CsiParser.ParseOrThrow(Alice), verified.Statement.Sender);
        Assert.Equal(CsiParser.ParseOrThrow(Bob), verified.Statement.Recipient);
        Assert.Equal("@alice", Assert.Single(verified.Statement.Reach).Account);

        var unanswered = await dp.Client.GetInvitationAnswerAsync(id);
        Assert.False(unanswered.Answered);

        // Bob registers, then answers with a caller assertion to Alice, once.
        var bob = await dp.RegisterAsync(Bob);
        await dp.Client.PublishAsync(bob.Sign(1));
        var answer = bob.Signer.SignCallerAssertion([verified.Statement.Sender]);
        var answered = await dp.Client.AnswerInvitationAsync(verified.Statement.Callback!, answer);
        Assert.True(answered.Answered);
        await ProblemAssert.ThrowsAsync(409, "invitation-answered", () => dp.Client.AnswerInvitationAsync(verified.Statement.Callback!, bob.Signer.SignCallerAssertion([verified.Statement.Sender])));

        var status = await dp.Client.GetInvitationAnswerAsync(id);
        Assert.True(status.Answered);
        Assert.Equal(answer, status.Assertion);
        var fromBob = (await RecipientVerifierAsync(dp)).VerifyCallerAssertion(status.Assertion, status.AnsweredAt!.Value);
        Assert.True(fromBob.IsValid, fromBob.ToString());
        Assert.Equal(CsiParser.ParseOrThrow(Bob), fromBob.Statement.Originator);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Invite_SecondForTheIdentifierInAPeriod_WhoeverAsks_IsAnsweredAlikeAndNotSent(bool postgres)
    {
        await using var dp = await StartAsync(postgres);
        var alice = await dp.RegisterAsync(Alice);
        var carol = await dp.RegisterAsync(Carol);

        var first = await AcceptedAsync(dp, Sign(dp, alice, Bob));
        var byCarol = await AcceptedAsync(dp, Sign(dp, carol, Bob));
        var again = await AcceptedAsync(dp, Sign(dp, alice, Bob));

        AssertAlike(first, byCarol);
        AssertAlike(first, again);
        Assert.Single(await SentToAsync(dp, Bob));

        dp.Time.Advance(TimeSpan.FromDays(1));
        await AcceptedAsync(dp, Sign(dp, carol, Bob));
        Assert.Equal(2, (await SentToAsync(dp, Bob)).Count);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Invite_RecipientSaidNeverInviteMe_IsHonouredSilently_UntilSheAcceptsAgain(bool postgres)
    {
        await using var dp = await StartAsync(postgres);
        var alice = await dp.RegisterAsync(Alice);
        var carol = await dp.RegisterAsync(Carol);
        var bob = await dp.RegisterAsync(Bob);
        var refuse = bob.Signer.SignInvitationPreference(refuse: true);
        Assert.Equal("refuse", (await dp.Client.SetInvitationPreferenceAsync(refuse)).Invitations);
        var delivered = await AcceptedAsync(dp, Sign(dp, carol, "+33612345679"));

        var refused = await AcceptedAsync(dp, Sign(dp, alice, Bob));

        AssertAlike(delivered, refused);
        Assert.Empty(await SentToAsync(dp, Bob));
        await ProblemAssert.ThrowsAsync(409, "preference-not-newer", () => dp.Client.SetInvitationPreferenceAsync(refuse));

        dp.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("accept", (await dp.Client.SetInvitationPreferenceAsync(bob.Signer.SignInvitationPreference(refuse: false))).Invitations);
        await AcceptedAsync(dp, Sign(dp, alice, Bob));
        Assert.Single(await SentToAsync(dp, Bob));
    }

    [Theory]
    [InlineData("hidden")]
    [InlineData("opted-out")]
    public async Task Invite_RecipientRegisteredButNotShownToTheSender_IsAnsweredAlikeAndNotSent(string how)
    {
        // Sealed at every change, so the lookup shows what the sender sees; this test keeps the clock still.
        await using var dp = await StartAsync(postgres: false, o => o.EpochInterval = null);
        var alice = await dp.RegisterAsync(Alice);
        var bob = await dp.RegisterAsync(Bob);
        await dp.Client.PublishAsync(how == "hidden" ? bob.Sign(1, audience: Audience.Only(["signal"])) : bob.Sign(1, entries: []));
        var lookup = await dp.LookupJsonAsync(Bob);
        Assert.Equal(how == "hidden" ? "none" : "opted-out", lookup.GetProperty("result").GetString());
        var delivered = await AcceptedAsync(dp, Sign(dp, alice, "+33612345679"));

        var registered = await AcceptedAsync(dp, Sign(dp, alice, Bob));

        AssertAlike(delivered, registered);
        Assert.Empty(await SentToAsync(dp, Bob));
        Assert.Single(await SentToAsync(dp, "+33612345679"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Invite_SenderOverHerLimit_IsInvitationLimit_CountsAndStoresNothing(bool postgres)
    {
        await using var dp = await StartAsync(postgres, o => o.Invitations.MaxPerSender = 2);
        var alice = await dp.RegisterAsync(Alice);
        var carol = await dp.RegisterAsync(Carol);
        await AcceptedAsync(dp, Sign(dp, alice, Bob));
        await AcceptedAsync(dp, Sign(dp, alice, "+33612345679"));
        var id = Invitation.NewId();

        using var refused = await PostAsync(dp, Sign(dp, alice, "+33612345670", id: id));

        await ProblemAssert.IsProblemAsync(refused, 429, "invitation-limit");
        Assert.NotNull(refused.Headers.RetryAfter);
        Assert.Empty(await SentToAsync(dp, "+33612345670"));
        Assert.False(await dp.Service<IInvitationStore>().InvitationExistsAsync(id, default));
        await AcceptedAsync(dp, Sign(dp, carol, "+33612345670"));
        Assert.Single(await SentToAsync(dp, "+33612345670"));
        dp.Time.Advance(TimeSpan.FromDays(1));
        await AcceptedAsync(dp, Sign(dp, alice, "+33612345671"));
    }

    [Theory]
    [InlineData("forged", 422, "invitation-rejected")]
    [InlineData("expired", 410, "invitation-expired")]
    [InlineData("caller-assertion", 422, "invitation-rejected")]
    [InlineData("callback-elsewhere", 422, "invitation-out-of-scope")]
    [InlineData("too-long", 422, "invitation-out-of-scope")]
    [InlineData("foreign-ca", 403, "issuer-not-accepted")]
    [InlineData("empty", 400, "invalid-request")]
    public async Task Invite_BadInput_IsASpecificProblem_NothingSentOrStored(string kind, int status, string code)
    {
        await using var dp = await StartAsync(postgres: false);
        var alice = await dp.RegisterAsync(Alice);
        var id = Invitation.NewId();
        string invitation;
        switch (kind)
        {
            case "forged":
                var parts = Sign(dp, alice, Bob, id: id).Split('.');
                var payload = System.Text.Encoding.UTF8.GetString(System.Buffers.Text.Base64Url.DecodeFromChars(parts[1])).Replace("@alice", "@mallory", StringComparison.Ordinal);
                invitation = parts[0] + "." + System.Buffers.Text.Base64Url.EncodeToString(System.Text.Encoding.UTF8.GetBytes(payload)) + "." + parts[2];
                break;
            case "expired":
                invitation = Sign(dp, alice, Bob, lifetime: TimeSpan.FromHours(1), id: id);
                dp.Time.Advance(TimeSpan.FromHours(1));
                break;
            case "caller-assertion":
                invitation = alice.Signer.SignCallerAssertion([CsiParser.ParseOrThrow(Bob)]);
                break;
            case "callback-elsewhere":
                invitation = Sign(dp, alice, Bob, callback: new Uri("https://elsewhere.example/v1/invitations/" + id + "/answer"), id: id);
                break;
            case "too-long":
                invitation = Sign(dp, alice, Bob, lifetime: TimeSpan.FromDays(8), id: id);
                break;
            case "foreign-ca":
                // On this DP's clock: a credential issued "later" on another fake clock would be not yet valid here.
                await using (var other = await DpHost.StartAsync(clock: dp.Clock))
                {
                    invitation = Sign(dp, await other.RegisterAsync(Alice), Bob, id: id);
                }

                break;
            default:
                invitation = "";
                break;
        }

        using var response = await PostAsync(dp, invitation);

        var detail = await ProblemAssert.IsProblemAsync(response, status, code);
        Assert.DoesNotContain("33612345678", detail, StringComparison.Ordinal);
        Assert.Empty(await SentToAsync(dp, Bob));
        Assert.False(await dp.Service<IInvitationStore>().InvitationExistsAsync(id, default));
    }

    [Fact]
    public async Task Invite_Replayed_IsInvitationReplayed_AndSendsNothingMore()
    {
        await using var dp = await StartAsync(postgres: false);
        var alice = await dp.RegisterAsync(Alice);
        var invitation = Sign(dp, alice, Bob);
        await AcceptedAsync(dp, invitation);

        using var replay = await PostAsync(dp, invitation);

        await ProblemAssert.IsProblemAsync(replay, 409, "invitation-replayed");
        Assert.Single(await SentToAsync(dp, Bob));
    }

    [Fact]
    public async Task Invite_TokensRequired_UnpaidIs401WithAChallenge_PaidIsAccepted()
    {
        await using var dp = await TokenKit.StartAsync(o => o.EpochInterval = TimeSpan.FromDays(1));
        var alice = await dp.RegisterAsync(Alice);
        var apiKey = await TokenKit.AddAccountAsync(dp, "alice", null, quota: 10);
        var tokens = await TokenKit.Tokens(dp, apiKey).IssueExactlyAsync(1);
        var invitation = Sign(dp, alice, Bob);

        using var unpaid = await PostAsync(dp, invitation);

        await ProblemAssert.IsProblemAsync(unpaid, 401, "token-required");
        Assert.Contains("PrivateToken", unpaid.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.Empty(await SentToAsync(dp, Bob));
        await AcceptedAsync(dp, invitation, [.. TokenKit.Redeem(tokens)]);
        Assert.Single(await SentToAsync(dp, Bob));
        using var spent = await PostAsync(dp, Sign(dp, alice, "+33612345679"), [.. TokenKit.Redeem(tokens)]);
        await ProblemAssert.IsProblemAsync(spent, 401, "token-spent");

        // The SDK's paying handler answers the challenge with a token of its wallet, as for a lookup.
        using var http = new HttpClient(new Client.PrivateTokenHandler(TokenKit.ExactWallet(dp, apiKey), Client.TlsTrust.CreateHandler(Client.TlsTrust.LoadRoots(Path.Combine(dp.DataDirectory, "tls.crt"))))) { BaseAddress = dp.BaseAddress };
        var paid = await new Client.DiscoveryClient(http).InviteAsync(Sign(dp, alice, "+33612345670"));
        Assert.Equal("accepted", paid.Status);
        Assert.Single(await SentToAsync(dp, "+33612345670"));
    }

    [Fact]
    public async Task Fetch_UnknownExpiredOrUndeliveredLink_IsASpecificProblem()
    {
        await using var dp = await StartAsync(postgres: false);
        var alice = await dp.RegisterAsync(Alice);
        await AcceptedAsync(dp, Sign(dp, alice, Bob, lifetime: TimeSpan.FromHours(1)));
        var code = Assert.Single(await SentToAsync(dp, Bob)).GetProperty("code").GetString()!;

        using var unknown = await dp.PostJsonAsync("v1/invitations/open", $$"""{"code": "{{Invitation.NewId()}}"}""");
        await ProblemAssert.IsProblemAsync(unknown, 404, "invitation-not-found");
        using var malformed = await dp.PostJsonAsync("v1/invitations/open", "{}");
        await ProblemAssert.IsProblemAsync(malformed, 400, "invalid-request");
        dp.Time.Advance(TimeSpan.FromHours(1));
        await ProblemAssert.ThrowsAsync(410, "invitation-expired", () => dp.Client.GetInvitationAsync(code));
    }

    [Fact]
    public async Task Answer_ByAnotherIdentifierOrForAnotherSender_IsRefused_AndLeavesItUnanswered()
    {
        await using var dp = await StartAsync(postgres: false);
        var alice = await dp.RegisterAsync(Alice);
        var invitation = Sign(dp, alice, Bob);
        var id = (await AcceptedAsync(dp, invitation)).GetProperty("id").GetString()!;
        var callback = Invitation.CallbackAt(dp.BaseAddress + "v1", id);
        var mallory = await dp.RegisterAsync("+33612345670");
        var bob = await dp.RegisterAsync(Bob);

        await ProblemAssert.ThrowsAsync(403, "answer-not-from-recipient", () => dp.Client.AnswerInvitationAsync(callback, mallory.Signer.SignCallerAssertion([alice.Csi])));
        await ProblemAssert.ThrowsAsync(422, "assertion-rejected", () => dp.Client.AnswerInvitationAsync(callback, bob.Signer.SignCallerAssertion([CsiParser.ParseOrThrow(Carol)])));
        await ProblemAssert.ThrowsAsync(404, "invitation-not-found", () => dp.Client.AnswerInvitationAsync(Invitation.CallbackAt(dp.BaseAddress + "v1", Invitation.NewId()), bob.Signer.SignCallerAssertion([alice.Csi])));

        Assert.False((await dp.Client.GetInvitationAnswerAsync(id)).Answered);
        Assert.True((await dp.Client.AnswerInvitationAsync(callback, bob.Signer.SignCallerAssertion([alice.Csi]))).Answered);
    }

    [Fact]
    public async Task InviteFetchAnswer_Logs_HoldNoIdentifierCodeOrInvitation()
    {
        var logs = new LogCapture();
        await using var dp = await StartAsync(postgres: false, logs: logs);
        var alice = await dp.RegisterAsync(Alice);
        var invitation = Sign(dp, alice, Bob);
        var id = (await AcceptedAsync(dp, invitation)).GetProperty("id").GetString()!;
        await AcceptedAsync(dp, Sign(dp, alice, Bob));
        using var replay = await PostAsync(dp, invitation);
        var code = Assert.Single(await SentToAsync(dp, Bob)).GetProperty("code").GetString()!;
        await dp.Client.GetInvitationAsync(code);
        var bob = await dp.RegisterAsync(Bob);
        await dp.Client.AnswerInvitationAsync(Invitation.CallbackAt(dp.BaseAddress + "v1", id), bob.Signer.SignCallerAssertion([alice.Csi]));
        await dp.Client.SetInvitationPreferenceAsync(bob.Signer.SignInvitationPreference(refuse: true));

        Assert.Contains(logs.Lines, l => l.Id.Id == 1400);
        Assert.Contains(logs.Lines, l => l.Id.Id == 1402);
        Hardening.LogPrivacyTests.AssertNowhere(logs, string.Empty, "33612345678", "alice", "example.com", code, invitation.Split('.')[1][..40], invitation.Split('.')[2]);
    }
}

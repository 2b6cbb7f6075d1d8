using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Mimi.Discovery.Client;
using Mimi.Discovery.Credentials;
using Mimi.Discovery.Federation;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Server.Federation;
using Mimi.Discovery.Server.Storage;
using Mimi.Discovery.Server.Transparency;
using Mimi.Discovery.Statements;
using Mimi.Discovery.Transparency;
using Mimi.Discovery.Verification;

namespace Mimi.Discovery.Server.Tests.Federation;

/// <summary>
/// The hierarchical model with real DPs on loopback: a root delegates number prefixes and an email
/// domain to operators, and a sender that trusts only the root (its CA, its log keys) follows the
/// referrals and verifies each operator's answer with what the signed, logged delegation names.
/// </summary>
public sealed class ReferralTests : IAsyncLifetime
{
    private const string AliceAtA = "+33612345678";
    private const string CarolAtB = "+33629876543";
    private const string DaveAtB = "dave@example.org";
    private const string EveAtRoot = "+4915112345678";

    // One clock for every DP and the sender, as in the real world: a statement signed at one DP's
    // "now" is never in the future of another's.
    private readonly Microsoft.Extensions.Time.Testing.FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);
    private DpHost _root = null!;
    private DpHost _a = null!;
    private DpHost _b = null!;

    public async ValueTask InitializeAsync()
    {
        _root = await DpHost.StartAsync(clock: _clock);
        _a = await DpHost.StartAsync(clock: _clock);
        _b = await DpHost.StartAsync(clock: _clock);
        await PublishAsync(_a, AliceAtA, "@alice-a");
        await PublishAsync(_b, CarolAtB, "@carol-b");
        await PublishAsync(_b, DaveAtB, "@dave-b");
        await PublishAsync(_root, EveAtRoot, "@eve-root");
        await DelegateAsync(_root, _a, "+3361");
        await DelegateAsync(_root, _b, "+3362", "example.org");
    }

    public async ValueTask DisposeAsync()
    {
        await _root.DisposeAsync();
        await _a.DisposeAsync();
        await _b.DisposeAsync();
    }

    [Fact]
    public async Task SenderTrustingOnlyTheRoot_FollowsReferrals_ByPrefixAndByDomain_AndVerifiesEachDelegate()
    {
        var answers = await (await FollowerAsync(_root)).LookupAsync([AliceAtA, CarolAtB, DaveAtB, EveAtRoot, "+4915123456789"]);

        Assert.All(answers, a => Assert.Null(a.Failure));
        Assert.Equal(["@alice-a", "@carol-b", "@dave-b", "@eve-root"], answers.Take(4).Select(a => Assert.Single(a.Answer.Mappings).Entries[0].Account));
        Assert.All(answers, a => Assert.True(a.Answer.Proof!.IsComplete, a.Answer.Proof.Reason));
        Assert.All(answers, a => Assert.False(a.Answer.Inconsistent));
        Assert.Equal([_root.BaseAddress, _a.BaseAddress], answers[0].Chain);
        Assert.Equal([_root.BaseAddress, _b.BaseAddress], answers[1].Chain);
        Assert.Equal([_root.BaseAddress, _b.BaseAddress], answers[2].Chain);
        Assert.Equal([_root.BaseAddress], answers[3].Chain);
        Assert.Equal(LookupOutcome.None, answers[4].Answer.Outcome);
    }

    [Fact]
    public async Task RootAnswer_IsAReferral_ProvenAgainstItsLog()
    {
        var raw = (await _root.Client.LookupRawAsync([AliceAtA])).Results[0];
        Assert.Equal(LookupResultKinds.Referral, raw.Result);
        Assert.Empty(raw.Statements);
        Assert.Equal(["tel:+33612345678", "tel:+3361234567", "tel:+336123456", "tel:+33612345", "tel:+3361234", "tel:+336123", "tel:+33612", "tel:+3361"], raw.Labels!.Select(l => l.Subject));

        var verified = (await _root.Client.LookupAsync([AliceAtA], RootVerifier(), null, await RootCheckAsync()))[0];
        Assert.Equal(LookupOutcome.Referral, verified.Outcome);
        Assert.Equal(_a.BaseAddress, verified.Referral!.Dp);
        Assert.Equal("+3361", verified.Referral.Scope.ToString());
        Assert.True(verified.Proof!.IsComplete);
    }

    [Fact]
    public async Task DelegationChanges_AreLogged_AndARemovedDelegationStopsReferring()
    {
        var store = _root.Service<IDiscoveryStore>();
        var before = _root.Service<TransparencyLog>().Epoch;
        var held = await DelegationTable.ListAsync(store, default);
        Assert.Equal([["mailto:example.org", "tel:+3362"], ["tel:+3361"]], held.Select(h => h.Subjects));

        Assert.NotNull(await DelegationTable.RemoveAsync(store, held[1].Id, _clock, default));
        var epoch = await _root.Service<TransparencyLog>().SealAsync(default);
        Assert.Equal(before + 1, epoch);

        // The epoch's changes name the delegation label's leaf: an auditor replaying the log sees the change.
        var changes = await _root.Client.GetEpochChangesAsync(epoch!.Value);
        Assert.Single(changes.Changes);
        var audit = await LogAuditor.AuditAsync(_root.Client, TransparencyKeyset.FromWire((await _root.Client.GetMetadataAsync()).Transparency!)!, new AuditState());
        Assert.True(audit.Violations.Count == 0, string.Join("; ", audit.Violations));

        var answer = (await (await FollowerAsync(_root)).LookupAsync([AliceAtA]))[0];
        Assert.Equal(LookupOutcome.None, answer.Answer.Outcome);
        Assert.Equal([_root.BaseAddress], answer.Chain);
        Assert.True(answer.Answer.Proof!.IsComplete);
    }

    [Fact]
    public async Task MoreSpecificDelegation_Wins_AndARootHidingItIsCaught()
    {
        // +336 to A as well: +3362 (to B) is more specific for Carol, so she is still referred to B.
        await DelegateAsync(_root, _a, "+336");
        var answers = await (await FollowerAsync(_root)).LookupAsync([CarolAtB, "+33655555555"]);
        Assert.Equal([_root.BaseAddress, _b.BaseAddress], answers[0].Chain);
        Assert.Equal([_root.BaseAddress, _a.BaseAddress], answers[1].Chain);

        // A root that refers Carol by the broader delegation is refused, whether it leaves the more
        // specific subject out of its proofs or proves it (present) on the way down.
        var broad = (await _root.Client.LookupRawAsync(["+33655555555"])).Results[0];
        foreach (var keep in new[] { false, true })
        {
            var lying = Rewriting(_root, r => r with
            {
                Results = [r.Results[0] with { Delegation = broad.Delegation, Labels = [.. keep ? r.Results[0].Labels! : r.Results[0].Labels!.SkipLast(1), broad.Labels![^1]] }],
            });
            var refused = (await lying.LookupAsync([CarolAtB], RootVerifier(), null, await RootCheckAsync()))[0];
            Assert.Equal(LookupOutcome.None, refused.Outcome);
            Assert.Equal(ProofStatus.WrongLabels, refused.Proof!.Status);
        }
    }

    [Fact]
    public async Task ForgedReferrals_AreRefused_WithTheirReason()
    {
        // Signed by another DP's log key; signed by the root but never committed to its log (a
        // redirection served to some senders only); a committed delegation of another subject.
        var byOther = SignDelegation(_a.LoadLogKey(), _root, _b, "+3361");
        var unlogged = SignDelegation(_root.LoadLogKey(), _root, _b, "+3361");
        var other = (await _root.Client.LookupRawAsync([DaveAtB])).Results[0];
        var cases = new (string Name, Func<LookupResult, LookupResult> Tamper, ProofStatus Status)[]
        {
            ("signed by another key", r => r with { Delegation = byOther }, ProofStatus.SetMismatch),
            ("not in the log", r => r with { Delegation = unlogged }, ProofStatus.SetMismatch),
            ("labels cut short", r => r with { Labels = r.Labels!.Skip(1).ToList() }, ProofStatus.WrongLabels),
            ("another subject's proof", r => r with { Labels = [.. r.Labels!.SkipLast(1), other.Labels![0] with { Subject = "tel:+3361" }], Delegation = other.Delegation }, ProofStatus.BadVrf),
        };
        foreach (var (name, tamper, status) in cases)
        {
            var lying = Rewriting(_root, r => r with { Results = [tamper(r.Results[0])] });
            var answer = (await lying.LookupAsync([AliceAtA], RootVerifier(), null, await RootCheckAsync()))[0];
            Assert.True(answer.Outcome == LookupOutcome.None, name);
            Assert.True(status == answer.Proof!.Status, $"{name}: {answer.Proof}");
            Assert.StartsWith("referral refused: ", Assert.Single(answer.Rejected).Reason, StringComparison.Ordinal);
            Assert.True(answer.Inconsistent, name);
        }

        // A referral that smuggles statements in.
        var smuggling = Rewriting(_root, r => r with { Results = [r.Results[0] with { Statements = ["a.b.c"] }] });
        var smuggled = (await smuggling.LookupAsync([AliceAtA], RootVerifier(), null, await RootCheckAsync()))[0];
        Assert.Equal(LookupOutcome.None, smuggled.Outcome);
        Assert.Contains("carries statements", Assert.Single(smuggled.Rejected).Reason, StringComparison.Ordinal);

        // Without the root's log keys a referral cannot be checked, so it is not followed.
        var unchecked_ = (await _root.Client.LookupAsync([AliceAtA], RootVerifier()))[0];
        Assert.Equal(LookupOutcome.None, unchecked_.Outcome);
        Assert.Contains("transparency keys", Assert.Single(unchecked_.Rejected).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RootThatLogsADelegationUnderAnotherSubject_IsCaughtByTheScopeCheck()
    {
        // A lying root commits B's +3362 delegation under +3361's subject, sending Alice's senders to B.
        var b = (await DelegationTable.ListAsync(_root.Service<IDiscoveryStore>(), default)).Single(h => h.Dp == _b.BaseAddress.ToString());
        var store = _root.Service<IDiscoveryStore>();
        var a = (await DelegationTable.ListAsync(store, default)).Single(h => h.Dp == _a.BaseAddress.ToString());
        await DelegationTable.RemoveAsync(store, a.Id, _clock, default);
        await store.PublishAsync(new StoredMapping
        {
            Csi = "tel:+3361", MappingId = b.Id, KeyThumbprint = DelegationTable.RowAudience, Audience = DelegationTable.RowAudience, Services = b.Dp,
            Version = b.Version, IssuedAt = 0, ExpiresAt = b.ExpiresAt.ToUnixTimeSeconds(), CredentialNotBefore = 0, OptOut = false, Statement = b.Token,
        }, supersede: false, default);
        await _root.Service<TransparencyLog>().SealAsync(default);

        var answer = (await _root.Client.LookupAsync([AliceAtA], RootVerifier(), null, await RootCheckAsync()))[0];
        Assert.Equal(LookupOutcome.None, answer.Outcome);
        Assert.Equal(VerificationStatus.OutOfScope, Assert.Single(answer.Rejected).Status);
    }

    [Fact]
    public async Task ReferralLoop_AndUnreachableDelegate_StopWithAReason_OtherAnswersStand()
    {
        // A delegates +3361 back to the root: root → A → root.
        await DelegateAsync(_a, _root, "+3361");
        var c = await DpHost.StartAsync(clock: _clock);
        await DelegateAsync(_root, c, "+3363");
        await c.DisposeAsync();

        var answers = await (await FollowerAsync(_root)).LookupAsync([AliceAtA, "+33631111111", CarolAtB]);

        Assert.StartsWith("referral loop: ", answers[0].Failure, StringComparison.Ordinal);
        Assert.Equal([_root.BaseAddress, _a.BaseAddress], answers[0].Chain);
        Assert.StartsWith($"the delegate {c.BaseAddress} did not answer", answers[1].Failure, StringComparison.Ordinal);
        Assert.Null(answers[2].Failure);
        Assert.Equal("@carol-b", Assert.Single(answers[2].Answer.Mappings).Entries[0].Account);
    }

    [Fact]
    public async Task DelegateThatNeverAnswers_FailsItsCsisAfterTheTimeout_NeverHangs()
    {
        using var silent = new SilentListener();
        var metadata = await _a.Client.GetMetadataAsync();
        var token = Delegation.Sign(_root.LoadLogKey(), new DelegationDraft(_root.BaseAddress, CsipScope.Create(["+3364"], []), silent.Url,
            [_a.LoadAuthority().Certificate], metadata.Transparency!, [], TimeSpan.FromDays(1)), _root.Clock);
        var verified = Delegation.Verify(token, _root.LoadLogKey(), _root.BaseAddress, _root.Clock.GetUtcNow(), TimeSpan.Zero);
        await DelegationTable.AddAsync(_root.Service<IDiscoveryStore>(), verified.Statement!, _clock, default);
        await _root.Service<TransparencyLog>().SealAsync(default);

        var follower = new ReferralFollower(new ProviderEndpoint(_root.BaseAddress, _root.Client, RootVerifier(), await RootCheckAsync())) { Timeout = TimeSpan.FromSeconds(1) };
        // (Only the silent delegate's CSI: other delegates' answers are shown standing in the loop test, with no deadline involved.)
        var answers = await follower.LookupAsync(["+33641111111"]);

        Assert.Equal($"the delegate {silent.Url} did not answer: no answer within 1 s", answers[0].Failure);
        Assert.Equal([_root.BaseAddress], answers[0].Chain);
    }

    private static async Task PublishAsync(DpHost dp, string csi, string account)
    {
        var recipient = await dp.RegisterAsync(csi);
        await dp.Client.PublishAsync(recipient.Sign(1, [new MspEntry("wire") { Account = account, Priority = 10 }]));
    }

    /// <summary>What <c>delegations add</c> does: sign with the root's log key, store, and seal.</summary>
    private static async Task DelegateAsync(DpHost root, DpHost to, params string[] scope)
    {
        var token = SignDelegation(root.LoadLogKey(), root, to, scope);
        var delegation = Delegation.Verify(token, root.LoadLogKey(), root.BaseAddress, root.Clock.GetUtcNow(), TimeSpan.Zero);
        Assert.True(delegation.IsValid, delegation.Reason);
        var (due, problem) = await DelegationTable.AddAsync(root.Service<IDiscoveryStore>(), delegation.Statement, root.Clock, default);
        Assert.Null(problem);
        Assert.Equal(due, await root.Service<TransparencyLog>().SealAsync(default));
    }

    private static string SignDelegation(ECDsa key, DpHost root, DpHost to, params string[] scope)
    {
        var metadata = to.Client.GetMetadataAsync().GetAwaiter().GetResult();
        return Delegation.Sign(key, new DelegationDraft(root.BaseAddress, (CsipScope.TryParse(scope, out var parsed, out var reason) ? parsed! : throw new ArgumentException(reason)), to.BaseAddress,
            [to.LoadAuthority().Certificate], metadata.Transparency!, [X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(to.DataDirectory, "tls.crt")))], TimeSpan.FromDays(30)), root.Clock);
    }

    private StatementVerifier RootVerifier() => new(new TrustAnchors([_root.LoadAuthority().Certificate]), _root.Clock);

    private async Task<TransparencyCheck> RootCheckAsync() =>
        new(TransparencyKeyset.FromWire((await _root.Client.GetMetadataAsync()).Transparency!)!, new TreeHeadMemory(), TimeSpan.FromDays(1), _root.Clock);

    private async Task<ReferralFollower> FollowerAsync(DpHost first) =>
        new(new ProviderEndpoint(first.BaseAddress, first.Client, RootVerifier(), await RootCheckAsync()));

    /// <summary>A client of <paramref name="dp"/> whose lookup answers pass through <paramref name="rewrite"/>: a DP that lies.</summary>
    private static DiscoveryClient Rewriting(DpHost dp, Func<LookupResponse, LookupResponse> rewrite) =>
        new(new HttpClient(new RewritingHandler(rewrite, TlsTrust.CreateHandler(TlsTrust.LoadRoots(Path.Combine(dp.DataDirectory, "tls.crt"))))) { BaseAddress = dp.BaseAddress });

    private sealed class RewritingHandler(Func<LookupResponse, LookupResponse> rewrite, HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            if (request.RequestUri!.AbsolutePath != "/v1/lookup" || !response.IsSuccessStatusCode)
            {
                return response;
            }

            var body = await response.Content.ReadFromJsonAsync(ProtocolJson.Default.LookupResponse, cancellationToken);
            response.Content = JsonContent.Create(rewrite(body!), ProtocolJson.Default.LookupResponse);
            return response;
        }
    }
}

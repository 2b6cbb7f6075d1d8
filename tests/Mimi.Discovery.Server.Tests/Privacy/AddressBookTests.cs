using Mimi.Discovery.Client;
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Server.Relay;
using Mimi.Discovery.Server.Storage;
using Mimi.Discovery.Server.Tests.Consistency;
using Mimi.Discovery.Server.Tests.Relay;
using Mimi.Discovery.Server.Tests.Tokens;
using Mimi.Discovery.Statements;
using Mimi.Discovery.Transparency;
using Mimi.Discovery.Verification;

namespace Mimi.Discovery.Server.Tests.Privacy;

/// <summary>
/// A DP that requires tokens (one per ten CSIs) and holds 1,500 mappings of 5,000 numbers (30 %
/// found, 5 % opted out, the rest unknown), sealed: built once for all address-book tests.
/// </summary>
public sealed class AddressBookDirectory : IAsyncLifetime
{
    public const int Numbers = 5000;

    internal DpHost Dp { get; private set; } = null!;

    public string ApiKey { get; private set; } = null!;

    public static Csi Csi(int i) => CsiParser.ParseOrThrow("+336" + i.ToString("D8", System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>30 % found, 5 % opted out, the rest unknown.</summary>
    public static LookupOutcome Expected(int i) => (i % 20) switch
    {
        < 6 => LookupOutcome.Found,
        6 => LookupOutcome.OptedOut,
        _ => LookupOutcome.None,
    };

    public async ValueTask InitializeAsync()
    {
        Dp = await TokenKit.StartAsync(o => (o.CsisPerToken, o.EpochInterval) = (10, TimeSpan.FromHours(1)));
        ApiKey = await TokenKit.AddAccountAsync(Dp, "wire-users", "wire", 100_000);

        // Mappings signed as their owners would (one key for all: key generation is not what is tested), loaded, sealed.
        var authority = Dp.LoadAuthority();
        using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var rows = Enumerable.Range(0, Numbers).Where(i => Expected(i) != LookupOutcome.None).Select(i =>
        {
            var csi = Csi(i);
            using var credential = authority.IssueCredential(csi, key);
            var signer = new StatementSigner(key, credential, time: Dp.Clock);
            var opted = Expected(i) == LookupOutcome.OptedOut;
            var statement = signer.SignMapping(new MappingDraft(csi, 1, opted ? [] : [new MspEntry("wire") { Account = "@u" + i }]));
            return new StoredMapping
            {
                Csi = csi.Uri, MappingId = signer.MappingIdFor(Audience.Any).ToString(), KeyThumbprint = signer.Credential.KeyThumbprint, Audience = "any",
                Services = opted ? "" : "wire", Version = 1, IssuedAt = Dp.Clock.GetUtcNow().ToUnixTimeSeconds(), ExpiresAt = signer.Credential.NotAfter.ToUnixTimeSeconds(),
                CredentialNotBefore = signer.Credential.NotBefore.ToUnixTimeSeconds(), OptOut = opted, Statement = statement,
            };
        }).ToList();
        await Dp.Service<IDiscoveryStore>().BulkInsertAsync(rows, default);
        while (await DpCluster.SealAsync(Dp) is not null && Dp.Service<Server.Transparency.TransparencyLog>().BacklogLikely)
        {
        }
    }

    public ValueTask DisposeAsync() => Dp.DisposeAsync();
}

/// <summary>
/// Whole address books, resolved privately against <see cref="AddressBookDirectory"/>: directly and
/// through a real relay, every answer verified and proven complete, a re-sync free, a batch refused
/// as too large split and paid for once.
/// </summary>
public sealed class AddressBookTests(AddressBookDirectory directory) : IClassFixture<AddressBookDirectory>
{
    private readonly DpHost _dp = directory.Dp;
    private readonly string _apiKey = directory.ApiKey;

    private static Csi Csi(int i) => AddressBookDirectory.Csi(i);

    private static LookupOutcome Expected(int i) => AddressBookDirectory.Expected(i);

    private sealed record Setup(AddressBookSync Sync, TokenWallet Wallet, DiscoveryClient Client, TransparencyCheck Check, IAsyncDisposable? Relay);

    private Task<Setup> SetupAsync(bool throughRelay, Action<RelayOptions>? relayOptions = null) => SetupAsync(_dp, _apiKey, throughRelay, relayOptions);

    private static async Task<Setup> SetupAsync(DpHost dp, string apiKey, bool throughRelay, Action<RelayOptions>? relayOptions = null)
    {
        var issuer = TokenKit.Tokens(dp, apiKey);
        var wallet = new TokenWallet(issuer, options: new TokenWalletOptions { BatchSize = 64, LowWater = 0 }, time: dp.Clock);
        HttpMessageHandler transport = TlsTrust.CreateHandler(TlsTrust.LoadRoots(Path.Combine(dp.DataDirectory, "tls.crt")));
        RelayHost? relay = null;
        if (throughRelay)
        {
            relay = await RelayHost.StartAsync(new Uri(dp.BaseAddress, "/.well-known/ohttp-gateway"), Path.Combine(dp.DataDirectory, "tls.crt"), relayOptions);
            transport = new ObliviousHttpHandler(relay.BaseAddress, await ObliviousHttpHandler.FetchKeyAsync(dp.Http), new RelayTransport(relay.Client()));
        }

        var client = new DiscoveryClient(new HttpClient(new PrivateTokenHandler(wallet, transport)) { BaseAddress = dp.BaseAddress, Timeout = TimeSpan.FromMinutes(2) });
        var metadata = await dp.Client.GetMetadataAsync();
        var check = new TransparencyCheck(TransparencyKeyset.FromWire(metadata.Transparency!)!, new TreeHeadMemory(), TimeSpan.FromDays(1), dp.Clock);
        var verifier = new StatementVerifier(new TrustAnchors([dp.LoadAuthority().Certificate]), dp.Clock);
        return new Setup(new AddressBookSync(client, verifier, check, new LookupCache(time: dp.Clock), wallet), wallet, client, check, relay);
    }

    /// <summary>Every contact's answer is what was published, verified and proven complete.</summary>
    private static void AssertAllVerified(AddressBookResult result, List<int> numbers)
    {
        Assert.Equal(numbers.Count, result.Entries.Count);
        Assert.Equal(0, result.Unverified);
        Assert.All(result.Entries.Zip(numbers), x =>
        {
            Assert.Equal(Expected(x.Second), x.First.Answer.Outcome);
            Assert.True(x.First.Answer.Proof is { IsComplete: true }, x.First.Answer.Proof?.Reason);
        });
    }

    [Theory]
    [InlineData(100, false)]
    [InlineData(100, true)]
    [InlineData(1000, false)]
    [InlineData(1000, true)]
    [InlineData(5000, false)]
    [InlineData(5000, true)]
    public async Task Sync_AddressBook_EveryAnswerVerifiedAndComplete_AReSyncSpendsNothing(int contacts, bool throughRelay)
    {
        var setup = await SetupAsync(throughRelay);
        await using var relay = setup.Relay;
        var numbers = Enumerable.Range(0, contacts).Select(i => i * (AddressBookDirectory.Numbers / contacts)).ToList();
        var progress = new List<SyncProgress>();

        var first = await setup.Sync.SyncAsync(numbers.Select(i => Csi(i).Uri), "wire", new SynchronousProgress(progress.Add));

        AssertAllVerified(first, numbers);
        Assert.Equal(contacts, first.Looked);
        Assert.Equal((contacts + 999) / 1000, first.Requests);
        Assert.Equal(contacts, progress[^1].Done);
        var spent = setup.Wallet.Obtained.Tokens - setup.Wallet.Available;
        Assert.Equal(contacts / 10, spent);
        Assert.Equal(0, setup.Wallet.Obtained.Tokens % 64); // whole batches only, never the number a lookup needs

        var again = await setup.Sync.SyncAsync(numbers.Select(i => Csi(i).Uri), "wire");

        AssertAllVerified(again, numbers);
        Assert.Equal((0, 0, contacts), (again.Requests, again.Looked, again.FromCache));
        Assert.Equal(spent, setup.Wallet.Obtained.Tokens - setup.Wallet.Available);
    }

    [Fact]
    public async Task Sync_MixedForms_RepeatsAndInvalid_AskedOnce_InvalidOnesSaySo()
    {
        var setup = await SetupAsync(throughRelay: false);
        string[] contacts = ["+33 6 00 00 00 00", "tel:+33600000000", "0600000001", "not a number", "+33600000020"];

        var result = await setup.Sync.SyncAsync(contacts, "wire");

        Assert.Equal(contacts, result.Entries.Select(e => e.Contact));
        Assert.Equal([LookupOutcome.Found, LookupOutcome.Found, LookupOutcome.Invalid, LookupOutcome.Invalid, LookupOutcome.Found], result.Entries.Select(e => e.Answer.Outcome));
        Assert.Equal(2, result.Looked);
        Assert.NotNull(result.Entries[3].Answer.Reason);
    }

    [Fact]
    public async Task Sync_BatchTheRelayRefusesAsTooLarge_IsSplit_AndTheRefusedTokensAreSpentLater_NotLost()
    {
        // A relay that takes 48 KiB: a 1,000-CSI batch with its 100 tokens is larger, its halves are not.
        var setup = await SetupAsync(throughRelay: true, o => o.MaxRequestBytes = 48 << 10);
        await using var relay = setup.Relay;
        var numbers = Enumerable.Range(0, 1000).ToList();

        var result = await setup.Sync.SyncAsync(numbers.Select(i => Csi(i).Uri), "wire");

        AssertAllVerified(result, numbers);
        Assert.Equal(8, result.Requests); // 1,000, 500s and 250s refused (padded to 128, 64, 64 KiB), then eight 125s (16 KiB) answered
        Assert.Equal(100, setup.Wallet.Obtained.Tokens - setup.Wallet.Available); // cut at whole tokens: no more than one batch would cost
    }

    [Fact]
    public async Task Sync_BatchTheDpRefusesAsTooLarge_IsSplit_AndPaidForOnce()
    {
        // A DP that takes 20 KiB request bodies: a 1,000-CSI batch with its 100 tokens is far larger.
        await using var dp = await TokenKit.StartAsync(o => (o.CsisPerToken, o.MaxRequestBytes) = (10, 20 << 10));
        var setup = await SetupAsync(dp, await TokenKit.AddAccountAsync(dp, "wire-users", "wire", 1000), throughRelay: false);
        var numbers = Enumerable.Range(0, 1000).ToList();

        var result = await setup.Sync.SyncAsync(numbers.Select(i => Csi(i).Uri), "wire");

        Assert.Equal(1000, result.Count(LookupOutcome.None)); // this DP holds no mappings
        Assert.Equal(0, result.Unverified);
        Assert.Equal(4, result.Requests); // 1,000 refused, then 500s refused, then four 250s answered
        Assert.Equal(100, setup.Wallet.Obtained.Tokens - setup.Wallet.Available); // cut at whole tokens: no more than one batch would cost
    }

    [Fact]
    public async Task Cache_KeptInAFile_AnswersTheNextSync_AndDropsWhatNoLongerVerifiesOrHasExpired()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("mimi-cache-").FullName, "lookups.json");
        var verifier = new StatementVerifier(new TrustAnchors([_dp.LoadAuthority().Certificate]), _dp.Clock);
        var clientClock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(_dp.Clock.GetUtcNow());
        var setup = await SetupAsync(throughRelay: false);
        var numbers = Enumerable.Range(0, 100).ToList();
        var kept = new LookupCache(path, verifier, clientClock);
        var sync = new AddressBookSync(setup.Client, verifier, setup.Check, kept, setup.Wallet);

        // The sync saves the cache's file itself.
        await sync.SyncAsync(numbers.Select(i => Csi(i).Uri), "wire");
        Assert.True(OperatingSystem.IsWindows() || File.GetUnixFileMode(path) == (UnixFileMode.UserRead | UnixFileMode.UserWrite));

        var reopened = new LookupCache(path, verifier, clientClock);
        Assert.Equal(100, reopened.Count);
        var dp = setup.Client.Http.BaseAddress!;
        Assert.True(reopened.TryGet(dp, Csi(2).Uri, "wire", out _));
        Assert.False(reopened.TryGet(new Uri("https://other-dp.example/"), Csi(2).Uri, "wire", out _)); // another DP's answer is its own
        var again = await new AddressBookSync(setup.Client, verifier, setup.Check, reopened, setup.Wallet).SyncAsync(numbers.Select(i => Csi(i).Uri), "wire");
        AssertAllVerified(again, numbers);
        Assert.Equal((0, 100), (again.Requests, again.FromCache));

        // Two entries whose statements were swapped in the file: each now names another CSI, and is dropped.
        var file = System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(path, TestContext.Current.CancellationToken))!.AsArray();
        var (a, b) = (file.First(e => e!["csi"]!.GetValue<string>() == Csi(0).Uri)!, file.First(e => e!["csi"]!.GetValue<string>() == Csi(1).Uri)!);
        (a["statements"], b["statements"]) = (b["statements"]!.DeepClone(), a["statements"]!.DeepClone());
        await File.WriteAllTextAsync(path, file.ToJsonString(), TestContext.Current.CancellationToken);

        var tampered = new LookupCache(path, verifier, clientClock);
        Assert.Equal(98, tampered.Count);
        Assert.False(tampered.TryGet(dp, Csi(0).Uri, "wire", out _));

        // Past the DP's max-age (one day), nothing is kept.
        clientClock.Advance(TimeSpan.FromDays(1) + TimeSpan.FromSeconds(1));
        Assert.Equal(0, new LookupCache(path, verifier, clientClock).Count);
    }

    [Fact]
    public async Task Sync_TokensRunOutMidway_AnsweredBatchesKeptAndCached_TheRestReportedUnanswered()
    {
        // 40 tokens pay for four batches of 100 CSIs; the book has ten.
        var small = await TokenKit.AddAccountAsync(_dp, "small-book", "wire", 40);
        var wallet = new TokenWallet(TokenKit.Tokens(_dp, small), options: new TokenWalletOptions { BatchSize = 16, LowWater = 0 }, time: _dp.Clock);
        var client = new DiscoveryClient(new HttpClient(new PrivateTokenHandler(wallet, TlsTrust.CreateHandler(TlsTrust.LoadRoots(Path.Combine(_dp.DataDirectory, "tls.crt"))))) { BaseAddress = _dp.BaseAddress });
        var verifier = new StatementVerifier(new TrustAnchors([_dp.LoadAuthority().Certificate]), _dp.Clock);
        var path = Path.Combine(_dp.DataDirectory, "partial-lookups.json");
        var sync = new AddressBookSync(client, verifier, cache: new LookupCache(path, verifier, _dp.Clock), tokens: wallet, options: new AddressBookOptions { MaxBatch = 100 });
        var numbers = Enumerable.Range(0, 1000).ToList();

        var result = await sync.SyncAsync(numbers.Select(i => Csi(i).Uri), "wire");

        Assert.Equal(400, result.Entries.Count);
        Assert.Equal(600, result.Unanswered.Count);
        Assert.Equal(1000, result.Entries.Select(e => e.Contact).Concat(result.Unanswered).Distinct().Count());
        Assert.All(result.Failures, f => Assert.Equal("quota-exhausted", f.Error.Code));
        Assert.All(result.Entries, e => Assert.Equal(Expected(numbers[int.Parse(e.Contact[^8..], System.Globalization.CultureInfo.InvariantCulture)]), e.Answer.Outcome));
        Assert.Equal(400, new LookupCache(path, verifier, _dp.Clock).Count); // what was paid for is kept
    }

    [Fact]
    public async Task Audit_DirectoryLoadedAndSealedAtOnce_EveryEpochInKeyOrder_NoViolation()
    {
        // 1,500 mappings bulk-loaded, then sealed in large epochs: each epoch's changes must come in key order.
        var keys = TransparencyKeyset.FromWire((await _dp.Client.GetMetadataAsync(TestContext.Current.CancellationToken)).Transparency!)!;

        var report = await LogAuditor.AuditAsync(_dp.Client, keys, new AuditState(), TestContext.Current.CancellationToken);

        Assert.Empty(report.Violations);
        Assert.True(report.ToSize >= 1);
    }

    /// <summary>Reports on the calling thread, so a test sees every report before the sync returns.</summary>
    private sealed class SynchronousProgress(Action<SyncProgress> report) : IProgress<SyncProgress>
    {
        private readonly Lock _lock = new();

        public void Report(SyncProgress value)
        {
            lock (_lock)
            {
                report(value);
            }
        }
    }
}

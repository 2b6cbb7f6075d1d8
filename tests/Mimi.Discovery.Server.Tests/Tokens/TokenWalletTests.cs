using System.Net.Http.Json;
using Mimi.Discovery.Client;
using Mimi.Discovery.Privacy.Tokens;
using Mimi.Discovery.Protocol;

namespace Mimi.Discovery.Server.Tests.Tokens;

/// <summary>
/// The client's token stock against a real DP: whole batches only, kept 0600 across restarts,
/// expired tokens dropped, refused tokens given back, refills ahead of need; and how the
/// <see cref="PrivateTokenHandler"/> treats the tokens of a refused or failed lookup.
/// </summary>
public sealed class TokenWalletTests : IAsyncLifetime
{
    private DpHost _dp = null!;
    private string _apiKey = null!;

    public async ValueTask InitializeAsync()
    {
        _dp = await TokenKit.StartAsync();
        _apiKey = await TokenKit.AddAccountAsync(_dp, "wire-users", "wire", 1000);
    }

    public ValueTask DisposeAsync() => _dp.DisposeAsync();

    private TokenWallet Open(string? path = null, int batch = 16, int lowWater = 0, TimeProvider? clock = null) =>
        new(TokenKit.Tokens(_dp, _apiKey), path, new TokenWalletOptions
        {
            BatchSize = batch,
            LowWater = lowWater,
            MinRefillDelay = TimeSpan.Zero,
            MaxRefillDelay = TimeSpan.Zero,
        }, clock ?? _dp.Clock);

    private async Task<long> IssuedAsync()
    {
        return (await TokenKit.Tokens(_dp, _apiKey).GetBalanceAsync(TestContext.Current.CancellationToken)).Used;
    }

    [Fact]
    public async Task Take_ObtainsWholeBatchesOnly_NeverTheNumberALookupNeeds()
    {
        using var wallet = Open(batch: 16);

        Assert.Equal(3, (await wallet.TakeAsync(3, TestContext.Current.CancellationToken)).Count);
        Assert.Equal(((16, 1), 13), (wallet.Obtained, wallet.Available));

        Assert.Equal(40, (await wallet.TakeAsync(40, TestContext.Current.CancellationToken)).Count);
        Assert.Equal(((48, 3), 5), (wallet.Obtained, wallet.Available)); // 27 short: two more batches
        Assert.Equal(48, await IssuedAsync());
    }

    [Fact]
    public async Task Stock_IsKeptInA0600File_AndSurvivesARestart_SpentTokensDoNot()
    {
        var path = Path.Combine(_dp.DataDirectory, "wallet.json");
        IReadOnlyList<Token> spent;
        using (var wallet = Open(path))
        {
            spent = await wallet.TakeAsync(2, TestContext.Current.CancellationToken);
        }

        Assert.True(OperatingSystem.IsWindows() || File.GetUnixFileMode(path) == (UnixFileMode.UserRead | UnixFileMode.UserWrite));
        using var reopened = Open(path);
        Assert.Equal(14, reopened.Available);
        var rest = await reopened.TakeAsync(14, TestContext.Current.CancellationToken);
        Assert.Equal((0, 0), reopened.Obtained); // nothing obtained by the reopened wallet…
        Assert.Empty(rest.Select(t => t.Encode()).Intersect(spent.Select(t => t.Encode()), ByteArrayComparer.Instance)); // …and nothing handed out twice
    }

    [Fact]
    public async Task DamagedFile_OpensEmpty_AndIsRewritten()
    {
        var path = Path.Combine(_dp.DataDirectory, "wallet.json");
        await File.WriteAllTextAsync(path, "{ not json", TestContext.Current.CancellationToken);

        using var wallet = Open(path);
        Assert.Equal(0, wallet.Available);
        await wallet.TakeAsync(1, TestContext.Current.CancellationToken);

        using var reopened = Open(path);
        Assert.Equal(15, reopened.Available);
    }

    [Fact]
    public async Task ExpiredTokens_AreDropped_NotSent()
    {
        var clientClock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(_dp.Clock.GetUtcNow());
        using var wallet = Open(clock: clientClock);
        await wallet.RefillAsync(1, TestContext.Current.CancellationToken);
        Assert.Equal(16, wallet.Available);

        // Past the key's redemption horizon (its epoch plus grace), every stocked token is worthless.
        clientClock.Advance(TimeSpan.FromDays(400));

        Assert.Equal(0, wallet.Available);
    }

    [Fact]
    public async Task GiveBack_ReturnsTokensItHandedOut_ToBeSpentNext_NotForeignOnes()
    {
        using var wallet = Open();
        var taken = await wallet.TakeAsync(4, TestContext.Current.CancellationToken);

        wallet.GiveBack([.. taken, TokenKit.ForeignToken(TokenKit.Challenge())]);

        Assert.Equal(16, wallet.Available);
        var next = await wallet.TakeAsync(4, TestContext.Current.CancellationToken);
        Assert.Equal(taken.Select(t => t.Encode()), next.Select(t => t.Encode()));
    }

    [Fact]
    public async Task BelowLowWater_ARefillOfWholeBatchesIsScheduled_BeforeALookupNeedsIt()
    {
        using var wallet = Open(batch: 16, lowWater: 10);
        await wallet.TakeAsync(7, TestContext.Current.CancellationToken); // one batch obtained on demand, 9 left: below 10

        await wallet.WhenRefilledAsync();

        Assert.Equal(((32, 2), 25), (wallet.Obtained, wallet.Available));
    }

    [Fact]
    public async Task QuotaExhausted_DuringATake_SaysSo_AndKeepsWhatWasObtained()
    {
        var small = await TokenKit.AddAccountAsync(_dp, "small", "wire", 20);
        using var wallet = new TokenWallet(TokenKit.Tokens(_dp, small), options: new TokenWalletOptions { BatchSize = 16, LowWater = 0 }, time: _dp.Clock);

        var refused = await Assert.ThrowsAsync<DiscoveryException>(() => wallet.TakeAsync(30, TestContext.Current.CancellationToken));

        Assert.Contains("quota", refused.Message, StringComparison.OrdinalIgnoreCase);
        Assert.True(wallet.Available >= 16, $"{wallet.Available} in stock");
    }

    [Fact]
    public async Task RefusedLookup_4xx_TokensGoBackToTheWallet()
    {
        using var wallet = Open(batch: 16);
        using var http = new HttpClient(new PrivateTokenHandler(wallet, TlsTrust.CreateHandler(TlsTrust.LoadRoots(Path.Combine(_dp.DataDirectory, "tls.crt"))))) { BaseAddress = _dp.BaseAddress };

        // The account's tokens are for "wire"; a lookup made for "signal" is refused before anything is redeemed.
        using var response = await http.PostAsJsonAsync("v1/lookup", new LookupRequest(["+33612345678"], "signal"), ProtocolJson.Default.LookupRequest, TestContext.Current.CancellationToken);

        await ProblemAssert.IsProblemAsync(response, 403, "token-service-mismatch");
        Assert.Equal((16, 16), (wallet.Available, (int)await IssuedAsync()));
    }

    [Fact]
    public async Task TokenSpent_OnlyThoseTokensAreDropped_FreshOnesSent_TheStockKept()
    {
        using var wallet = Open(batch: 16);
        var copied = await wallet.TakeAsync(1, TestContext.Current.CancellationToken);
        using (var spent = await TokenKit.LookupAsync(_dp, ["+33612345678"], [], bodyTokens: copied))
        {
            Assert.True(spent.IsSuccessStatusCode);
        }

        wallet.GiveBack(copied); // as a copied wallet file would hold it: spent elsewhere, first in line here
        using var http = new HttpClient(new PrivateTokenHandler(wallet, TlsTrust.CreateHandler(TlsTrust.LoadRoots(Path.Combine(_dp.DataDirectory, "tls.crt"))))) { BaseAddress = _dp.BaseAddress };

        using var response = await http.PostAsJsonAsync("v1/lookup", new LookupRequest(["+33612345678"]), ProtocolJson.Default.LookupRequest, TestContext.Current.CancellationToken);

        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}");
        Assert.Equal(((16, 1), 14), (wallet.Obtained, wallet.Available)); // the spent one dropped, one more spent, nothing refilled
    }

    [Fact]
    public async Task RelayCannotReachTheGateway_502_TokensAreDropped_NeverSentTwice()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        await using var relay = await Relay.RelayHost.StartAsync(new Uri($"https://127.0.0.1:{port}/.well-known/ohttp-gateway"), Path.Combine(_dp.DataDirectory, "tls.crt"));
        using var wallet = Open(batch: 16);
        var oblivious = new ObliviousHttpHandler(relay.BaseAddress, await ObliviousHttpHandler.FetchKeyAsync(_dp.Http, TestContext.Current.CancellationToken), new Relay.RelayTransport(relay.Client()));
        using var http = new HttpClient(new PrivateTokenHandler(wallet, oblivious)) { BaseAddress = _dp.BaseAddress };

        using var response = await http.PostAsJsonAsync("v1/lookup", new LookupRequest(["+33612345678"]), ProtocolJson.Default.LookupRequest, TestContext.Current.CancellationToken);

        await ProblemAssert.IsProblemAsync(response, 502, "gateway-unavailable");
        Assert.Equal(15, wallet.Available); // whether the DP redeemed it is unknown: not given back
    }

    private sealed class ByteArrayComparer : IEqualityComparer<byte[]>
    {
        public static readonly ByteArrayComparer Instance = new();

        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[] obj) => obj.Length == 0 ? 0 : obj[0] | (obj[^1] << 8);
    }
}

using Mimi.Discovery.Client;
using Mimi.Discovery.Privacy.Tokens;

namespace Mimi.Discovery.Server.Tests.Tokens;

/// <summary>
/// The client's token stock against a real DP: whole batches only, kept 0600 across restarts,
/// expired tokens dropped, refused tokens given back, refills ahead of need.
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

    private sealed class ByteArrayComparer : IEqualityComparer<byte[]>
    {
        public static readonly ByteArrayComparer Instance = new();

        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[] obj) => obj.Length == 0 ? 0 : obj[0] | (obj[^1] << 8);
    }
}

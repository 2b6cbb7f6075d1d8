using System.Text.Json;
using System.Text.Json.Serialization;
using Mimi.Discovery.Crypto;
using Mimi.Discovery.Privacy;
using Mimi.Discovery.Privacy.Tokens;
using Base64Url = System.Buffers.Text.Base64Url;

namespace Mimi.Discovery.Client;

/// <summary>How a <see cref="TokenWallet"/> keeps its stock.</summary>
public sealed record TokenWalletOptions
{
    /// <summary>Tokens per issuance request, always this many: the issuer never sees how many a lookup is about to spend.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Below this many tokens a refill is scheduled, at a random delay (<see cref="MinRefillDelay"/>–<see cref="MaxRefillDelay"/>).</summary>
    public int LowWater { get; init; } = 32;

    /// <summary>The shortest wait before a scheduled refill.</summary>
    public TimeSpan MinRefillDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The longest wait before a scheduled refill.</summary>
    public TimeSpan MaxRefillDelay { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Tokens that stop redeeming within this margin are dropped rather than sent.</summary>
    public TimeSpan ExpiryMargin { get; init; } = TimeSpan.FromMinutes(1);
}

/// <summary>
/// A stock of Privacy Pass tokens for one DP account, spent across lookups (docs/privacy.md, "Token
/// issuance and lookups"). Tokens are obtained only in whole batches of
/// <see cref="TokenWalletOptions.BatchSize"/>, ahead of need: when the stock falls below
/// <see cref="TokenWalletOptions.LowWater"/> a refill is scheduled at a random delay, so neither the
/// size nor the time of an issuance tells the issuer which lookup follows. Only a lookup that finds the
/// stock short waits for a refill (still of whole batches). Expired tokens are dropped. With a path,
/// the stock is kept in a mode-0600 file (tokens are bearer values) and survives restarts.
/// </summary>
public sealed class TokenWallet : ITokenSource, IDisposable
{
    private readonly TokenClient issuer;
    private readonly TokenWalletOptions options;
    private readonly string? path;
    private readonly TimeProvider time;
    private readonly SemaphoreSlim refilling = new(1, 1);
    private readonly Lock stockLock = new();
    private readonly CancellationTokenSource stopping = new();
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<Token, StockedToken> handedOut = [];
    private List<StockedToken> stock;
    private AccountKind? account;
    private Task? scheduled;

    /// <summary>Opens a wallet that obtains tokens with <paramref name="issuer"/>.</summary>
    /// <param name="issuer">The account's issuance client.</param>
    /// <param name="path">A file to keep the stock in (created 0600), or null for memory only.</param>
    /// <param name="options">Batch size and refill policy; defaults when null.</param>
    /// <param name="time">The clock for expiry and refill delays; the system clock when null.</param>
    /// <exception cref="ArgumentException">A batch size below 1, a negative low-water mark, or delays out of order.</exception>
    public TokenWallet(TokenClient issuer, string? path = null, TokenWalletOptions? options = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(issuer);
        this.options = options ?? new TokenWalletOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(this.options.BatchSize, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegative(this.options.LowWater, nameof(options));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(this.options.MinRefillDelay, this.options.MaxRefillDelay, nameof(options));
        this.issuer = issuer;
        this.path = path;
        this.time = time ?? TimeProvider.System;
        (stock, account) = Load(path);
    }

    /// <summary>Unexpired tokens in stock.</summary>
    public int Available
    {
        get
        {
            lock (stockLock)
            {
                return Fresh().Count;
            }
        }
    }

    /// <summary>Tokens obtained from the issuer since the wallet opened, and in how many requests.</summary>
    public (int Tokens, int Requests) Obtained { get; private set; }

    /// <summary>
    /// The sponsoring service of the wallet's account (null: a person's account), which lookups paid
    /// with its tokens are made on behalf of. Kept with the stock, so it is learnt once, at an issuance
    /// (the first refill, when unknown), never by asking the DP about the account next to a lookup.
    /// </summary>
    /// <exception cref="DiscoveryException">Unknown yet, and the refill that learns it failed.</exception>
    public async Task<string?> ServiceAsync(CancellationToken cancellationToken = default)
    {
        if (account is null)
        {
            await RefillAsync(1, cancellationToken).ConfigureAwait(false);
        }

        return account!.Service;
    }

    /// <inheritdoc/>
    public Task<int> CsisPerTokenAsync(CancellationToken cancellationToken = default) => issuer.CsisPerTokenAsync(cancellationToken);

    /// <inheritdoc/>
    public async Task<IReadOnlyList<Token>> TakeAsync(int count, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        while (true)
        {
            int shortfall;
            lock (stockLock)
            {
                var fresh = Fresh();
                if (fresh.Count >= count)
                {
                    var taken = fresh.Take(count).ToList();
                    stock = fresh.Skip(count).ToList();
                    Save();
                    foreach (var t in taken)
                    {
                        handedOut.AddOrUpdate(t.Token, t);
                    }

                    if (stock.Count < options.LowWater)
                    {
                        ScheduleRefill();
                    }

                    return taken.Select(t => t.Token).ToList();
                }

                shortfall = count - fresh.Count;
            }

            // Short: wait for whole batches now (this fetch can be timed against the lookup; a wallet
            // kept above its low-water mark avoids it).
            await RefillAsync((shortfall + options.BatchSize - 1) / options.BatchSize, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Obtains <paramref name="batches"/> whole batches now.</summary>
    /// <exception cref="DiscoveryException">The issuer refused (e.g. <c>quota-exhausted</c>); batches obtained before stay in stock.</exception>
    public async Task RefillAsync(int batches = 1, CancellationToken cancellationToken = default)
    {
        await refilling.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            for (var i = 0; i < batches; i++)
            {
                var issued = await issuer.IssueAsync(options.BatchSize, cancellationToken).ConfigureAwait(false);
                lock (stockLock)
                {
                    stock.AddRange(issued.Tokens.Select(t => new StockedToken(t, issued.RedeemableUntil)));
                    account = new AccountKind(issued.Service);
                    Obtained = (Obtained.Tokens + issued.Tokens.Count, Obtained.Requests + 1);
                    Save();
                }
            }
        }
        finally
        {
            refilling.Release();
        }
    }

    /// <inheritdoc/>
    public void GiveBack(IReadOnlyList<Token> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        lock (stockLock)
        {
            // Put back first, to be spent next; a token this wallet did not hand out is not taken back.
            stock.InsertRange(0, tokens.Select(t => handedOut.TryGetValue(t, out var stocked) ? stocked : null).OfType<StockedToken>());
            Save();
        }
    }

    /// <inheritdoc/>
    public void Reset(PrivateTokenChallenge? dpChallenge = null)
    {
        issuer.Reset(dpChallenge);
        lock (stockLock)
        {
            stock.Clear();
            Save();
        }
    }

    /// <summary>Waits for a scheduled refill, if one is pending (tests and orderly shutdowns).</summary>
    public Task WhenRefilledAsync() => scheduled ?? Task.CompletedTask;

    /// <inheritdoc/>
    public void Dispose()
    {
        stopping.Cancel();
        stopping.Dispose();
        refilling.Dispose();
    }

    private List<StockedToken> Fresh()
    {
        var cutoff = time.GetUtcNow() + options.ExpiryMargin;
        stock.RemoveAll(t => t.RedeemableUntil <= cutoff);
        return stock;
    }

    private void ScheduleRefill()
    {
        if (scheduled is { IsCompleted: false })
        {
            return;
        }

        var spread = (options.MaxRefillDelay - options.MinRefillDelay).Ticks;
        var delay = options.MinRefillDelay + TimeSpan.FromTicks(spread <= 0 ? 0 : System.Security.Cryptography.RandomNumberGenerator.GetInt32(int.MaxValue) % spread);
        scheduled = Task.Run(async () =>
        {
            try
            {
                await Task.Delay(delay, time, stopping.Token).ConfigureAwait(false);
                var missing = Math.Max(1, (options.LowWater - Available + options.BatchSize - 1) / options.BatchSize);
                await RefillAsync(missing, stopping.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or DiscoveryException)
            {
                // A refill that fails (quota spent, DP away) is tried again at the next low-water take.
            }
        });
    }

    private void Save()
    {
        if (path is null)
        {
            return;
        }

        var file = new WalletFile(stock.Select(t => new WalletEntry(Base64Url.EncodeToString(t.Token.Encode()), t.RedeemableUntil.ToUnixTimeSeconds())).ToList(), account);
        PrivateFile.Write(path, JsonSerializer.Serialize(file, WalletJson.Default.WalletFile));
    }

    private static (List<StockedToken> Stock, AccountKind? Account) Load(string? path)
    {
        if (path is null || !File.Exists(path))
        {
            return ([], null);
        }

        try
        {
            var file = JsonSerializer.Deserialize(File.ReadAllText(path), WalletJson.Default.WalletFile);
            return ((file?.Tokens ?? []).Select(e => new StockedToken(Token.Decode(Base64Url.DecodeFromChars(e.Token)), DateTimeOffset.FromUnixTimeSeconds(e.RedeemableUntil))).ToList(), file?.Account);
        }
        catch (Exception e) when (e is JsonException or FormatException or ProtocolException<PrivacyPassError>)
        {
            // A damaged wallet file holds nothing usable; it is rewritten on the next change.
            return ([], null);
        }
    }

    private sealed record StockedToken(Token Token, DateTimeOffset RedeemableUntil);
}

/// <summary>The wallet file: unspent tokens (base64url) and when each stops redeeming (Unix seconds), and the account's kind once learnt.</summary>
internal sealed record WalletFile(IReadOnlyList<WalletEntry> Tokens, AccountKind? Account = null);

/// <summary>What the account is: its sponsoring service, or null for a person's account.</summary>
internal sealed record AccountKind(string? Service);

/// <summary>One stocked token.</summary>
internal sealed record WalletEntry(string Token, long RedeemableUntil);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(WalletFile))]
internal sealed partial class WalletJson : JsonSerializerContext;

using System.Net.Http.Headers;
using System.Security.Cryptography;
using Mimi.Discovery.Client;
using Mimi.Discovery.Privacy.Tokens;
using Mimi.Discovery.Server.Storage;
using Mimi.Discovery.Server.Tokens;

namespace Mimi.Discovery.Server.Tests.Tokens;

/// <summary>Helpers for the token tests: accounts made as the CLI makes them, raw issuance and raw redemption.</summary>
internal static class TokenKit
{
    /// <summary>A DP that requires tokens, priced at one token a CSI (so the per-token rules are tested one by one) unless <paramref name="configure"/> says otherwise.</summary>
    public static Task<DpHost> StartAsync(Action<Hosting.DiscoveryOptions>? configure = null, string? database = null) =>
        DpHost.StartAsync(o =>
        {
            o.RequireTokens = true;
            o.CsisPerToken = 1;
            configure?.Invoke(o);
        }, database);

    /// <summary>Creates an account directly in the DP's database (what <c>accounts add</c> does) and returns its API key.</summary>
    public static async Task<string> AddAccountAsync(DpHost dp, string name, string? service, long quota, TimeSpan? window = null, string? database = null)
    {
        var store = StoreFactory.Create(database, dp.DataDirectory);
        try
        {
            var (key, hash) = ApiKeys.Create();
            Assert.True(await store.CreateAccountAsync(new TokenAccount
            {
                Name = name,
                KeyHash = hash,
                Service = service,
                Quota = quota,
                WindowSeconds = (long)(window ?? TimeSpan.FromHours(1)).TotalSeconds,
                CreatedAt = dp.Time.GetUtcNow().ToUnixTimeSeconds(),
            }, default));
            return key;
        }
        finally
        {
            (store as IDisposable)?.Dispose();
        }
    }

    public static TokenClient Tokens(DpHost dp, string apiKey) => new(dp.Http, apiKey, dp.Time);

    /// <summary>Exactly <paramref name="count"/> tokens, in as many issuance requests as the DP's batch limit needs (tests want exact numbers; apps use a <see cref="TokenWallet"/>).</summary>
    public static async Task<IReadOnlyList<Token>> IssueExactlyAsync(this TokenClient issuer, int count)
    {
        var tokens = new List<Token>();
        while (tokens.Count < count)
        {
            tokens.AddRange((await issuer.IssueAsync(count - tokens.Count)).Tokens);
        }

        return tokens;
    }

    /// <summary>A wallet that obtains exactly what each lookup needs, one token a batch: the handler's arithmetic is then visible in the account's use.</summary>
    public static TokenWallet ExactWallet(DpHost dp, string apiKey) =>
        new(Tokens(dp, apiKey), options: new TokenWalletOptions { BatchSize = 1, LowWater = 0 }, time: dp.Time);

    public static byte[] Challenge(string issuer = "127.0.0.1") => new TokenChallenge(PrivateTokenTypes.BlindRsa2048, issuer, [], [issuer]).Encode();

    /// <summary>A lookup carrying the given Authorization values, one header line each, and <paramref name="bodyTokens"/> in its body when given.</summary>
    public static Task<HttpResponseMessage> LookupAsync(DpHost dp, IEnumerable<string> csis, IEnumerable<string> authorization, string? service = null, IEnumerable<Token>? bodyTokens = null)
    {
        var tokens = bodyTokens?.Select(t => System.Buffers.Text.Base64Url.EncodeToString(t.Encode())).ToList();
        var json = System.Text.Json.JsonSerializer.Serialize(new Protocol.LookupRequest([.. csis], service, null, tokens), Protocol.ProtocolJson.Default.LookupRequest);
        var request = new HttpRequestMessage(HttpMethod.Post, "v1/lookup") { Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json") };
        foreach (var value in authorization)
        {
            request.Headers.TryAddWithoutValidation("Authorization", value);
        }

        return dp.Http.SendAsync(request);
    }

    public static IEnumerable<string> Redeem(IEnumerable<Token> tokens) => tokens.Select(PrivateTokenHeaders.FormatAuthorization);

    /// <summary>POSTs raw bytes to the issuance endpoint.</summary>
    public static Task<HttpResponseMessage> IssueRawAsync(DpHost dp, string? apiKey, byte[] body, string contentType = PrivacyPassMediaTypes.TokenRequest)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "v1/tokens") { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType);

        // The body follows the DP's "100 Continue" only: one it refuses by its length is then never
        // written into a connection the DP has closed (a race against the 413 on a loaded machine).
        request.Headers.ExpectContinue = true;
        if (apiKey is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }

        return dp.Http.SendAsync(request);
    }

    /// <summary>A token for this DP's challenge signed by an issuer key the DP has never had.</summary>
    public static Token ForeignToken(byte[] challenge)
    {
        using var rsa = RSA.Create(2048);
        var issuer = new TokenIssuer(BlindRsaPrivateKey.FromRsa(rsa));
        var pending = PendingTokenRequest.Create(challenge, issuer.PublicKey);
        return pending.Finalize(issuer.Issue(pending.Request));
    }
}

using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Mimi.Discovery.Client;
using Mimi.Discovery.Privacy.Tokens;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Statements;

namespace Mimi.Discovery.Server.Tests.Tokens;

/// <summary>The DP's Privacy Pass issuer and the token gate on lookups, end to end against a real DP.</summary>
public sealed class TokenApiTests : IAsyncLifetime
{
    private DpHost _dp = null!;

    public async ValueTask InitializeAsync() => _dp = await TokenKit.StartAsync();

    public ValueTask DisposeAsync() => _dp.DisposeAsync();

    [Fact]
    public async Task Issue_RoundTrip_LookupAdmittedAndAudienceFilteredByTheTokensService()
    {
        var bob = await _dp.RegisterAsync("+33612345678");
        await _dp.Client.PublishAsync(bob.Sign(1, [new MspEntry("signal")], Audience.Only(["threema"])));
        var threema = TokenKit.Tokens(_dp, await TokenKit.AddAccountAsync(_dp, "threema", "threema", 10));
        var wire = TokenKit.Tokens(_dp, await TokenKit.AddAccountAsync(_dp, "wire", "wire", 10));

        var asThreema = await TokenKit.LookupAsync(_dp, ["+33612345678"], TokenKit.Redeem(await threema.IssueExactlyAsync(1)));
        var asWire = await TokenKit.LookupAsync(_dp, ["+33612345678"], TokenKit.Redeem(await wire.IssueExactlyAsync(1)));

        Assert.Equal(HttpStatusCode.OK, asThreema.StatusCode);
        Assert.Single((await asThreema.Content.ReadFromJsonAsync(ProtocolJson.Default.LookupResponse))!.Results[0].Statements);
        Assert.Equal(HttpStatusCode.OK, asWire.StatusCode);
        Assert.Empty((await asWire.Content.ReadFromJsonAsync(ProtocolJson.Default.LookupResponse))!.Results[0].Statements);
    }

    [Fact]
    public async Task Lookup_WithoutToken_Is401TokenRequiredWithAChallengePerActiveKey()
    {
        await TokenKit.AddAccountAsync(_dp, "wire", "wire", 10);

        var response = await TokenKit.LookupAsync(_dp, ["+33612345678"], []);

        await ProblemAssert.IsProblemAsync(response, 401, "token-required");
        var challenges = PrivateTokenHeaders.ParseChallenges(string.Join(", ", response.Headers.WwwAuthenticate.Select(v => v.ToString())));
        Assert.Equal(2, challenges.Count); // the general key and wire's
        Assert.All(challenges, c =>
        {
            var decoded = TokenChallenge.Decode(c.TokenChallenge);
            Assert.Equal((PrivateTokenTypes.BlindRsa2048, "127.0.0.1", 0), (decoded.TokenType, decoded.IssuerName, decoded.RedemptionContext.Length));
            Assert.Equal(["127.0.0.1"], decoded.OriginInfo);
            _ = TokenPublicKey.Decode(c.TokenKey);
        });
    }

    [Fact]
    public async Task Lookup_TooFewTokens_IsTokenRequired_AndSpendsNone()
    {
        var tokens = TokenKit.Tokens(_dp, await TokenKit.AddAccountAsync(_dp, "wire", "wire", 10));
        var one = await tokens.IssueExactlyAsync(1);

        await ProblemAssert.IsProblemAsync(await TokenKit.LookupAsync(_dp, ["+33612345678", "bob@example.com"], TokenKit.Redeem(one)), 401, "token-required");

        Assert.Equal(HttpStatusCode.OK, (await TokenKit.LookupAsync(_dp, ["+33612345678"], TokenKit.Redeem(one))).StatusCode);
    }

    [Fact]
    public async Task Lookup_ChargesOnePerDistinctValidCsi_InvalidQueriesAreFree()
    {
        var tokens = TokenKit.Tokens(_dp, await TokenKit.AddAccountAsync(_dp, "wire", "wire", 10));

        var free = await TokenKit.LookupAsync(_dp, ["nonsense", "also not a csi"], []);
        var two = await TokenKit.LookupAsync(_dp, ["+33612345678", "tel:+33612345678", "+33 6 12 34 56 78", "bob@example.com", "nonsense"], TokenKit.Redeem(await tokens.IssueExactlyAsync(2)));

        Assert.Equal(HttpStatusCode.OK, free.StatusCode);
        Assert.Equal(HttpStatusCode.OK, two.StatusCode);
    }

    [Fact]
    public async Task Lookup_TokensInOneCommaSeparatedValueOrSeveralValues_AreAccepted()
    {
        var tokens = TokenKit.Tokens(_dp, await TokenKit.AddAccountAsync(_dp, "wire", "wire", 10));

        var joined = await TokenKit.LookupAsync(_dp, ["+33612345678", "bob@example.com"], [string.Join(", ", TokenKit.Redeem(await tokens.IssueExactlyAsync(2)))]);
        var lines = await TokenKit.LookupAsync(_dp, ["+33612345678", "bob@example.com"], ["Bearer unrelated", .. TokenKit.Redeem(await tokens.IssueExactlyAsync(2))]);

        Assert.Equal(HttpStatusCode.OK, joined.StatusCode);
        Assert.Equal(HttpStatusCode.OK, lines.StatusCode);
    }

    [Fact]
    public async Task Lookup_ReplayedToken_IsTokenSpent()
    {
        var tokens = TokenKit.Tokens(_dp, await TokenKit.AddAccountAsync(_dp, "wire", "wire", 10));
        var token = TokenKit.Redeem(await tokens.IssueExactlyAsync(1)).ToList();
        Assert.Equal(HttpStatusCode.OK, (await TokenKit.LookupAsync(_dp, ["+33612345678"], token)).StatusCode);

        var replay = await TokenKit.LookupAsync(_dp, ["+33612345678"], token);

        await ProblemAssert.IsProblemAsync(replay, 401, "token-spent");
        Assert.NotEmpty(replay.Headers.WwwAuthenticate);
    }

    [Fact]
    public async Task Lookup_SameTokenTwiceInOneRequest_IsTokenSpent_AndSpendsNothing()
    {
        var tokens = TokenKit.Tokens(_dp, await TokenKit.AddAccountAsync(_dp, "wire", "wire", 10));
        var token = TokenKit.Redeem(await tokens.IssueExactlyAsync(1)).Single();

        await ProblemAssert.IsProblemAsync(await TokenKit.LookupAsync(_dp, ["+33612345678", "bob@example.com"], [token, token]), 401, "token-spent");

        Assert.Equal(HttpStatusCode.OK, (await TokenKit.LookupAsync(_dp, ["+33612345678"], [token])).StatusCode);
    }

    [Fact]
    public async Task Lookup_TokenInGraceEpoch_IsAccepted_PastGrace_IsTokenExpired()
    {
        var tokens = TokenKit.Tokens(_dp, await TokenKit.AddAccountAsync(_dp, "wire", "wire", 10, TimeSpan.FromDays(30)));
        var taken = await tokens.IssueExactlyAsync(2);

        _dp.Time.Advance(TimeSpan.FromDays(1));
        Assert.Equal(HttpStatusCode.OK, (await TokenKit.LookupAsync(_dp, ["+33612345678"], TokenKit.Redeem(taken.Take(1)))).StatusCode);

        _dp.Time.Advance(TimeSpan.FromDays(1));
        await ProblemAssert.IsProblemAsync(await TokenKit.LookupAsync(_dp, ["+33612345678"], TokenKit.Redeem(taken.Skip(1))), 401, "token-expired");
    }

    [Fact]
    public async Task Lookup_TokenOfAnotherIssuer_IsTokenInvalid()
    {
        var foreign = TokenKit.ForeignToken(TokenKit.Challenge());

        await ProblemAssert.IsProblemAsync(await TokenKit.LookupAsync(_dp, ["+33612345678"], TokenKit.Redeem([foreign])), 401, "token-invalid");
    }

    [Fact]
    public async Task Lookup_TokenForAnotherChallenge_IsTokenInvalid()
    {
        var tokens = TokenKit.Tokens(_dp, await TokenKit.AddAccountAsync(_dp, "wire", "wire", 10));
        var challenge = PrivateTokenHeaders.ParseChallenges((await TokenKit.LookupAsync(_dp, ["+33612345678"], [])).Headers.WwwAuthenticate.First().ToString());
        tokens.Reset(new PrivateTokenChallenge(TokenKit.Challenge("elsewhere.example"), challenge[0].TokenKey));

        var response = await TokenKit.LookupAsync(_dp, ["+33612345678"], TokenKit.Redeem(await tokens.IssueExactlyAsync(1)));

        Assert.Contains("another TokenChallenge", await ProblemAssert.IsProblemAsync(response, 401, "token-invalid"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Lookup_OneBadTokenAmongGoodOnes_SpendsNoneAndStoresNothing()
    {
        var tokens = TokenKit.Tokens(_dp, await TokenKit.AddAccountAsync(_dp, "wire", "wire", 10));
        var good = await tokens.IssueExactlyAsync(1);
        var foreign = TokenKit.ForeignToken(TokenKit.Challenge());

        await ProblemAssert.IsProblemAsync(await TokenKit.LookupAsync(_dp, ["+33612345678", "bob@example.com"], TokenKit.Redeem([.. good, foreign])), 401, "token-invalid");

        Assert.Equal(HttpStatusCode.OK, (await TokenKit.LookupAsync(_dp, ["+33612345678"], TokenKit.Redeem(good))).StatusCode);
    }

    [Fact]
    public async Task Lookup_TokensOfTwoServices_IsTokenMixedServices_AndSpendsNone()
    {
        var wire = TokenKit.Tokens(_dp, await TokenKit.AddAccountAsync(_dp, "wire", "wire", 10));
        var person = TokenKit.Tokens(_dp, await TokenKit.AddAccountAsync(_dp, "alice", null, 10));
        var w = await wire.IssueExactlyAsync(1);
        var p = await person.IssueExactlyAsync(1);

        await ProblemAssert.IsProblemAsync(await TokenKit.LookupAsync(_dp, ["+33612345678", "bob@example.com"], TokenKit.Redeem([.. w, .. p])), 400, "token-mixed-services");

        Assert.Equal(HttpStatusCode.OK, (await TokenKit.LookupAsync(_dp, ["+33612345678"], TokenKit.Redeem(w))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await TokenKit.LookupAsync(_dp, ["+33612345678"], TokenKit.Redeem(p))).StatusCode);
    }

    [Fact]
    public async Task Lookup_ClaimingAnotherServiceThanTheTokens_IsTokenServiceMismatch()
    {
        var person = TokenKit.Tokens(_dp, await TokenKit.AddAccountAsync(_dp, "alice", null, 10));
        var token = await person.IssueExactlyAsync(1);

        await ProblemAssert.IsProblemAsync(await TokenKit.LookupAsync(_dp, ["+33612345678"], TokenKit.Redeem(token), service: "wire"), 403, "token-service-mismatch");

        Assert.Equal(HttpStatusCode.OK, (await TokenKit.LookupAsync(_dp, ["+33612345678"], TokenKit.Redeem(token))).StatusCode);
    }

    [Fact]
    public async Task Lookup_MalformedPrivateToken_IsTokenMalformed()
    {
        await ProblemAssert.IsProblemAsync(await TokenKit.LookupAsync(_dp, ["+33612345678"], ["PrivateToken token=\"not*base64url\""]), 400, "token-malformed");
    }

    [Fact]
    public async Task Directory_ListsTheGeneralKeyAndOnePerServiceWithNotBefore()
    {
        await TokenKit.AddAccountAsync(_dp, "wire", "wire", 10);

        var response = await _dp.Http.GetAsync(".well-known/private-token-issuer-directory");

        Assert.Equal(PrivacyPassMediaTypes.IssuerDirectory, response.Content.Headers.ContentType?.MediaType);
        var json = await response.Content.ReadAsStringAsync();
        var directory = IssuerDirectory.Parse(json);
        Assert.Equal(new Uri(_dp.BaseAddress, "v1/tokens"), directory.IssuerRequestUri);
        var entries = JsonDocument.Parse(json).RootElement.GetProperty("token-keys").EnumerateArray().ToList();
        Assert.Equal([null, "wire"], entries.Select(e => e.GetProperty("service").GetString()));
        var now = _dp.Time.GetUtcNow();
        Assert.All(directory.TokenKeys, k => Assert.InRange(k.NotBefore!.Value, now.AddDays(-1), now));
        Assert.Equal(2, directory.ActiveBlindRsaKeys(now).Count);
    }

    [Fact]
    public async Task Metadata_NamesTheDirectoryAndThatTokensAreRequired()
    {
        var tokens = (await _dp.Client.GetMetadataAsync()).Tokens!;

        Assert.Equal(new Uri(_dp.BaseAddress, ".well-known/private-token-issuer-directory").ToString(), tokens.Directory);
        Assert.True(tokens.Required);
        Assert.Equal("127.0.0.1", tokens.IssuerName);
    }

    [Fact]
    public async Task Balance_CountsIssuedTokens_UnknownKeyIsAccountUnknown()
    {
        var tokens = TokenKit.Tokens(_dp, await TokenKit.AddAccountAsync(_dp, "wire", "wire", 5));
        await tokens.IssueExactlyAsync(2);

        var balance = await tokens.GetBalanceAsync();

        Assert.Equal(("wire", 5L, 2L), (balance.Service, balance.Quota, balance.Used));
        Assert.Equal(_dp.Time.GetUtcNow().ToUnixTimeSeconds() / 86400, balance.KeyEpoch);
        Assert.InRange(balance.WindowEndsAt, _dp.Time.GetUtcNow(), _dp.Time.GetUtcNow().AddHours(1));
        var unknown = TokenKit.Tokens(_dp, Server.Tokens.ApiKeys.Create().Key);
        await ProblemAssert.ThrowsAsync(401, "account-unknown", () => unknown.GetBalanceAsync());
    }

    [Fact]
    public async Task Issue_QuotaExhausted_Is429WithRetryAfter()
    {
        var tokens = TokenKit.Tokens(_dp, await TokenKit.AddAccountAsync(_dp, "wire", "wire", 2));
        Assert.Equal(2, (await tokens.IssueExactlyAsync(2)).Count);

        var e = await ProblemAssert.ThrowsAsync(429, "quota-exhausted", () => tokens.IssueExactlyAsync(1));

        var (keys, _) = await tokens.GetDirectoryAsync();
        var pending = PendingTokenRequest.Create(TokenKit.Challenge(), TokenClient.SelectKey(keys, "wire", _dp.Time.GetUtcNow())!);
        var raw = await TokenKit.IssueRawAsync(_dp, await TokenKit.AddAccountAsync(_dp, "spare", "wire", 0), pending.Request.Encode());
        await ProblemAssert.IsProblemAsync(raw, 429, "quota-exhausted");
        Assert.InRange(raw.Headers.RetryAfter!.Delta!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromHours(1));
    }

    [Fact]
    public async Task Issue_BadRequests_GetSpecificProblems_AndTakeNoQuota()
    {
        var key = await TokenKit.AddAccountAsync(_dp, "wire", "wire", 5);
        var tokens = TokenKit.Tokens(_dp, key);
        var (keys, _) = await tokens.GetDirectoryAsync();
        var general = TokenClient.SelectKey(keys, null, _dp.Time.GetUtcNow())!;
        var wire = TokenClient.SelectKey(keys, "wire", _dp.Time.GetUtcNow())!;
        var good = PendingTokenRequest.Create(TokenKit.Challenge(), wire).Request.Encode();
        var otherType = good.ToArray();
        otherType[1] = 0x01;

        await ProblemAssert.IsProblemAsync(await TokenKit.IssueRawAsync(_dp, null, good), 401, "account-unknown");
        await ProblemAssert.IsProblemAsync(await TokenKit.IssueRawAsync(_dp, "mdk_not-a-key", good), 401, "account-unknown");
        await ProblemAssert.IsProblemAsync(await TokenKit.IssueRawAsync(_dp, key, good, "application/octet-stream"), 415, "unsupported-media-type");
        // RFC 9578 §6.2: an unsupported type, an unknown key or a wrong size is 422.
        await ProblemAssert.IsProblemAsync(await TokenKit.IssueRawAsync(_dp, key, good[..100]), 422, "token-request-malformed");
        await ProblemAssert.IsProblemAsync(await TokenKit.IssueRawAsync(_dp, key, otherType), 422, "token-type-unsupported");
        if (general.TruncatedKeyId != wire.TruncatedKeyId)
        {
            await ProblemAssert.IsProblemAsync(await TokenKit.IssueRawAsync(_dp, key, PendingTokenRequest.Create(TokenKit.Challenge(), general).Request.Encode()), 422, "token-key-unknown");
        }

        var overModulus = good.ToArray();
        overModulus.AsSpan(3).Fill(0xFF);
        await ProblemAssert.IsProblemAsync(await TokenKit.IssueRawAsync(_dp, key, overModulus), 422, "token-request-malformed");

        Assert.Equal(0, (await tokens.GetBalanceAsync()).Used);
        var ok = await TokenKit.IssueRawAsync(_dp, key, good);
        Assert.Equal(PrivacyPassMediaTypes.TokenResponse, ok.Content.Headers.ContentType?.MediaType);
        Assert.Equal(1, (await tokens.GetBalanceAsync()).Used);
    }

    [Fact]
    public async Task Handler_AttachesOneTokenPerDistinctValidCsi_AndDpAdmitsTheLookup()
    {
        var apiKey = await TokenKit.AddAccountAsync(_dp, "wire", "wire", 10);
        var tokens = TokenKit.Tokens(_dp, apiKey);
        using var handler = new PrivateTokenHandler(TokenKit.ExactWallet(_dp, apiKey), Client.TlsTrust.CreateHandler(Client.TlsTrust.LoadRoots(Path.Combine(_dp.DataDirectory, "tls.crt"))));
        using var http = new HttpClient(handler) { BaseAddress = _dp.BaseAddress };
        var client = new DiscoveryClient(http);

        var response = await client.LookupRawAsync(["+33612345678", "+33 6 12 34 56 78", "bob@example.com", "nonsense"]);
        await client.LookupRawAsync(["nonsense"]);
        var one = await http.GetAsync("v1/lookup/" + Uri.EscapeDataString("+33612345678"));

        Assert.Equal(4, response.Results.Count);
        Assert.Equal(HttpStatusCode.OK, one.StatusCode);
        Assert.Equal(3, (await tokens.GetBalanceAsync()).Used);
    }

    [Fact]
    public async Task Handler_StaleTokensRefused_FetchesFreshOnesAndRetriesOnce()
    {
        var apiKey = await TokenKit.AddAccountAsync(_dp, "wire", "wire", 10);
        var tokens = TokenKit.Tokens(_dp, apiKey);
        using var wallet = TokenKit.ExactWallet(_dp, apiKey);
        var stale = await tokens.IssueExactlyAsync(1);
        Assert.Equal(HttpStatusCode.OK, (await TokenKit.LookupAsync(_dp, ["+33612345678"], TokenKit.Redeem(stale))).StatusCode);
        using var replaying = new ReplayHandler(stale[0]) { InnerHandler = Client.TlsTrust.CreateHandler(Client.TlsTrust.LoadRoots(Path.Combine(_dp.DataDirectory, "tls.crt"))) };
        using var handler = new PrivateTokenHandler(wallet, replaying);
        using var http = new HttpClient(handler) { BaseAddress = _dp.BaseAddress };

        var response = await new DiscoveryClient(http).LookupRawAsync(["+33612345678"]);

        Assert.Single(response.Results);
        Assert.Equal(2, replaying.Sent);
        Assert.Equal(0, wallet.Available);
        Assert.Equal(3, (await tokens.GetBalanceAsync()).Used); // the stale one, the one swapped out, the retry's
    }

    /// <summary>Swaps the first request's token (in its body) for an already spent one, as a client with a stale pool would send.</summary>
    private sealed class ReplayHandler(Token spent) : DelegatingHandler
    {
        public int Sent { get; private set; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (Sent++ == 0)
            {
                var lookup = (await request.Content!.ReadFromJsonAsync(ProtocolJson.Default.LookupRequest, cancellationToken))!;
                Assert.Single(lookup.Tokens!);
                request.Content = JsonContent.Create(lookup with { Tokens = [System.Buffers.Text.Base64Url.EncodeToString(spent.Encode())] }, ProtocolJson.Default.LookupRequest);
            }

            return await base.SendAsync(request, cancellationToken);
        }
    }
}

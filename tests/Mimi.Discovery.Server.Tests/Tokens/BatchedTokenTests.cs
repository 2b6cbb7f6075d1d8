using System.Net;
using System.Net.Http.Json;
using Mimi.Discovery.Client;
using Mimi.Discovery.Privacy.Tokens;
using Mimi.Discovery.Protocol;

namespace Mimi.Discovery.Server.Tests.Tokens;

/// <summary>
/// Batched issuance (draft-ietf-privacypass-batched-tokens §6) and lookups paid in the body at the
/// DP's price (one token per ten distinct valid CSIs here, the default), against a real DP.
/// </summary>
public sealed class BatchedTokenTests : IAsyncLifetime
{
    private DpHost _dp = null!;

    public async ValueTask InitializeAsync() => _dp = await TokenKit.StartAsync(o => (o.CsisPerToken, o.MaxTokensPerIssuance) = (10, 50));

    public ValueTask DisposeAsync() => _dp.DisposeAsync();

    private static IReadOnlyList<string> Csis(int count) => [.. Enumerable.Range(0, count).Select(i => $"+336123{i:D5}")];

    private async Task<(TokenPublicKey Key, string ApiKey)> AccountAsync(long quota)
    {
        var apiKey = await TokenKit.AddAccountAsync(_dp, "wire", "wire", quota);
        var tokens = TokenKit.Tokens(_dp, apiKey);
        var (keys, _) = await tokens.GetDirectoryAsync();
        return (TokenClient.SelectKey(keys, "wire", _dp.Time.GetUtcNow())!, apiKey);
    }

    private static (List<PendingTokenRequest> Pending, byte[] Body) Batch(TokenPublicKey key, int count)
    {
        var pending = Enumerable.Range(0, count).Select(_ => PendingTokenRequest.Create(TokenKit.Challenge(), key)).ToList();
        return (pending, new GenericBatchTokenRequest(pending.Select(p => p.Request).ToList()).Encode());
    }

    [Fact]
    public async Task Metadata_StatesThePriceTheBatchLimitAndTheTokenLifetime()
    {
        var tokens = (await _dp.Client.GetMetadataAsync()).Tokens!;

        Assert.Equal((10, 50, 2 * 86400L), (tokens.CsisPerToken, tokens.MaxTokensPerIssuance, tokens.TokenLifetimeSeconds));
    }

    [Fact]
    public async Task Issue_Batch_AllAnswered_200_AndEveryTokenRedeems()
    {
        var (key, apiKey) = await AccountAsync(100);
        var (pending, body) = Batch(key, 30);

        var response = await TokenKit.IssueRawAsync(_dp, apiKey, body, PrivacyPassMediaTypes.GenericBatchTokenRequest);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(PrivacyPassMediaTypes.GenericBatchTokenResponse, response.Content.Headers.ContentType?.MediaType);
        var answers = GenericBatchTokenResponse.Decode(await response.Content.ReadAsByteArrayAsync()).Responses;
        var tokens = pending.Zip(answers).Select(x => x.First.Finalize(x.Second!)).ToList();
        Assert.Equal(30, tokens.Count);

        // 30 tokens pay for a lookup of 300 distinct CSIs at ten a token.
        var lookup = await TokenKit.LookupAsync(_dp, Csis(300), [], bodyTokens: tokens);
        Assert.Equal(HttpStatusCode.OK, lookup.StatusCode);
    }

    [Fact]
    public async Task Issue_BatchLargerThanTheQuotaLeft_IsPartial206_TheRestAbsent_AndTheQuotaExact()
    {
        var (key, apiKey) = await AccountAsync(7);
        var (_, body) = Batch(key, 10);

        var response = await TokenKit.IssueRawAsync(_dp, apiKey, body, PrivacyPassMediaTypes.GenericBatchTokenRequest);

        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        var answers = GenericBatchTokenResponse.Decode(await response.Content.ReadAsByteArrayAsync()).Responses;
        Assert.Equal([.. Enumerable.Repeat(true, 7), .. Enumerable.Repeat(false, 3)], answers.Select(a => a is not null));
        await ProblemAssert.IsProblemAsync(await TokenKit.IssueRawAsync(_dp, apiKey, Batch(key, 1).Body, PrivacyPassMediaTypes.GenericBatchTokenRequest), 429, "quota-exhausted");
        var tokens = TokenKit.Tokens(_dp, apiKey);
        Assert.Equal(7, (await tokens.GetBalanceAsync()).Used);
    }

    [Fact]
    public async Task Issue_BadBatches_GetSpecificProblems_AndTakeNoQuota()
    {
        var (key, apiKey) = await AccountAsync(100);

        await ProblemAssert.IsProblemAsync(await TokenKit.IssueRawAsync(_dp, apiKey, Batch(key, 51).Body, PrivacyPassMediaTypes.GenericBatchTokenRequest), 413, "payload-too-large");
        await ProblemAssert.IsProblemAsync(await TokenKit.IssueRawAsync(_dp, apiKey, [0x05, 0x00, 0x02], PrivacyPassMediaTypes.GenericBatchTokenRequest), 422, "token-request-malformed");
        await ProblemAssert.IsProblemAsync(await TokenKit.IssueRawAsync(_dp, apiKey, [0x02, 0x00, 0x99], PrivacyPassMediaTypes.GenericBatchTokenRequest), 422, "token-type-unsupported");
        await ProblemAssert.IsProblemAsync(await TokenKit.IssueRawAsync(_dp, apiKey, new byte[300 * 1024], PrivacyPassMediaTypes.GenericBatchTokenRequest), 413, "payload-too-large");

        var tokens = TokenKit.Tokens(_dp, apiKey);
        Assert.Equal(0, (await tokens.GetBalanceAsync()).Used);
    }

    [Fact]
    public async Task Issue_BatchWithARequestOfAnotherType_AnswersItAbsent_206_AndABatchOfOnlyThoseIs422()
    {
        var (key, apiKey) = await AccountAsync(100);
        var (pending, _) = Batch(key, 2);
        byte[] voprf = [0x00, 0x01, 0x42, .. new byte[49]]; // a type 0x0001 TokenRequest (RFC 9578 §5.1): 52 bytes
        byte[] items = [.. pending[0].Request.Encode(), .. voprf, .. pending[1].Request.Encode()];
        static byte[] Vector(byte[] body) => body.Length < 64 ? [(byte)body.Length, .. body] : [(byte)(0x40 | (body.Length >> 8)), (byte)body.Length, .. body]; // a minimal QUIC varint length

        var mixed = await TokenKit.IssueRawAsync(_dp, apiKey, Vector(items), PrivacyPassMediaTypes.GenericBatchTokenRequest);

        Assert.Equal(HttpStatusCode.PartialContent, mixed.StatusCode);
        var answers = GenericBatchTokenResponse.Decode(await mixed.Content.ReadAsByteArrayAsync()).Responses;
        Assert.Equal([true, false, true], answers.Select(a => a is not null));
        Assert.Equal(2, (await TokenKit.Tokens(_dp, apiKey).GetBalanceAsync()).Used);
        await ProblemAssert.IsProblemAsync(await TokenKit.IssueRawAsync(_dp, apiKey, Vector(voprf), PrivacyPassMediaTypes.GenericBatchTokenRequest), 422, "token-type-unsupported");
        Assert.Equal(2, (await TokenKit.Tokens(_dp, apiKey).GetBalanceAsync()).Used);
    }

    [Fact]
    public async Task Lookup_PaysItsPriceInTheBody_TooManyOrTooFewOrBothPlaces_AreRefusedAndSpendNothing()
    {
        var tokens = TokenKit.Tokens(_dp, (await AccountAsync(100)).ApiKey);
        var three = await tokens.IssueExactlyAsync(3);

        // 21 distinct valid CSIs cost 3 tokens.
        await ProblemAssert.IsProblemAsync(await TokenKit.LookupAsync(_dp, Csis(21), [], bodyTokens: three.Take(2)), 401, "token-required");
        Assert.Contains("send exactly 2", await ProblemAssert.IsProblemAsync(await TokenKit.LookupAsync(_dp, Csis(20), [], bodyTokens: three), 400, "token-count"), StringComparison.Ordinal);
        await ProblemAssert.IsProblemAsync(await TokenKit.LookupAsync(_dp, Csis(21), TokenKit.Redeem(three.Take(1)), bodyTokens: three.Skip(1)), 400, "token-malformed");

        var response = await TokenKit.LookupAsync(_dp, Csis(21), [], bodyTokens: three);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(21, (await response.Content.ReadFromJsonAsync(ProtocolJson.Default.LookupResponse))!.Results.Count);
    }

    [Theory]
    [InlineData("\"not*base64url\"")]
    [InlineData("\"AAIA\"")]
    [InlineData("null")]
    public async Task Lookup_BodyTokenNotAToken_IsTokenMalformed(string token)
    {
        var json = $$"""{"csis":["+33612345678"],"tokens":[{{token}}]}""";

        await ProblemAssert.IsProblemAsync(await _dp.PostJsonAsync("v1/lookup", json), 400, "token-malformed");
    }

    [Fact]
    public async Task Handler_PaysAThousandCsiBatchWithAHundredTokens_InOneRequest()
    {
        var apiKey = (await AccountAsync(1000)).ApiKey;
        var tokens = TokenKit.Tokens(_dp, apiKey);
        using var http = new HttpClient(new PrivateTokenHandler(TokenKit.ExactWallet(_dp, apiKey), TlsTrust.CreateHandler(TlsTrust.LoadRoots(Path.Combine(_dp.DataDirectory, "tls.crt"))))) { BaseAddress = _dp.BaseAddress };

        var response = await new DiscoveryClient(http).LookupRawAsync(Csis(1000));

        Assert.Equal(1000, response.Results.Count);
        Assert.Equal(100, (await tokens.GetBalanceAsync()).Used);
    }
}

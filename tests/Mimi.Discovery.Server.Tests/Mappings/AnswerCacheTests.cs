using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Server.Mappings;
using Mimi.Discovery.Server.Transparency;
using Mimi.Discovery.Statements;

namespace Mimi.Discovery.Server.Tests.Mappings;

/// <summary>
/// Whole answers kept per (lookup, epoch) (<see cref="AnswerCache"/>): a lookup asked again is answered
/// with the bytes it was answered with, and never once the answer would differ — a new epoch, a
/// statement's maxAge starting to count down, a statement's end. These DPs seal by hand.
/// </summary>
public sealed class AnswerCacheTests
{
    private static readonly Csi Bob = CsiParser.ParseOrThrow("+33612345678");

    private static Task<long?> SealAsync(DpHost dp) => dp.Service<TransparencyLog>().SealAsync(CancellationToken.None);

    private static string Payload(string statement) => System.Text.Encoding.UTF8.GetString(System.Buffers.Text.Base64Url.DecodeFromChars(statement.Split('.')[1]));

    private static async Task<string> LookupBodyAsync(DpHost dp, params string[] csis)
    {
        using var response = await dp.PostJsonAsync("/v1/lookup", System.Text.Json.JsonSerializer.Serialize(new LookupRequest(csis), ProtocolJson.Default.LookupRequest));
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        return await response.Content.ReadAsStringAsync();
    }

    [Fact]
    public async Task ALookupAskedAgain_AtTheSameEpoch_IsAnsweredWithTheSameBytes_ByEitherRoute()
    {
        await using var dp = await DpHost.StartAsync(o => o.EpochInterval = TimeSpan.FromHours(1));
        var bob = await dp.RegisterAsync(Bob.Uri);
        await dp.Client.PublishAsync(bob.Sign(1));
        await SealAsync(dp);
        var answers = dp.Service<AnswerCache>();

        var first = await LookupBodyAsync(dp, Bob.Uri);
        Assert.Equal(0, answers.Hits);
        var again = await LookupBodyAsync(dp, Bob.Uri);
        Assert.Equal(1, answers.Hits);
        Assert.Equal(first, again);

        // GET /v1/lookup/{csi} is the same lookup, so it is answered from the same entry.
        var one = await dp.Http.GetStringAsync("/v1/lookup/" + Uri.EscapeDataString(Bob.Uri));
        Assert.Equal(2, answers.Hits);
        Assert.Equal(first, one);
        var parsed = System.Text.Json.JsonSerializer.Deserialize(one, ProtocolJson.Default.LookupResponse)!;
        Assert.Equal(LookupResultKinds.Found, parsed.Results[0].Result);

        // A lookup for a service is another lookup, with an answer of its own.
        await dp.Client.LookupRawAsync([Bob.Uri], "wire");
        Assert.Equal(2, answers.Hits);
    }

    [Fact]
    public async Task OneQueryHoldingTheOthersSeparators_IsNotTheSameLookupAsThose()
    {
        await using var dp = await DpHost.StartAsync(o => o.EpochInterval = TimeSpan.FromHours(1));
        var bob = await dp.RegisterAsync(Bob.Uri);
        await dp.Client.PublishAsync(bob.Sign(1));
        await SealAsync(dp);
        string[] two = [Bob.Uri, "+33611111111"];

        // Asked first, each of these would be served for the two CSIs if keys joined queries with a separator.
        foreach (var separator in new[] { ":", ":12:", "\u001E", "\n" })
        {
            var forged = System.Text.Json.JsonSerializer.Deserialize(await LookupBodyAsync(dp, Bob.Uri + separator + two[1]), ProtocolJson.Default.LookupResponse)!;
            Assert.Equal(LookupResultKinds.Invalid, Assert.Single(forged.Results).Result);
        }

        var honest = System.Text.Json.JsonSerializer.Deserialize(await LookupBodyAsync(dp, two), ProtocolJson.Default.LookupResponse)!;
        Assert.Equal([LookupResultKinds.Found, LookupResultKinds.None], honest.Results.Select(r => r.Result));
        Assert.Equal(0, dp.Service<AnswerCache>().Hits);
    }

    [Fact]
    public async Task ANewEpoch_IsNeverAnsweredFromTheLastOnesAnswer()
    {
        await using var dp = await DpHost.StartAsync(o => o.EpochInterval = TimeSpan.FromHours(1));
        var bob = await dp.RegisterAsync(Bob.Uri);
        await dp.Client.PublishAsync(bob.Sign(1));
        await SealAsync(dp);
        var before = await dp.Client.LookupRawAsync([Bob.Uri]);
        await dp.Client.LookupRawAsync([Bob.Uri]);
        Assert.Equal(1, dp.Service<AnswerCache>().Hits);

        await dp.Client.PublishAsync(bob.Sign(2, [new MspEntry("signal") { Account = "@bob" }], supersede: true));
        var epoch = await SealAsync(dp);

        var after = await dp.Client.LookupRawAsync([Bob.Uri]);
        Assert.Equal(1, dp.Service<AnswerCache>().Hits);
        Assert.Equal(epoch, after.Transparency!.Epoch);
        Assert.True(after.Transparency.Epoch > before.Transparency!.Epoch);
        Assert.Contains("\"signal\"", Payload(Assert.Single(after.Results[0].Statements)), StringComparison.Ordinal);
        Assert.DoesNotContain("\"signal\"", Payload(Assert.Single(before.Results[0].Statements)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnAnswer_IsKeptOnlyWhileItsMaxAgeIsTheCap_ThenRebuiltEverySecond()
    {
        await using var dp = await DpHost.StartAsync(o => o.EpochInterval = TimeSpan.FromHours(1));
        var cap = (long)TimeSpan.FromDays(1).TotalSeconds; // LookupMaxAge's default
        var bob = await dp.RegisterAsync(Bob.Uri);
        var exp = dp.Time.GetUtcNow().AddDays(2);
        await dp.Client.PublishAsync(bob.Signer.SignMapping(new MappingDraft(Bob, 1, [new MspEntry("wire") { Account = "@bob" }]) { ExpiresAt = exp }));
        await SealAsync(dp);
        var answers = dp.Service<AnswerCache>();
        async Task<long> MaxAgeAsync() => (await dp.Client.LookupRawAsync([Bob.Uri])).Results[0].MaxAge!.Value;

        Assert.Equal(cap, await MaxAgeAsync());
        // Up to a day before the statement's end, maxAge stays the cap: the kept answer is exact.
        dp.Time.Advance(exp - dp.Time.GetUtcNow() - TimeSpan.FromDays(1) - TimeSpan.FromSeconds(2));
        Assert.Equal(cap, await MaxAgeAsync());
        Assert.Equal(1, answers.Hits);

        // From then on maxAge counts down, and an answer holds for its second only.
        dp.Time.Advance(TimeSpan.FromSeconds(12));
        Assert.Equal(cap - 10, await MaxAgeAsync());
        Assert.Equal(cap - 10, await MaxAgeAsync());
        Assert.Equal(2, answers.Hits);
        dp.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(cap - 11, await MaxAgeAsync());

        // Past the statement's end it is not served, though the epoch still commits it.
        dp.Time.Advance(TimeSpan.FromDays(1));
        var ended = (await dp.Client.LookupRawAsync([Bob.Uri])).Results[0];
        Assert.Equal(LookupResultKinds.None, ended.Result);
        Assert.Empty(ended.Statements);
    }

    [Fact]
    public async Task ALargerBatch_OrACacheOfZeroBytes_KeepsNothing_AndAnswersTheSame()
    {
        var csis = Enumerable.Range(0, AnswerCache.MaxCsis + 1).Select(i => "+336123456" + i.ToString("D2", System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        await using (var dp = await DpHost.StartAsync(o => o.EpochInterval = TimeSpan.FromHours(1)))
        {
            await SealAsync(dp);
            var first = await LookupBodyAsync(dp, csis);
            Assert.Equal(first, await LookupBodyAsync(dp, csis));
            Assert.Equal(0, dp.Service<AnswerCache>().Hits);
            Assert.Equal(AnswerCache.MaxCsis + 1, System.Text.Json.JsonSerializer.Deserialize(first, ProtocolJson.Default.LookupResponse)!.Results.Count);
        }

        await using (var off = await DpHost.StartAsync(o => { o.EpochInterval = TimeSpan.FromHours(1); o.AnswerCacheBytes = 0; }))
        {
            var bob = await off.RegisterAsync(Bob.Uri);
            await off.Client.PublishAsync(bob.Sign(1));
            await SealAsync(off);
            var first = await LookupBodyAsync(off, Bob.Uri);
            Assert.Equal(first, await LookupBodyAsync(off, Bob.Uri));
            Assert.Equal(0, off.Service<AnswerCache>().Hits);
        }
    }
}

using Mimi.Discovery.Dns;
using Mimi.Discovery.Identifiers;

namespace Mimi.Discovery.Tests.Dns;

public sealed class DnsPublisherTests(KnotServer knot) : IClassFixture<KnotServer>
{
    private (DnsPublisher Publisher, DnsDiscoveryResolver Resolver) Connect(TsigKey? key = null, DnsDiscoveryOptions? options = null)
    {
        Assert.SkipWhen(knot.Unavailable is not null, knot.Unavailable ?? "");
        options = KnotServer.Patient(options);
        return (new DnsPublisher(knot.EndPoint, key ?? knot.Key, options), new DnsDiscoveryResolver(knot.EndPoint, options));
    }

    [Fact]
    public async Task ReplaceMimi_PublishUpdateDelete_RoundTripThroughTheServer()
    {
        var (publisher, resolver) = Connect();
        using var p = publisher;
        using var r = resolver;

        var first = await publisher.ReplaceMimiAsync("dyn.example", "carol.dyn.example", [new MimiRecord("carol", "chat.example", 1, "wire", null)]);
        Assert.True(first.Succeeded, first.Detail);
        var published = await resolver.ResolveMuiAsync("carol.dyn.example");
        Assert.Equal(DnsEncodings.Txt | DnsEncodings.PrivateType, Assert.Single(published.Records).Encodings);

        var update = await publisher.ReplaceMimiAsync("dyn.example", "carol.dyn.example",
            [new MimiRecord("carol", "chat.example", 2, "wire", null), new MimiRecord("@carol:m", "matrix.example", 1, "matrix", "1.1")]);
        Assert.True(update.Succeeded, update.Detail);
        Assert.Equal(["matrix", "wire"], (await resolver.ResolveMuiAsync("carol.dyn.example")).Records.Select(x => x.Record.Service));

        var delete = await publisher.ReplaceMimiAsync("dyn.example", "carol.dyn.example", []);
        Assert.True(delete.Succeeded, delete.Detail);
        Assert.NotEqual(DnsOutcome.Found, (await resolver.ResolveMuiAsync("carol.dyn.example")).Outcome);
    }

    [Theory]
    [InlineData(DnsEncodings.Txt)]
    [InlineData(DnsEncodings.PrivateType)]
    public async Task ReplaceMimi_OneEncoding_PublishesOnlyThat(DnsEncodings encoding)
    {
        var (publisher, resolver) = Connect();
        using var p = publisher;
        using var r = resolver;
        var mui = $"only-{encoding}.dyn.example".ToLowerInvariant();

        Assert.True((await publisher.ReplaceMimiAsync("dyn.example", mui, [new MimiRecord("x", "y.example", null, null, null)], encoding)).Succeeded);

        Assert.Equal(encoding, Assert.Single((await resolver.ResolveMuiAsync(mui)).Records).Encodings);
    }

    [Fact]
    public async Task ReplaceMimix_ThenEmailResolvesThroughIt()
    {
        var (publisher, resolver) = Connect();
        using var p = publisher;
        using var r = resolver;
        Assert.True((await publisher.ReplaceMimixAsync("dyn.example", "dyn.example", "mimi.dyn.example")).Succeeded);
        Assert.True((await publisher.ReplaceMimiAsync("dyn.example", "erin.mimi.dyn.example", [new MimiRecord("erin", "e.example", null, "wire", null)])).Succeeded);

        var result = await resolver.ResolveAsync(CsiParser.ParseOrThrow("erin@dyn.example"));

        Assert.Equal(DnsOutcome.Found, result.Outcome);
        Assert.Equal("erin.mimi.dyn.example", result.Name);
    }

    [Fact]
    public async Task ReplaceMimi_PrivateEnumTree_ResolvesThePhone()
    {
        var options = new DnsDiscoveryOptions { EnumApex = "e164.test" };
        var (publisher, resolver) = Connect(options: options);
        using var p = publisher;
        using var r = resolver;
        var phone = CsiParser.ParseOrThrow("+44 20 7946 0148");

        Assert.True((await publisher.ReplaceMimiAsync("e164.test", DiscoveryNames.EnumName(phone, "e164.test"), [new MimiRecord("+442079460148", "wa.example", null, "whatsapp", null)])).Succeeded);

        Assert.Equal("whatsapp", Assert.Single((await resolver.ResolveAsync(phone)).Records).Record.Service);
    }

    [Fact]
    public async Task Update_WithTheWrongKey_IsRefusedAndChangesNothing()
    {
        var (publisher, resolver) = Connect(new TsigKey("mimi-update", new byte[32]));
        using var p = publisher;
        using var r = resolver;

        var result = await publisher.ReplaceMimiAsync("dyn.example", "mallory.dyn.example", [new MimiRecord("m", "evil.example", null, null, null)]);

        Assert.False(result.Succeeded);
        Assert.Equal(DnsOutcome.NameNotFound, (await resolver.ResolveMuiAsync("mallory.dyn.example")).Outcome);
    }

    [Fact]
    public async Task Update_ToAZoneWithoutUpdateAcl_IsRefused()
    {
        var (publisher, resolver) = Connect();
        using var p = publisher;
        using var r = resolver;

        var result = await publisher.ReplaceMimiAsync("example.net", "mallory.example.net", [new MimiRecord("m", "evil.example", null, null, null)]);

        Assert.False(result.Succeeded);
    }

    [Fact]
    public async Task ZoneLines_AreLoadedByKnotAndResolve()
    {
        var (publisher, resolver) = Connect();
        using var p = publisher;
        using var r = resolver;

        var result = await resolver.ResolveMuiAsync("alice.lines.example");

        Assert.Equal(3, result.Records.Count);
        Assert.Equal("al\"ice", result.Records[1].Record.Account);
        Assert.Equal("érin", result.Records[2].Record.Account); // \DDD octets in the TXT line, the same UTF-8 as the private type
        Assert.All(result.Records, x => Assert.Equal(DnsEncodings.Txt | DnsEncodings.PrivateType, x.Encodings));
    }

    [Fact]
    public async Task ReplaceMimi_NonAsciiValue_TxtAndPrivateTypeHoldTheSameUtf8()
    {
        var (publisher, resolver) = Connect();
        using var p = publisher;
        using var r = resolver;

        Assert.True((await publisher.ReplaceMimiAsync("dyn.example", "erin.dyn.example", [new MimiRecord("érin", "chat.example", null, "wire", null)])).Succeeded);

        // One record in both encodings: the TXT strings carry the same UTF-8 octets as the private type.
        var record = Assert.Single((await resolver.ResolveMuiAsync("erin.dyn.example")).Records);
        Assert.Equal("érin", record.Record.Account);
        Assert.Equal(DnsEncodings.Txt | DnsEncodings.PrivateType, record.Encodings);
    }

    public static TheoryData<int> KeyIndexes => new(Enumerable.Range(0, 4));

    [Theory]
    [MemberData(nameof(KeyIndexes))]
    public async Task Update_EveryAlgorithmAndSecretLength_IsAcceptedByKnot(int index)
    {
        var key = knot.UpdateKeys[index];
        var (publisher, resolver) = Connect(key);
        using var p = publisher;
        using var r = resolver;
        var mui = $"key{index}.dyn.example";

        var result = await publisher.ReplaceMimiAsync("dyn.example", mui, [new MimiRecord("k", "k.example", null, null, null)]);

        Assert.True(result.Succeeded, $"{key.Algorithm}, {key.Secret.Length}-byte secret: {result.Detail}");
        Assert.Equal(DnsOutcome.Found, (await resolver.ResolveMuiAsync(mui)).Outcome);
    }

    [Theory]
    [InlineData("MIMI-UPDATE")]
    [InlineData("mimi-update.")]
    public async Task Update_KeyNameInAnotherForm_IsTheSameKey(string name)
    {
        var (publisher, resolver) = Connect(knot.Key with { Name = name });
        using var p = publisher;
        using var r = resolver;

        var result = await publisher.ReplaceMimiAsync("dyn.example", "keyname.dyn.example", [new MimiRecord("k", "k.example", null, null, null)]);

        Assert.True(result.Succeeded, result.Detail);
    }

    [Theory]
    [InlineData("hmac-sha384", "hmac-sha384")]
    [InlineData("hmac-md5", "hmac-md5")]
    [InlineData("HMAC-SHA1", "HMAC-SHA1")]
    public void TsigKey_AlgorithmThatCannotInteroperate_IsRefusedUpFront(string algorithm, string named)
    {
        var e = Assert.Throws<ArgumentException>(() => new DnsPublisher(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 53), new TsigKey("k", new byte[32], algorithm)));

        Assert.Contains(named, e.Message, StringComparison.Ordinal);
        Assert.Contains("hmac-sha256", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ZoneLines_NonAsciiText_AreAsciiWithDddEscapes()
    {
        var line = DnsPublisher.MimiZoneLines("erin.example.net", [new MimiRecord("érin", "y.example", null, null, null)], DnsEncodings.Txt).Single();

        Assert.Equal("_mimi.erin.example.net. 300 IN TXT \"v=MIMI1; a=\\195\\169rin; e=y.example\"", line);
    }

    [Fact]
    public void TsigKey_EmptySecret_IsRefusedUpFront()
    {
        Assert.Throws<ArgumentException>(() => new DnsPublisher(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 53), new TsigKey("k", [])));
    }

    [Fact]
    public void TsigKey_UnknownAlgorithm_Throws()
    {
        Assert.Throws<ArgumentException>(() => new DnsPublisher(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 53), new TsigKey("k", new byte[32], "hmac-md5")));
    }
}

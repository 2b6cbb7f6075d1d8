using Mimi.Discovery.Dns;
using Mimi.Discovery.Identifiers;

namespace Mimi.Discovery.Tests.Dns;

public sealed class DnsDiscoveryResolverTests(KnotServer knot) : IClassFixture<KnotServer>, IDisposable
{
    private DnsDiscoveryResolver? _resolver;

    private DnsDiscoveryResolver Resolver
    {
        get
        {
            Assert.SkipWhen(knot.Unavailable is not null, knot.Unavailable ?? "");
            return _resolver ??= new DnsDiscoveryResolver(knot.EndPoint, KnotServer.Patient());
        }
    }

    public void Dispose() => _resolver?.Dispose();

    [Fact]
    public async Task ResolveMui_TxtAndPrivateType_AreMergedAndOrderedByPriority()
    {
        var result = await Resolver.ResolveMuiAsync("bob.example.net");

        Assert.Equal(DnsOutcome.Found, result.Outcome);
        Assert.Equal(["telegram", "whatsapp", "matrix"], result.Records.Select(r => r.Record.Service));
        Assert.Equal(DnsEncodings.Txt | DnsEncodings.PrivateType, result.Records[0].Encodings);
        Assert.Equal(DnsEncodings.Txt, result.Records[1].Encodings);
        Assert.Equal(DnsEncodings.PrivateType, result.Records[2].Encodings);
        Assert.Equal("+15551234567", result.Records[1].Record.Account);
    }

    [Fact]
    public async Task ResolveMui_MalformedRecords_AreIgnoredWithDiagnostics()
    {
        var result = await Resolver.ResolveMuiAsync("broken.example.net");

        Assert.Equal(DnsOutcome.Found, result.Outcome);
        Assert.Equal("ok", Assert.Single(result.Records).Record.Account);
        Assert.Equal(2, result.Diagnostics.Count);
        Assert.Contains(result.Diagnostics, d => d.Contains("MIMI2", StringComparison.Ordinal));
        Assert.Contains(result.Diagnostics, d => d.Contains("no endpoint", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ResolveMui_OnlyForeignTxt_IsNoRecords()
    {
        var result = await Resolver.ResolveMuiAsync("empty.example.net");

        Assert.Equal(DnsOutcome.NoRecords, result.Outcome);
        Assert.Single(result.Diagnostics);
    }

    [Fact]
    public async Task ResolveMui_TxtSplitIntoSeveralStrings_IsJoined()
    {
        var result = await Resolver.ResolveMuiAsync("split.example.net");

        Assert.Equal("split.example", Assert.Single(result.Records).Record.Endpoint);
    }

    [Fact]
    public async Task ResolveMui_AnswerLargerThanUdp_IsFetchedOverTcp()
    {
        var result = await Resolver.ResolveMuiAsync("many.example.net");

        // 30 records (~2.7 KB) exceed Knot's UDP payload limit (1232 octets): the answer comes truncated, then over TCP.
        Assert.Equal(30, result.Records.Count);
    }

    [Fact]
    public async Task ResolveMui_Aliases_AreFollowedInBothEncodings()
    {
        var bob = await Resolver.ResolveMuiAsync("bob.example.net");

        var carl = await Resolver.ResolveMuiAsync("carl.example.net");

        Assert.Equal(DnsOutcome.Found, carl.Outcome);
        Assert.Equal(bob.Records, carl.Records);
    }

    [Fact]
    public async Task ResolveMui_AliasIntoAnotherZone_IsAskedAgainForTheTarget()
    {
        var alice = await Resolver.ResolveMuiAsync("alice.lines.example");

        var dave = await Resolver.ResolveMuiAsync("dave.example.net");

        Assert.Equal(3, dave.Records.Count);
        Assert.Equal(alice.Records, dave.Records);
    }

    [Fact]
    public async Task ResolveMui_AliasLoop_IsAServerFailureValue()
    {
        var result = await Resolver.ResolveMuiAsync("loop.example.net");

        Assert.Equal(DnsOutcome.ServerFailure, result.Outcome);
        Assert.Empty(result.Records);
    }

    [Fact]
    public async Task ResolveMui_NonAsciiTxt_IsReadAsUtf8AndMatchesThePrivateType()
    {
        var result = await Resolver.ResolveMuiAsync("erin.example.net");

        var record = Assert.Single(result.Records);
        Assert.Equal("érin", record.Record.Account);
        Assert.Equal(DnsEncodings.Txt | DnsEncodings.PrivateType, record.Encodings);
    }

    [Fact]
    public async Task ResolveMui_UnknownName_IsNameNotFound()
    {
        Assert.Equal(DnsOutcome.NameNotFound, (await Resolver.ResolveMuiAsync("nobody.example.net")).Outcome);
    }

    [Fact]
    public async Task ResolveMui_ZoneThatFailedToLoad_IsServerFailure()
    {
        Assert.Equal(DnsOutcome.ServerFailure, (await Resolver.ResolveMuiAsync("bob.servfail.example")).Outcome);
    }

    [Fact]
    public async Task ResolveMui_ZoneTheServerDoesNotServe_IsRefused()
    {
        Assert.Equal(DnsOutcome.Refused, (await Resolver.ResolveMuiAsync("bob.elsewhere.test")).Outcome);
    }

    [Theory]
    [InlineData("mailbox@example.com", "mailbox.mimi.example.net", "mailbox")]
    [InlineData("Bob+Tag@example.com", "x--mjxwek3umftq.mimi.example.net", "bob+tag")]
    [InlineData("mailbox@example.org", "mailbox.mimi.example.net", "mailbox")]
    public async Task ResolveEmail_ThroughMimix_FindsTheMuisRecords(string email, string mui, string account)
    {
        var result = await Resolver.ResolveAsync(CsiParser.ParseOrThrow(email));

        Assert.Equal(DnsOutcome.Found, result.Outcome);
        Assert.Equal(mui, result.Name);
        Assert.Equal(account, Assert.Single(result.Records).Record.Account);
    }

    [Theory]
    [InlineData("someone@nomimix.example", DnsOutcome.NoMimix)]
    [InlineData("someone@badmimix.example", DnsOutcome.NoMimix)]
    [InlineData("nobody@example.com", DnsOutcome.NameNotFound)]
    public async Task ResolveEmail_WithoutUsableMimixOrRecords_SaysWhy(string email, DnsOutcome outcome)
    {
        var result = await Resolver.ResolveAsync(CsiParser.ParseOrThrow(email));

        Assert.Equal(outcome, result.Outcome);
        Assert.Empty(result.Records);
    }

    [Fact]
    public async Task ResolvePhone_ThroughEnum_FindsRecordsAndIgnoresABadPrivateRecord()
    {
        var result = await Resolver.ResolveAsync(CsiParser.ParseOrThrow("+33 6 12 34 56 78"));

        Assert.Equal(DnsOutcome.Found, result.Outcome);
        Assert.Equal("8.7.6.5.4.3.2.1.6.3.3.e164.arpa", result.Name);
        Assert.Equal("whatsapp", Assert.Single(result.Records).Record.Service);
        Assert.Single(result.Diagnostics);
    }

    [Fact]
    public async Task Resolve_NoServerListening_IsTimeout()
    {
        Assert.SkipWhen(knot.Unavailable is not null, knot.Unavailable ?? "");
        using var resolver = new DnsDiscoveryResolver(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, KnotServer.FreePort()), new DnsDiscoveryOptions { Timeout = TimeSpan.FromMilliseconds(300) });

        Assert.Equal(DnsOutcome.Timeout, (await resolver.ResolveMuiAsync("bob.example.net")).Outcome);
    }
}

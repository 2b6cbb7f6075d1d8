using Mimi.Discovery.Dns;

namespace Mimi.Discovery.Tests.Dns;

/// <summary>DNSSEC validation against a private signed tree served by Knot, anchored at its own root.</summary>
public sealed class DnssecTests(SignedKnotServer knot) : IClassFixture<SignedKnotServer>
{
    private DnsDiscoveryResolver Validating()
    {
        Assert.SkipWhen(knot.Unavailable is not null, knot.Unavailable ?? "");
        return new DnsDiscoveryResolver(knot.EndPoint, KnotServer.Patient(new DnsDiscoveryOptions { TrustAnchors = [knot.Anchor!] }));
    }

    [Theory]
    [InlineData("carl.signed.example")]
    [InlineData("carl.insecure.example")]
    [InlineData("erin.signed.example")]
    [InlineData("erin.insecure.example")]
    public async Task AliasesAndUtf8_GiveTheSameRecordsWithAndWithoutValidation(string mui)
    {
        using var validating = Validating();
        using var plain = new DnsDiscoveryResolver(knot.EndPoint, KnotServer.Patient());

        var secure = await validating.ResolveMuiAsync(mui);
        var unchecked_ = await plain.ResolveMuiAsync(mui);

        Assert.Equal(DnsOutcome.Found, unchecked_.Outcome);
        Assert.Equal(unchecked_.Outcome, secure.Outcome);
        Assert.Equal(unchecked_.Records.Select(r => r.Record), secure.Records.Select(r => r.Record));
        Assert.Equal(mui.EndsWith(".signed.example", StringComparison.Ordinal) ? DnssecStatus.Validated : DnssecStatus.Insecure, secure.Dnssec);
        if (mui != "erin.signed.example")
        {
            Assert.Equal(unchecked_.Records.Select(r => r.Encodings), secure.Records.Select(r => r.Encodings));
        }
        else
        {
            // The validator cannot check UTF-8 TXT strings: the validated private type carries the
            // record, and the diagnostic says why the TXT answer was set aside (not "forged").
            Assert.Equal(DnsEncodings.PrivateType, Assert.Single(secure.Records).Encodings);
            Assert.Contains(secure.Diagnostics, d => d.Contains("UTF-8", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void AnchorBelowTheRoot_IsRefusedUpFrontWithTheReason()
    {
        var anchor = DnsTrustAnchor.Parse("signed.example. DS 1 13 2 " + new string('A', 64));

        var e = Assert.Throws<ArgumentException>(() => new DnsDiscoveryResolver(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 53), new DnsDiscoveryOptions { TrustAnchors = [anchor] }));

        Assert.Contains("below the root", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SignedZone_IsValidatedInBothEncodings()
    {
        using var resolver = Validating();

        var result = await resolver.ResolveMuiAsync("alice.signed.example");

        Assert.Equal(DnsOutcome.Found, result.Outcome);
        Assert.Equal(DnssecStatus.Validated, result.Dnssec);
        Assert.Equal(DnssecStatus.Validated, Assert.Single(result.Records).Dnssec);
    }

    [Fact]
    public async Task UnsignedDelegation_IsInsecureButUsable()
    {
        using var resolver = Validating();

        var result = await resolver.ResolveMuiAsync("alice.insecure.example");

        Assert.Equal(DnsOutcome.Found, result.Outcome);
        Assert.Equal(DnssecStatus.Insecure, result.Dnssec);
    }

    [Fact]
    public async Task BogusZone_IsNeverUsed()
    {
        using var resolver = Validating();

        var result = await resolver.ResolveMuiAsync("alice.bogus.example");

        Assert.NotEqual(DnsOutcome.Found, result.Outcome);
        Assert.Empty(result.Records);
        Assert.Equal(DnssecStatus.Bogus, result.Dnssec);
        Assert.Contains(result.Diagnostics, d => d.Contains("failed DNSSEC validation", StringComparison.Ordinal));
    }

    [Fact]
    public async Task WithoutAnchors_TheSameBogusZoneIsReturnedUnchecked()
    {
        Assert.SkipWhen(knot.Unavailable is not null, knot.Unavailable ?? "");
        using var plain = new DnsDiscoveryResolver(knot.EndPoint, KnotServer.Patient());

        var result = await plain.ResolveMuiAsync("alice.bogus.example");

        Assert.Equal(DnsOutcome.Found, result.Outcome);
        Assert.Equal(DnssecStatus.NotChecked, result.Dnssec);
    }

    [Fact]
    public async Task WrongAnchor_MakesEverySignedAnswerBogus()
    {
        Assert.SkipWhen(knot.Unavailable is not null, knot.Unavailable ?? "");
        using var resolver = new DnsDiscoveryResolver(knot.EndPoint, KnotServer.Patient(new DnsDiscoveryOptions { TrustAnchors = [DnsTrustAnchor.IanaRoot] }));

        var result = await resolver.ResolveMuiAsync("alice.signed.example");

        Assert.Empty(result.Records);
        Assert.Equal(DnssecStatus.Bogus, result.Dnssec);
    }

    [Theory]
    [InlineData(". DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D", 20326)]
    [InlineData("example. 3600 IN DS 1 13 2 AA BB", 1)]
    public void TrustAnchor_Parse_ReadsDsRecords(string text, int keyTag)
    {
        Assert.Equal(keyTag, DnsTrustAnchor.Parse(text).KeyTag);
    }

    [Theory]
    [InlineData("")]
    [InlineData(". DS 1 2")]
    [InlineData(". DS 99999999 8 2 AA")]
    [InlineData(". DS 1 8 2 XYZ")]
    [InlineData("no ds here")]
    public void TrustAnchor_Parse_Malformed_Throws(string text)
    {
        Assert.Throws<FormatException>(() => DnsTrustAnchor.Parse(text));
    }
}

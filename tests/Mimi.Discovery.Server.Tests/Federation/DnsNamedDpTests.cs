using Mimi.Discovery.Client;
using Mimi.Discovery.Dns;
using Mimi.Discovery.Statements;
using Mimi.Discovery.Tests.Dns;

namespace Mimi.Discovery.Server.Tests.Federation;

/// <summary>
/// The DNS as the draft's oracle for DPs: an email domain or a number range names its DP in a real
/// Knot zone (<c>_mimi-dp</c> TXT), and the resolver — configured with no DP at all — asks that DP.
/// </summary>
public sealed class DnsNamedDpTests(KnotServer knot) : IClassFixture<KnotServer>
{
    [Fact]
    public async Task EmailDomainAndNumberRange_NameTheirDp_TheResolverAsksIt()
    {
        Assert.SkipWhen(knot.Unavailable is not null, knot.Unavailable ?? "");
        await using var dp = await DpHost.StartAsync();
        var erin = await dp.RegisterAsync("erin@dyn.example");
        await dp.Client.PublishAsync(erin.Sign(1, [new MspEntry("wire") { Account = "@erin", Priority = 10 }]));
        var frank = await dp.RegisterAsync("+33655512345");
        await dp.Client.PublishAsync(frank.Sign(1, [new MspEntry("signal") { Account = "@frank", Priority = 10 }]));

        using var publisher = new DnsPublisher(knot.EndPoint, knot.Key);
        Assert.True((await publisher.ReplaceDpAsync("dyn.example", "dyn.example", dp.BaseAddress)).Succeeded);
        Assert.True((await publisher.ReplaceDpAsync("e164.test", "6.3.3.e164.test", dp.BaseAddress)).Succeeded);
        using var dns = new DnsDiscoveryResolver(knot.EndPoint, KnotServer.Patient(new DnsDiscoveryOptions { EnumApex = "e164.test" }));
        var resolver = new DiscoveryResolver(dns, [], (url, ct) => DiscoveryResolver.ConnectAsync(url, TlsTrust.LoadRoots(Path.Combine(dp.DataDirectory, "tls.crt")), new TreeHeadMemory(), ct));

        var email = await resolver.ResolveAsync("erin@dyn.example");
        Assert.Equal(LookupOutcome.Found, email.Outcome);
        Assert.Equal("@erin", Assert.Single(email.Services).Account);
        var named = Assert.Single(email.Sources, s => s.Kind == AnswerSource.DiscoveryProvider);
        Assert.Equal(dp.BaseAddress.ToString(), named.Name);
        Assert.StartsWith("named in the DNS at _mimi-dp.dyn.example (not DNSSEC-validated); found", named.Detail, StringComparison.Ordinal);

        var phone = await resolver.ResolveAsync("+33655512345");
        Assert.Equal("@frank", Assert.Single(phone.Services).Account);
        Assert.Contains("_mimi-dp.6.3.3.e164.test", Assert.Single(phone.Sources, s => s.Kind == AnswerSource.DiscoveryProvider).Detail, StringComparison.Ordinal);

        // A more specific range names nothing valid (plain http): ignored, the broader name stands.
        Assert.True((await publisher.ReplaceDpAsync("e164.test", "5.5.6.3.3.e164.test", new Uri("http://127.0.0.1:1/"))).Succeeded);
        var found = await dns.ResolveDpAsync(Identifiers.CsiParser.ParseOrThrow("+33655512345"));
        Assert.Equal("_mimi-dp.6.3.3.e164.test", found.Name);
        Assert.Contains(found.Diagnostics, d => d.StartsWith("_mimi-dp.5.5.6.3.3.e164.test: record ignored", StringComparison.Ordinal));

        // Removed from the DNS: the resolver has no source left for Erin.
        Assert.True((await publisher.ReplaceDpAsync("dyn.example", "dyn.example", null)).Succeeded);
        var gone = await resolver.ResolveAsync("erin@dyn.example");
        Assert.Equal(LookupOutcome.None, gone.Outcome);
        Assert.DoesNotContain(gone.Sources, s => s.Kind == AnswerSource.DiscoveryProvider);
    }
}

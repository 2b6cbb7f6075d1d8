using System.Net;
using Mimi.Discovery.Client;
using Mimi.Discovery.Dns;
using Mimi.Discovery.Verification;

namespace Mimi.Discovery.Tests.Dns;

/// <summary>
/// The resolver against a real Knot server asks the DNS and the Discovery Providers together, and a
/// DNS failure (SERVFAIL, REFUSED, no answer) is a failed source reported beside the others, not a
/// reason to leave the DPs unasked. The provider here counts whether it was asked and answers 503,
/// as a DP that is down would.
/// </summary>
public sealed class DiscoveryResolverFallbackTests(KnotServer knot) : IClassFixture<KnotServer>, IDisposable
{
    private readonly AskedProvider _provider = new();
    private readonly Mimi.Discovery.Credentials.CredentialAuthority _ca = Mimi.Discovery.Credentials.CredentialAuthority.Create("Test CA", TimeSpan.FromDays(1));

    public void Dispose()
    {
        _provider.Dispose();
        _ca.Dispose();
    }

    private DiscoveryResolver Resolver(DnsDiscoveryResolver dns) => new(dns, [new ProviderEndpoint(
        new Uri("https://dp.example/"),
        new DiscoveryClient(new HttpClient(_provider) { BaseAddress = new Uri("https://dp.example/") }),
        new StatementVerifier(new TrustAnchors([_ca.Certificate])))]);

    [Theory]
    [InlineData("someone@nomimix.example")] // no MIMIX record
    [InlineData("nobody@example.com")] // no such name
    public async Task DnsSaysNothing_TheProvidersAreAsked(string identifier)
    {
        Assert.SkipWhen(knot.Unavailable is not null, knot.Unavailable ?? "");
        using var dns = new DnsDiscoveryResolver(knot.EndPoint, KnotServer.Patient());

        await Resolver(dns).ResolveAsync(identifier);

        Assert.Equal(1, _provider.Asked);
    }

    [Theory]
    [InlineData("someone@servfail.example", "ServerFailure")]
    [InlineData("someone@elsewhere.test", "Refused")]
    public async Task DnsFailed_TheProvidersAreAskedAnyway_AndTheAnswerIsPartial(string identifier, string outcome)
    {
        Assert.SkipWhen(knot.Unavailable is not null, knot.Unavailable ?? "");
        using var dns = new DnsDiscoveryResolver(knot.EndPoint, KnotServer.Patient());

        var resolution = await Resolver(dns).ResolveAsync(identifier);

        Assert.Equal(1, _provider.Asked);
        Assert.Equal(LookupOutcome.None, resolution.Outcome);
        Assert.True(resolution.Partial);
        Assert.Equal([(AnswerSource.Dns, SourceStatus.Failed), (AnswerSource.DiscoveryProvider, SourceStatus.Failed)], resolution.Sources.Select(x => (x.Kind, x.Status)));
        Assert.Equal(outcome, resolution.Sources[0].Detail);
    }

    [Fact]
    public async Task DnsDidNotAnswer_IsAFailedSource()
    {
        Assert.SkipWhen(knot.Unavailable is not null, knot.Unavailable ?? "");
        using var dns = new DnsDiscoveryResolver(new IPEndPoint(IPAddress.Loopback, KnotServer.FreePort()), new DnsDiscoveryOptions { Timeout = TimeSpan.FromMilliseconds(300) });

        var resolution = await Resolver(dns).ResolveAsync("someone@nomimix.example");

        Assert.Equal(1, _provider.Asked);
        Assert.Equal("Timeout", resolution.Sources[0].Detail);
        Assert.True(resolution.Partial);
    }

    /// <summary>Counts requests and answers each with 503, as a DP that is down would.</summary>
    private sealed class AskedProvider : HttpMessageHandler
    {
        private int _asked;

        public int Asked => _asked;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _asked);
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.ServiceUnavailable) { RequestMessage = request });
        }
    }
}

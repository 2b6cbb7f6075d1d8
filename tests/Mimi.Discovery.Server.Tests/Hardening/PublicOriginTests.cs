using System.Text.Json;
using Mimi.Discovery.Server.Hosting;

namespace Mimi.Discovery.Server.Tests.Hardening;

/// <summary>
/// The URLs the DP publishes come from its configuration, never from a request's Host header: the
/// SDK sends an API key to the issuer directory's issuer-request-uri, and both documents are cached.
/// </summary>
public sealed class PublicOriginTests
{
    [Fact]
    public async Task ForgedHost_IsNotReflectedIntoMetadataOrIssuerDirectory()
    {
        await using var dp = await DpHost.StartAsync();
        var origin = dp.BaseAddress.GetLeftPart(UriPartial.Authority);
        var tls = Path.Combine(dp.DataDirectory, "tls.crt");

        var metadata = await RawHttps.SendAsync(dp.BaseAddress, tls, "GET", "/.well-known/mimi-discovery", host: "evil.example");
        var directory = await RawHttps.SendAsync(dp.BaseAddress, tls, "GET", "/.well-known/private-token-issuer-directory", host: "evil.example");

        Assert.Equal(200, metadata.Status);
        Assert.Equal(200, directory.Status);
        Assert.DoesNotContain("evil.example", metadata.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("evil.example", directory.Body, StringComparison.Ordinal);
        var document = JsonDocument.Parse(metadata.Body).RootElement;
        Assert.Equal(origin + "/v1", document.GetProperty("api").GetString());
        Assert.Equal(origin + "/v1/tokens", JsonDocument.Parse(directory.Body).RootElement.GetProperty("issuer-request-uri").GetString());
    }

    [Fact]
    public async Task ConfiguredPublicOrigin_IsEveryPublishedUrlsOrigin()
    {
        await using var dp = await DpHost.StartAsync(o => o.PublicOrigin = new Uri("https://dp.example:9443"));

        var metadata = await dp.Client.GetMetadataAsync(TestContext.Current.CancellationToken);
        var directory = await dp.Http.GetStringAsync(".well-known/private-token-issuer-directory", TestContext.Current.CancellationToken);

        Assert.Equal("https://dp.example:9443/v1", metadata.Api);
        Assert.Equal("https://dp.example:9443/.well-known/ohttp-gateway", metadata.Ohttp!.Gateway);
        Assert.Equal("https://dp.example:9443/.well-known/private-token-issuer-directory", metadata.Tokens!.Directory);
        Assert.Equal("dp.example", metadata.Tokens.IssuerName);
        Assert.Equal("https://dp.example:9443/v1/tokens", JsonDocument.Parse(directory).RootElement.GetProperty("issuer-request-uri").GetString());
    }

    [Fact]
    public void Resolve_WildcardAddress_NeedsAConfiguredOriginOutsideDev()
    {
        var production = new PublicOrigin(new DiscoveryOptions());
        var dev = new PublicOrigin(new DiscoveryOptions { Dev = true });
        var bound = new PublicOrigin(new DiscoveryOptions());

        var e = Assert.Throws<InvalidOperationException>(() => production.Resolve(["https://0.0.0.0:8443"]));
        dev.Resolve(["https://[::]:8443"]);
        bound.Resolve(["https://127.0.0.1:8443", "https://[::1]:8443"]);

        Assert.Contains("Discovery:PublicOrigin", e.Message, StringComparison.Ordinal);
        Assert.Equal("https://localhost:8443", dev.Value);
        Assert.Equal("https://127.0.0.1:8443", bound.Value);
    }
}

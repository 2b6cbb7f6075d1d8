using Mimi.Discovery.Server.Hosting;
using Mimi.Discovery.Server.Relay;

namespace Mimi.Discovery.Server.Tests.Hardening;

/// <summary>A setting that would weaken the DP or fail its requests later stops start-up, naming the setting.</summary>
public sealed class StartupValidationTests
{
    [Theory]
    [InlineData("Discovery:TokenKeyEpoch", "00:00:05")]
    [InlineData("Discovery:SendWindow", "00:00:00.5")]
    [InlineData("Discovery:SendWindow", "00:00:00")]
    [InlineData("Discovery:CodeLifetime", "00:00:00")]
    [InlineData("Discovery:MaxCodeAttempts", "0")]
    [InlineData("Discovery:MaxOutstandingPerCsi", "0")]
    [InlineData("Discovery:MaxSendsPerClientAndCsi", "0")]
    [InlineData("Discovery:MaxSendsPerClient", "-1")]
    [InlineData("Discovery:MaxSendsGlobal", "0")]
    [InlineData("Discovery:MaxLookupBatch", "0")]
    [InlineData("Discovery:MaxRequestBytes", "10")]
    [InlineData("Discovery:CredentialLifetime", "00:00:01")]
    [InlineData("Discovery:OhttpKeyLifetime", "00:00:00")]
    [InlineData("Discovery:OhttpKeyGrace", "-00:00:01")]
    [InlineData("Discovery:EpochInterval", "-00:00:01")]
    [InlineData("Discovery:EpochMaxBatch", "0")]
    [InlineData("Discovery:EpochCheckInterval", "00:02:00")]
    [InlineData("Discovery:ProofCacheBytes", "-1")]
    [InlineData("Discovery:AnswerCacheBytes", "-1")]
    [InlineData("Discovery:CsisPerToken", "0")]
    [InlineData("Discovery:MaxTokensPerIssuance", "0")]
    [InlineData("Discovery:LookupMaxAge", "-00:00:01")]
    [InlineData("Discovery:TokenKeyGraceEpochs", "-1")]
    [InlineData("Discovery:TokenIssuerName", "not a host/name")]
    [InlineData("Discovery:PublicOrigin", "http://dp.example")]
    [InlineData("Discovery:PublicOrigin", "https://dp.example/some/path")]
    [InlineData("Discovery:Name", "")]
    [InlineData("Discovery:TlsCertificate", "/nonexistent/tls.crt")]
    [InlineData("Discovery:AcceptedCaFiles:0", "/nonexistent/ca.crt")]
    [InlineData("Discovery:ResponseBuckets:7", "10")]
    [InlineData("Discovery:ReadReplica", "Host=127.0.0.1;Port=1")] // a replica of the SQLite default
    public async Task BuildAsync_SettingOutOfRange_FailsNamingTheSetting(string setting, string value)
    {
        var data = Path.Combine(Path.GetTempPath(), "mimi-dp-invalid-" + Guid.NewGuid().ToString("N"));

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => DiscoveryServer.BuildAsync(
            ["--urls", "https://127.0.0.1:0", $"--{setting}={value}", $"--Discovery:DataDirectory={data}", "--Logging:LogLevel:Default=Error"],
            cancellationToken: TestContext.Current.CancellationToken));

        var named = setting.Split(':') is [_, var property, var index] && int.TryParse(index, out _) ? $"Discovery:{property}:{index}" : setting;
        Assert.Contains(named, e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(data), "nothing is created before the settings are checked");
    }

    [Fact]
    public async Task BuildAsync_SectionsOfChannels_AreCheckedToo()
    {
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => DiscoveryServer.BuildAsync(
            ["--urls", "https://127.0.0.1:0", "--Logging:LogLevel:Default=Error"],
            o =>
            {
                o.DataDirectory = Path.Combine(Path.GetTempPath(), "mimi-dp-invalid-" + Guid.NewGuid().ToString("N"));
                o.Smtp = new SmtpOptions { Host = "mail.example", Port = 0, Security = MailKit.Security.SecureSocketOptions.None, From = "not an address" };
                o.Sms = new SmsGatewayOptions { Url = new Uri("http://sms.example/send"), BodyTemplate = "{\"to\":\"{to}\"}" };
                o.Dns = new DnsSyncOptions { Server = "ns.example", Zone = "e164.test", TsigName = "k", TsigSecret = "short", TsigAlgorithm = "hmac-sha384" };
            },
            cancellationToken: TestContext.Current.CancellationToken));

        foreach (var setting in new[] { "Discovery:Smtp:Port", "Discovery:Smtp:From", "Discovery:Smtp:Security", "Discovery:Sms:Url", "Discovery:Sms:BodyTemplate", "Discovery:Dns:Server", "Discovery:Dns:TsigSecret", "Discovery:Dns:TsigAlgorithm" })
        {
            Assert.Contains(setting, e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Validate_Defaults_Pass()
    {
        var result = new DiscoveryOptionsValidator().Validate(null, new DiscoveryOptions());

        Assert.True(result.Succeeded, result.FailureMessage);
    }

    [Theory]
    [InlineData("--Kestrel:Endpoints:Plain:Url=http://127.0.0.1:0", "Kestrel:Endpoints:Plain:Url")]
    [InlineData("--urls=http://127.0.0.1:0", "http://127.0.0.1:0")]
    public async Task BuildAsync_PlaintextEndpoint_IsRefused(string argument, string named)
    {
        string[] args = argument.StartsWith("--urls", StringComparison.Ordinal)
            ? [argument, "--Logging:LogLevel:Default=Error"]
            : ["--urls", "https://127.0.0.1:0", argument, "--Logging:LogLevel:Default=Error"];

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => DiscoveryServer.BuildAsync(args, o => o.DataDirectory = Path.Combine(Path.GetTempPath(), "mimi-dp-plain-" + Guid.NewGuid().ToString("N")), cancellationToken: TestContext.Current.CancellationToken));

        Assert.Contains(named, e.Message, StringComparison.Ordinal);
        Assert.Contains("HTTPS", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RelayBuildAsync_PlaintextKestrelEndpoint_IsRefused()
    {
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => RelayServer.BuildAsync(
            ["--urls", "https://127.0.0.1:0", "--Kestrel:Endpoints:Plain:Url=http://127.0.0.1:0"],
            o => o.Gateway = new Uri("https://127.0.0.1:1/.well-known/ohttp-gateway"),
            TestContext.Current.CancellationToken));

        Assert.Contains("Kestrel:Endpoints:Plain:Url", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Relay:Timeout", "00:00:00")]
    [InlineData("Relay:MaxRequestBytes", "0")]
    [InlineData("Relay:RequestsPerMinutePerClient", "0")]
    [InlineData("Relay:GatewayCaFile", "/nonexistent/ca.crt")]
    public async Task RelayBuildAsync_SettingOutOfRange_FailsNamingTheSetting(string setting, string value)
    {
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => RelayServer.BuildAsync(
            ["--urls", "https://127.0.0.1:0", $"--{setting}={value}"],
            o => o.Gateway = new Uri("https://127.0.0.1:1/.well-known/ohttp-gateway"),
            TestContext.Current.CancellationToken));

        Assert.Contains(setting, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RequireHttps_APlaintextBoundAddress_Throws()
    {
        HttpsOnly.RequireHttps(["https://127.0.0.1:8443", "https://[::1]:8443"], "DP");

        var e = Assert.Throws<InvalidOperationException>(() => HttpsOnly.RequireHttps(["https://127.0.0.1:8443", "http://127.0.0.1:8080"], "DP"));
        Assert.Contains("http://127.0.0.1:8080", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BoundAddressCheck_APlaintextBoundAddress_StopsTheServerAndFails()
    {
        var server = new StubServer("https://127.0.0.1:8443", "http://127.0.0.1:8080");
        var check = new BoundAddressCheck(server, new PublicOrigin(new DiscoveryOptions()), "Discovery Provider");

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => check.StartedAsync(TestContext.Current.CancellationToken));

        Assert.Contains("http://127.0.0.1:8080", e.Message, StringComparison.Ordinal);
        Assert.True(server.Stopped);
    }

    private sealed class StubServer : Microsoft.AspNetCore.Hosting.Server.IServer
    {
        public StubServer(params string[] addresses)
        {
            var bound = new Microsoft.AspNetCore.Hosting.Server.Features.ServerAddressesFeature();
            foreach (var address in addresses)
            {
                bound.Addresses.Add(address);
            }

            Features.Set<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>(bound);
        }

        public Microsoft.AspNetCore.Http.Features.IFeatureCollection Features { get; } = new Microsoft.AspNetCore.Http.Features.FeatureCollection();

        public bool Stopped { get; private set; }

        public Task StartAsync<TContext>(Microsoft.AspNetCore.Hosting.Server.IHttpApplication<TContext> application, CancellationToken cancellationToken)
            where TContext : notnull => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken)
        {
            Stopped = true;
            return Task.CompletedTask;
        }

        public void Dispose()
        {
        }
    }
}

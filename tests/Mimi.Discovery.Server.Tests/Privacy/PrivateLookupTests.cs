using Mimi.Discovery.Client;
using Mimi.Discovery.Server.Tests.Relay;
using Mimi.Discovery.Server.Tests.Tokens;
using Mimi.Discovery.Transparency;
using Mimi.Discovery.Verification;

namespace Mimi.Discovery.Server.Tests.Privacy;

/// <summary>
/// End to end over real HTTPS on loopback: client (from 127.0.0.2) → relay → the DP's gateway →
/// lookup paid with a Privacy Pass token of a sponsoring service's account. From both parties'
/// captured logs: the DP never saw the client's address, and the relay never saw the CSI.
/// </summary>
public sealed class PrivateLookupTests
{
    private const string Bob = "+33612345678";
    private const string ClientAddress = "127.0.0.2";

    [Fact]
    public async Task ClientRelayGatewayLookup_SplitsWhoFromWhat()
    {
        var dpLogs = new LogCapture();
        await using var dp = await DpHost.StartAsync(o => o.RequireTokens = true, logs: dpLogs);
        var bob = await dp.RegisterAsync(Bob);
        await dp.Client.PublishAsync(bob.Sign(1, [new Statements.MspEntry("wire") { Account = "@bob" }], Statements.Audience.Only(["wire"])));
        var tokens = TokenKit.Tokens(dp, await TokenKit.AddAccountAsync(dp, "wire-users", "wire", 5));
        await using var relay = await RelayHost.StartAsync(new Uri(dp.BaseAddress, "/.well-known/ohttp-gateway"), Path.Combine(dp.DataDirectory, "tls.crt"));

        // The client reaches the relay from its own address; the gateway key is public.
        var key = await ObliviousHttpHandler.FetchKeyAsync(dp.Http, TestContext.Current.CancellationToken);
        var toRelay = relay.Client(ClientAddress);
        var transport = new RelayTransport(toRelay);
        using var oblivious = new HttpClient(new PrivateTokenHandler(new TokenWallet(tokens, time: dp.Time), new ObliviousHttpHandler(relay.BaseAddress, key, transport))) { BaseAddress = dp.BaseAddress };
        var client = new DiscoveryClient(oblivious);
        var metadata = await client.GetMetadataAsync(TestContext.Current.CancellationToken);
        var check = new TransparencyCheck(TransparencyKeyset.FromWire(metadata.Transparency!)!, new TreeHeadMemory(), TimeSpan.FromDays(1), dp.Time);
        var dpLinesBefore = dpLogs.Lines.Count;

        var results = await client.LookupAsync([Bob], new StatementVerifier(new TrustAnchors([dp.LoadAuthority().Certificate]), dp.Time), "wire", check, TestContext.Current.CancellationToken);

        // The token told the DP "a user of wire asks", so the wire-only statement is visible and complete.
        Assert.Equal(LookupOutcome.Found, results[0].Outcome);
        Assert.True(results[0].Proof!.IsComplete, results[0].Proof!.Reason);
        Assert.True((await tokens.GetBalanceAsync(TestContext.Current.CancellationToken)).Used >= 1);

        // Without a token the sealed answer is the DP's 401 challenge, passed back through the relay.
        using var unpaid = new HttpClient(new ObliviousHttpHandler(relay.BaseAddress, key, new RelayTransport(toRelay))) { BaseAddress = dp.BaseAddress };
        var refused = await Assert.ThrowsAsync<DiscoveryException>(() => new DiscoveryClient(unpaid).LookupRawAsync([Bob], null, TestContext.Current.CancellationToken));
        Assert.Equal("token-required", refused.Code);

        // The DP logged the oblivious request, from the relay's address, never the client's.
        var dpLines = dpLogs.Lines.Skip(dpLinesBefore).Select(l => l.Text).ToList();
        Assert.Contains(dpLines, l => l.Contains("/.well-known/ohttp-gateway", StringComparison.Ordinal) && l.Contains("127.0.0.1", StringComparison.Ordinal));
        Assert.DoesNotContain(dpLogs.Lines, l => l.Text.Contains(ClientAddress, StringComparison.Ordinal));

        // The relay handled it (and saw the client to rate-limit it) but never the CSI, in any form.
        Assert.NotEmpty(relay.Logs.Lines);
        foreach (var form in new[] { Bob, "33612345678", "tel:", Uri.EscapeDataString("tel:" + Bob) })
        {
            Assert.DoesNotContain(relay.Logs.Lines, l => l.Text.Contains(form, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task RelayDown_TheErrorNamesTheRelay_NotTheDp()
    {
        await using var dp = await DpHost.StartAsync();
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var deadRelay = new Uri($"https://127.0.0.1:{((System.Net.IPEndPoint)listener.LocalEndpoint).Port}/");
        listener.Stop();
        var key = await ObliviousHttpHandler.FetchKeyAsync(dp.Http, TestContext.Current.CancellationToken);
        using var oblivious = new HttpClient(new ObliviousHttpHandler(deadRelay, key, TlsTrust.CreateHandler())) { BaseAddress = dp.BaseAddress };

        var failed = await Assert.ThrowsAsync<DiscoveryException>(() => new DiscoveryClient(oblivious).LookupRawAsync([Bob], null, TestContext.Current.CancellationToken));

        Assert.StartsWith($"cannot reach the Oblivious HTTP relay at {deadRelay}: ", failed.Message, StringComparison.Ordinal);
        Assert.Contains("refused", failed.Message, StringComparison.OrdinalIgnoreCase);
    }
}

using Mimi.Discovery.Client;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Server.Hosting;
using Mimi.Discovery.Server.Storage;
using Mimi.Discovery.Server.Tokens;
using Mimi.Discovery.Statements;
using Mimi.Discovery.Transparency;
using Mimi.Discovery.Verification;

namespace Mimi.Discovery.Server.Tests.Federation;

/// <summary>
/// The federated model with real DPs on loopback: a DP asks its peers with every lookup, verifies
/// their answers against the keys pinned in its configuration and passes them along unchanged; the
/// sender verifies them again. Peers that are down, silent or lying are reported, never trusted, and
/// never stop the answer.
/// </summary>
public sealed class PeerTests
{
    private const string Alice = "+33612345678";
    private const string Bob = "+33698765432";

    [Fact]
    public async Task LookupAtOneDp_GathersItsPeers_PaidWithItsOwnTokens_VerifiedTwice()
    {
        // Y requires tokens; X holds an account there and pays for what it asks.
        await using var y = await DpHost.StartAsync(o => o.RequireTokens = true);
        await using var z = await DpHost.StartAsync();
        var (key, hash) = ApiKeys.Create();
        Assert.True(await y.Service<IDiscoveryStore>().CreateAccountAsync(new TokenAccount
        {
            Name = "peer-x", KeyHash = hash, Service = null, Quota = 1000, WindowSeconds = 3600, CreatedAt = y.Clock.GetUtcNow().ToUnixTimeSeconds(),
        }, default));
        var aliceAtY = await y.RegisterAsync(Alice);
        await y.Client.PublishAsync(aliceAtY.Sign(1, [new MspEntry("wire") { Account = "@alice-y", Priority = 10 }]));
        var aliceAtZ = await z.RegisterAsync(Alice);
        await z.Client.PublishAsync(aliceAtZ.Sign(1, [new MspEntry("signal") { Account = "@alice-z", Priority = 20 }]));

        await using var fed = await FederatingAsync((y, key), (z, null));
        var bob = await fed.RegisterAsync(Bob);
        await fed.Client.PublishAsync(bob.Sign(1, [new MspEntry("wire") { Account = "@bob-x", Priority = 10 }]));

        var metadata = await fed.Client.GetMetadataAsync();
        Assert.Equal([y.BaseAddress.ToString(), z.BaseAddress.ToString()], metadata.Peers!.Select(p => p.Dp));
        var answer = await fed.Client.LookupFederatedAsync([Alice, Bob], Verifier(fed), null, await CheckAsync(fed), metadata.Peers!);

        Assert.False(answer.Partial, string.Join("; ", answer.Peers.Select(p => $"{p.Dp} {p.Status} {p.Detail}")));
        Assert.Equal(LookupOutcome.None, answer.Own[0].Outcome);
        Assert.Equal(["@alice-y", "@alice-z"], answer.Mappings(0).Select(m => m.Mapping.Entries[0].Account).Order());
        Assert.Equal(["@bob-x"], answer.Mappings(1).Select(m => m.Mapping.Entries[0].Account));
        Assert.All(answer.Peers, p => Assert.Equal(PeerStatuses.Answered, p.Status));
        Assert.All(answer.Peers.SelectMany(p => p.Answers), a => Assert.True(a.Proof!.IsComplete));

        // X paid Y: one token for the two CSIs (ten a token).
        var balance = await new TokenClient(y.Http, key).GetBalanceAsync();
        Assert.True(balance.Used >= 1, $"used {balance.Used}");
    }

    [Fact]
    public async Task DownSilentAndLyingPeers_AreReported_TheHealthyAnswerStands()
    {
        await using var honest = await DpHost.StartAsync();
        await using var liar = await DpHost.StartAsync();
        await using var other = await DpHost.StartAsync();
        var aliceHonest = await honest.RegisterAsync(Alice);
        await honest.Client.PublishAsync(aliceHonest.Sign(1, [new MspEntry("wire") { Account = "@alice", Priority = 10 }]));
        var aliceLiar = await liar.RegisterAsync(Alice);
        await liar.Client.PublishAsync(aliceLiar.Sign(1, [new MspEntry("wire") { Account = "@mallory", Priority = 10 }]));
        var down = await DpHost.StartAsync();
        var downUrl = down.BaseAddress;
        await down.DisposeAsync();
        using var silent = new SilentListener();
        var honestOptions = await PeerConfig.ForAsync(honest, null);
        PeerOptions Elsewhere(Uri url) => new() { Url = url, TlsCa = honestOptions.TlsCa, CredentialCas = honestOptions.CredentialCas, VrfKey = honestOptions.VrfKey, LogKey = honestOptions.LogKey };

        var liarWithOthersKeys = await PeerConfig.ForAsync(liar, null);
        var otherMetadata = await other.Client.GetMetadataAsync();
        liarWithOthersKeys.LogKey = otherMetadata.Transparency!.LogKey; // its tree heads will not verify
        liarWithOthersKeys.VrfKey = otherMetadata.Transparency.VrfKey;
        var liarWithOthersCa = await PeerConfig.ForAsync(liar, null);
        liarWithOthersCa.CredentialCas = Path.Combine(other.DataDirectory, "ca.crt"); // its statements will not verify

        await using var fed = await DpHost.StartAsync(o =>
        {
            // Long enough for the healthy peers on a loaded machine; the silent one never answers.
            o.PeerTimeout = TimeSpan.FromSeconds(5);
            o.Peers.Add(honestOptions);
            o.Peers.Add(Elsewhere(downUrl));
            o.Peers.Add(Elsewhere(silent.Url));
            o.Peers.Add(liarWithOthersKeys);
            o.Peers.Add(liarWithOthersCa);
        });

        var raw = await fed.Client.LookupRawAsync([Alice]);
        Assert.Equal([PeerStatuses.Answered, PeerStatuses.Failed, PeerStatuses.TimedOut, PeerStatuses.Refused, PeerStatuses.Refused], raw.Peers!.Select(p => p.Status));
        Assert.Null(raw.Peers![3].Response);
        Assert.Contains("BadTreeHead", raw.Peers[3].Detail, StringComparison.Ordinal);
        Assert.Contains("UntrustedIssuer", raw.Peers[4].Detail, StringComparison.Ordinal);
        Assert.Equal(downUrl.ToString(), raw.Peers[1].Dp);

        var answer = await fed.Client.LookupFederatedAsync([Alice], Verifier(fed), null, await CheckAsync(fed), (await fed.Client.GetMetadataAsync()).Peers!);
        Assert.True(answer.Partial);
        Assert.Equal("@alice", Assert.Single(answer.Mappings(0)).Mapping.Entries[0].Account);
    }

    [Fact]
    public async Task Sender_RefusesAPeerAnswerThatDoesNotVerifyAgainstTheKeysItWasGiven()
    {
        await using var y = await DpHost.StartAsync();
        var alice = await y.RegisterAsync(Alice);
        await y.Client.PublishAsync(alice.Sign(1));
        await using var fed = await FederatingAsync((y, null));
        var peers = (await fed.Client.GetMetadataAsync()).Peers!;
        await using var other = await DpHost.StartAsync();
        var wrongCa = peers.Select(p => p with { CredentialCas = [other.LoadAuthority().ExportCertificatePem()] }).ToList();

        var answer = await fed.Client.LookupFederatedAsync([Alice], Verifier(fed), null, await CheckAsync(fed), wrongCa);

        var part = Assert.Single(answer.Peers);
        Assert.Equal(PeerStatuses.Refused, part.Status);
        Assert.Contains("does not chain to a trusted CA", part.Detail, StringComparison.Ordinal);
        Assert.Empty(answer.Mappings(0));
    }

    [Fact]
    public async Task PeersOfEachOther_AskOneHopOnly()
    {
        await using var y = await DpHost.StartAsync();
        var alice = await y.RegisterAsync(Alice);
        await y.Client.PublishAsync(alice.Sign(1));
        await using var x = await FederatingAsync((y, null));
        // Y learns of X only now; a request X sends Y is marked as a peer's and answered from Y's own data.
        var raw = await x.Client.LookupRawAsync([Alice]);
        var part = Assert.Single(raw.Peers!);
        Assert.Equal(PeerStatuses.Answered, part.Status);
        Assert.Null(part.Response!.Peers);

        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/lookup") { Content = System.Net.Http.Json.JsonContent.Create(new LookupRequest([Alice]), ProtocolJson.Default.LookupRequest) };
        request.Headers.Add("Mimi-Federation", "peer");
        using var asPeer = await x.Http.SendAsync(request);
        var body = await System.Net.Http.Json.HttpContentJsonExtensions.ReadFromJsonAsync(asPeer.Content, ProtocolJson.Default.LookupResponse);
        Assert.Null(body!.Peers);
    }

    [Fact]
    public async Task MisconfiguredPeers_StopStartUp_NamingTheSetting()
    {
        var e = await Assert.ThrowsAnyAsync<Exception>(() => DpHost.StartAsync(o =>
        {
            o.Peers.Add(new PeerOptions { Url = new Uri("http://peer.example/"), MirrorKey = "not-a-key" });
            o.PeerTimeout = TimeSpan.Zero;
            o.MirrorKeyHashes.Add("not-a-hash");
        }));
        var message = e.ToString();
        Assert.Contains("Discovery:Peers:0:Url", message, StringComparison.Ordinal);
        Assert.Contains("Discovery:Peers:0:CredentialCas", message, StringComparison.Ordinal);
        Assert.Contains("Discovery:Peers:0:LogKey", message, StringComparison.Ordinal);
        Assert.Contains("Discovery:PeerTimeout", message, StringComparison.Ordinal);
        Assert.Contains("Discovery:Peers:0:MirrorKey", message, StringComparison.Ordinal);
        Assert.Contains("Discovery:MirrorKeyHashes:0", message, StringComparison.Ordinal);
    }

    private static async Task<DpHost> FederatingAsync(params (DpHost Peer, string? ApiKey)[] peers)
    {
        var options = new List<PeerOptions>();
        foreach (var (peer, key) in peers)
        {
            options.Add(await PeerConfig.ForAsync(peer, key));
        }

        return await DpHost.StartAsync(o =>
        {
            // Every peer here answers; a deadline no test run can reach keeps the answer whole.
            o.PeerTimeout = TimeSpan.FromSeconds(30);
            foreach (var p in options)
            {
                o.Peers.Add(p);
            }
        });
    }

    private static StatementVerifier Verifier(DpHost dp) => new(new TrustAnchors([dp.LoadAuthority().Certificate]), dp.Clock);

    private static async Task<TransparencyCheck> CheckAsync(DpHost dp) =>
        new(TransparencyKeyset.FromWire((await dp.Client.GetMetadataAsync()).Transparency!)!, new TreeHeadMemory(), TimeSpan.FromDays(1), dp.Clock);
}

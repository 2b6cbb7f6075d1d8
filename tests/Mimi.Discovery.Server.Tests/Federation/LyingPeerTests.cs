using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Statements;
using Mimi.Discovery.Transparency;

namespace Mimi.Discovery.Server.Tests.Federation;

/// <summary>
/// A peer that lies — a real DP behind a proxy that rewrites its lookup answers — is caught by the
/// federating DP, whatever the lie: a mapping left out, an old answer replayed after newer epochs, a
/// second history signed with the peer's own log key. Each is refused with its reason, and the other
/// peers' answers stand.
/// </summary>
public sealed class LyingPeerTests
{
    private const string Alice = "+33612345678";

    [Fact]
    public async Task OmittedMapping_Rollback_AndFork_AreRefused_TheHonestPeerStands()
    {
        await using var peer = await DpHost.StartAsync();
        await using var honest = await DpHost.StartAsync();
        foreach (var dp in new[] { peer, honest })
        {
            var alice = await dp.RegisterAsync(Alice);
            await dp.Client.PublishAsync(alice.Sign(1, [new MspEntry("wire") { Account = "@alice", Priority = 10 }]));
        }

        await using var proxy = await RewritingProxy.StartAsync(peer);
        var lying = await PeerConfig.ForAsync(peer, url: proxy.Url);
        var truthful = await PeerConfig.ForAsync(honest);
        await using var fed = await DpHost.StartAsync(o =>
        {
            o.PeerTimeout = TimeSpan.FromSeconds(30);
            o.Peers.Add(lying);
            o.Peers.Add(truthful);
        });

        async Task<PeerAnswer> AskAsync()
        {
            var raw = await fed.Client.LookupRawAsync([Alice]);
            Assert.Equal(PeerStatuses.Answered, raw.Peers![1].Status);
            return raw.Peers[0];
        }

        // Honest at first: the federating DP now remembers the peer's head.
        Assert.Equal(PeerStatuses.Answered, (await AskAsync()).Status);
        var old = proxy.Last!;

        // A mapping left out.
        proxy.Rewrite = r => r with { Results = [r.Results[0] with { Statements = [], Result = LookupResultKinds.None }] };
        var omitted = await AskAsync();
        Assert.Equal(PeerStatuses.Refused, omitted.Status);
        Assert.Contains("SetMismatch", omitted.Detail, StringComparison.Ordinal);

        // The peer moves on (a new version, a new epoch), then an old answer is replayed.
        proxy.Rewrite = null;
        var bob = await peer.RegisterAsync("+33698765432");
        await peer.Client.PublishAsync(bob.Sign(1));
        Assert.Equal(PeerStatuses.Answered, (await AskAsync()).Status);
        proxy.Rewrite = _ => old;
        var replayed = await AskAsync();
        Assert.Equal(PeerStatuses.Refused, replayed.Status);
        Assert.Contains("Rollback", replayed.Detail, StringComparison.Ordinal);

        // A second history: a head of the same size with another root, signed with the peer's real log key.
        using var logKey = peer.LoadLogKey();
        proxy.Rewrite = r =>
        {
            var head = ProofWire.Head(r.Transparency!.Head)!;
            var forked = SignedTreeHead.Sign(logKey, head.Size, head.Timestamp, SHA256.HashData(head.Root));
            return r with { Transparency = r.Transparency with { Head = ProofWire.ToWire(forked) } };
        };
        var fork = await AskAsync();
        Assert.Equal(PeerStatuses.Refused, fork.Status);
        Assert.Contains("Fork", fork.Detail, StringComparison.Ordinal);
    }

    /// <summary>An HTTPS front for a real DP (its own certificate) that passes everything through and rewrites lookup answers on demand.</summary>
    private sealed class RewritingProxy : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly HttpClient _upstream;

        private RewritingProxy(WebApplication app, HttpClient upstream)
        {
            _app = app;
            _upstream = upstream;
            Url = new Uri(app.Urls.Single() + "/");
        }

        public Uri Url { get; }

        /// <summary>Applied to every lookup answer; null passes it through.</summary>
        public Func<LookupResponse, LookupResponse>? Rewrite { get; set; }

        /// <summary>The last answer the DP gave, before any rewrite.</summary>
        public LookupResponse? Last { get; private set; }

        public static async Task<RewritingProxy> StartAsync(DpHost dp)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            var certificate = X509Certificate2.CreateFromPemFile(Path.Combine(dp.DataDirectory, "tls.crt"), Path.Combine(dp.DataDirectory, "tls.key"));
            builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0, l => l.UseHttps(certificate)));
            var app = builder.Build();
            var upstream = new HttpClient(Client.TlsTrust.CreateHandler(Client.TlsTrust.LoadRoots(Path.Combine(dp.DataDirectory, "tls.crt")))) { BaseAddress = dp.BaseAddress };
            RewritingProxy? proxy = null;
            app.MapPost("/v1/lookup", async (HttpContext context) =>
            {
                using var forward = new HttpRequestMessage(HttpMethod.Post, "v1/lookup") { Content = new StreamContent(context.Request.Body) };
                forward.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
                forward.Headers.TryAddWithoutValidation("Mimi-Federation", context.Request.Headers["Mimi-Federation"].ToString());
                using var response = await upstream.SendAsync(forward);
                var body = (await response.Content.ReadFromJsonAsync(ProtocolJson.Default.LookupResponse))!;
                proxy!.Last = body;
                return Results.Json(proxy.Rewrite is { } rewrite ? rewrite(body) : body, ProtocolJson.Default.LookupResponse);
            });
            await app.StartAsync();
            proxy = new RewritingProxy(app, upstream);
            return proxy;
        }

        public async ValueTask DisposeAsync()
        {
            _upstream.Dispose();
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}

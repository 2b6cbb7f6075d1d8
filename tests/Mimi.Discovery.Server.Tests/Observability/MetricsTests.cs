using System.Diagnostics;
using System.Net;
using Mimi.Discovery.Client;
using Mimi.Discovery.Privacy.Tokens;
using Mimi.Discovery.Server.Observability;
using Mimi.Discovery.Server.Tests.Tokens;
using Mimi.Discovery.Server.Transparency;
using OpenTelemetry.Trace;

namespace Mimi.Discovery.Server.Tests.Observability;

/// <summary>
/// The metrics endpoint scraped over real HTTPS before and after each kind of event, every metric
/// seen to move by exactly what happened; where the endpoint answers and to whom; and that neither
/// the scrape nor the recorded spans carry an identifier, an account key or a token.
/// </summary>
public sealed class MetricsTests
{
    private const string Bob = "+33612345678";
    private const string Nobody = "+33698765432";

    private static async Task<DpHost> StartAsync(List<Activity>? spans = null, Action<Hosting.DiscoveryOptions>? configure = null) =>
        await DpHost.StartAsync(o =>
        {
            o.RequireTokens = true;
            o.CsisPerToken = 1;
            o.EpochInterval = TimeSpan.FromHours(1); // sealed by hand
            o.Metrics.Url = new Uri("https://127.0.0.1:0");
            o.Metrics.OnPublicPort = true;
            o.Metrics.TokenHash = Scrape.TokenHash;
            configure?.Invoke(o);
        }, customize: spans is null ? null : b => b.Services.ConfigureOpenTelemetryTracerProvider(t => t.AddInMemoryExporter(spans)));

    private static Uri MetricsUrl(DpHost dp) => new(dp.Service<MetricsListener>().Address + "/metrics");

    [Fact]
    public async Task EachEvent_MovesItsMetric_ByWhatHappened_AndNoIdentifierIsExported()
    {
        var spans = new List<Activity>();
        await using var dp = await StartAsync(spans);
        var ct = TestContext.Current.CancellationToken;
        var url = MetricsUrl(dp);
        var s0 = await Scrape.TakeAsync(dp.Http, url);

        // A proof of control through the (development) outbox channel, a publish left pending, then a seal.
        var bob = await dp.RegisterAsync(Bob);
        await dp.Client.PublishAsync(bob.Sign(1), ct);
        var pending = await Scrape.TakeAsync(dp.Http, url);
        Assert.Equal(1, pending.Sum("mimi_discovery_proofs_sends_total", "channel=\"outbox\"", "outcome=\"sent\"") - s0.Sum("mimi_discovery_proofs_sends_total", "channel=\"outbox\"", "outcome=\"sent\""));
        Assert.Equal(1, pending.Sum("mimi_discovery_seal_backlog"));
        Assert.NotNull(await dp.Service<TransparencyLog>().SealAsync(ct));
        var sealedScrape = await Scrape.TakeAsync(dp.Http, url);
        Assert.Equal(0, sealedScrape.Sum("mimi_discovery_seal_backlog"));
        Assert.Equal(1, sealedScrape.Sum("mimi_discovery_seal_duration_seconds_count") - pending.Sum("mimi_discovery_seal_duration_seconds_count"));

        // Tokens issued, then a found and a not-found lookup, each paid with one.
        var apiKey = await TokenKit.AddAccountAsync(dp, "metrics", null, 10);
        var tokens = await TokenKit.Tokens(dp, apiKey).IssueExactlyAsync(3);
        using (var found = await TokenKit.LookupAsync(dp, [Bob], TokenKit.Redeem([tokens[0]])))
        using (var notFound = await TokenKit.LookupAsync(dp, [Nobody], TokenKit.Redeem([tokens[1]])))
        using (var unpaid = await TokenKit.LookupAsync(dp, [Bob], []))
        using (var noAccount = await TokenKit.IssueRawAsync(dp, "mdk_not-an-account", new byte[259]))
        {
            Assert.Equal(HttpStatusCode.OK, found.StatusCode);
            Assert.Equal(HttpStatusCode.OK, notFound.StatusCode);
            await ProblemAssert.IsProblemAsync(unpaid, 401, "token-required");
            await ProblemAssert.IsProblemAsync(noAccount, 401, "account-unknown");
        }

        // The third token pays a lookup inside Oblivious HTTP (sent to the gateway directly: the relay adds nothing the DP sees).
        var key = await ObliviousHttpHandler.FetchKeyAsync(dp.Http, ct);
        using (var oblivious = new HttpClient(new ObliviousHttpHandler(new Uri(dp.BaseAddress, "/.well-known/ohttp-gateway"), key, TlsTrust.CreateHandler(TlsTrust.LoadRoots(Path.Combine(dp.DataDirectory, "tls.crt"))))) { BaseAddress = dp.BaseAddress })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "v1/lookup/" + Uri.EscapeDataString(Bob));
            request.Headers.TryAddWithoutValidation("Authorization", PrivateTokenHeaders.FormatAuthorization(tokens[2]));
            using var response = await oblivious.SendAsync(request, ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var after = await Scrape.TakeAsync(dp.Http, url);
        double Delta(string name, params string[] labels) => after.Sum(name, labels) - sealedScrape.Sum(name, labels);
        Assert.Equal(1, Delta("mimi_discovery_lookups_total", "result=\"found\"", "path=\"direct\""));
        Assert.Equal(1, Delta("mimi_discovery_lookups_total", "result=\"not-found\"", "path=\"direct\""));
        Assert.Equal(1, Delta("mimi_discovery_lookups_total", "result=\"found\"", "path=\"gateway\""));
        Assert.Equal(3, Delta("mimi_discovery_lookups_total"));
        Assert.Equal(3, Delta("mimi_discovery_tokens_issued_total"));
        Assert.Equal(3, Delta("mimi_discovery_tokens_redeemed_total"));
        Assert.Equal(1, Delta("mimi_discovery_tokens_refused_total", "operation=\"redeem\"", "code=\"token-required\""));
        Assert.Equal(1, Delta("mimi_discovery_tokens_refused_total", "operation=\"issue\"", "code=\"account-unknown\""));
        Assert.Equal(1, Delta("mimi_discovery_problems_total", "code=\"token-required\"", "http_response_status_code=\"401\""));
        Assert.Equal(1, Delta("mimi_discovery_problems_total", "code=\"account-unknown\""));
        Assert.True(after.Sum("mimi_discovery_seal_lag_seconds") >= 0);

        // Nothing that names a person, an account or a token, in the scrape or in any span.
        var secrets = new[] { Bob, Bob[1..], Nobody[1..], "tel:", Uri.EscapeDataString("tel:" + Bob), apiKey, "mdk_", "127.0.0.2" }
            .Concat(tokens.Select(t => System.Buffers.Text.Base64Url.EncodeToString(t.Encode())))
            .Concat(tokens.Select(t => PrivateTokenHeaders.FormatAuthorization(t)));

        // A CSI in the request path: the request span keeps the route pattern, not the path.
        using (var inPath = await dp.Http.GetAsync("v1/lookup/" + Uri.EscapeDataString(Bob), ct))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, inPath.StatusCode);
        }

        var recorded = await SpansAsync(spans, all => all.Any(s => s.GetTagItem("http.route") is "/v1/lookup/{csi}"));
        Assert.Contains(recorded, s => s.OperationName == "lookup" && (string?)s.GetTagItem("mimi.discovery.path") == "gateway");
        Assert.Contains(recorded, s => s.OperationName == "ohttp.gateway");
        Assert.Contains(recorded, s => s.OperationName == "transparency.seal");
        Assert.Contains(recorded, s => s.OperationName == "proof.send");
        foreach (var secret in secrets)
        {
            Assert.DoesNotContain(secret, after.Text, StringComparison.Ordinal);
            Assert.DoesNotContain(recorded, s => s.DisplayName.Contains(secret, StringComparison.Ordinal)
                || s.TagObjects.Any(t => t.Value?.ToString()?.Contains(secret, StringComparison.Ordinal) == true)
                || s.Baggage.Any(b => b.Value?.Contains(secret, StringComparison.Ordinal) == true));
        }
    }

    /// <summary>The spans exported so far, once <paramref name="until"/> holds: a request's span ends just after its response is sent.</summary>
    internal static async Task<Activity[]> SpansAsync(List<Activity> spans, Func<Activity[], bool> until)
    {
        for (var i = 0; i < 1000; i++)
        {
            var now = spans.ToArray();
            if (until(now))
            {
                return now;
            }

            await Task.Delay(10, TestContext.Current.CancellationToken);
        }

        Assert.Fail("the expected span was never exported");
        return [];
    }

    [Fact]
    public async Task PublicPort_WithoutOrWithAWrongToken_Refuses401_AndOwnListenerServesNothingElse()
    {
        await using var dp = await StartAsync();
        var publicScrape = new Uri(dp.BaseAddress, "/metrics");

        using (var none = await dp.Http.GetAsync(publicScrape, TestContext.Current.CancellationToken))
        {
            await ProblemAssert.IsProblemAsync(none, 401, "metrics-token-required");
            Assert.Equal("Bearer", none.Headers.WwwAuthenticate.Single().Scheme);
        }

        using (var wrong = new HttpRequestMessage(HttpMethod.Get, publicScrape))
        {
            wrong.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "not-the-token");
            using var response = await dp.Http.SendAsync(wrong, TestContext.Current.CancellationToken);
            await ProblemAssert.IsProblemAsync(response, 401, "metrics-token-invalid");
        }

        Assert.Contains("mimi_discovery_seal_lag_seconds", (await Scrape.TakeAsync(dp.Http, publicScrape)).Text, StringComparison.Ordinal);

        // The metrics listener also wants the token when one is set, and serves no API route.
        var own = MetricsUrl(dp);
        Assert.NotEqual(dp.BaseAddress.Port, own.Port);
        using (var noToken = await dp.Http.GetAsync(own, TestContext.Current.CancellationToken))
        {
            await ProblemAssert.IsProblemAsync(noToken, 401, "metrics-token-required");
        }

        using (var api = await dp.Http.GetAsync(new Uri(own, "/.well-known/mimi-discovery"), TestContext.Current.CancellationToken))
        {
            await ProblemAssert.IsProblemAsync(api, 404, "not-found");
        }
    }

    [Fact]
    public async Task DefaultDp_ServesNoMetrics_OnThePublicPort()
    {
        await using var dp = await DpHost.StartAsync();

        using var response = await dp.Http.GetAsync("metrics", TestContext.Current.CancellationToken);

        await ProblemAssert.IsProblemAsync(response, 404, "not-found");
        Assert.Null(dp.Service<MetricsListener>().Address);
    }

    [Fact]
    public async Task TwoDps_InOneProcess_CountOnlyTheirOwn()
    {
        await using var dp = await StartAsync();
        await using var other = await DpHost.StartAsync();
        var before = await Scrape.TakeAsync(dp.Http, MetricsUrl(dp));

        await other.LookupJsonAsync(Bob);

        var after = await Scrape.TakeAsync(dp.Http, MetricsUrl(dp));
        Assert.Equal(before.Sum("mimi_discovery_lookups_total"), after.Sum("mimi_discovery_lookups_total"));
    }
}

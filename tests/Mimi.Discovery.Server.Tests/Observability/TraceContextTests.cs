using System.Diagnostics;
using Mimi.Discovery.Client;
using Mimi.Discovery.Privacy.Ohttp;
using Mimi.Discovery.Server.Tests.Relay;
using OpenTelemetry.Trace;

namespace Mimi.Discovery.Server.Tests.Observability;

/// <summary>
/// Trace context and Oblivious HTTP (docs/privacy.md, "Traces"): a trace id relay and gateway both
/// saw would link who asked to what was asked, so by default the relay sends none and the gateway
/// continues none; each is allowed only by its operator's explicit setting.
/// </summary>
public sealed class TraceContextTests
{
    private static async Task<DpHost> StartAsync(List<Activity> spans, bool trust = false) =>
        await DpHost.StartAsync(o => o.Traces.TrustGatewayTraceContext = trust, customize: b => b.Services.ConfigureOpenTelemetryTracerProvider(t => t.AddInMemoryExporter(spans)));

    /// <summary>Posts an encapsulated metadata request to the gateway with <paramref name="traceParent"/>, straight from the test (standing in for a relay that sends it).</summary>
    private static async Task PostToGatewayAsync(DpHost dp, string traceParent)
    {
        var key = await ObliviousHttpHandler.FetchKeyAsync(dp.Http, TestContext.Current.CancellationToken);
        var inner = new BinaryHttpRequest("GET", "https", dp.BaseAddress.Authority, "/.well-known/mimi-discovery").Encode();
        var encapsulated = new OhttpClient(key).EncapsulateRequest(inner);
        using var request = new HttpRequestMessage(HttpMethod.Post, ".well-known/ohttp-gateway") { Content = new ByteArrayContent(encapsulated.EncapsulatedRequest.ToArray()) };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("message/ohttp-req");
        request.Headers.TryAddWithoutValidation("traceparent", traceParent);
        using var response = await dp.Http.SendAsync(request, TestContext.Current.CancellationToken);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
    }

    private static (ActivityTraceId Id, string Header) NewTraceParent()
    {
        var id = ActivityTraceId.CreateRandom();
        return (id, $"00-{id.ToHexString()}-{ActivitySpanId.CreateRandom().ToHexString()}-01");
    }

    [Fact]
    public async Task Tracing_WithoutAnExporter_ListensToNothing()
    {
        // No receiver, no tracer provider: requests pay for no spans that nobody would read.
        await using var dp = await DpHost.StartAsync();
        Assert.Null(dp.Service<IServiceProvider>().GetService(typeof(TracerProvider)));
    }

    [Fact]
    public async Task Tracing_WithAHostExporter_RecordsTheLookupSpan()
    {
        var spans = new List<Activity>();
        await using var dp = await StartAsync(spans);
        Assert.NotNull(dp.Service<IServiceProvider>().GetService(typeof(TracerProvider)));
        using var response = await dp.Http.GetAsync("v1/lookup/%2B33612345678", TestContext.Current.CancellationToken);
        var recorded = await MetricsTests.SpansAsync(spans, all => all.Any(s => s.GetTagItem("http.route") is "/v1/lookup/{csi}"));
        Assert.Contains(recorded, s => s.OperationName == "lookup");
    }

    [Fact]
    public async Task Gateway_IgnoresInboundTraceParent_ButTheDirectApiContinuesIt()
    {
        var spans = new List<Activity>();
        await using var dp = await StartAsync(spans);
        var (gatewayTrace, gatewayHeader) = NewTraceParent();
        var (directTrace, directHeader) = NewTraceParent();

        await PostToGatewayAsync(dp, gatewayHeader);
        using (var direct = new HttpRequestMessage(HttpMethod.Get, ".well-known/mimi-discovery"))
        {
            direct.Headers.TryAddWithoutValidation("traceparent", directHeader);
            using var response = await dp.Http.SendAsync(direct, TestContext.Current.CancellationToken);
        }

        // The direct request's span joined the caller's trace (so the check below could fail) …
        var recorded = await MetricsTests.SpansAsync(spans, all => all.Any(s => s.TraceId == directTrace) && all.Any(s => IsGatewayPost(s, dp)));
        // … the gateway's spans are of a trace of their own.
        Assert.DoesNotContain(recorded, s => s.TraceId == gatewayTrace);
        // (Spans of other tests' hosts in this process are told apart by the port.)
        var request = recorded.Single(s => IsGatewayPost(s, dp));
        Assert.Equal(default, request.ParentSpanId);
        Assert.Contains(recorded, s => s.OperationName == "ohttp.gateway" && s.ParentSpanId == request.SpanId);
    }

    private static bool IsGatewayPost(Activity span, DpHost dp) =>
        span.GetTagItem("http.route") is "/.well-known/ohttp-gateway" && span.GetTagItem("http.request.method") is "POST" && Equals(span.GetTagItem("server.port"), dp.BaseAddress.Port);

    [Fact]
    public async Task Gateway_ContinuesTraceParent_WhenItsOperatorTrustsTheRelay()
    {
        var spans = new List<Activity>();
        await using var dp = await StartAsync(spans, trust: true);
        var (trace, header) = NewTraceParent();

        await PostToGatewayAsync(dp, header);

        var recorded = await MetricsTests.SpansAsync(spans, all => all.Any(s => s.OperationName == "ohttp.gateway" && s.TraceId == trace));
        Assert.Contains(recorded, s => s.OperationName == "ohttp.gateway" && s.TraceId == trace);
    }

    [Fact]
    public async Task Relay_ByDefault_SendsTheGatewayNoTraceContext_EvenWhileTracing()
    {
        // A tracer in the process, so the relay's request has an activity whose context it could send.
        using var tracer = OpenTelemetry.Sdk.CreateTracerProviderBuilder().AddSource("Mimi.Discovery.Relay", "Microsoft.AspNetCore").Build();
        await using var gateway = await StandInGateway.StartAsync();
        await using var relay = await RelayHost.StartAsync(gateway.Url, gateway.CaFile);
        await using var propagating = await RelayHost.StartAsync(gateway.Url, gateway.CaFile, o => o.PropagateTraceContext = true);

        await SendThroughAsync(relay, gateway);
        var quiet = gateway.Calls.Last();
        await SendThroughAsync(propagating, gateway);
        var told = gateway.Calls.Last();

        Assert.DoesNotContain(quiet.Headers, h => h.Key.Equals("traceparent", StringComparison.OrdinalIgnoreCase) || h.Key.Equals("tracestate", StringComparison.OrdinalIgnoreCase) || h.Key.Equals("baggage", StringComparison.OrdinalIgnoreCase));
        Assert.Contains(told.Headers, h => h.Key.Equals("traceparent", StringComparison.OrdinalIgnoreCase));
    }

    private static async Task SendThroughAsync(RelayHost relay, StandInGateway gateway)
    {
        var encapsulated = new OhttpClient(gateway.Config).EncapsulateRequest(new BinaryHttpRequest("GET", "https", "dp.example", "/").Encode());
        using var request = new HttpRequestMessage(HttpMethod.Post, "/") { Content = new ByteArrayContent(encapsulated.EncapsulatedRequest.ToArray()) };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("message/ohttp-req");
        request.Headers.TryAddWithoutValidation("traceparent", NewTraceParent().Header);
        using var response = await relay.Client().SendAsync(request, TestContext.Current.CancellationToken);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
    }
}

using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Mimi.Discovery.Server.Hosting;
using OpenTelemetry;
using OpenTelemetry.Context.Propagation;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Mimi.Discovery.Server.Observability;

/// <summary>
/// Metrics and traces with OpenTelemetry (docs/operations.md, "Metrics and traces"): the DP's meter
/// and ASP.NET Core's, served to Prometheus from a listener of its own or, with the operator's
/// token, from the public one; spans of the DP's own work and of each request, scrubbed of paths
/// (which may hold a CSI), recorded only when exported (over OTLP when configured). Trace context from outside never
/// reaches the Oblivious HTTP gateway unless the operator says so (docs/privacy.md, "Traces").
/// </summary>
internal static class Telemetry
{
    /// <summary>The service name on every exported span and metric.</summary>
    public const string ServiceName = "mimi-discovery";

    private const string AdmittedScrape = "mimi.metrics.admitted";

    /// <summary>Registers metrics and tracing; returns the listen URLs with the metrics listener's, if any, last.</summary>
    /// <exception cref="InvalidOperationException">The metrics URL is one the API listens on.</exception>
    public static string[] AddDiscoveryTelemetry(this WebApplicationBuilder builder, DiscoveryOptions options, string[] urls)
    {
        var metricsUrl = options.Metrics.Url?.GetLeftPart(UriPartial.Authority);
        if (metricsUrl is not null && urls.Any(u => string.Equals(u.TrimEnd('/'), metricsUrl, StringComparison.OrdinalIgnoreCase) && !metricsUrl.EndsWith(":0", StringComparison.Ordinal)))
        {
            throw new InvalidOperationException($"Discovery:Metrics:Url '{metricsUrl}' is also a URL the API listens on; give the metrics a listener of their own, or use Discovery:Metrics:OnPublicPort with a token.");
        }

        builder.Services.AddSingleton<SealMonitor>();
        builder.Services.AddSingleton<DiscoveryMetrics>();
        builder.Services.AddSingleton<SealTelemetry>();
        builder.Services.AddSingleton(new MetricsListener(metricsUrl is not null, options.Metrics));
        builder.Services.AddHostedService<MetricsPortResolver>();

        // Hosting reads traceparent before any middleware runs: the policy sits in its propagator,
        // and in OpenTelemetry's, which the ASP.NET Core instrumentation reads again.
        var policy = new GatewayTracePolicy(options.Traces.TrustGatewayTraceContext);
        builder.Services.AddSingleton(policy);
        builder.Services.Replace(ServiceDescriptor.Singleton<DistributedContextPropagator>(new GatewayAwarePropagator(DistributedContextPropagator.CreateDefaultPropagator(), policy)));
        if (Propagators.DefaultTextMapPropagator is not GatewayAwareTextMapPropagator)
        {
            Sdk.SetDefaultTextMapPropagator(new GatewayAwareTextMapPropagator(new CompositeTextMapPropagator([new TraceContextPropagator(), new BaggagePropagator()])));
        }

        // A meter provider hears every meter of a name in the process; this DP's counts only its own
        // (a test process, or a host embedding two DPs, has several).
        builder.Services.ConfigureOpenTelemetryMeterProvider((services, metrics) =>
        {
            var own = services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
            metrics.AddView(instrument => instrument.Meter.Scope is System.Diagnostics.Metrics.IMeterFactory scope && scope != own ? MetricStreamConfiguration.Drop : null);
        });
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(ServiceName))
            .WithMetrics(metrics => metrics
                .AddMeter(DiscoveryMetrics.MeterName)
                .AddAspNetCoreInstrumentation()
                .AddPrometheusExporter(prometheus => prometheus.ScrapeResponseCacheDurationMilliseconds = 0));

        return metricsUrl is null ? urls : [.. urls, metricsUrl];
    }

    /// <summary>How many OpenTelemetry tracing registrations the host holds; more after a step means the step asked for spans (an exporter of its own).</summary>
    public static int TraceConfigurations(IServiceCollection services) => services.Count(d => d.ServiceType.Namespace == typeof(TracerProvider).Namespace);

    /// <summary>
    /// Records spans only when something receives them: the OTLP exporter, or a tracer-provider
    /// configuration the host added (<paramref name="hostAsked"/>; tests add an in-memory exporter).
    /// Without a receiver no tracer provider listens, so no request pays for spans nobody reads.
    /// </summary>
    public static void AddDiscoveryTracing(this WebApplicationBuilder builder, DiscoveryOptions options, bool hostAsked)
    {
        if (options.Traces.OtlpEndpoint is null && !hostAsked)
        {
            return;
        }

        builder.Services.AddOpenTelemetry().WithTracing(tracing =>
        {
            tracing.AddSource(DiscoveryTracing.SourceName)
                .AddAspNetCoreInstrumentation(aspnet =>
                {
                    aspnet.Filter = context => !MetricsListener.IsScrapePath(context, options.Metrics);
                    aspnet.EnrichWithHttpResponse = Scrub;
                });
            if (options.Traces.OtlpEndpoint is { } otlp)
            {
                tracing.AddOtlpExporter(o => o.Endpoint = otlp);
            }
        });
    }

    /// <summary>Serves the scrape endpoint to whom may read it (before everything else, so no API route is reachable on the metrics listener).</summary>
    public static void UseDiscoveryTelemetry(this WebApplication app)
    {
        var listener = app.Services.GetRequiredService<MetricsListener>();
        app.Use(async (context, next) =>
        {
            var decision = listener.Admit(context);
            if (decision is null)
            {
                await next(context).ConfigureAwait(false);
                return;
            }

            if (decision.Problem is { } problem)
            {
                if (problem.Status == StatusCodes.Status401Unauthorized)
                {
                    context.Response.Headers.WWWAuthenticate = "Bearer realm=\"mimi-discovery metrics\"";
                }

                context.Response.StatusCode = problem.Status;
                await context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
                {
                    HttpContext = context,
                    ProblemDetails = problem.ToProblemDetails(),
                }).ConfigureAwait(false);
                return;
            }

            // The backlog gauge is counted now, so each scrape sees the store as it is.
            var pending = await context.RequestServices.GetRequiredService<Storage.IDiscoveryStore>().CountPendingAsync(context.RequestAborted).ConfigureAwait(false);
            context.RequestServices.GetRequiredService<SealMonitor>().Counted(pending);
            context.Items[AdmittedScrape] = true;
            await next(context).ConfigureAwait(false);
        });
        app.UseOpenTelemetryPrometheusScrapingEndpoint(context => context.Items.ContainsKey(AdmittedScrape));
    }

    // Request spans carry the route pattern (http.route) and the span name made from it; the raw
    // path and query may hold a CSI, and the user agent and addresses tell who asked.
    internal static void Scrub(Activity activity, HttpResponse response)
    {
        foreach (var tag in (string[])["url.path", "url.query", "url.full", "user_agent.original", "client.address", "client.port", "network.peer.address", "network.peer.port"])
        {
            activity.SetTag(tag, null);
        }
    }
}

/// <summary>A decision on a request for the scrape path: admitted (no problem) or refused.</summary>
internal sealed record ScrapeDecision(Problem? Problem);

/// <summary>
/// Where the scrape endpoint is served: on its own listener (the last bound address, once the
/// server listens), where nothing else is, and — with <see cref="MetricsOptions.OnPublicPort"/> — on
/// the public listener to a bearer of the operator's token.
/// </summary>
internal sealed class MetricsListener(bool ownListener, MetricsOptions options)
{
    private readonly bool _ownListener = ownListener;
    private readonly byte[]? _tokenHash = options.TokenHash is { } hex ? Convert.FromHexString(hex) : null;
    private volatile int _port = -1;

    /// <summary>The metrics listener's bound address (<c>https://host:port</c>), once the server listens; null without one.</summary>
    public string? Address { get; private set; }

    public static bool IsScrapePath(HttpContext context, MetricsOptions options) => context.Request.Path.Equals(options.Path, StringComparison.Ordinal);

    /// <summary>Null: not a metrics request, let the API handle it; otherwise admitted or refused.</summary>
    public ScrapeDecision? Admit(HttpContext context)
    {
        var own = _ownListener && context.Connection.LocalPort == _port;
        if (!IsScrapePath(context, options))
        {
            return own ? new ScrapeDecision(new Problem("not-found", StatusCodes.Status404NotFound, $"this listener serves only {options.Path}")) : null;
        }

        if (!own && !options.OnPublicPort)
        {
            return null;
        }

        if (_tokenHash is null)
        {
            return new ScrapeDecision(null);
        }

        var presented = context.Request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        if (!presented.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
        {
            return new ScrapeDecision(new Problem("metrics-token-required", StatusCodes.Status401Unauthorized, "send the operator's scrape token as 'Authorization: Bearer <token>' (Discovery:Metrics:TokenHash holds its SHA-256)"));
        }

        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(presented[scheme.Length..].Trim()));
        return CryptographicOperations.FixedTimeEquals(hash, _tokenHash)
            ? new ScrapeDecision(null)
            : new ScrapeDecision(new Problem("metrics-token-invalid", StatusCodes.Status401Unauthorized, "the bearer token is not the operator's scrape token; check the scraper's credentials against Discovery:Metrics:TokenHash"));
    }

    /// <summary>Takes the bound address of the metrics listener (the last one), when it has one.</summary>
    public void Bound(IReadOnlyList<string> addresses)
    {
        if (_ownListener && addresses.Count > 0)
        {
            Address = addresses[^1];
            _port = new Uri(Address.Replace("://+", "://localhost", StringComparison.Ordinal).Replace("://*", "://localhost", StringComparison.Ordinal)).Port;
        }
    }
}

/// <summary>Tells <see cref="MetricsListener"/> its port once the server listens.</summary>
internal sealed class MetricsPortResolver(MetricsListener listener, IServer server) : IHostedLifecycleService
{
    public Task StartedAsync(CancellationToken cancellationToken)
    {
        listener.Bound(server.Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? []);
        return Task.CompletedTask;
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

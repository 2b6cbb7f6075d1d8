using System.Diagnostics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Mimi.Discovery.Server.Relay;

/// <summary>
/// The relay's spans: its request and the forwarding to the gateway, with no address, path or
/// body in them, exported over OTLP when <see cref="RelayOptions.OtlpEndpoint"/> is set. The
/// trace stays on the relay's side (<see cref="RelayOptions.PropagateTraceContext"/>).
/// </summary>
internal static class RelayTelemetry
{
    public const string SourceName = "Mimi.Discovery.Relay";

    public static readonly ActivitySource Source = new(SourceName);

    public static void Add(IServiceCollection services, RelayOptions options) =>
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("mimi-discovery-relay"))
            .WithTracing(tracing =>
            {
                tracing.AddSource(SourceName).AddAspNetCoreInstrumentation(aspnet => aspnet.EnrichWithHttpResponse = Observability.Telemetry.Scrub);
                if (options.OtlpEndpoint is { } otlp)
                {
                    tracing.AddOtlpExporter(o => o.Endpoint = otlp);
                }
            });
}

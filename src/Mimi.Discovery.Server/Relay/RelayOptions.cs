namespace Mimi.Discovery.Server.Relay;

/// <summary>The relay's settings: configuration section <c>Relay</c> (appsettings, <c>Relay__…</c> environment variables) and the <c>relay</c> options.</summary>
public sealed class RelayOptions
{
    /// <summary>The https:// URL of the one Oblivious Gateway Resource requests are forwarded to, e.g. <c>https://dp.example/.well-known/ohttp-gateway</c>. Required.</summary>
    public Uri? Gateway { get; set; }

    /// <summary>PEM certificate(s) to trust for the gateway's TLS instead of the system store (a development DP's <c>tls.crt</c>).</summary>
    public string? GatewayCaFile { get; set; }

    /// <summary>Largest encapsulated request, in bytes; larger ones are refused without being read further.</summary>
    public int MaxRequestBytes { get; set; } = (128 << 10) + 1024;

    /// <summary>Requests one client address (one /64 for IPv6) may send per minute.</summary>
    public int RequestsPerMinutePerClient { get; set; } = 120;

    /// <summary>The relay's data folder: only its generated TLS certificate. Created on first run.</summary>
    public string DataDirectory { get; set; } = "mimi-relay-data";

    /// <summary>PEM certificate (chain) for HTTPS; the generated localhost certificate when empty.</summary>
    public string? TlsCertificate { get; set; }

    /// <summary>PEM private key for <see cref="TlsCertificate"/>.</summary>
    public string? TlsKey { get; set; }

    /// <summary>How long the gateway has to answer, connection and body included.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>An OTLP collector (gRPC, e.g. <c>http://127.0.0.1:4317</c>) the relay's spans are exported to. Unset: none leave the process.</summary>
    public Uri? OtlpEndpoint { get; set; }

    /// <summary>
    /// Whether requests to the gateway carry the relay's trace context (<c>traceparent</c>). Off by
    /// default: a trace id the gateway also saw would link who asked to what was asked (docs/privacy.md,
    /// "Traces"); only an operator who runs both relay and gateway may turn it on (and the gateway's
    /// <c>Discovery:Traces:TrustGatewayTraceContext</c> with it).
    /// </summary>
    public bool PropagateTraceContext { get; set; }
}

namespace Mimi.Discovery.Server.Observability;

/// <summary>
/// The Prometheus scrape endpoint (configuration <c>Discovery:Metrics</c>; docs/operations.md,
/// "Metrics and traces"). Off by default: metrics are recorded, but nothing serves them until
/// <see cref="Url"/> gives the endpoint a listener of its own (loopback is the safe choice), or
/// <see cref="OnPublicPort"/> serves it beside the API behind an operator bearer token.
/// </summary>
public sealed class MetricsOptions
{
    /// <summary>
    /// The https:// URL of a listener that serves only the scrape endpoint, e.g.
    /// <c>https://127.0.0.1:9464</c>; it must not be one of the API's listen URLs. Unset: no such listener.
    /// </summary>
    public Uri? Url { get; set; }

    /// <summary>The scrape path on either listener.</summary>
    public string Path { get; set; } = "/metrics";

    /// <summary>Whether the public API's listener serves <see cref="Path"/> too; only with <see cref="TokenHash"/>, which it then requires.</summary>
    public bool OnPublicPort { get; set; }

    /// <summary>
    /// SHA-256 (64 lowercase hex digits) of the operator's scrape token, sent as
    /// <c>Authorization: Bearer &lt;token&gt;</c>. Required with <see cref="OnPublicPort"/>; when set,
    /// the own listener requires it as well.
    /// </summary>
    public string? TokenHash { get; set; }
}

/// <summary>Trace export (configuration <c>Discovery:Traces</c>): spans are recorded only where they are exported.</summary>
public sealed class TracesOptions
{
    /// <summary>An OTLP collector (gRPC, e.g. <c>http://127.0.0.1:4317</c>) traces are exported to. Unset: no spans are recorded.</summary>
    public Uri? OtlpEndpoint { get; set; }

    /// <summary>
    /// Whether the Oblivious HTTP gateway continues a trace its caller (the relay) started. Off by
    /// default: a trace id shared by relay and gateway would link who asked to what was asked, which
    /// is what RFC 9458 keeps apart (docs/privacy.md, "Traces"). Only an operator who runs both may turn it on.
    /// </summary>
    public bool TrustGatewayTraceContext { get; set; }
}

/// <summary>Thresholds of the readiness checks (configuration <c>Discovery:Health</c>; docs/operations.md, "Observing it").</summary>
public sealed class HealthOptions
{
    /// <summary>
    /// The sealer is lagging (<c>degraded</c>) once it has not sealed, or found nothing to seal, for
    /// this many epoch intervals (an interval of zero counts as one second).
    /// </summary>
    public int SealerLagIntervals { get; set; } = 30;

    /// <summary>A certificate (the credential CA, the TLS certificate) expiring within this window is reported <c>degraded</c>: rotate it.</summary>
    public TimeSpan ExpiryWarning { get; set; } = TimeSpan.FromDays(30);
}

// RFC 9458 §7: the relay knows who asks, the gateway what is asked; a trace id both sides saw would
// link the two. So the gateway takes no trace context from outside unless its operator also runs
// the relay and says so (Discovery:Traces:TrustGatewayTraceContext; docs/privacy.md, "Traces").
using System.Diagnostics;
using OpenTelemetry.Context.Propagation;

namespace Mimi.Discovery.Server.Observability;

/// <summary>Whether an incoming request's trace context (traceparent, tracestate, baggage) may be continued.</summary>
internal sealed class GatewayTracePolicy(bool trustGateway)
{
    /// <summary>False for an encapsulated request (RFC 9458 §4.1 media type) unless the operator trusts the relay's trace context.</summary>
    public bool MayContinue(string? contentType) => trustGateway || !IsEncapsulated(contentType);

    // Asked for every request hosting starts an activity for, so it reads the media type in place.
    private static bool IsEncapsulated(string? contentType)
    {
        var media = contentType.AsSpan();
        var parameters = media.IndexOf(';');
        return contentType is not null && (parameters < 0 ? media : media[..parameters]).Trim().Equals(Privacy.ObliviousGateway.RequestMediaType, StringComparison.OrdinalIgnoreCase);
    }
}

/// <summary>ASP.NET Core hosting's propagator, refusing to extract trace context from a request <see cref="GatewayTracePolicy"/> keeps apart.</summary>
internal sealed class GatewayAwarePropagator(DistributedContextPropagator inner, GatewayTracePolicy policy) : DistributedContextPropagator
{
    public override IReadOnlyCollection<string> Fields => inner.Fields;

    public override void Inject(Activity? activity, object? carrier, PropagatorSetterCallback? setter) => inner.Inject(activity, carrier, setter);

    public override void ExtractTraceIdAndState(object? carrier, PropagatorGetterCallback? getter, out string? traceId, out string? traceState)
    {
        if (Continues(carrier))
        {
            inner.ExtractTraceIdAndState(carrier, getter, out traceId, out traceState);
            return;
        }

        (traceId, traceState) = (null, null);
    }

    public override IEnumerable<KeyValuePair<string, string?>>? ExtractBaggage(object? carrier, PropagatorGetterCallback? getter) =>
        Continues(carrier) ? inner.ExtractBaggage(carrier, getter) : null;

    // Hosting hands the request's headers as the carrier.
    private bool Continues(object? carrier) => carrier is not IHeaderDictionary headers || policy.MayContinue(headers.ContentType);
}

/// <summary>
/// OpenTelemetry's default propagator (W3C trace context and baggage), refusing likewise; the
/// ASP.NET Core instrumentation extracts with it a second time. Process-wide, so it asks the policy
/// of the DP the request came to; a carrier that is not a request (an outgoing one) passes.
/// </summary>
internal sealed class GatewayAwareTextMapPropagator(TextMapPropagator inner) : TextMapPropagator
{
    public override ISet<string>? Fields => inner.Fields;

    public override void Inject<T>(PropagationContext context, T carrier, Action<T, string, string> setter) => inner.Inject(context, carrier, setter);

    public override PropagationContext Extract<T>(PropagationContext context, T carrier, Func<T, string, IEnumerable<string>?> getter) =>
        carrier is HttpRequest request && request.HttpContext.RequestServices?.GetService<GatewayTracePolicy>() is { } policy && !policy.MayContinue(request.ContentType)
            ? context
            : inner.Extract(context, carrier, getter);
}

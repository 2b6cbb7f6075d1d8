using System.Diagnostics;
using System.Diagnostics.Metrics;
using Mimi.Discovery.Protocol;

namespace Mimi.Discovery.Server.Observability;

/// <summary>The way a lookup reached the DP, the <c>path</c> attribute of <c>mimi.discovery.lookups</c>.</summary>
internal enum LookupPath
{
    /// <summary>Over HTTPS from the sender (or its app) itself.</summary>
    Direct,

    /// <summary>Inside Oblivious HTTP, through a relay.</summary>
    Gateway,

    /// <summary>A peer DP asking on behalf of its own sender.</summary>
    Federated,
}

/// <summary>
/// The DP's instruments (docs/operations.md, "Metrics and traces", lists each with its unit and
/// attributes). Every attribute value comes from a fixed set — a result kind, a problem code, a
/// channel name — never from a request: no CSI, account, address or token reaches a metric.
/// </summary>
internal sealed class DiscoveryMetrics
{
    /// <summary>The meter's name, which an OpenTelemetry pipeline subscribes to.</summary>
    public const string MeterName = "Mimi.Discovery.Server";

    private static readonly double[] SecondsBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

    private readonly Counter<long> _lookups;
    private readonly Counter<long> _issued;
    private readonly Counter<long> _redeemed;
    private readonly Counter<long> _refused;
    private readonly Counter<long> _sends;
    private readonly Histogram<double> _sealDuration;
    private readonly Counter<long> _problems;

    public DiscoveryMetrics(IMeterFactory meters, SealMonitor seals)
    {
        var meter = meters.Create(MeterName);
        _lookups = meter.CreateCounter<long>("mimi.discovery.lookups", "{csi}", "CSIs looked up, by result and by the way the lookup came");
        _issued = meter.CreateCounter<long>("mimi.discovery.tokens.issued", "{token}", "Privacy Pass tokens signed for accounts");
        _redeemed = meter.CreateCounter<long>("mimi.discovery.tokens.redeemed", "{token}", "Privacy Pass tokens spent on admitted lookups");
        _refused = meter.CreateCounter<long>("mimi.discovery.tokens.refused", "{request}", "Issuance and redemption requests refused, by problem code");
        _sends = meter.CreateCounter<long>("mimi.discovery.proofs.sends", "{message}", "Proof-of-control codes handed to a channel, by channel and outcome");
        _sealDuration = meter.CreateHistogram("mimi.discovery.seal.duration", "s", "Time to seal one transparency epoch",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets });
        meter.CreateObservableGauge("mimi.discovery.seal.backlog", () => seals.Backlog, "{csi}", "CSIs with changes waiting for an epoch, as last counted (at each seal and each scrape)");
        meter.CreateObservableGauge("mimi.discovery.seal.lag", () => seals.Lag.TotalSeconds, "s", "Time since the sealer last sealed or found nothing to seal");
        _problems = meter.CreateCounter<long>("mimi.discovery.problems", "{response}", "Problem details (RFC 9457) the DP answered, by code and status");
    }

    /// <summary>Counts each result of an answered lookup.</summary>
    public void Lookup(LookupResponse response, LookupPath path)
    {
        foreach (var result in response.Results)
        {
            _lookups.Add(1, new TagList { { "result", ResultKind(result.Result) }, { "path", PathName(path) } });
        }
    }

    public void TokensIssued(int count) => _issued.Add(count);

    public void TokensRedeemed(int count) => _redeemed.Add(count);

    /// <summary>A refused issuance (<c>issue</c>) or redemption (<c>redeem</c>).</summary>
    public void TokenRefused(string operation, string code) => _refused.Add(1, new TagList { { "operation", operation }, { "code", code } });

    /// <summary>A code handed to <paramref name="channel"/> (<c>email</c>, <c>sms</c>, <c>outbox</c>): <c>sent</c> or <c>failed</c>.</summary>
    public void ProofSend(string channel, string outcome) => _sends.Add(1, new TagList { { "channel", channel }, { "outcome", outcome } });

    public void Sealed(TimeSpan duration) => _sealDuration.Record(duration.TotalSeconds);

    /// <summary>A problem written, with its stable code (never its detail, which may describe the input).</summary>
    public void Problem(string code, int status) => _problems.Add(1, new TagList { { "code", code }, { "http.response.status_code", status } });

    public static string PathName(LookupPath path) => path switch
    {
        LookupPath.Gateway => "gateway",
        LookupPath.Federated => "federated",
        _ => "direct",
    };

    // The wire's result kinds, "none" spelled as an operator reads it; anything else is folded so no value from elsewhere becomes a label.
    private static string ResultKind(string? result) => result switch
    {
        LookupResultKinds.Found => "found",
        LookupResultKinds.None => "not-found",
        LookupResultKinds.OptedOut => "opted-out",
        LookupResultKinds.Referral => "referral",
        LookupResultKinds.Invalid => "invalid",
        _ => "other",
    };
}

/// <summary>
/// What the sealer last did, for the <c>seal.*</c> gauges and the sealer-lag readiness check: when it
/// last made progress (sealed an epoch, found nothing to seal, or found another DP process sealing),
/// and how many CSIs were pending when last counted.
/// </summary>
internal sealed class SealMonitor(TimeProvider time)
{
    private long _lastProgress = time.GetUtcNow().ToUnixTimeMilliseconds();
    private long _backlog;

    /// <summary>CSIs pending when last counted.</summary>
    public long Backlog => Interlocked.Read(ref _backlog);

    /// <summary>How long since the sealer last made progress.</summary>
    public TimeSpan Lag => time.GetUtcNow() - DateTimeOffset.FromUnixTimeMilliseconds(Interlocked.Read(ref _lastProgress));

    public void Progressed() => Interlocked.Exchange(ref _lastProgress, time.GetUtcNow().ToUnixTimeMilliseconds());

    public void Counted(long pending) => Interlocked.Exchange(ref _backlog, pending);
}

/// <summary>The DP's spans (docs/operations.md, "Metrics and traces"): fixed names, and attributes that name no CSI, account, address or token.</summary>
internal static class DiscoveryTracing
{
    public const string SourceName = "Mimi.Discovery.Server";

    public static readonly ActivitySource Source = new(SourceName);
}

/// <summary>Marks the work done for one encapsulated request, so the lookup it makes is counted as <see cref="LookupPath.Gateway"/>.</summary>
internal static class GatewayScope
{
    private static readonly AsyncLocal<bool> Inside = new();

    public static bool Active => Inside.Value;

    public static IDisposable Enter()
    {
        Inside.Value = true;
        return new Exit();
    }

    private sealed class Exit : IDisposable
    {
        public void Dispose() => Inside.Value = false;
    }
}

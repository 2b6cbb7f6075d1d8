using Mimi.Discovery.Server.Storage;

namespace Mimi.Discovery.Server.Observability;

/// <summary>
/// Watches each seal: a span, its duration when it sealed an epoch, the sealer's progress for the
/// lag check, and the backlog counted after it. A seal that throws is no progress.
/// </summary>
internal sealed class SealTelemetry(SealMonitor monitor, DiscoveryMetrics metrics, IDiscoveryStore store, TimeProvider time)
{
    public async Task<long?> ObserveAsync(Func<CancellationToken, Task<long?>> seal, CancellationToken cancellationToken)
    {
        using var span = DiscoveryTracing.Source.StartActivity("transparency.seal");
        var started = time.GetTimestamp();
        var epoch = await seal(cancellationToken).ConfigureAwait(false);
        var elapsed = time.GetElapsedTime(started);
        if (epoch is { } sealedEpoch)
        {
            metrics.Sealed(elapsed);
            span?.SetTag("mimi.discovery.epoch", sealedEpoch);
        }

        span?.SetTag("mimi.discovery.outcome", epoch is null ? "nothing-to-seal" : "sealed");
        monitor.Progressed();
        monitor.Counted(await store.CountPendingAsync(cancellationToken).ConfigureAwait(false));
        return epoch;
    }
}

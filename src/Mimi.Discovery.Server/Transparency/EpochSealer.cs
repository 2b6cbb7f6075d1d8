using Microsoft.Extensions.Options;
using Mimi.Discovery.Server.Hosting;

namespace Mimi.Discovery.Server.Transparency;

/// <summary>
/// Loads the transparency state at start-up (sealing the empty genesis epoch on a new database),
/// then seals pending changes every <see cref="DiscoveryOptions.EpochInterval"/>. With several DP
/// processes on one database each runs this loop and the store's sealing lock lets one seal at a
/// time; the others catch up from what it stored. A process reading a hot standby
/// (<see cref="DiscoveryOptions.ReadReplica"/>) seals nothing: at each tick it follows the primary's
/// last epoch and catches up with what the standby replayed (<see cref="TransparencyLog.FollowPrimaryAsync"/>).
/// </summary>
internal sealed partial class EpochSealer(TransparencyLog log, IOptions<DiscoveryOptions> options, TimeProvider time, ILogger<EpochSealer> logger) : BackgroundService
{
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await log.CatchUpAsync(cancellationToken).ConfigureAwait(false);
        if (log.ReadsReplica)
        {
            await log.FollowPrimaryAsync(cancellationToken).ConfigureAwait(false);
        }
        else if (log.Epoch == 0)
        {
            await log.SealAsync(cancellationToken).ConfigureAwait(false);
        }

        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // With sealing at every change, the loop still picks up expiries and other processes' epochs.
        var interval = options.Value.SealInterval > TimeSpan.Zero ? options.Value.SealInterval : TimeSpan.FromSeconds(1);
        // A pass starts one interval after the last one started, or at once when that one ran longer.
        // Intervals missed meanwhile (a long seal, a suspended machine, a clock moved forward) are not
        // made up one by one: a clock that jumps a day means one pass, not 86,400.
        var wait = interval;
        try
        {
            while (true)
            {
                await Task.Delay(wait, time, stoppingToken).ConfigureAwait(false);
                var started = time.GetUtcNow();
                try
                {
                    if (log.ReadsReplica)
                    {
                        await log.FollowPrimaryAsync(stoppingToken).ConfigureAwait(false);
                    }
                    else
                    {
                        // A backlog (a bulk load, a burst) is sealed batch after batch without waiting.
                        while (await log.SealAsync(stoppingToken).ConfigureAwait(false) is not null && log.BacklogLikely)
                        {
                        }
                    }
                }
                catch (Exception e) when (e is System.Data.Common.DbException or InvalidOperationException or TimeoutException)
                {
                    // The type and stack only: a database's message may quote stored values.
                    var failure = Hosting.FailureLog.Describe(e);
                    if (log.ReadsReplica)
                    {
                        LogFollowFailed(logger, failure);
                    }
                    else
                    {
                        LogSealFailed(logger, failure);
                    }
                }

                wait = TimeSpan.FromTicks(Math.Max(0, (interval - (time.GetUtcNow() - started)).Ticks));
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    [LoggerMessage(EventId = 402, Level = LogLevel.Error, Message = "Sealing an epoch failed; the changes stay pending for the next attempt: {Failure}")]
    private static partial void LogSealFailed(ILogger logger, string failure);

    [LoggerMessage(EventId = 404, Level = LogLevel.Warning, Message = "Following the primary from the read replica failed; lookups go on from the last epoch replayed: {Failure}")]
    private static partial void LogFollowFailed(ILogger logger, string failure);
}

namespace Mimi.Discovery.Server.Transparency;

/// <summary>
/// Asks the database for the last stored epoch on behalf of many concurrent lookups at once. A
/// caller gets the answer of a query that began at most <c>freshness</c> before it asked (measured
/// on <c>time</c>), so it sees every epoch another DP process stored up to that long before it
/// asked; with a freshness of zero, the answer of a query that began after it asked. Callers
/// arriving while a query runs share the next one. Under load that is one query per
/// <c>freshness</c> instead of one per lookup (<see cref="Hosting.DiscoveryOptions.EpochCheckInterval"/>).
/// </summary>
internal sealed class EpochCheck(Func<CancellationToken, Task<long>> query, TimeSpan freshness, TimeProvider time)
{
    private readonly Lock _lock = new();
    private bool _running;
    private TaskCompletionSource<long>? _waiting;
    // The last answer and the timestamp (TimeProvider.GetTimestamp) its query began at; null before the first.
    private (long Epoch, long StartedAt)? _last;

    /// <summary>The last epoch in the database, read by a query that began at most the freshness before this call.</summary>
    public Task<long> LastStoredEpochAsync(CancellationToken cancellationToken)
    {
        TaskCompletionSource<long> mine;
        lock (_lock)
        {
            if (_last is { } last && freshness > TimeSpan.Zero && time.GetElapsedTime(last.StartedAt) < freshness)
            {
                return Task.FromResult(last.Epoch);
            }

            if (_running)
            {
                _waiting ??= new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
                return _waiting.Task.WaitAsync(cancellationToken);
            }

            _running = true;
            mine = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        _ = RunAsync(mine);
        return mine.Task.WaitAsync(cancellationToken);
    }

    private async Task RunAsync(TaskCompletionSource<long> batch)
    {
        while (true)
        {
            // The query is shared, so no one caller's cancellation may stop it.
            var startedAt = time.GetTimestamp();
            try
            {
                var epoch = await query(CancellationToken.None).ConfigureAwait(false);
                lock (_lock)
                {
                    _last = (epoch, startedAt);
                }

                batch.SetResult(epoch);
            }
            catch (Exception e)
            {
                batch.SetException(e);
            }

            lock (_lock)
            {
                if (_waiting is null)
                {
                    _running = false;
                    return;
                }

                batch = _waiting;
                _waiting = null;
            }
        }
    }
}

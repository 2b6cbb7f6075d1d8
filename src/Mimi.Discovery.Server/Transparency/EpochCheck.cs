namespace Mimi.Discovery.Server.Transparency;

/// <summary>
/// Asks the database for the last stored epoch on behalf of many concurrent lookups at once. A
/// caller always gets the answer of a query that started after it asked, so it sees every epoch
/// another DP process stored before it asked; callers arriving while a query runs share the next
/// one. Under load that is two queries per burst of lookups instead of one per lookup.
/// </summary>
internal sealed class EpochCheck(Func<CancellationToken, Task<long>> query)
{
    private readonly Lock _lock = new();
    private bool _running;
    private TaskCompletionSource<long>? _waiting;

    /// <summary>The last epoch in the database, read by a query that began after this call.</summary>
    public Task<long> LastStoredEpochAsync(CancellationToken cancellationToken)
    {
        TaskCompletionSource<long> mine;
        lock (_lock)
        {
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
            try
            {
                batch.SetResult(await query(CancellationToken.None).ConfigureAwait(false));
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

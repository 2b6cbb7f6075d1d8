using Mimi.Discovery.Server.Storage;

namespace Mimi.Discovery.Server.Tokens;

/// <summary>
/// Group commit for redeemed tokens (docs/protocol.md §10): redemptions that arrive while one
/// transaction commits are written together in the next, up to <see cref="MaxGroup"/> lookups per
/// durable commit, each still spent whole or not at all (<see cref="IDiscoveryStore.SpendTokenGroupsAsync"/>).
/// A lone redemption is written at once, so an idle DP adds no wait; under load many lookups share one
/// commit instead of queueing for one each. A caller learns its answer only after the commit holding it.
/// </summary>
internal sealed class SpentTokenLedger(IDiscoveryStore store)
{
    /// <summary>The most lookups' tokens one transaction spends.</summary>
    public const int MaxGroup = 256;

    private readonly Lock _lock = new();
    private readonly List<Pending> _queue = [];
    private bool _running;

    /// <summary>
    /// Spends every nonce of one lookup; false, spending none, when any was spent before. Cancelling
    /// stops the wait, not the write: the tokens may still be spent.
    /// </summary>
    public Task<bool> SpendAsync(IReadOnlyList<SpentToken> tokens, CancellationToken cancellationToken)
    {
        var pending = new Pending(tokens, new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously));
        bool start;
        lock (_lock)
        {
            _queue.Add(pending);
            start = !_running;
            _running = true;
        }

        if (start)
        {
            _ = RunAsync();
        }

        return pending.Spent.Task.WaitAsync(cancellationToken);
    }

    private async Task RunAsync()
    {
        while (true)
        {
            Pending[] batch;
            lock (_lock)
            {
                if (_queue.Count == 0)
                {
                    _running = false;
                    return;
                }

                var count = Math.Min(_queue.Count, MaxGroup);
                batch = [.. _queue.GetRange(0, count)];
                _queue.RemoveRange(0, count);
            }

            await CommitAsync(batch).ConfigureAwait(false);
        }
    }

    private async Task CommitAsync(Pending[] batch)
    {
        try
        {
            // The commit is shared, so no one caller's cancellation may stop it.
            var spent = await store.SpendTokenGroupsAsync([.. batch.Select(p => p.Tokens)], CancellationToken.None).ConfigureAwait(false);
            for (var i = 0; i < batch.Length; i++)
            {
                batch[i].Spent.SetResult(spent[i]);
            }
        }
        catch (Exception) when (batch.Length > 1)
        {
            // A shared transaction that fails (PostgreSQL breaking a deadlock between two processes'
            // batches that race for the same nonces) must not fail the others: each goes again alone.
            foreach (var pending in batch)
            {
                await CommitAsync([pending]).ConfigureAwait(false);
            }
        }
        catch (Exception e)
        {
            batch[0].Spent.SetException(e);
        }
    }

    private sealed record Pending(IReadOnlyList<SpentToken> Tokens, TaskCompletionSource<bool> Spent);
}

using Mimi.Discovery.Server.Transparency;

namespace Mimi.Discovery.Server.Tests.Transparency;

/// <summary>The shared last-epoch query: one query per burst of callers, and never an answer older than the call.</summary>
public sealed class EpochCheckTests : IDisposable
{
    private readonly List<TaskCompletionSource<long>> _queries = [];
    private readonly SemaphoreSlim _started = new(0);

    public void Dispose() => _started.Dispose();

    private EpochCheck Check() => new(_ =>
    {
        var query = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_queries)
        {
            _queries.Add(query);
        }

        _started.Release();

        return query.Task;
    });

    [Fact]
    public async Task CallersDuringAQuery_ShareTheNextOne_WhichAnswersThemAll()
    {
        var check = Check();
        var first = check.LastStoredEpochAsync(TestContext.Current.CancellationToken);
        var second = check.LastStoredEpochAsync(TestContext.Current.CancellationToken);
        var third = check.LastStoredEpochAsync(TestContext.Current.CancellationToken);
        await _started.WaitAsync(TestContext.Current.CancellationToken);
        Assert.Single(_queries);

        // The first query may have read the database before the later callers asked: they wait for the next.
        _queries[0].SetResult(4);
        Assert.Equal(4, await first);
        await _started.WaitAsync(TestContext.Current.CancellationToken);
        Assert.False(second.IsCompleted);
        Assert.Equal(2, _queries.Count);

        _queries[1].SetResult(5);
        Assert.Equal(5, await second);
        Assert.Equal(5, await third);
        Assert.Equal(2, _queries.Count);

        // Idle again: the next caller starts its own query.
        var fourth = check.LastStoredEpochAsync(TestContext.Current.CancellationToken);
        await _started.WaitAsync(TestContext.Current.CancellationToken);
        Assert.Equal(3, _queries.Count);
        _queries[2].SetResult(6);
        Assert.Equal(6, await fourth);
    }

    [Fact]
    public async Task AFailedQuery_FailsItsCallersOnly_AndACancelledCallerLeavesTheQueryToTheOthers()
    {
        var check = Check();
        var first = check.LastStoredEpochAsync(TestContext.Current.CancellationToken);
        using var gone = new CancellationTokenSource();
        var cancelled = check.LastStoredEpochAsync(gone.Token);
        var waiting = check.LastStoredEpochAsync(TestContext.Current.CancellationToken);
        await _started.WaitAsync(TestContext.Current.CancellationToken);

        _queries[0].SetException(new InvalidOperationException("database down"));
        Assert.Equal("database down", (await Assert.ThrowsAsync<InvalidOperationException>(() => first)).Message);

        await gone.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        await _started.WaitAsync(TestContext.Current.CancellationToken);
        _queries[1].SetResult(7);
        Assert.Equal(7, await waiting);
    }
}

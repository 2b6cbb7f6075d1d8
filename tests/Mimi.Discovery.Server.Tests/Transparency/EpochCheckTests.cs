using Mimi.Discovery.Server.Transparency;

namespace Mimi.Discovery.Server.Tests.Transparency;

/// <summary>
/// The shared last-epoch query: one query per burst of callers; with no freshness never an answer
/// older than the call, with one never an answer whose query began longer than that before the call.
/// </summary>
public sealed class EpochCheckTests : IDisposable
{
    private readonly List<TaskCompletionSource<long>> _queries = [];
    private readonly SemaphoreSlim _started = new(0);

    public void Dispose() => _started.Dispose();

    private readonly Microsoft.Extensions.Time.Testing.FakeTimeProvider _clock = new();

    private EpochCheck Check(TimeSpan freshness = default) => new(_ =>
    {
        var query = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_queries)
        {
            _queries.Add(query);
        }

        _started.Release();

        return query.Task;
    }, freshness, _clock);

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

    [Fact]
    public async Task WithAFreshness_CallersWithinItOfTheLastQuerysStart_GetItsAnswer_AndLaterOnesAskAgain()
    {
        var check = Check(TimeSpan.FromMilliseconds(100));
        var first = check.LastStoredEpochAsync(TestContext.Current.CancellationToken);
        await _started.WaitAsync(TestContext.Current.CancellationToken);

        // The query takes 60 ms of the 100: freshness counts from when it began, not when it answered.
        _clock.Advance(TimeSpan.FromMilliseconds(60));
        _queries[0].SetResult(4);
        Assert.Equal(4, await first);

        _clock.Advance(TimeSpan.FromMilliseconds(39));
        Assert.Equal(4, await check.LastStoredEpochAsync(TestContext.Current.CancellationToken));
        Assert.Single(_queries);

        _clock.Advance(TimeSpan.FromMilliseconds(1));
        var later = check.LastStoredEpochAsync(TestContext.Current.CancellationToken);
        await _started.WaitAsync(TestContext.Current.CancellationToken);
        Assert.Equal(2, _queries.Count);
        _queries[1].SetResult(5);
        Assert.Equal(5, await later);
        Assert.Equal(5, await check.LastStoredEpochAsync(TestContext.Current.CancellationToken));
        Assert.Equal(2, _queries.Count);
    }

    [Fact]
    public async Task WithAFreshness_AFailedQueryIsNotReused()
    {
        var check = Check(TimeSpan.FromSeconds(1));
        var first = check.LastStoredEpochAsync(TestContext.Current.CancellationToken);
        await _started.WaitAsync(TestContext.Current.CancellationToken);
        _queries[0].SetException(new InvalidOperationException("database down"));
        await Assert.ThrowsAsync<InvalidOperationException>(() => first);

        var next = check.LastStoredEpochAsync(TestContext.Current.CancellationToken);
        await _started.WaitAsync(TestContext.Current.CancellationToken);
        Assert.Equal(2, _queries.Count);
        _queries[1].SetResult(3);
        Assert.Equal(3, await next);
    }
}

using System.Threading.Channels;
using Mimi.Discovery.Server.Proofs;
using Mimi.Discovery.Server.Storage;

namespace Mimi.Discovery.Server.Invitations;

/// <summary>An accepted invitation's message, waiting for its channel.</summary>
internal sealed record PendingDelivery(IChallengeChannel Channel, ChallengeMessage Message, string InvitationId, string Slot, long SentAt);

/// <summary>
/// Sends invitation messages after the sender has her answer, one at a time, so the answer takes as
/// long whether a message goes out or not (the time an SMTP server or SMS gateway takes would tell
/// otherwise). A failed delivery is logged by category only, the invitation loses its link, and the
/// recipient's slot is given back. In-process: messages queued when the process stops are not sent.
/// </summary>
internal sealed partial class InvitationDelivery(IInvitationStore store, ILogger<InvitationDelivery> logger) : BackgroundService
{
    private readonly Channel<PendingDelivery> _queue = Channel.CreateUnbounded<PendingDelivery>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Lock _gate = new();
    private int _pending;
    private TaskCompletionSource _idle = CompletedSource();

    public void Enqueue(PendingDelivery delivery)
    {
        lock (_gate)
        {
            if (_pending++ == 0)
            {
                _idle = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }

        if (!_queue.Writer.TryWrite(delivery))
        {
            Done();
        }
    }

    /// <summary>Completes once every message queued so far was handed to its channel or failed (tests wait on it).</summary>
    public Task WhenIdleAsync()
    {
        lock (_gate)
        {
            return _idle.Task;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var delivery in _queue.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
        {
            try
            {
                await delivery.Channel.SendAsync(delivery.Message, stoppingToken).ConfigureAwait(false);
                LogDelivered(logger, delivery.Channel.Name);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                LogFailed(logger, delivery.Channel.Name, e is ChannelException ? e.Message : e.GetType().Name);
                try
                {
                    await store.UndeliverAsync(delivery.InvitationId, delivery.Slot, delivery.SentAt, stoppingToken).ConfigureAwait(false);
                }
                catch (Exception undo) when (Hosting.StoreOutage.IsOutage(undo))
                {
                    LogFailed(logger, "store", undo.GetType().Name);
                }
            }
            finally
            {
                Done();
            }
        }
    }

    private void Done()
    {
        lock (_gate)
        {
            if (--_pending == 0)
            {
                _idle.TrySetResult();
            }
        }
    }

    private static TaskCompletionSource CompletedSource()
    {
        var source = new TaskCompletionSource();
        source.SetResult();
        return source;
    }

    [LoggerMessage(EventId = 1410, Level = LogLevel.Information, Message = "Invitation handed to {Channel}")]
    private static partial void LogDelivered(ILogger logger, string channel);

    [LoggerMessage(EventId = 1411, Level = LogLevel.Error, Message = "Invitation delivery through {Channel} failed: {Reason}")]
    private static partial void LogFailed(ILogger logger, string channel, string reason);
}

/// <summary>Deletes expired invitations, and recipient slots and sender counts of past periods.</summary>
internal sealed class InvitationJanitor(IInvitationStore store, Microsoft.Extensions.Options.IOptions<Hosting.DiscoveryOptions> options, TimeProvider time) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromHours(1), time);
        do
        {
            var now = time.GetUtcNow();
            await store.PurgeInvitationsAsync(now.ToUnixTimeSeconds(), (now - options.Value.Invitations.Period).ToUnixTimeSeconds(), stoppingToken).ConfigureAwait(false);
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }
}

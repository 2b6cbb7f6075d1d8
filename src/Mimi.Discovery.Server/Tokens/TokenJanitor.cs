using Mimi.Discovery.Server.Storage;

namespace Mimi.Discovery.Server.Tokens;

/// <summary>Deletes spent-token nonces once their key is past its grace period: such tokens are refused as expired anyway.</summary>
internal sealed class TokenJanitor(IDiscoveryStore store, TimeProvider time) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromHours(1), time);
        do
        {
            await store.PurgeSpentTokensAsync(time.GetUtcNow().ToUnixTimeSeconds(), stoppingToken).ConfigureAwait(false);
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }
}

using Mimi.Discovery.Protocol;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Mimi.Discovery.Server.Hosting;
using Mimi.Discovery.Server.Tokens;

namespace Mimi.Discovery.Server.Observability;

/// <summary>Counts what the lookup gate does with tokens: each admitted lookup's price as redeemed, each refusal by its code.</summary>
internal sealed class CountingLookupGate(ILookupGate inner, DiscoveryMetrics metrics, IOptions<DiscoveryOptions> options) : ILookupGate
{
    public async Task<GateDecision> AdmitAsync(IReadOnlyList<string> authorization, LookupRequest request, CancellationToken cancellationToken)
    {
        var decision = await inner.AdmitAsync(authorization, request, cancellationToken).ConfigureAwait(false);
        if (decision.Problem is { } refused)
        {
            metrics.TokenRefused("redeem", refused.Code);
        }
        else if (inner is PrivacyPassGate && PrivacyPassGate.Charged(request, options.Value) is > 0 and var spent)
        {
            metrics.TokensRedeemed(spent);
        }

        return decision;
    }

    /// <summary>Wraps the registered <see cref="ILookupGate"/>.</summary>
    public static void Decorate(IServiceCollection services)
    {
        var registered = services.Last(d => d.ServiceType == typeof(ILookupGate));
        var type = registered.ImplementationType ?? throw new InvalidOperationException("the lookup gate is registered by type");
        services.Replace(ServiceDescriptor.Singleton<ILookupGate>(sp => new CountingLookupGate(
            (ILookupGate)ActivatorUtilities.CreateInstance(sp, type), sp.GetRequiredService<DiscoveryMetrics>(), sp.GetRequiredService<IOptions<DiscoveryOptions>>())));
    }
}

/// <summary>Counts each code handed to a channel, and whether the channel took it.</summary>
internal sealed class CountingChannel(Proofs.IChallengeChannel inner, DiscoveryMetrics metrics) : Proofs.IChallengeChannel
{
    public string Name => inner.Name;

    public async Task SendAsync(Proofs.ChallengeMessage message, CancellationToken cancellationToken)
    {
        using var span = DiscoveryTracing.Source.StartActivity("proof.send");
        span?.SetTag("mimi.discovery.channel", inner.Name);
        try
        {
            await inner.SendAsync(message, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            metrics.ProofSend(inner.Name, "failed");
            span?.SetStatus(System.Diagnostics.ActivityStatusCode.Error);
            throw;
        }

        metrics.ProofSend(inner.Name, "sent");
    }
}

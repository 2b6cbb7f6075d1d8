using Mimi.Discovery.Client;
using Mimi.Discovery.Statements;
using Mimi.Discovery.Transparency;
using Mimi.Discovery.Verification;

namespace Mimi.Discovery.Server.Tests.Transparency;

/// <summary>
/// A Discovery Provider whose answer fails its completeness proof is not believed by the resolver: it
/// goes on to the next provider, and its notes say why.
/// </summary>
public sealed class ResolverProofTests
{
    private const string Bob = "+33612345678";

    [Fact]
    public async Task ProviderWhoseProofFails_IsPassedOver_TheNextProviderAnswers()
    {
        await using var first = await DpHost.StartAsync();
        await using var second = await DpHost.StartAsync();
        foreach (var (dp, account) in new[] { (first, "@first"), (second, "@second") })
        {
            var bob = await dp.RegisterAsync(Bob);
            await dp.Client.PublishAsync(bob.Sign(1, [new MspEntry("wire") { Account = account }]));
        }

        // The sender checks the first DP's proofs against the second's log keys: as if the first signed with a key it should not.
        var secondKeys = TransparencyKeyset.FromWire((await second.Client.GetMetadataAsync()).Transparency!)!;
        ProviderEndpoint Provider(DpHost dp) => new(dp.BaseAddress, dp.Client,
            new StatementVerifier(new TrustAnchors([dp.LoadAuthority().Certificate]), dp.Clock),
            new TransparencyCheck(secondKeys, new TreeHeadMemory(), TimeSpan.FromDays(1), dp.Clock));

        var resolution = await new DiscoveryResolver(null, [Provider(first), Provider(second)]).ResolveAsync(Bob);

        Assert.Equal(LookupOutcome.Found, resolution.Outcome);
        Assert.Equal(second.BaseAddress.ToString(), resolution.SourceName);
        Assert.Equal("@second", Assert.Single(resolution.Services).Account);
        Assert.Contains(resolution.Notes, n => n.StartsWith(first.BaseAddress + ": answer refused: its transparency proof failed", StringComparison.Ordinal));
    }
}

using Mimi.Discovery.Client;
using Mimi.Discovery.Statements;
using Mimi.Discovery.Transparency;
using Mimi.Discovery.Verification;

namespace Mimi.Discovery.Server.Tests.Federation;

/// <summary>
/// R3 across sources: the resolver asks every DP, merges verified mappings by mapping id (the highest
/// version wins), follows referrals, and reports each source — a DP that is down makes the answer
/// partial without hiding what the others said.
/// </summary>
public sealed class ResolverMergeTests
{
    private const string Bob = "+33612345678";

    [Fact]
    public async Task EveryDpIsAsked_MappingsMergeByIdAndVersion_ADownDpMakesItPartial()
    {
        await using var first = await DpHost.StartAsync();
        // The second DP accepts the first's credentials: it carries a copy of Bob's mapping, one version behind.
        await using var second = await DpHost.StartAsync(o => o.AcceptedCaFiles.Add(Path.Combine(first.DataDirectory, "ca.crt")));
        await using var third = await DpHost.StartAsync();
        var bob = await first.RegisterAsync(Bob);
        await second.Client.PublishAsync(bob.Sign(1, [new MspEntry("wire") { Account = "@bob-old", Priority = 10 }]));
        await first.Client.PublishAsync(bob.Sign(2, [new MspEntry("wire") { Account = "@bob", Priority = 10 }]));
        // On the third DP, Bob has another key and another service.
        var bobElsewhere = await third.RegisterAsync(Bob);
        await third.Client.PublishAsync(bobElsewhere.Sign(1, [new MspEntry("signal") { Account = "@bob-signal", Priority = 20 }]));

        var down = await DpHost.StartAsync();
        var downUrl = down.BaseAddress;
        // A client of its own: the host's closes with it.
        var downEndpoint = await EndpointAsync(down, first) with { Client = new DiscoveryClient(new HttpClient(TlsTrust.CreateHandler(TlsTrust.LoadRoots(Path.Combine(down.DataDirectory, "tls.crt")))) { BaseAddress = downUrl }) };
        await down.DisposeAsync();

        var resolution = await new DiscoveryResolver(null, [await EndpointAsync(second, first), await EndpointAsync(first, first), await EndpointAsync(third, third), downEndpoint]).ResolveAsync(Bob);

        Assert.Equal(LookupOutcome.Found, resolution.Outcome);
        Assert.Equal([("@bob", first.BaseAddress.ToString()), ("@bob-signal", third.BaseAddress.ToString())], resolution.Services.Select(s => (s.Account!, s.From!)));
        Assert.Equal([SourceStatus.Answered, SourceStatus.Answered, SourceStatus.Answered, SourceStatus.Failed], resolution.Sources.Select(s => s.Status));
        Assert.Equal(downUrl.ToString(), resolution.Sources[3].Name);
        Assert.True(resolution.Partial);
        Assert.Equal(AnswerSource.DiscoveryProvider, resolution.Source);
        Assert.Equal(AnswerAuthentication.SignedMapping, resolution.Authentication);
    }

    [Fact]
    public async Task AStatementThatDoesNotVerify_IsARefusedSource_TheOthersStand()
    {
        await using var honest = await DpHost.StartAsync();
        await using var other = await DpHost.StartAsync();
        await honest.Client.PublishAsync((await honest.RegisterAsync(Bob)).Sign(1));
        await other.Client.PublishAsync((await other.RegisterAsync(Bob)).Sign(1));

        // The sender trusts only the honest DP's CA: the other DP's statement does not verify.
        var resolution = await new DiscoveryResolver(null, [await EndpointAsync(other, honest), await EndpointAsync(honest, honest)]).ResolveAsync(Bob);

        Assert.Equal(LookupOutcome.Found, resolution.Outcome);
        Assert.Equal(SourceStatus.Refused, resolution.Sources[0].Status);
        Assert.Contains("UntrustedIssuer", resolution.Sources[0].Detail, StringComparison.Ordinal);
        Assert.Equal(SourceStatus.Answered, resolution.Sources[1].Status);
        Assert.Equal(honest.BaseAddress.ToString(), Assert.Single(resolution.Services).From);
        Assert.True(resolution.Partial);
    }

    /// <summary>A DP as a sender configures it, trusting <paramref name="caOf"/>'s credential CA and checking the DP's own log.</summary>
    private static async Task<ProviderEndpoint> EndpointAsync(DpHost dp, DpHost caOf) =>
        new(dp.BaseAddress, dp.Client, new StatementVerifier(new TrustAnchors([caOf.LoadAuthority().Certificate]), dp.Clock),
            new TransparencyCheck(TransparencyKeyset.FromWire((await dp.Client.GetMetadataAsync()).Transparency!)!, new TreeHeadMemory(), TimeSpan.FromDays(1), dp.Clock));
}

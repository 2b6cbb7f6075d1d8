using Mimi.Discovery.Server.Tests.Consistency;
using Mimi.Discovery.Statements;
using Mimi.Discovery.Transparency;
using Mimi.Discovery.Verification;

namespace Mimi.Discovery.Server.Tests.Transparency;

/// <summary><see cref="LabelMonitor.CheckAcknowledged"/> against a real DP's label histories: kept, not yet due, broken.</summary>
public sealed class ReceiptCheckTests : IAsyncLifetime
{
    private DpHost _dp = null!;

    public async ValueTask InitializeAsync() => _dp = await DpHost.StartAsync(o => o.EpochInterval = TimeSpan.FromHours(1));

    public async ValueTask DisposeAsync() => await _dp.DisposeAsync();

    private async Task<ReceiptVerdict> CheckAsync(DpHost.Recipient owner, AcknowledgedChange change)
    {
        var history = await _dp.Client.GetHistoryAsync(owner.Csi, Labels.AnyScope);
        return LabelMonitor.CheckAcknowledged(history, ProofWire.Head(history.Head)!, change,
            new StatementVerifier(new TrustAnchors([_dp.LoadAuthority().Certificate]), _dp.Time));
    }

    private async Task<(DpHost.Recipient Owner, AcknowledgedChange Change)> PublishAsync(long version = 1)
    {
        var bob = await _dp.RegisterAsync("+33612345678");
        var draft = new MappingDraft(bob.Csi, version, [new MspEntry("wire")]);
        return (bob, AcknowledgedChange.Of(draft, await _dp.Client.PublishAsync(bob.Signer.SignMapping(draft)))!);
    }

    [Fact]
    public async Task CheckAcknowledged_SealedByItsEpoch_IsHonoured()
    {
        var (bob, change) = await PublishAsync();
        Assert.Equal(ReceiptStatus.NotYetDue, (await CheckAsync(bob, change)).Status);

        await DpCluster.SealAsync(_dp);

        Assert.Equal(ReceiptStatus.Honoured, (await CheckAsync(bob, change)).Status);
    }

    [Fact]
    public async Task CheckAcknowledged_LogPassedTheEpochWithoutTheVersion_IsBroken()
    {
        var (bob, change) = await PublishAsync();
        await DpCluster.SealAsync(_dp);

        // What an owner would hold if the DP had acknowledged version 2 for this epoch and dropped it.
        var verdict = await CheckAsync(bob, change with { Version = 2 });

        Assert.Equal(ReceiptStatus.Broken, verdict.Status);
        Assert.Contains("version 2 was acknowledged", verdict.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CheckAcknowledged_RemovalStillInTheSetAtItsEpoch_IsBroken()
    {
        var (bob, change) = await PublishAsync();
        await DpCluster.SealAsync(_dp);

        var verdict = await CheckAsync(bob, change with { Removal = true });

        Assert.Equal(ReceiptStatus.Broken, verdict.Status);
    }

    [Fact]
    public async Task CheckAcknowledged_RemovalSealed_IsHonoured_EvenOfAMappingNeverSealed()
    {
        var (bob, change) = await PublishAsync();
        var removal = await _dp.Client.RemoveAsync(bob.Signer.SignRemoval(new RemovalDraft(bob.Csi) { Version = 1 }));
        var removed = change.RemovedBy(removal)!;
        await DpCluster.SealAsync(_dp);

        Assert.Equal(ReceiptStatus.Honoured, (await CheckAsync(bob, removed)).Status);

        // Published and removed in one epoch: the publish's receipt is then held by the removal's.
        Assert.Equal(change.Epoch, removed.Epoch);
    }
}

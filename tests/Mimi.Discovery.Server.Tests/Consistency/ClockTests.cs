using Mimi.Discovery.Protocol;
using Mimi.Discovery.Transparency;

namespace Mimi.Discovery.Server.Tests.Consistency;

/// <summary>A DP whose clock runs ahead and is then corrected: its heads never go back in time, and senders refuse heads from the future.</summary>
public sealed class ClockTests
{
    /// <summary>The real clock, moved by a settable offset (forwards or back, as a misconfigured host's clock moves).</summary>
    private sealed class AdjustableClock : TimeProvider
    {
        public TimeSpan Offset { get; set; }

        public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + Offset;
    }

    [Fact]
    public async Task Seal_ClockTwoDaysAheadThenCorrected_HeadsNeverGoBack_AndSendersRefuseTheFutureHead()
    {
        var clock = new AdjustableClock();
        await using var dp = await DpHost.StartAsync(clock: clock);
        var bob = await dp.RegisterAsync("+33612345678");
        var keys = TransparencyKeyset.FromWire((await dp.Client.GetMetadataAsync()).Transparency!)!;
        await dp.Client.PublishAsync(bob.Sign(1));
        var before = await dp.Client.GetTreeHeadAsync();

        clock.Offset = TimeSpan.FromDays(2);
        await dp.Client.PublishAsync(bob.Sign(2));
        var ahead = await dp.Client.GetTreeHeadAsync();
        Assert.True(ahead.Timestamp > before.Timestamp + TimeSpan.FromDays(1).TotalMilliseconds);

        // A sender with a right clock refuses the head from two days ahead; one whose clock is as far off accepts it.
        var response = await dp.Client.LookupRawAsync(["+33612345678"]);
        var (refused, _) = ProofVerifier.VerifyEpoch(response.Transparency, keys, null, TimeProvider.System.GetUtcNow(), TimeSpan.FromDays(1));
        Assert.Equal(ProofStatus.FutureTreeHead, refused.Status);
        var (_, seen) = ProofVerifier.VerifyEpoch(response.Transparency, keys, null, clock.GetUtcNow(), TimeSpan.FromDays(1));
        Assert.NotNull(seen);

        // Corrected, the DP keeps the last head's time rather than sealing an earlier one.
        clock.Offset = TimeSpan.Zero;
        await dp.Client.PublishAsync(bob.Sign(3));
        var corrected = await dp.Client.GetTreeHeadAsync();
        Assert.Equal(ahead.Size + 1, corrected.Size);
        Assert.Equal(ahead.Timestamp, corrected.Timestamp);

        // The log still audits clean, and the sender that accepted the head from ahead accepts the next one.
        Assert.Empty((await LogAuditor.AuditAsync(dp.Client, keys, new AuditState())).Violations);
        var latest = await dp.Client.LookupRawAsync(new LookupRequest(["+33612345678"], null, seen.Size));
        Assert.Equal(ProofStatus.Complete, ProofVerifier.VerifyEpoch(latest.Transparency, keys, seen, TimeProvider.System.GetUtcNow().AddDays(2), TimeSpan.FromDays(3)).Verdict.Status);
    }
}

using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Mimi.Discovery.Server.Hosting;
using Mimi.Discovery.Server.Storage;
using Mimi.Discovery.Server.Transparency;

namespace Mimi.Discovery.Server.Tests.Observability;

/// <summary>Each readiness condition the operator must act on: turned on deterministically (a held seal, a clock moved on), seen in /health/ready, and turned off again.</summary>
public sealed class ReadinessCheckTests
{
    private static async Task<(HttpStatusCode Status, string Overall, JsonElement Checks)> ReadyAsync(DpHost dp)
    {
        using var response = await dp.Http.GetAsync("health/ready", TestContext.Current.CancellationToken);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement;
        return (response.StatusCode, body.GetProperty("status").GetString()!, body.GetProperty("checks").Clone());
    }

    [Fact]
    public async Task SealerHeldPastItsIntervals_IsDegraded_ThenReadyOnceItSeals()
    {
        await using var dp = await DpHost.StartAsync(o =>
        {
            o.EpochInterval = TimeSpan.FromMinutes(1);
            o.Health.SealerLagIntervals = 5;
        });
        var bob = await dp.RegisterAsync("+33612345678");
        await dp.Client.PublishAsync(bob.Sign(1), TestContext.Current.CancellationToken);

        // A seal that stops after reading what it covers: the sealer can make no progress meanwhile.
        var log = dp.Service<TransparencyLog>();
        var held = new TaskCompletionSource();
        var reached = new TaskCompletionSource();
        log.AfterRead = async ct =>
        {
            reached.TrySetResult();
            await held.Task.WaitAsync(ct);
        };
        var seal = log.SealAsync(TestContext.Current.CancellationToken);
        await reached.Task.WaitAsync(TestContext.Current.CancellationToken);
        Assert.Equal("ok", (await ReadyAsync(dp)).Checks.GetProperty("sealer").GetString());

        dp.Time.Advance(TimeSpan.FromMinutes(6));
        var lagging = await ReadyAsync(dp);

        Assert.Equal(HttpStatusCode.OK, lagging.Status);
        Assert.Equal("degraded", lagging.Overall);
        var why = lagging.Checks.GetProperty("sealer").GetString()!;
        Assert.Contains("has not sealed for 360 s", why, StringComparison.Ordinal);
        Assert.Contains("1 CSI(s) wait", why, StringComparison.Ordinal);
        Assert.Contains("402", why, StringComparison.Ordinal);

        log.AfterRead = null;
        held.SetResult();
        Assert.NotNull(await seal);
        var caughtUp = await ReadyAsync(dp);
        Assert.Equal("ok", caughtUp.Checks.GetProperty("sealer").GetString());
        Assert.Equal("ready", caughtUp.Overall);
    }

    [Fact]
    public async Task TlsCertificateNearExpiry_IsDegraded_Expired_NotReady_AndRenewedAtRestart_Ready()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        // Months pass on the fake clock: with the longest epoch interval the sealer wakes once a day
        // of them, not every two seconds (which would seal for hours inside Advance).
        var dp = await DpHost.StartAsync(o =>
        {
            o.Health.ExpiryWarning = TimeSpan.FromDays(30);
            o.EpochInterval = TimeSpan.FromDays(1);
        }, clock: clock);
        var data = dp.DataDirectory;
        try
        {
            // The generated TLS certificate lives a year; the CA ten.
            clock.Advance(TimeSpan.FromDays(340));
            var soon = await ReadyAsync(dp);
            Assert.Equal("degraded", soon.Overall);
            var why = soon.Checks.GetProperty("certificates").GetString()!;
            Assert.Contains("the TLS certificate expires at", why, StringComparison.Ordinal);
            Assert.Contains("restart the DP", why, StringComparison.Ordinal);
            Assert.DoesNotContain("credential CA", why, StringComparison.Ordinal);

            clock.Advance(TimeSpan.FromDays(30));
            var expired = await ReadyAsync(dp);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, expired.Status);
            Assert.Contains("the TLS certificate expired at", expired.Checks.GetProperty("certificates").GetString()!, StringComparison.Ordinal);
        }
        finally
        {
            await dp.DisposeAsync(deleteData: false);
        }

        // A start renews the generated certificate in its last week: rotated, the check passes. The
        // renewed certificate starts at the fake clock's now, a year ahead of this machine's, so a
        // TLS client here would refuse it: the check is asked in-process.
        await using var restarted = await DpHost.StartAsync(o =>
        {
            o.DataDirectory = data;
            o.EpochInterval = TimeSpan.FromDays(1);
        }, clock: clock);
        var report = await restarted.Service<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckService>().CheckHealthAsync(c => c.Name == "certificates", TestContext.Current.CancellationToken);
        Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy, report.Entries["certificates"].Status);
    }

    [Fact]
    public async Task CredentialCa_IsDegradedWithinTheCredentialLifetime_ForItCannotIssueCredentialsThatOutliveIt()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var dp = await DpHost.StartAsync(o =>
        {
            o.CredentialLifetime = TimeSpan.FromDays(3650);
            o.Health.ExpiryWarning = TimeSpan.Zero;
        }, clock: clock);

        var ready = await ReadyAsync(dp);

        Assert.Equal("degraded", ready.Overall);
        Assert.Contains("the credential CA (ca.crt) expires at", ready.Checks.GetProperty("certificates").GetString()!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NoChannel_IsDegraded_NamingTheSettingsToConfigure()
    {
        await using var dp = await DpHost.StartAsync(o => o.Dev = false);

        var ready = await ReadyAsync(dp);

        Assert.Equal("degraded", ready.Overall);
        var why = ready.Checks.GetProperty("channels").GetString()!;
        Assert.Contains("Discovery:Sms", why, StringComparison.Ordinal);
        Assert.Contains("Discovery:Smtp", why, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LogWithoutAnEpoch_FailsTheLogCheck()
    {
        await using var dp = await DpHost.StartAsync();

        // A log that has loaded nothing yet, as a process is before its first seal or catch-up.
        using var fresh = new TransparencyLog(dp.Service<IDiscoveryStore>(), dp.Service<ILookupStore>(), dp.Service<DataFolder>(), dp.Service<IOptions<DiscoveryOptions>>(), dp.Clock,
            NullLogger<TransparencyLog>.Instance, dp.Service<Server.Observability.SealTelemetry>());
        var check = new Readiness.LogCheck(fresh, dp.Service<IOptions<DiscoveryOptions>>());

        var result = await check.CheckHealthAsync(new Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckContext(), TestContext.Current.CancellationToken);

        Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Unhealthy, result.Status);
        Assert.Contains("no sealed epoch", result.Description, StringComparison.Ordinal);
    }
}

using System.Net;
using System.Text.Json;

namespace Mimi.Discovery.Server.Tests.Apis;

/// <summary>Liveness and readiness: what an orchestrator asks before sending traffic (the outage case is in OutageTests).</summary>
public sealed class ReadinessTests
{
    [Fact]
    public async Task ReadyDp_SaysReady_WithEachCheckNamed_AndLiveAnswers()
    {
        await using var dp = await DpHost.StartAsync();

        using var ready = await dp.Http.GetAsync("health/ready");
        var body = JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("ready", body.GetProperty("status").GetString());
        Assert.Equal(["certificates", "channels", "database", "sealer", "transparency-log"], body.GetProperty("checks").EnumerateObject().Select(c => c.Name).Order());
        Assert.All(body.GetProperty("checks").EnumerateObject(), c => Assert.Equal("ok", c.Value.GetString()));
        using var live = await dp.Http.GetAsync("health/live");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal("ok", JsonDocument.Parse(await live.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString());
    }

    [Fact]
    public async Task DpWithoutALog_IsReady_ForItHasNoEpochToWaitFor()
    {
        await using var dp = await DpHost.StartAsync(o => o.Transparency = false);

        using var ready = await dp.Http.GetAsync("health/ready");

        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
    }
}

using System.Collections.Concurrent;
using System.Net;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Server.Tests.Storage;
using Mimi.Discovery.Transparency;
using Npgsql;

namespace Mimi.Discovery.Server.Tests.Consistency;

/// <summary>
/// PostgreSQL stops and starts under load (the connection to it cut and restored by a proxy):
/// every request answers, 503 <c>store-unavailable</c> with <c>Retry-After</c> while it is away, never
/// a 500; the last signed head stays served; nothing acknowledged is lost.
/// </summary>
public sealed class OutageTests : IAsyncLifetime
{
    private string? _database;

    public async ValueTask InitializeAsync()
    {
        Assert.SkipWhen(PostgresTestDatabase.AdminConnectionString is null, $"PostgreSQL not configured: set {PostgresTestDatabase.Variable} (CI does)");
        _database = await PostgresTestDatabase.CreateDatabaseAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_database is not null)
        {
            await PostgresTestDatabase.DropDatabaseAsync(_database);
        }
    }

    [Fact]
    public async Task DatabaseStoppedAndStartedUnderLoad_503WithRetryAfter_HeadStillServed_NothingAcknowledgedLost()
    {
        var direct = new NpgsqlConnectionStringBuilder(PostgresTestDatabase.ConnectionStringFor(_database!));
        var addresses = await System.Net.Dns.GetHostAddressesAsync(direct.Host!);
        await using var proxy = new TcpFaultProxy(new IPEndPoint(addresses[0], direct.Port));
        var viaProxy = new NpgsqlConnectionStringBuilder(direct.ConnectionString) { Host = "127.0.0.1", Port = proxy.Port, Timeout = 3, CommandTimeout = 5 };
        await using var dp = await DpHost.StartAsync(o => o.EpochInterval = TimeSpan.FromHours(1), database: viaProxy.ConnectionString);
        var bob = await dp.RegisterAsync("+33612345678");
        await dp.Client.PublishAsync(bob.Sign(1));
        await DpCluster.SealAsync(dp);
        var headBefore = await dp.Client.GetTreeHeadAsync();

        var statuses = new ConcurrentDictionary<string, int>();
        var acknowledged = new ConcurrentBag<(long Version, PublishReceipt Receipt)>();
        var version = 1L;
        using var stop = new CancellationTokenSource();
        async Task LoadAsync(bool publish)
        {
            while (!stop.IsCancellationRequested)
            {
                var v = publish ? Interlocked.Increment(ref version) : 0;
                using var response = publish
                    ? await dp.PostJsonAsync("v1/mappings", $$"""{"statement":"{{bob.Sign(v)}}"}""")
                    : await dp.Http.GetAsync("v1/lookup/%2B33612345678");
                var body = await response.Content.ReadAsStringAsync();
                var key = (int)response.StatusCode == 503 ? "503 " + (response.Headers.RetryAfter is null ? "without Retry-After" : ProblemCode(body)) : ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
                statuses.AddOrUpdate(key, 1, (_, n) => n + 1);
                if (publish && response.IsSuccessStatusCode)
                {
                    acknowledged.Add((v, System.Text.Json.JsonSerializer.Deserialize(body, ProtocolJson.Default.PublishReceipt)!));
                }
            }
        }

        var load = new[] { LoadAsync(true), LoadAsync(false), LoadAsync(false) };
        await WaitForAsync(() => statuses.GetValueOrDefault("200") > 10);

        proxy.Cut();
        await WaitForAsync(() => statuses.GetValueOrDefault("503 store-unavailable") > 10);
        var head = await dp.Http.GetAsync("v1/transparency/head");
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(headBefore, System.Text.Json.JsonSerializer.Deserialize(await head.Content.ReadAsStringAsync(), ProtocolJson.Default.TreeHeadWire));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await dp.Http.GetAsync("health")).StatusCode);
        using (var ready = await dp.Http.GetAsync("health/ready"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            Assert.Contains("\"database\":\"the database does not answer", await ready.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Equal(HttpStatusCode.OK, (await dp.Http.GetAsync("health/live")).StatusCode);

        proxy.Restore();
        var afterRestore = acknowledged.Count;
        await WaitForAsync(() => acknowledged.Count > afterRestore + 3);
        await stop.CancelAsync();
        await Task.WhenAll(load);

        Assert.True(statuses.Keys.All(k => k is "200" or "503 store-unavailable"), "answers: " + string.Join(", ", statuses.Select(s => $"{s.Key} x{s.Value}")));
        while (await DpCluster.SealAsync(dp) is not null)
        {
        }

        var history = await dp.Client.GetHistoryAsync(bob.Csi, Labels.AnyScope);
        var latest = acknowledged.MaxBy(a => a.Version);
        var verdict = LabelMonitor.CheckAcknowledged(history, ProofWire.Head(history.Head)!,
            new AcknowledgedChange(latest.Receipt.MappingId, latest.Version, latest.Receipt.Epoch!.Value, [Labels.AnyScope]),
            new Verification.StatementVerifier(new Verification.TrustAnchors([dp.LoadAuthority().Certificate]), dp.Clock));
        Assert.True(verdict.Status == ReceiptStatus.Honoured, verdict.Reason);
    }

    private static string ProblemCode(string body) =>
        System.Text.Json.JsonDocument.Parse(body).RootElement.TryGetProperty("code", out var code) ? code.GetString()! : "(not a problem)";

    /// <summary>Waits for a condition the load makes true; a generous bound only turns a hang into a failure.</summary>
    private static async Task WaitForAsync(Func<bool> condition)
    {
        for (var deadline = DateTime.UtcNow.AddSeconds(60); !condition(); await Task.Delay(20))
        {
            Assert.True(DateTime.UtcNow < deadline, "the load did not reach the expected state within a minute");
        }
    }
}

using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Server.Proofs;
using Mimi.Discovery.Server.Storage;
using Mimi.Discovery.Server.Transparency;

namespace Mimi.Discovery.Server.Hosting;

/// <summary>
/// Liveness and readiness for orchestrators (docs/operations.md, "Observing it"), as ASP.NET Core
/// health checks: <c>GET /health/live</c> answers while the process runs; <c>GET /health/ready</c>
/// answers 200 when the DP can serve — its database answers and its transparency log has a sealed
/// epoch (lookups answer 503 before) — and 503 with each failed check named otherwise; a CSI kind no
/// channel delivers codes to is reported <c>degraded</c> (200: lookups work, registration of that kind does not),
/// as are a lagging sealer, a certificate near expiry (an expired one fails), and on a process reading a
/// hot standby a primary that does not answer or a replica behind it. Each entry names what
/// is wrong and what to do. <c>GET /health</c> stays the database check it always was.
/// </summary>
internal static class Readiness
{
    private const string ReadyTag = "ready";

    /// <param name="services">The DP's services.</param>
    /// <param name="readReplica">Whether this process reads a hot standby (<see cref="DiscoveryOptions.ReadReplica"/>): the <c>replica</c> check then takes the <c>sealer</c> check's place.</param>
    public static IServiceCollection AddReadiness(this IServiceCollection services, bool readReplica)
    {
        var checks = services.AddHealthChecks()
            .AddCheck<DatabaseCheck>("database", tags: [ReadyTag])
            .AddCheck<LogCheck>("transparency-log", tags: [ReadyTag])
            .AddCheck<ChannelCheck>("channels", tags: [ReadyTag])
            .AddCheck<Observability.CertificateExpiryCheck>("certificates", tags: [ReadyTag]);
        // A process reading a hot standby never seals: it answers for the standby's lag instead.
        _ = readReplica
            ? checks.AddCheck<ReplicaCheck>("replica", tags: [ReadyTag])
            : checks.AddCheck<Observability.SealerLagCheck>("sealer", tags: [ReadyTag]);

        return services;
    }

    public static void MapReadiness(this IEndpointRouteBuilder app)
    {
        app.MapHealthChecks("/health/live", new HealthCheckOptions
        {
            Predicate = _ => false,
            ResponseWriter = (context, _) =>
            {
                context.Response.ContentType = "application/json";
                return context.Response.WriteAsync("""{"status":"ok"}""");
            },
        });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains(ReadyTag), ResponseWriter = WriteAsync });
    }

    // {"status":"ready"|"not-ready","checks":{"database":"ok"|"<why not>", …}}: no exception text, no identifier.
    private static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        var checks = report.Entries.ToDictionary(e => e.Key, e => e.Value.Status == HealthStatus.Healthy ? "ok" : e.Value.Description ?? "failed");
        return context.Response.WriteAsync(System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["status"] = report.Status switch { HealthStatus.Healthy => "ready", HealthStatus.Degraded => "degraded", _ => "not-ready" },
            ["checks"] = checks,
        }));
    }

    /// <summary>
    /// The database lookups read must answer. On a process reading a hot standby that is the standby;
    /// a primary that does not answer only degrades it (lookups go on, writes fail).
    /// </summary>
    private sealed class DatabaseCheck(IDiscoveryStore store, ILookupStore reads) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            var replica = !ReferenceEquals(store, reads);
            if (!await reads.IsHealthyAsync(cancellationToken).ConfigureAwait(false))
            {
                return HealthCheckResult.Unhealthy(replica
                    ? "the read replica does not answer: check that it runs and that Discovery:ReadReplica reaches it (log event 800)"
                    : "the database does not answer: check that it runs and that Discovery:Database reaches it (log event 800)");
            }

            return !replica || await store.IsHealthyAsync(cancellationToken).ConfigureAwait(false)
                ? HealthCheckResult.Healthy()
                : HealthCheckResult.Degraded("the primary database does not answer: lookups go on from the read replica, publishes and removals fail until Discovery:Database is back (log event 800)");
        }
    }

    /// <summary>On a process reading a hot standby: degraded while the standby has not replayed the primary's last epoch.</summary>
    private sealed class ReplicaCheck(TransparencyLog log) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(log.LatestEpoch is { } latest
                ? HealthCheckResult.Degraded(FormattableString.Invariant(
                    $"the read replica has replayed the log up to epoch {log.Epoch} and the primary is at {latest}: lookups answer from epoch {log.Epoch} and say latestEpoch; check the standby's replication (pg_stat_replication on the primary, log event 404)"))
                : HealthCheckResult.Healthy());
    }

    internal sealed class LogCheck(TransparencyLog log, IOptions<DiscoveryOptions> options) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(!options.Value.Transparency || log.Head is not null
                ? HealthCheckResult.Healthy()
                : HealthCheckResult.Unhealthy("the transparency log has no sealed epoch yet, so lookups answer 503: wait for the first seal, or look for log event 402 (sealing failed)"));
    }

    private sealed class ChannelCheck(ChannelRouter channels) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            var missing = new[] { (CsiKind.Phone, "phone numbers"), (CsiKind.Email, "email addresses") }.Where(k => channels.For(k.Item1) is null).Select(k => k.Item2).ToList();
            return Task.FromResult(missing.Count == 0
                ? HealthCheckResult.Healthy()
                : HealthCheckResult.Degraded($"no channel delivers codes to {string.Join(" or ", missing)}, so they cannot register: configure {string.Join(" and ", missing.Select(m => m == "phone numbers" ? "Discovery:Sms" : "Discovery:Smtp"))}"));
        }
    }
}

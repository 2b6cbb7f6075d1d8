using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Mimi.Discovery.Server.Hosting;

namespace Mimi.Discovery.Server.Observability;

/// <summary>
/// <c>sealer</c>: degraded once the sealer has made no progress (sealed an epoch, found nothing to
/// seal, or found another DP process sealing) for <see cref="HealthOptions.SealerLagIntervals"/>
/// epoch intervals. Degraded, not unhealthy: lookups go on answering, with proofs, from the last
/// epoch, and every DP process on the database shares the one sealer's state, so failing readiness
/// would take them all out of rotation and turn stale answers into none.
/// </summary>
internal sealed class SealerLagCheck(SealMonitor monitor, Storage.IDiscoveryStore store, IOptions<DiscoveryOptions> options) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var interval = options.Value.SealInterval > TimeSpan.Zero ? options.Value.SealInterval : TimeSpan.FromSeconds(1);
        var limit = interval * options.Value.Health.SealerLagIntervals;
        var lag = monitor.Lag;
        if (lag <= limit)
        {
            return HealthCheckResult.Healthy();
        }

        var pending = await store.CountPendingAsync(cancellationToken).ConfigureAwait(false);
        monitor.Counted(pending);
        return HealthCheckResult.Degraded(string.Create(CultureInfo.InvariantCulture,
            $"the sealer has not sealed for {lag.TotalSeconds:0} s (more than {options.Value.Health.SealerLagIntervals} epoch intervals, {limit.TotalSeconds:0} s), so {pending} CSI(s) wait and lookups answer from an older epoch; look for log event 402 (sealing failed) and check the database"));
    }
}

/// <summary>
/// <c>certificates</c>: the certificates that expire — the credential CA and the TLS certificate —
/// degraded within <see cref="HealthOptions.ExpiryWarning"/> of expiry (the CA within its credential
/// lifetime too, since it cannot issue credentials that outlive it), unhealthy once expired. The
/// other keys carry no expiry: the token issuer and OHTTP keys rotate by themselves, the VRF and
/// log keys are kept for the life of the log.
/// </summary>
internal sealed class CertificateExpiryCheck(DataFolder folder, ServingCertificate tls, IOptions<DiscoveryOptions> options, TimeProvider time) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var o = options.Value;
        var caWindow = o.Health.ExpiryWarning > o.CredentialLifetime ? o.Health.ExpiryWarning : o.CredentialLifetime;
        var findings = new[]
        {
            Examine(folder.Authority.Certificate, caWindow, "the credential CA (ca.crt)", "issue a new CA key and certificate, give clients the new ca.crt, and keep the old one in Discovery:AcceptedCaFiles until its credentials expire"),
            Examine(tls.Certificate, o.Health.ExpiryWarning, "the TLS certificate", o.TlsCertificate is null ? "restart the DP: it renews the generated certificate in its last week" : "renew it and restart the DP with the new Discovery:TlsCertificate"),
        }.OfType<(bool Expired, string Text)>().ToList();
        if (findings.Count == 0)
        {
            return Task.FromResult(HealthCheckResult.Healthy());
        }

        var text = string.Join("; ", findings.Select(f => f.Text));
        return Task.FromResult(findings.Any(f => f.Expired) ? HealthCheckResult.Unhealthy(text) : HealthCheckResult.Degraded(text));
    }

    private (bool Expired, string Text)? Examine(X509Certificate2 certificate, TimeSpan window, string name, string action)
    {
        var notAfter = new DateTimeOffset(certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero);
        var now = time.GetUtcNow();
        if (notAfter - now > window)
        {
            return null;
        }

        return notAfter <= now
            ? (true, string.Create(CultureInfo.InvariantCulture, $"{name} expired at {notAfter:u}: {action}"))
            : (false, string.Create(CultureInfo.InvariantCulture, $"{name} expires at {notAfter:u}, within {window.TotalDays:0} days: {action}"));
    }
}

/// <summary>The certificate the DP serves HTTPS with, as loaded at start-up.</summary>
internal sealed record ServingCertificate(X509Certificate2 Certificate);

using Mimi.Discovery.Server.Hosting;

namespace Mimi.Discovery.Server.Observability;

/// <summary>The start-up checks of <c>Discovery:Metrics</c>, <c>Discovery:Traces</c> and <c>Discovery:Health</c>, reported with the other settings'.</summary>
internal static class ObservabilityChecks
{
    public static void Check(List<string> failures, DiscoveryOptions options)
    {
        var metrics = new OptionChecks("Discovery:Metrics", failures);
        var m = options.Metrics;
        if (m.Url is { } url && (!url.IsAbsoluteUri || url.Scheme != Uri.UriSchemeHttps || url.AbsolutePath != "/" || url.Query.Length > 0))
        {
            metrics.Fail(nameof(m.Url), $"'{url}' is not an https:// listen URL (scheme, host and port only); the DP listens only over HTTPS");
        }

        if (m.Path is not { Length: >= 2 and <= 100 } path || path[0] != '/' || !path.All(c => char.IsAsciiLetterOrDigit(c) || c is '/' or '-' or '_' or '.'))
        {
            metrics.Fail(nameof(m.Path), $"'{m.Path}' is not a path such as /metrics (letters, digits, / - _ . only)");
        }
        else if (path.StartsWith("/v1/", StringComparison.Ordinal) || path.StartsWith("/.well-known/", StringComparison.Ordinal) || path.StartsWith("/health", StringComparison.Ordinal) || path.StartsWith("/openapi", StringComparison.Ordinal))
        {
            metrics.Fail(nameof(m.Path), $"'{path}' is under one of the API's own paths; use e.g. /metrics");
        }

        if (m.TokenHash is { } hash && (hash.Length != 64 || !hash.All(char.IsAsciiHexDigitLower)))
        {
            metrics.Fail(nameof(m.TokenHash), "is not the SHA-256 of the scrape token in 64 lowercase hex digits (e.g. `printf %s \"$TOKEN\" | sha256sum`)");
        }

        if (m.OnPublicPort && m.TokenHash is null)
        {
            metrics.Fail(nameof(m.OnPublicPort), "needs Discovery:Metrics:TokenHash: the public port serves metrics only to a scraper with the operator's bearer token");
        }

        if (options.Traces.OtlpEndpoint is { } otlp && (!otlp.IsAbsoluteUri || (otlp.Scheme != Uri.UriSchemeHttps && otlp.Scheme != Uri.UriSchemeHttp)))
        {
            failures.Add($"Discovery:Traces:OtlpEndpoint '{otlp}' is not an absolute http(s):// URL of an OTLP collector.");
        }

        var health = new OptionChecks("Discovery:Health", failures);
        health.Range(nameof(options.Health.SealerLagIntervals), options.Health.SealerLagIntervals, 2, 100_000);
        health.Range(nameof(options.Health.ExpiryWarning), options.Health.ExpiryWarning, TimeSpan.Zero, TimeSpan.FromDays(365));
    }
}

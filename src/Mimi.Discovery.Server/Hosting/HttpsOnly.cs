using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Mimi.Discovery.Server.Hosting;

/// <summary>
/// Keeps a process (the DP, the relay) HTTPS-only whatever configures its listeners: <c>--urls</c>,
/// <c>Kestrel:Endpoints:*:Url</c> in appsettings or <c>Kestrel__Endpoints__…</c> environment
/// variables are checked before start, and the addresses actually bound are checked after it.
/// </summary>
internal static class HttpsOnly
{
    /// <summary>The listen URLs of <c>--urls</c> (or <paramref name="defaultUrl"/>), refused unless every one is https://.</summary>
    /// <exception cref="InvalidOperationException">A URL, or a configured Kestrel endpoint, is not https://.</exception>
    public static string[] ListenUrls(IConfiguration configuration, string defaultUrl, string product)
    {
        var urls = (configuration["urls"] ?? defaultUrl).Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (urls.FirstOrDefault(u => !IsHttps(u)) is { } plain)
        {
            throw new InvalidOperationException($"'{plain}' is not an https:// URL; the {product} only listens over HTTPS.");
        }

        foreach (var endpoint in configuration.GetSection("Kestrel:Endpoints").GetChildren())
        {
            var url = endpoint["Url"];
            if (url is null || !IsHttps(url))
            {
                throw new InvalidOperationException($"Kestrel:Endpoints:{endpoint.Key}:Url '{url}' is not an https:// URL; the {product} only listens over HTTPS.");
            }
        }

        return urls;
    }

    /// <summary>Refuses a bound address that is not https:// (<see cref="BoundAddressCheck"/>).</summary>
    /// <exception cref="InvalidOperationException">One of <paramref name="addresses"/> is not https://.</exception>
    public static void RequireHttps(IEnumerable<string> addresses, string product)
    {
        if (addresses.FirstOrDefault(a => !IsHttps(a)) is { } plain)
        {
            throw new InvalidOperationException($"the {product} is bound to '{plain}', which is not HTTPS; it stopped. Remove that endpoint (Kestrel:Endpoints, --urls).");
        }
    }

    private static bool IsHttps(string url) => url.StartsWith("https://", StringComparison.OrdinalIgnoreCase);
}

/// <summary>
/// Runs once the server listens: stops it and fails start-up when any bound address is not
/// HTTPS, then gives <see cref="PublicOrigin"/> its value.
/// </summary>
internal sealed class BoundAddressCheck(IServer server, PublicOrigin? origin, string product) : IHostedLifecycleService
{
    public async Task StartedAsync(CancellationToken cancellationToken)
    {
        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? [];
        try
        {
            HttpsOnly.RequireHttps(addresses, product);
            origin?.Resolve(addresses);
        }
        catch (InvalidOperationException)
        {
            await server.StopAsync(cancellationToken).ConfigureAwait(false);
            throw;
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>
/// The origin every published absolute URL starts with (<see cref="DiscoveryOptions.PublicOrigin"/>),
/// fixed at start-up: requests' <c>Host</c> headers never reach a URL the DP hands out.
/// </summary>
internal sealed class PublicOrigin(DiscoveryOptions options)
{
    private string? _value = options.PublicOrigin is { } configured ? configured.GetLeftPart(UriPartial.Authority) : null;

    /// <summary><c>https://host[:port]</c>, without a trailing slash.</summary>
    /// <exception cref="InvalidOperationException">Read before the server started.</exception>
    public string Value => _value ?? throw new InvalidOperationException("the public origin is known once the server listens");

    /// <summary>Takes the first bound address when no origin is configured.</summary>
    /// <exception cref="InvalidOperationException">The DP listens on a wildcard address outside <c>--dev</c> and no origin is configured.</exception>
    public void Resolve(IReadOnlyList<string> addresses)
    {
        if (_value is not null || addresses.Count == 0)
        {
            return;
        }

        var bound = new Uri(addresses[0].Replace("://+", "://[::]", StringComparison.Ordinal).Replace("://*", "://[::]", StringComparison.Ordinal));
        var wildcard = bound.Host is "0.0.0.0" or "[::]";
        if (wildcard && !options.Dev)
        {
            throw new InvalidOperationException($"the DP listens on the wildcard address '{addresses[0]}'; set Discovery:PublicOrigin to the https:// origin clients reach it at.");
        }

        _value = wildcard ? $"{bound.Scheme}://localhost:{bound.Port}" : bound.GetLeftPart(UriPartial.Authority);
    }
}

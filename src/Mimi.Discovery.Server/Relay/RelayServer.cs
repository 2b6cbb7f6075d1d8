// RFC 9458 §2: the Oblivious Relay Resource, a separate process from the gateway so that neither
// sees both who asks (the relay) and what is asked (the gateway).
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Threading.RateLimiting;
using Mimi.Discovery.Client;
using Mimi.Discovery.Crypto;
using Mimi.Discovery.Server.Hosting;

namespace Mimi.Discovery.Server.Relay;

/// <summary>Builds the Oblivious HTTP relay: HTTPS-only Kestrel, one <c>POST /</c> resource that forwards to one gateway, per-client rate limits.</summary>
public static class RelayServer
{
    /// <summary>Where the relay listens when no URL is configured.</summary>
    public const string DefaultUrl = "https://127.0.0.1:8444";

    /// <summary>The media type of encapsulated requests (RFC 9458 §4.1).</summary>
    public const string RequestMediaType = "message/ohttp-req";

    /// <summary>The media type of encapsulated responses (RFC 9458 §4.2).</summary>
    public const string ResponseMediaType = "message/ohttp-res";

    internal const string GatewayClientName = "ohttp-gateway";

    internal const string RateLimitPolicy = "per-client";

    /// <summary>
    /// Builds the relay from configuration (<c>Relay</c> section, <c>--urls</c>), applies
    /// <paramref name="configure"/> and prepares the data folder with its TLS certificate.
    /// </summary>
    /// <param name="args">Command-line style configuration, e.g. <c>--urls</c>.</param>
    /// <param name="configure">Overrides applied after configuration is read.</param>
    /// <param name="cancellationToken">Cancels start-up.</param>
    /// <exception cref="InvalidOperationException">A listen URL (or a Kestrel endpoint) or the gateway is not https, a setting is out of its range (the message names it), or no gateway is configured.</exception>
    public static Task<WebApplication> BuildAsync(string[] args, Action<RelayOptions>? configure = null, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var builder = WebApplication.CreateBuilder(args);
        var options = new RelayOptions();
        builder.Configuration.GetSection("Relay").Bind(options);
        configure?.Invoke(options);
        var gateway = Validate(options);

        var urls = HttpsOnly.ListenUrls(builder.Configuration, DefaultUrl, "relay");
        builder.WebHost.UseUrls(urls);

        // ASP.NET's request logs are raised to Warning: the relay's own line is the only one per request.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);

        var tls = LoadTlsCertificate(options);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;

            // Only a backstop: Kestrel counts chunked framing against it, so it gets room for that,
            // and the forwarder enforces the exact limit on the body itself.
            kestrel.Limits.MaxRequestBodySize = (2L * options.MaxRequestBytes) + 4096;
            RequestLimits.RaiseKestrelHeaderLimits(kestrel.Limits);
            kestrel.ConfigureHttpsDefaults(https => https.ServerCertificate = tls);
        });

        var gatewayRoots = options.GatewayCaFile is { } caFile ? TlsTrust.LoadRoots(caFile) : null;
        builder.Services.AddHttpClient(GatewayClientName, http =>
            {
                // The forwarder enforces the timeout over headers and body together.
                http.Timeout = System.Threading.Timeout.InfiniteTimeSpan;
                http.DefaultRequestHeaders.UserAgent.ParseAdd("mimi-discovery-relay");
            })
            .ConfigurePrimaryHttpMessageHandler(() =>
            {
                var handler = TlsTrust.CreateHandler(gatewayRoots);
                handler.AllowAutoRedirect = false;
                handler.UseCookies = false;

                // No traceparent/baggage unless the operator runs both sides: a trace id the client sent,
                // or the relay's own, would otherwise reach the gateway and link the two.
                handler.ActivityHeadersPropagator = options.PropagateTraceContext ? System.Diagnostics.DistributedContextPropagator.Current : null;
                return handler;
            })
            .SetHandlerLifetime(System.Threading.Timeout.InfiniteTimeSpan)
            .RemoveAllLoggers();

        builder.Services.AddRateLimiter(limits =>
        {
            limits.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limits.AddPolicy(RateLimitPolicy, context => RateLimitPartition.GetFixedWindowLimiter(
                ClientPartition(context.Connection.RemoteIpAddress),
                _ => new FixedWindowRateLimiterOptions { PermitLimit = options.RequestsPerMinutePerClient, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 }));
            limits.OnRejected = (rejected, _) => new ValueTask(rejected.HttpContext.RequestServices.GetRequiredService<RelayForwarder>().RejectAsync(rejected.HttpContext, rejected.Lease));
        });

        RelayTelemetry.Add(builder.Services, options);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddHostedService(sp => new BoundAddressCheck(sp.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>(), null, "relay"));
        builder.Services.AddSingleton(new RelaySettings(gateway, options.MaxRequestBytes, options.Timeout));
        builder.Services.AddSingleton<RelayForwarder>();
        builder.Services.AddProblemDetails(problems => problems.CustomizeProblemDetails = RelayProblems.AddDefaults);
        builder.Services.AddExceptionHandler<FailureLog>();
        builder.Services.Configure<Microsoft.AspNetCore.Builder.ExceptionHandlerOptions>(FailureLog.Configure);

        var app = builder.Build();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseRequestLimits();
        app.UseRouting();
        app.UseRateLimiter();
        app.MapPost("/", (HttpContext context, RelayForwarder forwarder) => forwarder.RelayAsync(context)).RequireRateLimiting(RateLimitPolicy);
        app.MapGet("/health", () => TypedResults.Text("""{"status":"ok"}""", "application/json"));
        return Task.FromResult(app);
    }

    private static Uri Validate(RelayOptions options)
    {
        if (options.Gateway is not { } gateway)
        {
            throw new InvalidOperationException("No gateway is configured (Relay:Gateway): give the https:// URL of the Oblivious Gateway Resource.");
        }

        if (!gateway.IsAbsoluteUri || gateway.Scheme != Uri.UriSchemeHttps)
        {
            throw new InvalidOperationException($"The gateway '{gateway}' is not an https:// URL; the relay forwards only over HTTPS.");
        }

        var failures = new List<string>();
        var check = new OptionChecks("Relay", failures);
        check.FileExists(nameof(options.GatewayCaFile), options.GatewayCaFile);
        check.Range(nameof(options.MaxRequestBytes), options.MaxRequestBytes, 1024, 16 << 20);
        check.Range(nameof(options.RequestsPerMinutePerClient), options.RequestsPerMinutePerClient, 1, 1_000_000);
        check.NotEmpty(nameof(options.DataDirectory), options.DataDirectory);
        check.FilePair(nameof(options.TlsCertificate), options.TlsCertificate, nameof(options.TlsKey), options.TlsKey);
        check.Range(nameof(options.Timeout), options.Timeout, TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(5));
        if (options.OtlpEndpoint is { } otlp && (!otlp.IsAbsoluteUri || (otlp.Scheme != Uri.UriSchemeHttps && otlp.Scheme != Uri.UriSchemeHttp)))
        {
            check.Fail(nameof(options.OtlpEndpoint), $"'{otlp}' is not an absolute http(s):// URL of an OTLP collector");
        }

        OptionChecks.ThrowIfFailed(failures.Count == 0 ? Microsoft.Extensions.Options.ValidateOptionsResult.Success : Microsoft.Extensions.Options.ValidateOptionsResult.Fail(failures), typeof(RelayOptions));
        return gateway;
    }

    private static System.Security.Cryptography.X509Certificates.X509Certificate2 LoadTlsCertificate(RelayOptions options)
    {
        var folder = Path.GetFullPath(options.DataDirectory);
        PrivateFile.CreateDirectory(folder);

        var certificate = Path.Combine(folder, TlsCertificateFiles.CertificateFileName);
        var key = Path.Combine(folder, TlsCertificateFiles.KeyFileName);
        PrivateFile.Restrict(key);
        if (options.TlsCertificate is null)
        {
            TlsCertificateFiles.EnsureLocalhost(certificate, key, TimeProvider.System);
        }

        return TlsCertificateFiles.Load(options.TlsCertificate, options.TlsKey, certificate, key);
    }

    /// <summary>
    /// The rate-limit partition of a client: its IPv4 address, or its IPv6 /64, since one host
    /// usually holds a whole /64 and could otherwise change address at every request.
    /// </summary>
    internal static IPAddress ClientPartition(IPAddress? address)
    {
        if (address is null)
        {
            return IPAddress.None;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            return address.MapToIPv4();
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address;
        }

        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes);
    }

    internal static string RetryAfterSeconds(TimeSpan retryAfter) =>
        Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
}

/// <summary>What the forwarder needs from <see cref="RelayOptions"/>, validated.</summary>
internal sealed record RelaySettings(Uri Gateway, int MaxRequestBytes, TimeSpan Timeout);

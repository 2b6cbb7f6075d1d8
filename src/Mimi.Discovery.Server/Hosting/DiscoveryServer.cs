using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Options;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Server.Apis;
using Mimi.Discovery.Server.Mappings;
using Mimi.Discovery.Server.Observability;
using Mimi.Discovery.Server.Privacy;
using Mimi.Discovery.Server.Proofs;
using Mimi.Discovery.Server.Storage;
using Mimi.Discovery.Server.Tokens;
using Mimi.Discovery.Server.Transparency;
using Mimi.Discovery.Verification;

namespace Mimi.Discovery.Server.Hosting;

/// <summary>Builds the Discovery Provider: HTTPS-only Kestrel, storage, proof of control, mappings, lookup.</summary>
public static class DiscoveryServer
{
    /// <summary>Where the DP listens when no URL is configured.</summary>
    public const string DefaultUrl = "https://127.0.0.1:8443";

    /// <summary>
    /// Builds the DP from configuration (<c>Discovery</c> section, <c>--urls</c>), applies
    /// <paramref name="configure"/>, prepares the data folder and migrates the database.
    /// </summary>
    /// <param name="args">Command-line style configuration, e.g. <c>--urls</c>.</param>
    /// <param name="configure">Overrides applied after configuration is read.</param>
    /// <param name="time">The clock for codes, credentials and expiry; the system clock when omitted.</param>
    /// <param name="cancellationToken">Cancels start-up (migration).</param>
    /// <exception cref="InvalidOperationException">A URL (or a <c>Kestrel:Endpoints</c> entry) is not https, or a setting is out of its range (the message names each, see docs/operations.md).</exception>
    public static Task<WebApplication> BuildAsync(string[] args, Action<DiscoveryOptions>? configure = null, TimeProvider? time = null, CancellationToken cancellationToken = default) =>
        BuildAsync(args, configure, time, null, cancellationToken);

    /// <summary>As the public form, with <paramref name="customize"/> applied to the builder last (tests add their span exporter).</summary>
    internal static async Task<WebApplication> BuildAsync(string[] args, Action<DiscoveryOptions>? configure, TimeProvider? time, Action<WebApplicationBuilder>? customize, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateBuilder(args);
        var options = new DiscoveryOptions();
        builder.Configuration.GetSection("Discovery").Bind(options);
        configure?.Invoke(options);
        DiscoveryOptionsValidator.ThrowIfInvalid(options);

        var urls = HttpsOnly.ListenUrls(builder.Configuration, DefaultUrl, "Discovery Provider");
        builder.WebHost.UseUrls(builder.AddDiscoveryTelemetry(options, urls));
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);

        options.TokenIssuerName ??= options.PublicOrigin?.Host ?? IssuerNameFrom(urls[0]);
        time ??= TimeProvider.System;
        var folder = DataFolder.Open(options.DataDirectory, options.Name, time);
        var tls = folder.LoadTlsCertificate(options.TlsCertificate, options.TlsKey);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = options.MaxRequestBytes;
            RequestLimits.RaiseKestrelHeaderLimits(kestrel.Limits);
            kestrel.ConfigureHttpsDefaults(https => https.ServerCertificate = tls);
        });

        var store = StoreFactory.Create(options.Database, folder.Path);
        await store.MigrateAsync(cancellationToken).ConfigureAwait(false);
        var reads = await StoreFactory.LookupStoreAsync(store, options.ReadReplica, cancellationToken).ConfigureAwait(false);
        var readsReplica = !ReferenceEquals(reads, store);

        var anchors = new List<X509Certificate2> { folder.Authority.Certificate };
        foreach (var file in options.AcceptedCaFiles)
        {
            anchors.AddRange(TrustAnchors.FromPem(File.ReadAllText(file)).Certificates);
        }

        builder.Services.AddSingleton(time);
        builder.Services.AddSingleton(Options.Create(options));
        builder.Services.AddSingleton(new PublicOrigin(options));
        builder.Services.AddHostedService(sp => new BoundAddressCheck(sp.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>(), sp.GetRequiredService<PublicOrigin>(), "Discovery Provider"));
        builder.Services.AddSingleton(folder);
        builder.Services.AddSingleton(new ServingCertificate(tls));
        builder.Services.AddSingleton(store);
        builder.Services.AddSingleton(reads);
        builder.Services.AddSingleton((IInvitationStore)store);
        builder.Services.AddSingleton((IRevocationStore)store);
        builder.Services.AddSingleton((ICsipStore)store);
        builder.Services.AddSingleton(sp => new StatementVerifier(new TrustAnchors(anchors), sp.GetRequiredService<TimeProvider>()));
        builder.Services.AddSingleton<ChannelRouter>();
        builder.Services.AddSingleton<ProofService>();
        builder.Services.AddSingleton<AnswerCache>();
        builder.Services.AddSingleton<MappingService>();
        builder.Services.AddSingleton<ReassignmentService>();
        builder.Services.AddReadiness(readsReplica);
        builder.Services.AddSingleton<Federation.DelegationTable>();
        builder.Services.AddSingleton<Federation.PeerSet>();
        builder.Services.AddSingleton<Federation.MirrorPuller>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<Federation.MirrorPuller>());
        builder.Services.AddSingleton<DnsZoneSync>();
        builder.Services.AddHostedService<ProofJanitor>();
        builder.Services.AddSingleton<TransparencyLog>();
        builder.Services.AddSingleton<IssuerKeyRing>();
        builder.Services.AddSingleton<TokenService>();
        builder.Services.AddHostedService<TokenJanitor>();
        if (options.TokensRequired)
        {
            builder.Services.AddSingleton<SpentTokenLedger>();
            builder.Services.AddSingleton<ILookupGate, PrivacyPassGate>();
        }
        else
        {
            builder.Services.AddSingleton<ILookupGate, OpenLookupGate>();
        }

        CountingLookupGate.Decorate(builder.Services);
        builder.Services.AddSingleton<OhttpKeyRing>();
        builder.Services.AddSingleton<LookupPipeline>();
        builder.Services.AddSingleton<ObliviousGateway>();
        builder.Services.AddSingleton<MetadataBuilder>();
        builder.Services.AddSingleton<Invitations.InvitationDelivery>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<Invitations.InvitationDelivery>());
        builder.Services.AddHostedService<Invitations.InvitationJanitor>();
        builder.Services.AddSingleton<Invitations.InvitationService>();
        builder.Services.AddSingleton<Revocations.RevocationService>();
        builder.Services.AddHostedService<Revocations.RevocationJanitor>();
        builder.Services.AddHostedService<EpochSealer>();
        builder.Services.AddHttpClient();
        SmsGatewayChannel.AddTo(builder.Services);
        builder.Services.AddOpenApi();
        builder.Services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.TypeInfoResolverChain.Insert(0, ProtocolJson.Default);
            json.SerializerOptions.TypeInfoResolverChain.Insert(1, InvitationJson.Default);
            json.SerializerOptions.TypeInfoResolverChain.Insert(2, RevocationJson.Default);
            json.SerializerOptions.DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull;
        });
        builder.Services.AddProblemDetails(problems => problems.CustomizeProblemDetails = context =>
        {
            // Every problem+json the host writes passes here: ours, the framework's, the exception handlers'.
            ProblemCodes.AddDefaults(context);
            context.HttpContext.RequestServices.GetRequiredService<DiscoveryMetrics>().Problem((string)context.ProblemDetails.Extensions["code"]!, context.ProblemDetails.Status ?? context.HttpContext.Response.StatusCode);
        });
        builder.Services.AddExceptionHandler<StoreOutage>();
        builder.Services.AddExceptionHandler<FailureLog>();
        builder.Services.Configure<ExceptionHandlerOptions>(FailureLog.Configure);

        var traceConfigurations = Telemetry.TraceConfigurations(builder.Services);
        customize?.Invoke(builder);
        builder.AddDiscoveryTracing(options, hostAsked: Telemetry.TraceConfigurations(builder.Services) > traceConfigurations);
        var app = builder.Build();
        app.Lifetime.ApplicationStopped.Register(() =>
        {
            (store as IDisposable)?.Dispose();
            if (readsReplica)
            {
                (reads as IDisposable)?.Dispose();
            }
        });
        app.UseDiscoveryTelemetry();
        app.UseAccessLog();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseRequestLimits();
        app.MapOpenApi();
        app.MapDiscoveryApi();
        app.MapReadiness();
        app.MapTokenApi();
        Web.WebPage.MapWebPage(app);
        return app;
    }

    // The TokenChallenge's issuer and origin name when none is configured: the listening host.
    private static string IssuerNameFrom(string url)
    {
        var host = new Uri(url.Replace("://+", "://localhost", StringComparison.Ordinal).Replace("://*", "://localhost", StringComparison.Ordinal)).Host;
        return host is "0.0.0.0" or "[::]" ? "localhost" : host;
    }
}

/// <summary>Gives problems the framework raises (bad JSON, size limits, unknown routes) the same stable codes as ours.</summary>
internal static class ProblemCodes
{
    public static void AddDefaults(ProblemDetailsContext context)
    {
        var details = context.ProblemDetails;
        if (details.Extensions.ContainsKey("code"))
        {
            return;
        }

        var (code, detail) = details.Status switch
        {
            StatusCodes.Status400BadRequest => ("invalid-request", "the request body is not JSON of the shape this endpoint takes; see /openapi/v1.json"),
            StatusCodes.Status404NotFound => ("not-found", "no endpoint at this path; see /openapi/v1.json"),
            StatusCodes.Status405MethodNotAllowed => ("method-not-allowed", "this endpoint does not take that method"),
            StatusCodes.Status408RequestTimeout => ("request-timeout", "the request's headers or body arrived too slowly"),
            StatusCodes.Status411LengthRequired => ("length-required", "send the body with a Content-Length or chunked"),
            StatusCodes.Status413PayloadTooLarge => ("payload-too-large", "the request body exceeds this DP's limit (see limits.maxRequestBytes in /.well-known/mimi-discovery)"),
            StatusCodes.Status414UriTooLong => ("uri-too-long", "the request target is too long"),
            StatusCodes.Status415UnsupportedMediaType => ("unsupported-media-type", "send the body as application/json"),
            StatusCodes.Status431RequestHeaderFieldsTooLarge => ("headers-too-large", RequestLimits.HeadersTooLargeDetail),
            >= 400 and < 500 => ("invalid-request", "the DP cannot take this request; see /openapi/v1.json"),
            _ => ("server-error", "the DP failed to handle the request; try again later"),
        };
        details.Type = Problem.TypePrefix + code;
        details.Detail ??= detail;
        details.Extensions["code"] = code;
    }
}

/// <summary>Deletes proofs once they no longer count towards any send limit.</summary>
internal sealed class ProofJanitor(IDiscoveryStore store, IOptions<DiscoveryOptions> options, TimeProvider time) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMinutes(10), time);
        do
        {
            var keep = options.Value.SendWindow > options.Value.CodeLifetime ? options.Value.SendWindow : options.Value.CodeLifetime;
            await store.PurgeProofsAsync((time.GetUtcNow() - keep).ToUnixTimeSeconds(), stoppingToken).ConfigureAwait(false);
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }
}

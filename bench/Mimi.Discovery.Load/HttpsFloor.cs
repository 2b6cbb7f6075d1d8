using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Mimi.Discovery.Server.Hosting;

/// <summary>
/// The HTTPS floor: the DP's Kestrel and TLS set-up (its certificate from the data folder, its
/// header limits) answering every <c>POST /v1/lookup</c> with one precomputed body, after reading
/// the request as the DP does. What a lookup costs above this is the DP's own work.
///   floor --data DIR --urls URL --body FILE
/// </summary>
internal static class HttpsFloor
{
    public static async Task<int> RunAsync(Options o)
    {
        var body = await File.ReadAllBytesAsync(o.Get("body"));
        var defaults = new DiscoveryOptions();
        var tls = DataFolder.Open(o.Get("data"), defaults.Name, TimeProvider.System).LoadTlsCertificate(null, null);
        var builder = WebApplication.CreateBuilder([]);
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(o.Get("urls"));
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = defaults.MaxRequestBytes;
            RequestLimits.RaiseKestrelHeaderLimits(kestrel.Limits);
            kestrel.ConfigureHttpsDefaults(https => https.ServerCertificate = tls);
        });
        var app = builder.Build();
        app.MapGet("/health", () => "ok");
        app.MapPost("/v1/lookup", async (HttpContext context) =>
        {
            using var request = await System.Text.Json.JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
            context.Response.ContentType = "application/json";
            context.Response.ContentLength = body.Length;
            await context.Response.Body.WriteAsync(body, context.RequestAborted);
        });
        await app.RunAsync();
        return 0;
    }
}

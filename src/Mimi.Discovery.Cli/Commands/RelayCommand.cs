using System.CommandLine;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;
using Mimi.Discovery.Server.Relay;

namespace Mimi.Discovery.Cli.Commands;

/// <summary><c>mimi-discovery relay</c>: runs an Oblivious HTTP relay in front of one gateway.</summary>
internal static class RelayCommand
{
    public static Command Create()
    {
        var gateway = new Option<string?>("--gateway") { Description = "The gateway's https:// URL, e.g. https://dp.example/.well-known/ohttp-gateway (required)." };
        var urls = new Option<string>("--urls") { Description = "https:// URLs to listen on, separated by ';'.", DefaultValueFactory = _ => RelayServer.DefaultUrl };
        var gatewayCa = new Option<FileInfo?>("--gateway-ca") { Description = "PEM certificate to trust for the gateway's TLS (e.g. mimi-data/tls.crt of a development DP)." };
        var data = new Option<string>("--data") { Description = "Data folder (the relay's TLS certificate).", DefaultValueFactory = _ => "mimi-relay-data" };
        var maxRequestBytes = new Option<int?>("--max-request-bytes") { Description = "Largest encapsulated request in bytes (default 132096: a 1,000-CSI lookup with its tokens)." };
        var rate = new Option<int?>("--rate") { Description = "Requests per minute from one client address (default 120)." };
        var command = new Command("relay", "Run an Oblivious HTTP relay: clients' lookups reach the gateway without their addresses.")
        {
            gateway, urls, gatewayCa, data, maxRequestBytes, rate,
        };
        command.SetAction((result, cancellationToken) => Cli.RunAsync(async () =>
        {
            var target = ParseGateway(result.GetValue(gateway));
            var ca = result.GetValue(gatewayCa);
            if (ca is { Exists: false })
            {
                throw new UsageException($"--gateway-ca {ca.FullName} does not exist");
            }

            var max = result.GetValue(maxRequestBytes);
            var perMinute = result.GetValue(rate);
            if (max <= 0 || perMinute <= 0)
            {
                throw new UsageException("--max-request-bytes and --rate must be positive");
            }

            WebApplication app;
            try
            {
                app = await RelayServer.BuildAsync(["--urls", result.GetValue(urls)!], o =>
                {
                    o.Gateway = target;
                    o.GatewayCaFile = ca?.FullName ?? o.GatewayCaFile;
                    o.DataDirectory = result.GetValue(data)!;
                    o.MaxRequestBytes = max ?? o.MaxRequestBytes;
                    o.RequestsPerMinutePerClient = perMinute ?? o.RequestsPerMinutePerClient;
                }, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is InvalidOperationException or ArgumentException)
            {
                return Cli.Fail("cannot start: " + e.Message);
            }

            try
            {
                await app.StartAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (InvalidOperationException e)
            {
                // A bound address that is not HTTPS, or a wildcard address with no public origin.
                await app.DisposeAsync().ConfigureAwait(false);
                return Cli.Fail("cannot start: " + e.Message);
            }

            var folder = Path.GetFullPath(result.GetValue(data)!);
            Console.Error.WriteLine($"Oblivious relay on {string.Join(' ', app.Urls)} forwarding to {target}; data in {folder}; lookups trust its TLS with --relay-ca {Path.Combine(folder, "tls.crt")}");
            await app.WaitForShutdownAsync(cancellationToken).ConfigureAwait(false);
            return 0;
        }));
        return command;
    }

    private static Uri ParseGateway(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new UsageException("relay needs --gateway URL: the https:// URL of the DP's Oblivious HTTP gateway");
        }

        return Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme == Uri.UriSchemeHttps
            ? uri
            : throw new UsageException($"--gateway '{text}' is not an https:// URL");
    }
}

using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using Mimi.Discovery.Client;

namespace Mimi.Discovery.Cli.Tests;

public sealed partial class RelayCommandTests
{
    [Fact]
    public async Task Relay_NoGateway_ExitsTwoWithOneLine()
    {
        var result = await CliProcess.RunAsync("relay", "--urls", "https://127.0.0.1:0");

        Assert.Equal(2, result.Exit);
        var line = Assert.Single(result.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("mimi-discovery: ", line, StringComparison.Ordinal);
        Assert.Contains("--gateway", line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://127.0.0.1:8443/.well-known/ohttp-gateway")]
    [InlineData("dp.example/.well-known/ohttp-gateway")]
    public async Task Relay_GatewayNotHttps_ExitsTwoWithOneLine(string gateway)
    {
        var result = await CliProcess.RunAsync("relay", "--gateway", gateway, "--urls", "https://127.0.0.1:0");

        Assert.Equal(2, result.Exit);
        var line = Assert.Single(result.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal($"mimi-discovery: --gateway '{gateway}' is not an https:// URL", line);
    }

    [Fact]
    public async Task Relay_Started_PrintsUrlAndCertificateAndAnswersHealth()
    {
        var data = Directory.CreateTempSubdirectory("mimi-relay-cli-").FullName;
        using var process = Process.Start(new ProcessStartInfo("dotnet", [CliProcess.Dll, "relay", "--gateway", "https://127.0.0.1:1/.well-known/ohttp-gateway", "--urls", "https://127.0.0.1:0", "--data", data])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(30));
            string? line;
            while ((line = await process.StandardError.ReadLineAsync(timeout.Token)) is not null && !line.StartsWith("Oblivious relay on ", StringComparison.Ordinal))
            {
            }

            Assert.NotNull(line);
            var match = Announcement().Match(line);
            Assert.True(match.Success, line);
            Assert.Equal(Path.Combine(data, "tls.crt"), match.Groups["cert"].Value);
            using var http = new HttpClient(TlsTrust.CreateHandler(TlsTrust.LoadRoots(match.Groups["cert"].Value)));
            using var health = await http.GetAsync(new Uri(new Uri(match.Groups["url"].Value), "/health"), timeout.Token);
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(TestContext.Current.CancellationToken);
            Directory.Delete(data, recursive: true);
        }
    }

    [GeneratedRegex(@"^Oblivious relay on (?<url>https://127\.0\.0\.1:\d+) forwarding to https://127\.0\.0\.1:1/\.well-known/ohttp-gateway; data in .+; lookups trust its TLS with --relay-ca (?<cert>.+)$")]
    private static partial Regex Announcement();
}

using System.Net;
using System.Net.Sockets;

namespace Mimi.Discovery.Cli.Tests;

/// <summary>SIGTERM (as Ctrl+C's SIGINT) stops a command mid-request: it says so and exits 130, instead of waiting out its timeouts.</summary>
public sealed class CancellationTests : IDisposable
{
    private readonly CliHarness _cli = new("mimi-cli-cancel-");

    public void Dispose() => _cli.Dispose();

    [Fact]
    public async Task Lookup_TerminatedWhileWaitingForTheDp_ExitsCancelled()
    {
        // A "DP" that accepts the connection and never answers the TLS handshake.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;
        using var process = _cli.Start("home", ["lookup", "+33612345678", "--dp", $"https://127.0.0.1:{port}"]);
        var error = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        using var connection = await silent.AcceptTcpClientAsync(TestContext.Current.CancellationToken); // the command is now mid-request

        using (var kill = System.Diagnostics.Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync(TestContext.Current.CancellationToken);
        }

        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        Assert.Equal(130, process.ExitCode);
        Assert.Equal("mimi-discovery: cancelled", (await error).Trim());
    }
}

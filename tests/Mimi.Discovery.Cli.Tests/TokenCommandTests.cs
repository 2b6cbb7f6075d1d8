using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Mimi.Discovery.Cli.Tests;

/// <summary>
/// <c>accounts add/list/remove</c> on a data folder, then a DP that requires tokens: <c>lookup</c>
/// is refused without <c>--token-account</c> and admitted with it, and <c>tokens</c> shows the use.
/// </summary>
public sealed class TokenCommandTests : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("mimi-tokens-").FullName;

    private string Data => Path.Combine(_work, "mimi-data");

    public void Dispose() => Directory.Delete(_work, recursive: true);

    [Fact]
    public async Task Accounts_AddListRemove_AndTheKeyPaysForLookups()
    {
        var (exit, key, error) = await RunAsync("accounts", "add", "--name", "wire-prod", "--service", "wire", "--quota", "3", "--window", "1h", "--data", Data);
        Assert.True(exit == 0, error);
        key = key.Trim();
        Assert.StartsWith("mdk_", key, StringComparison.Ordinal);
        Assert.Contains("shown only now", error, StringComparison.Ordinal);

        Assert.Equal(1, (await RunAsync("accounts", "add", "--name", "wire-prod", "--quota", "1", "--data", Data)).Exit);
        var list = await RunAsync("accounts", "list", "--data", Data);
        Assert.Contains("wire-prod", list.Out, StringComparison.Ordinal);
        Assert.Contains("1h", list.Out, StringComparison.Ordinal);
        Assert.DoesNotContain(key, list.Out, StringComparison.Ordinal);

        using var server = await ServeAsync();
        var dp = server.Url;
        var ca = Path.Combine(Data, "tls.crt");

        var refused = await RunAsync("lookup", "+33612345678", "--dp", dp, "--ca", ca);
        Assert.Equal(1, refused.Exit);
        Assert.Contains("token-required", refused.Err, StringComparison.Ordinal);

        var admitted = await RunAsync("lookup", "+33612345678", "bob@example.com", "--dp", dp, "--ca", ca, "--json", "--token-account", key);
        Assert.True(admitted.Exit == 0, admitted.Err);

        var balance = await RunAsync("tokens", "--dp", dp, "--ca", ca, "--token-account", key);
        Assert.True(balance.Exit == 0, balance.Err);
        Assert.Contains("wire", balance.Out, StringComparison.Ordinal);
        Assert.Contains("2 of 3 tokens", balance.Out, StringComparison.Ordinal);
        Assert.Contains("key epoch:", balance.Out, StringComparison.Ordinal);

        Assert.Equal(0, (await RunAsync("accounts", "remove", "wire-prod", "--data", Data)).Exit);
        var gone = await RunAsync("tokens", "--dp", dp, "--ca", ca, "--token-account", key);
        Assert.Equal(1, gone.Exit);
        Assert.Contains("account-unknown", gone.Err, StringComparison.Ordinal);
        Assert.Equal(1, (await RunAsync("accounts", "remove", "wire-prod", "--data", Data)).Exit);
        Assert.Contains("No token accounts", (await RunAsync("accounts", "list", "--data", Data)).Out, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("accounts|add|--name|x|--quota|0", "--quota")]
    [InlineData("accounts|add|--name|x|--quota|5|--window|5 minutes", "--window")]
    [InlineData("accounts|add|--name|x|--quota|5|--window|10s", "--window")]
    [InlineData("accounts|add|--name|x|--quota|5|--service|Not Valid", "--service")]
    [InlineData("tokens|--dp|http://localhost:1|--token-account|mdk_x", "not an https:// URL")]
    public async Task BadInput_ExitsTwoWithAReason_AndCreatesNothing(string args, string reason)
    {
        var (exit, _, error) = await RunAsync([.. args.Split('|'), .. args.StartsWith("accounts", StringComparison.Ordinal) ? new[] { "--data", Data } : []]);

        Assert.Equal(2, exit);
        Assert.Contains(reason, error, StringComparison.Ordinal);
        if (args.StartsWith("accounts", StringComparison.Ordinal))
        {
            Assert.Contains("No token accounts", (await RunAsync("accounts", "list", "--data", Data)).Out, StringComparison.Ordinal);
        }
    }

    private async Task<Server> ServeAsync()
    {
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        var info = Info("serve", "--dev", "--data", Data, "--urls", $"https://127.0.0.1:{port}");
        info.Environment["Discovery__RequireTokens"] = "true";
        var server = new Server(Process.Start(info)!, $"https://localhost:{port}");
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if ((await RunAsync("lookup", "nonsense", "--dp", server.Url, "--ca", Path.Combine(Data, "tls.crt"))).Exit == 0)
            {
                return server;
            }

            Assert.False(server.Process.HasExited, "serve exited");
            await Task.Delay(200);
        }

        server.Dispose();
        throw new TimeoutException("the DP did not come up");
    }

    private ProcessStartInfo Info(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet", [CliProcess.Dll, .. args])
        {
            WorkingDirectory = _work,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.Environment["MIMI_DISCOVERY_HOME"] = Path.Combine(_work, "home");
        return info;
    }

    private async Task<(int Exit, string Out, string Err)> RunAsync(params string[] args)
    {
        using var process = Process.Start(Info(args))!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        return (process.ExitCode, await output, await error);
    }

    private sealed record Server(Process Process, string Url) : IDisposable
    {
        public void Dispose()
        {
            if (!Process.HasExited)
            {
                Process.Kill(entireProcessTree: true);
                Process.WaitForExit();
            }

            Process.Dispose();
        }
    }
}

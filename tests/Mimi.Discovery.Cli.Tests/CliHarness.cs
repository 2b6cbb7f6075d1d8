using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace Mimi.Discovery.Cli.Tests;

/// <summary>
/// A working folder in which the real <c>mimi-discovery</c> runs as separate processes: a
/// <c>serve --dev</c> DP on a free port (data in <c>./mimi-data</c>, as the README's first command),
/// and commands run as a person with a key folder of their own (<c>MIMI_DISCOVERY_HOME</c>).
/// </summary>
/// <param name="prefix">The working folder's name prefix.</param>
/// <param name="command">The installed command to run (see <see cref="InstalledTool"/>); the build output's <c>mimi-discovery.dll</c> when omitted.</param>
internal sealed class CliHarness(string prefix, string? command = null) : IDisposable
{
    private Process? _server;

    /// <summary>The working folder of every process.</summary>
    public string Work { get; } = Directory.CreateTempSubdirectory(prefix).FullName;

    /// <summary>The DP's data folder.</summary>
    public string Data => Path.Combine(Work, "mimi-data");

    /// <summary>The DP's generated TLS certificate.</summary>
    public string Ca => Path.Combine(Data, "tls.crt");

    /// <summary>Where the development DP writes the codes it would send.</summary>
    public string Outbox => Path.Combine(Data, "outbox");

    /// <summary>The DP's URL, once <see cref="ServeAsync"/> returned.</summary>
    public string Dp { get; private set; } = "";

    /// <summary>Starts <c>serve --dev</c> with <paramref name="environment"/> added (e.g. <c>Discovery__RequireTokens</c>) and waits until its /health answers.</summary>
    public Task ServeAsync(IReadOnlyDictionary<string, string>? environment = null) => ServeOnFreePortAsync(environment, 1);

    private async Task ServeOnFreePortAsync(IReadOnlyDictionary<string, string>? environment, int attempt)
    {
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        Dp = $"https://localhost:{port}";
        _server = Start("unused-home", ["serve", "--dev", "--urls", $"https://127.0.0.1:{port}"], environment);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (File.Exists(Ca))
            {
                try
                {
                    using var http = new HttpClient(Client.TlsTrust.CreateHandler(Client.TlsTrust.LoadRoots(Ca)));
                    if ((await http.GetAsync(Dp + "/health", TestContext.Current.CancellationToken)).IsSuccessStatusCode)
                    {
                        return;
                    }
                }
                catch (ArgumentException)
                {
                    // The certificate file is created before its PEM is written: not written yet.
                }
                catch (HttpRequestException)
                {
                    // Not listening yet.
                }
            }

            if (_server.HasExited)
            {
                var error = await _server.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
                // The free port found above was taken by another process before serve bound it: try another.
                if (error.Contains("address already in use", StringComparison.Ordinal) && attempt < 3)
                {
                    await ServeOnFreePortAsync(environment, attempt + 1);
                    return;
                }

                throw new InvalidOperationException("serve exited: " + error);
            }

            await Task.Delay(200, TestContext.Current.CancellationToken);
        }

        throw new TimeoutException("the DP did not come up");
    }

    /// <summary>Starts the command as <paramref name="home"/> (a key folder under the working folder), its output redirected.</summary>
    public Process Start(string home, string[] args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(command ?? "dotnet", command is null ? [CliProcess.Dll, .. args] : args)
        {
            WorkingDirectory = Work,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.Environment["MIMI_DISCOVERY_HOME"] = Path.Combine(Work, home);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        return Process.Start(info)!;
    }

    /// <summary>Runs the command as <paramref name="home"/>; with <paramref name="answerFromOutbox"/>, types the newest outbox code once it arrives.</summary>
    public async Task<(int Exit, string Out, string Err)> RunAsync(string home, bool answerFromOutbox, params string[] args)
    {
        var before = Directory.Exists(Outbox) ? Directory.GetFiles(Outbox, "*.json").Length : 0;
        using var process = Start(home, args);
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (answerFromOutbox)
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            string[] files;
            while ((files = Directory.Exists(Outbox) ? Directory.GetFiles(Outbox, "*.json") : []).Length <= before)
            {
                Assert.True(DateTime.UtcNow < deadline, "no code arrived in the outbox");
                if (process.HasExited)
                {
                    Assert.Fail("the command exited before reading a code: " + await error);
                }

                await Task.Delay(100);
            }

            var code = JsonDocument.Parse(await File.ReadAllTextAsync(files.Order(StringComparer.Ordinal).Last())).RootElement.GetProperty("code").GetString();
            await process.StandardInput.WriteLineAsync(code);
        }

        process.StandardInput.Close();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"'{string.Join(' ', args)}' did not finish: {await error}");
        }

        return (process.ExitCode, await output, await error);
    }

    /// <summary>Runs the command as the person <c>home</c>, with nothing typed.</summary>
    public Task<(int Exit, string Out, string Err)> RunAsync(params string[] args) => RunAsync("home", false, args);

    public void Dispose()
    {
        if (_server is not null)
        {
            if (!_server.HasExited)
            {
                _server.Kill(entireProcessTree: true);
                _server.WaitForExit();
            }

            _server.Dispose();
        }

        Directory.Delete(Work, recursive: true);
    }
}

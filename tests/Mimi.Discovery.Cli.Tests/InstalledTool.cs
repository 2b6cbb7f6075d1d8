using System.Diagnostics;

namespace Mimi.Discovery.Cli.Tests;

/// <summary>
/// The <c>mimi-discovery</c> command as the README installs it: this checkout packed as a .NET tool
/// (<c>dotnet pack src/Mimi.Discovery.Cli -c Release</c>) and installed with <c>dotnet tool install</c>
/// from that package — into a private tool path, with a private package cache and only the local
/// package source, so no earlier install or cached package of the same version can stand in for it.
/// </summary>
public sealed class InstalledTool : IAsyncLifetime
{
    private readonly string _root = Directory.CreateTempSubdirectory("mimi-tool-").FullName;

    /// <summary>The installed command's path.</summary>
    public string Command { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        var packages = Path.Combine(_root, "packages");
        await RunAsync(privateCache: false, "pack", Path.Combine(RepositoryRoot(), "src", "Mimi.Discovery.Cli"), "-c", "Release", "-o", packages, "-nodeReuse:false");
        var config = Path.Combine(_root, "nuget.config");
        await File.WriteAllTextAsync(config, $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="checkout" value="{packages}" />
              </packageSources>
            </configuration>
            """);
        var tools = Path.Combine(_root, "tools");
        await RunAsync(privateCache: true, "tool", "install", "mimi-discovery", "--tool-path", tools, "--configfile", config);
        Command = Path.Combine(tools, "mimi-discovery");
    }

    public ValueTask DisposeAsync()
    {
        Directory.Delete(_root, recursive: true);
        return ValueTask.CompletedTask;
    }

    // The install gets a package cache of its own (a cached mimi-discovery of the same version would
    // otherwise be installed instead); the pack restores from the user's cache as any build does.
    private async Task RunAsync(bool privateCache, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet", args) { RedirectStandardOutput = true, RedirectStandardError = true };
        if (privateCache)
        {
            info.Environment["NUGET_PACKAGES"] = Path.Combine(_root, "nuget-cache");
        }

        info.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"dotnet {string.Join(' ', args)} exited {process.ExitCode}: {await output}{await error}");
        }
    }

    private static string RepositoryRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "Mimi.Discovery.slnx")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException("the tests do not run inside a checkout (no Mimi.Discovery.slnx above " + AppContext.BaseDirectory + ")");
    }
}

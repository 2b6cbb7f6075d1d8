using Mimi.Discovery.Server.Relay;

namespace Mimi.Discovery.Server.Tests.Hardening;

/// <summary>
/// The data folder is 0700 and every secret in it 0600 — keys, the code secret, the SQLite database
/// with its -wal/-shm files, the development outbox's codes — even when they existed with wider modes.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class DataFolderPermissionTests
{
    private const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode PrivateFolder = Private | UnixFileMode.UserExecute;
    private const UnixFileMode Open = Private | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
    private const UnixFileMode OpenFolder = PrivateFolder | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    [Fact]
    public async Task StartAndRegister_PreExistingWideModes_AreTightened()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix modes only");
        var data = Directory.CreateTempSubdirectory("mimi-dp-modes-").FullName;
        File.SetUnixFileMode(data, OpenFolder);
        var outbox = Directory.CreateDirectory(Path.Combine(data, "outbox")).FullName;
        File.SetUnixFileMode(outbox, OpenFolder);
        foreach (var file in new[] { Path.Combine(data, "mimi.db"), Path.Combine(outbox, "20260101T000000000-000001.json"), Path.Combine(data, "notes.txt") })
        {
            File.WriteAllText(file, file.EndsWith(".json", StringComparison.Ordinal) ? """{"to":"tel:+33600000000","channel":"sms","text":"","code":"000000"}""" : string.Empty);
            File.SetUnixFileMode(file, Open);
        }

        // DpHost deletes the folder when it stops.
        await using (var dp = await DpHost.StartAsync(o => o.DataDirectory = data))
        {
            await dp.RegisterAsync("+33612345678");
            var recipient = await dp.RegisterAsync("bob@example.com");
            await dp.Client.PublishAsync(recipient.Sign(1), TestContext.Current.CancellationToken);

            // SQLite deletes -wal and -shm when the last connection closes, and the DP's pool may have
            // closed its idle ones; a connection held here keeps them (created with the database's mode).
            await using var held = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(data, "mimi.db")};Mode=ReadWrite;Pooling=False");
            await held.OpenAsync(TestContext.Current.CancellationToken);
            await using (var read = held.CreateCommand())
            {
                read.CommandText = "SELECT count(*) FROM sqlite_master";
                await read.ExecuteScalarAsync(TestContext.Current.CancellationToken);
            }

            Assert.Equal(PrivateFolder, File.GetUnixFileMode(data));
            Assert.Contains(Directory.GetFiles(data), f => f.EndsWith("mimi.db-wal", StringComparison.Ordinal));
            Assert.Equal(3, Directory.GetFiles(outbox, "*.json").Length);
            foreach (var folder in Directory.GetDirectories(data, "*", SearchOption.AllDirectories))
            {
                Assert.True(File.GetUnixFileMode(folder) == PrivateFolder, $"{folder} is {File.GetUnixFileMode(folder)}");
            }

            // A file the DP did not write is not the DP's to change.
            Assert.Equal(Open, File.GetUnixFileMode(Path.Combine(data, "notes.txt")));
            foreach (var file in Directory.GetFiles(data, "*", SearchOption.AllDirectories).Where(f => !f.EndsWith(".crt", StringComparison.Ordinal) && !f.EndsWith("notes.txt", StringComparison.Ordinal)))
            {
                Assert.True(File.GetUnixFileMode(file) == Private, $"{Path.GetRelativePath(data, file)} is {File.GetUnixFileMode(file)}");
            }

            foreach (var name in new[] { "mimi.db", "mimi.db-wal", "mimi.db-shm", "ca.key", "tls.key", "code.secret", "vrf.key", "log.key" })
            {
                Assert.True(File.Exists(Path.Combine(data, name)), name + " exists");
            }
        }
    }

    [Fact]
    public async Task RelayStart_PreExistingWideModes_AreTightened()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix modes only");
        var data = Directory.CreateTempSubdirectory("mimi-relay-modes-").FullName;
        File.SetUnixFileMode(data, OpenFolder);
        var first = await RelayServer.BuildAsync(["--urls", "https://127.0.0.1:0"], o =>
        {
            o.Gateway = new Uri("https://127.0.0.1:1/.well-known/ohttp-gateway");
            o.DataDirectory = data;
        }, TestContext.Current.CancellationToken);
        await first.DisposeAsync();
        File.SetUnixFileMode(data, OpenFolder);
        File.SetUnixFileMode(Path.Combine(data, "tls.key"), Open);

        var second = await RelayServer.BuildAsync(["--urls", "https://127.0.0.1:0"], o =>
        {
            o.Gateway = new Uri("https://127.0.0.1:1/.well-known/ohttp-gateway");
            o.DataDirectory = data;
        }, TestContext.Current.CancellationToken);
        await second.DisposeAsync();

        Assert.Equal(PrivateFolder, File.GetUnixFileMode(data));
        Assert.Equal(Private, File.GetUnixFileMode(Path.Combine(data, "tls.key")));
        Directory.Delete(data, recursive: true);
    }
}

using Mimi.Discovery.Client;
using Mimi.Discovery.Identifiers;

namespace Mimi.Discovery.Tests.Client;

public sealed class KeyStoreTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), "mimi-keys-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_path))
        {
            Directory.Delete(_path, recursive: true);
        }
    }

    [Fact]
    public void GetOrCreateKey_CreatesOnceWithOwnerOnlyMode_ThenReusesIt()
    {
        var store = new KeyStore(_path);

        using var first = store.GetOrCreateKey(out var created);
        using var second = store.GetOrCreateKey(out var createdAgain);

        Assert.True(created);
        Assert.False(createdAgain);
        Assert.Equal(Mimi.Discovery.Crypto.JwkThumbprint.Compute(first), Mimi.Discovery.Crypto.JwkThumbprint.Compute(second));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_path, "key.pem")));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(_path));
        }
    }

    [Fact]
    public void Versions_ArePerCsiAndSurviveReopening()
    {
        var bob = CsiParser.ParseOrThrow("bob/o'neil@example.com");
        var phone = CsiParser.ParseOrThrow("+33612345678");
        new KeyStore(_path).SaveVersion(bob, "k/any", 3);
        new KeyStore(_path).SaveVersion(bob, "k/same-service", 1);

        var reopened = new KeyStore(_path);

        Assert.Equal(3, reopened.LoadVersions(bob)["k/any"]);
        Assert.Equal(2, reopened.LoadVersions(bob).Count);
        Assert.Empty(reopened.LoadVersions(phone));
        Assert.Null(reopened.LoadCredential(phone));
        Assert.Null(reopened.LoadKey());
    }
}

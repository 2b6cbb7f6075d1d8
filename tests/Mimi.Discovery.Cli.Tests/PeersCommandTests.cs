using System.Security.Cryptography;

namespace Mimi.Discovery.Cli.Tests;

/// <summary><c>peers mirror-key</c>: the key for the mirroring DP's operator, the hash for this DP's configuration.</summary>
public sealed class PeersCommandTests
{
    [Fact]
    public async Task MirrorKey_PrintsAKeyAndTheHashItMatches()
    {
        var (exit, output, error) = await CliProcess.RunAsync("peers", "mirror-key");

        Assert.Equal(0, exit);
        var key = output.Trim();
        Assert.StartsWith("mdk_", key, StringComparison.Ordinal);
        var hash = error.Trim().Split('\n')[^1].Trim();
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(System.Buffers.Text.Base64Url.DecodeFromChars(key.AsSpan(4)))), hash);
        Assert.Contains("Discovery:MirrorKeyHashes", error, StringComparison.Ordinal);
    }
}

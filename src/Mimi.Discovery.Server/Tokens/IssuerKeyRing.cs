using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Mimi.Discovery.Crypto;
using Mimi.Discovery.Privacy.Tokens;
using Mimi.Discovery.Server.Hosting;

namespace Mimi.Discovery.Server.Tokens;

/// <summary>One issuer key: a sponsoring service (null: the general key for persons) and the epoch it signs in.</summary>
/// <param name="Service">The sponsoring service, or null.</param>
/// <param name="Start">Start of its epoch, Unix seconds (its <c>not-before</c>).</param>
/// <param name="Epoch">The epoch number: <paramref name="Start"/> divided by the epoch length.</param>
/// <param name="Issuer">The signer, with the public key to publish.</param>
internal sealed record IssuerKey(string? Service, long Start, long Epoch, TokenIssuer Issuer)
{
    public TokenPublicKey PublicKey => Issuer.PublicKey;
}

/// <summary>
/// The DP's blind-RSA issuer keys (RFC 9578 §6, token type 0x0002): one per sponsoring service and
/// key epoch. Keys live in <c>&lt;data&gt;/tokens/</c> as PKCS#8 PEM files (0600), so every DP process
/// on the same data folder signs and verifies with the same keys. A missing key is generated on first
/// use and published with a no-replace rename: of two processes racing, one file wins and both use it.
/// </summary>
internal sealed class IssuerKeyRing
{
    private readonly string root;
    private readonly long epochSeconds;
    private readonly int graceEpochs;
    private readonly TimeProvider time;
    private readonly ConcurrentDictionary<string, IssuerKey> byFile = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, IssuerKey> byKeyId = new(StringComparer.Ordinal);
    private readonly Lock creating = new();

    public IssuerKeyRing(DataFolder folder, IOptions<DiscoveryOptions> options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(folder);
        var o = options.Value;
        epochSeconds = (long)o.TokenKeyEpoch.TotalSeconds;
        if (epochSeconds < 60)
        {
            throw new InvalidOperationException("Discovery:TokenKeyEpoch must be at least one minute.");
        }

        if (o.TokenKeyGraceEpochs < 0)
        {
            throw new InvalidOperationException("Discovery:TokenKeyGraceEpochs cannot be negative.");
        }

        graceEpochs = o.TokenKeyGraceEpochs;
        this.time = time;
        root = Path.Combine(folder.Path, "tokens");
    }

    public long EpochSeconds => epochSeconds;

    private long Now => time.GetUtcNow().ToUnixTimeSeconds();

    /// <summary>Start of the epoch containing <paramref name="now"/>.</summary>
    public long EpochStart(long now) => now - (now % epochSeconds);

    /// <summary>The end of the grace period of <paramref name="key"/>: its tokens redeem strictly before this time.</summary>
    public long RedeemableUntil(IssuerKey key) => key.Start + RedeemableSeconds;

    /// <summary>How long after its key's not-before a token redeems: its epoch and the grace epochs after it.</summary>
    public long RedeemableSeconds => (graceEpochs + 1) * epochSeconds;

    /// <summary>The key <paramref name="service"/> signs with now, created if this epoch has none yet.</summary>
    public IssuerKey Current(string? service) => Get(service, EpochStart(Now), create: true)!;

    /// <summary>A key by its token_key_id; null when no key of this DP from the current, grace or recently expired epochs has it.</summary>
    public IssuerKey? Find(ReadOnlySpan<byte> keyId)
    {
        var id = Convert.ToHexStringLower(keyId);
        if (byKeyId.TryGetValue(id, out var key))
        {
            return key;
        }

        // Another process may have created it: look at the files of the epochs that can matter
        // (live ones, and a couple beyond grace so an old token is told it expired).
        var oldest = EpochStart(Now) - ((graceEpochs + 2) * epochSeconds);
        if (Directory.Exists(root))
        {
            foreach (var file in Directory.EnumerateFiles(root, "*.pem", SearchOption.AllDirectories))
            {
                if (!long.TryParse(Path.GetFileNameWithoutExtension(file), NumberStyles.None, CultureInfo.InvariantCulture, out var start) || start < oldest)
                {
                    continue;
                }

                var folder = Path.GetFileName(Path.GetDirectoryName(file)!);
                string? service = folder == "general" ? null : folder.StartsWith("s-", StringComparison.Ordinal) ? folder[2..] : string.Empty;
                if (service != string.Empty)
                {
                    Get(service, start, create: false);
                }
            }
        }

        return byKeyId.GetValueOrDefault(id);
    }

    private IssuerKey? Get(string? service, long start, bool create)
    {
        var path = PathOf(service, start);
        if (byFile.TryGetValue(path, out var key))
        {
            return key;
        }

        lock (creating)
        {
            if (byFile.TryGetValue(path, out key))
            {
                return key;
            }

            if (!File.Exists(path))
            {
                if (!create)
                {
                    return null;
                }

                Generate(path);
            }

            using var rsa = RSA.Create();
            rsa.ImportFromPem(File.ReadAllText(path));
            key = new IssuerKey(service, start, start / epochSeconds, new TokenIssuer(BlindRsaPrivateKey.FromRsa(rsa)));
            byFile[path] = key;
            byKeyId[Convert.ToHexStringLower(key.PublicKey.KeyId)] = key;
            return key;
        }
    }

    private static void Generate(string path)
    {
        var directory = Path.GetDirectoryName(path)!;
        if (!Directory.Exists(directory))
        {
            PrivateFile.CreateDirectory(directory);
        }

        using var rsa = RSA.Create(2048);
        var temporary = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        PrivateFile.Write(temporary, rsa.ExportPkcs8PrivateKeyPem());
        try
        {
            File.Move(temporary, path, overwrite: false);
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another DP process published this epoch's key first; use theirs.
            File.Delete(temporary);
        }
    }

    private string PathOf(string? service, long start)
    {
        // Services get an "s-" prefix, so no service id (even "." or "..") can name another folder.
        var folder = service is null ? "general" : "s-" + service;
        return Path.Combine(root, folder, start.ToString(CultureInfo.InvariantCulture) + ".pem");
    }
}

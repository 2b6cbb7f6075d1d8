using System.Globalization;
using Microsoft.Extensions.Options;
using Mimi.Discovery.Crypto;
using Mimi.Discovery.Privacy.Hpke;
using Mimi.Discovery.Privacy.Ohttp;
using Mimi.Discovery.Server.Hosting;

namespace Mimi.Discovery.Server.Privacy;

/// <summary>
/// The gateway's key configurations, kept in the data folder (<c>ohttp/&lt;id&gt;.key</c>, one
/// file per key) so every DP process decrypts with the same keys. A generation is an X25519 and a
/// P-256 configuration (AES-128-GCM and ChaCha20-Poly1305 each). A new generation starts when the
/// newest is <see cref="DiscoveryOptions.OhttpKeyLifetime"/> old; older ones keep decrypting for
/// <see cref="DiscoveryOptions.OhttpKeyGrace"/> more, then are deleted.
/// </summary>
internal sealed class OhttpKeyRing : IDisposable
{
    private static readonly OhttpSymmetricSuite[] Suites =
    [
        new(HpkeKdf.HkdfSha256, HpkeAead.Aes128Gcm),
        new(HpkeKdf.HkdfSha256, HpkeAead.ChaCha20Poly1305),
    ];

    private readonly string _folder;
    private readonly DiscoveryOptions _options;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private Ring? _ring;

    public OhttpKeyRing(DataFolder folder, IOptions<DiscoveryOptions> options, TimeProvider time)
    {
        _folder = Path.Combine(folder.Path, "ohttp");
        _options = options.Value;
        _time = time;
    }

    /// <summary>The gateway over every key still decrypting.</summary>
    public OhttpGateway Gateway => Current().Gateway;

    /// <summary>The <c>application/ohttp-keys</c> body: the newest generation first, then older ones in grace.</summary>
    public byte[] KeyConfigs => Current().Configs;

    /// <summary>Key ids in <see cref="KeyConfigs"/> order.</summary>
    public IReadOnlyList<int> KeyIds => Current().KeyIds;

    public void Dispose()
    {
        foreach (var key in _ring?.Keys ?? [])
        {
            key.Key.KeyPair.Dispose();
        }
    }

    private Ring Current()
    {
        var now = _time.GetUtcNow();
        var ring = _ring;
        if (ring is not null && now < ring.NextCheck)
        {
            return ring;
        }

        lock (_lock)
        {
            if (_ring is not null && now < _ring.NextCheck)
            {
                return _ring;
            }

            var old = _ring;
            _ring = Load(now);
            foreach (var key in old?.Keys.Where(k => _ring.Keys.All(n => n.Key.Config.KeyId != k.Key.Config.KeyId)) ?? [])
            {
                key.Key.KeyPair.Dispose();
            }

            return _ring;
        }
    }

    private Ring Load(DateTimeOffset now)
    {
        if (!Directory.Exists(_folder))
        {
            PrivateFile.CreateDirectory(_folder);
        }

        var keys = ReadKeys();
        foreach (var expired in keys.Where(k => k.Created + _options.OhttpKeyLifetime + _options.OhttpKeyGrace <= now).ToList())
        {
            File.Delete(FileOf(expired.Key.Config.KeyId));
            expired.Key.KeyPair.Dispose();
            keys.Remove(expired);
        }

        if (keys.Count == 0 || keys.Max(k => k.Created) + _options.OhttpKeyLifetime <= now)
        {
            foreach (var kem in new[] { HpkeKem.X25519HkdfSha256, HpkeKem.P256HkdfSha256 })
            {
                var id = Enumerable.Range(0, 256).Select(i => (byte)i).First(i => keys.All(k => k.Key.Config.KeyId != i) && !File.Exists(FileOf(i)));
                using var pair = HpkeKeyPair.Generate(kem);
                try
                {
                    // CreateNew: when two DP processes rotate at once, each keeps its own id.
                    var create = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
                    if (!OperatingSystem.IsWindows())
                    {
                        create.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
                    }

                    using var stream = new FileStream(FileOf(id), create);
                    using var writer = new StreamWriter(stream);
                    writer.Write(FormattableString.Invariant($"{now.ToUnixTimeSeconds()} {(int)kem} {Convert.ToHexStringLower(pair.ExportPrivateKey())}"));
                }
                catch (IOException) when (File.Exists(FileOf(id)))
                {
                    // Another process wrote this id first; it is read below.
                }
            }

            keys.ForEach(k => k.Key.KeyPair.Dispose());
            keys = ReadKeys();
        }

        var ordered = keys.OrderByDescending(k => k.Created).ThenBy(k => k.Key.Config.KeyId).ToList();
        var newest = ordered.Max(k => k.Created);
        var nextCheck = new[] { newest + _options.OhttpKeyLifetime }.Concat(ordered.Select(k => k.Created + _options.OhttpKeyLifetime + _options.OhttpKeyGrace)).Min();
        return new Ring(ordered, new OhttpGateway(ordered.Select(k => k.Key), _options.MaxRequestBytes),
            OhttpKeyConfig.EncodeList(ordered.Select(k => k.Key.Config)), ordered.Select(k => (int)k.Key.Config.KeyId).ToList(), Min(nextCheck, now + TimeSpan.FromMinutes(1)));
    }

    private List<(OhttpGatewayKey Key, DateTimeOffset Created)> ReadKeys()
    {
        var keys = new List<(OhttpGatewayKey, DateTimeOffset)>();
        foreach (var file in Directory.GetFiles(_folder, "*.key"))
        {
            var parts = File.ReadAllText(file).Split(' ');
            var id = byte.Parse(Path.GetFileNameWithoutExtension(file), CultureInfo.InvariantCulture);
            var kem = (HpkeKem)int.Parse(parts[1], CultureInfo.InvariantCulture);
            var pair = HpkeKeyPair.Import(kem, Convert.FromHexString(parts[2]));
            keys.Add((new OhttpGatewayKey(new OhttpKeyConfig(id, kem, pair.PublicKey.Span, Suites), pair),
                DateTimeOffset.FromUnixTimeSeconds(long.Parse(parts[0], CultureInfo.InvariantCulture))));
        }

        return keys;
    }

    private string FileOf(byte id) => Path.Combine(_folder, id.ToString("000", CultureInfo.InvariantCulture) + ".key");

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    private sealed record Ring(IReadOnlyList<(OhttpGatewayKey Key, DateTimeOffset Created)> Keys, OhttpGateway Gateway, byte[] Configs, IReadOnlyList<int> KeyIds, DateTimeOffset NextCheck);
}

using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Mimi.Discovery.Credentials;
using Mimi.Discovery.Crypto;

namespace Mimi.Discovery.Server.Hosting;

/// <summary>
/// The DP's data folder. On first run it creates: the credential CA (<c>ca.crt</c>, <c>ca.key</c>),
/// a self-signed TLS certificate for localhost (<c>tls.crt</c>, <c>tls.key</c>) that clients
/// trust explicitly with <c>--ca</c>, the secret codes are hashed under (<c>code.secret</c>), and
/// the development <c>outbox/</c>. Private files are mode 0600, the folder and its sub-folders
/// 0700 — tightened at every start whatever modes they had before (only the public <c>*.crt</c>
/// certificates keep theirs).
/// </summary>
internal sealed class DataFolder
{
    private DataFolder(string path, CredentialAuthority authority, byte[] codeSecret)
    {
        Path = path;
        Authority = authority;
        CodeSecret = codeSecret;
    }

    public string Path { get; }

    public CredentialAuthority Authority { get; }

    public byte[] CodeSecret { get; }

    public string OutboxDirectory => System.IO.Path.Combine(Path, "outbox");

    public string TlsCertificatePath => System.IO.Path.Combine(Path, "tls.crt");

    public string TlsKeyPath => System.IO.Path.Combine(Path, "tls.key");

    public static DataFolder Open(string path, string name, TimeProvider time)
    {
        var full = System.IO.Path.GetFullPath(path);
        PrivateFile.CreateDirectory(full);
        Tighten(full);

        var caCert = System.IO.Path.Combine(full, "ca.crt");
        var caKey = System.IO.Path.Combine(full, "ca.key");
        CredentialAuthority authority;
        if (File.Exists(caCert) && File.Exists(caKey))
        {
            authority = CredentialAuthority.FromPem(File.ReadAllText(caCert), File.ReadAllText(caKey), time);
        }
        else
        {
            authority = CredentialAuthority.Create(name + " credential CA", TimeSpan.FromDays(3650), time);
            PrivateFile.Write(caKey, authority.ExportPrivateKeyPem());
            File.WriteAllText(caCert, authority.ExportCertificatePem());
        }

        var secretPath = System.IO.Path.Combine(full, "code.secret");
        if (!File.Exists(secretPath))
        {
            PrivateFile.Write(secretPath, Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
        }

        var folder = new DataFolder(full, authority, Convert.FromBase64String(File.ReadAllText(secretPath).Trim()));
        folder.EnsureTlsCertificate(time);
        return folder;
    }

    /// <summary>
    /// The transparency keys, created on first use: the VRF secret scalar (<c>vrf.key</c>, hex)
    /// and the tree-head signing key (<c>log.key</c>, PKCS#8 PEM). Every DP process sharing a
    /// database must share these files.
    /// </summary>
    public (byte[] VrfSecret, ECDsa LogKey) LoadTransparencyKeys()
    {
        var vrfPath = System.IO.Path.Combine(Path, "vrf.key");
        if (!File.Exists(vrfPath))
        {
            byte[] secret;
            do
            {
                secret = RandomNumberGenerator.GetBytes(32);
            }
            while (!IsScalar(secret));
            PrivateFile.Write(vrfPath, Convert.ToHexStringLower(secret));
        }

        var logPath = System.IO.Path.Combine(Path, "log.key");
        if (!File.Exists(logPath))
        {
            using var created = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            PrivateFile.Write(logPath, created.ExportPkcs8PrivateKeyPem());
        }

        var logKey = ECDsa.Create();
        logKey.ImportFromPem(File.ReadAllText(logPath));
        return (Convert.FromHexString(File.ReadAllText(vrfPath).Trim()), logKey);

        static bool IsScalar(byte[] secret)
        {
            try
            {
                _ = Discovery.Transparency.EcVrf.PublicKey(secret);
                return true;
            }
            catch (ArgumentException)
            {
                return false;
            }
        }
    }

    /// <summary>
    /// Makes the folder and the sub-folders the DP writes 0700, and the files it writes there (but a
    /// <c>*.crt</c> certificate) 0600 — only those: the folder may be shared with other files, which
    /// are not the DP's to change.
    /// </summary>
    private static void Tighten(string folder)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        PrivateFile.CreateDirectory(folder);
        foreach (var name in OwnFolders.Where(f => Directory.Exists(System.IO.Path.Combine(folder, f))))
        {
            var sub = new DirectoryInfo(System.IO.Path.Combine(folder, name));
            if (sub.LinkTarget is not null)
            {
                continue;
            }

            PrivateFile.CreateDirectory(sub.FullName);
            foreach (var file in sub.EnumerateFiles("*", SearchOption.AllDirectories).Where(f => f.LinkTarget is null && !f.Name.EndsWith(".crt", StringComparison.Ordinal)))
            {
                PrivateFile.Restrict(file.FullName);
            }
        }

        foreach (var file in new DirectoryInfo(folder).EnumerateFiles().Where(f => f.LinkTarget is null && OwnFiles.Any(own => f.Name == own || f.Name.StartsWith(own + "-", StringComparison.Ordinal))))
        {
            PrivateFile.Restrict(file.FullName);
        }
    }

    // What the DP writes in its data folder: keys, secrets, the SQLite database (with -wal, -shm).
    private static readonly string[] OwnFiles = ["ca.key", "tls.key", "code.secret", "vrf.key", "log.key", "mimi.db"];
    private static readonly string[] OwnFolders = ["ohttp", "tokens", "outbox"];

    /// <summary>Loads the HTTPS certificate: the configured one, or the generated localhost one.</summary>
    public X509Certificate2 LoadTlsCertificate(string? certificatePath, string? keyPath) =>
        TlsCertificateFiles.Load(certificatePath, keyPath, TlsCertificatePath, TlsKeyPath);

    private void EnsureTlsCertificate(TimeProvider time) => TlsCertificateFiles.EnsureLocalhost(TlsCertificatePath, TlsKeyPath, time);
}

using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Mimi.Discovery.Crypto;
using Mimi.Discovery.Identifiers;

namespace Mimi.Discovery.Client;

/// <summary>
/// A person's key folder: one P-256 signing key (<c>key.pem</c>, mode 0600), and per CSI the
/// credential the DP issued, its CA, the last version published per mapping, and the last change
/// the DP acknowledged per mapping (its receipt, for <see cref="Transparency.LabelMonitor.CheckAcknowledged"/>). The default
/// folder is <c>$MIMI_DISCOVERY_HOME</c>, else <c>$XDG_CONFIG_HOME/mimi-discovery</c>, else
/// <c>~/.config/mimi-discovery</c>.
/// </summary>
public sealed class KeyStore
{
    /// <summary>Opens (without creating) a key folder.</summary>
    public KeyStore(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Path = System.IO.Path.GetFullPath(path);
    }

    /// <summary>The folder.</summary>
    public string Path { get; }

    /// <summary>The default folder for the current user.</summary>
    public static string DefaultPath =>
        Environment.GetEnvironmentVariable("MIMI_DISCOVERY_HOME") is { Length: > 0 } home ? home
        : System.IO.Path.Combine(
            Environment.GetEnvironmentVariable("XDG_CONFIG_HOME") is { Length: > 0 } config ? config
                : System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config"),
            "mimi-discovery");

    private string KeyPath => System.IO.Path.Combine(Path, "key.pem");

    /// <summary>Loads the signing key, creating it on first use.</summary>
    public ECDsa GetOrCreateKey(out bool created)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        if (File.Exists(KeyPath))
        {
            key.ImportFromPem(File.ReadAllText(KeyPath));
            created = false;
            return key;
        }

        PrivateFile.CreateDirectory(Path);
        PrivateFile.Write(KeyPath, key.ExportPkcs8PrivateKeyPem());
        created = true;
        return key;
    }

    /// <summary>Loads the signing key if one exists.</summary>
    public ECDsa? LoadKey()
    {
        if (!File.Exists(KeyPath))
        {
            return null;
        }

        var key = ECDsa.Create();
        key.ImportFromPem(File.ReadAllText(KeyPath));
        return key;
    }

    /// <summary>The stored credential for <paramref name="csi"/>, or null.</summary>
    public X509Certificate2? LoadCredential(Csi csi)
    {
        var path = System.IO.Path.Combine(CsiFolder(csi), "credential.pem");
        return File.Exists(path) ? X509Certificate2.CreateFromPem(File.ReadAllText(path)) : null;
    }

    /// <summary>Stores a credential and its CA for <paramref name="csi"/>.</summary>
    public void SaveCredential(Csi csi, string credentialPem, string caPem)
    {
        var folder = CsiFolder(csi);
        PrivateFile.CreateDirectory(folder);
        File.WriteAllText(System.IO.Path.Combine(folder, "credential.pem"), credentialPem);
        File.WriteAllText(System.IO.Path.Combine(folder, "ca.pem"), caPem);
    }

    /// <summary>The last version published per mapping id for <paramref name="csi"/>.</summary>
    public IReadOnlyDictionary<string, long> LoadVersions(Csi csi)
    {
        var path = System.IO.Path.Combine(CsiFolder(csi), "versions.json");
        if (!File.Exists(path))
        {
            return new Dictionary<string, long>();
        }

        return JsonSerializer.Deserialize(File.ReadAllText(path), KeyStoreJson.Default.DictionaryStringInt64) ?? [];
    }

    /// <summary>Records that version <paramref name="version"/> of <paramref name="mappingId"/> was published.</summary>
    public void SaveVersion(Csi csi, string mappingId, long version)
    {
        var versions = new Dictionary<string, long>(LoadVersions(csi)) { [mappingId] = version };
        WriteAtomically(csi, "versions.json", JsonSerializer.Serialize(versions, KeyStoreJson.Default.DictionaryStringInt64));
    }

    /// <summary>The last acknowledged change per mapping id for <paramref name="csi"/>.</summary>
    public IReadOnlyDictionary<string, Transparency.AcknowledgedChange> LoadAcknowledged(Csi csi)
    {
        var path = System.IO.Path.Combine(CsiFolder(csi), "receipts.json");
        return File.Exists(path)
            ? JsonSerializer.Deserialize(File.ReadAllText(path), KeyStoreJson.Default.DictionaryStringAcknowledgedChange) ?? []
            : new Dictionary<string, Transparency.AcknowledgedChange>();
    }

    /// <summary>Records <paramref name="change"/> as the last acknowledged change of its mapping.</summary>
    public void SaveAcknowledged(Csi csi, Transparency.AcknowledgedChange change)
    {
        ArgumentNullException.ThrowIfNull(change);
        var changes = new Dictionary<string, Transparency.AcknowledgedChange>(LoadAcknowledged(csi)) { [change.MappingId] = change };
        WriteAtomically(csi, "receipts.json", JsonSerializer.Serialize(changes, KeyStoreJson.Default.DictionaryStringAcknowledgedChange));
    }

    /// <summary>The last statement published per mapping id for <paramref name="csi"/> (compact JWS), for <see cref="MappingPublisher.RenewAsync"/>.</summary>
    public IReadOnlyDictionary<string, string> LoadStatements(Csi csi)
    {
        var path = System.IO.Path.Combine(CsiFolder(csi), "statements.json");
        return File.Exists(path)
            ? JsonSerializer.Deserialize(File.ReadAllText(path), KeyStoreJson.Default.DictionaryStringString) ?? []
            : new Dictionary<string, string>();
    }

    /// <summary>Records <paramref name="statement"/> as the last one published for <paramref name="mappingId"/>.</summary>
    public void SaveStatement(Csi csi, string mappingId, string statement)
    {
        ArgumentException.ThrowIfNullOrEmpty(mappingId);
        ArgumentException.ThrowIfNullOrEmpty(statement);
        var statements = new Dictionary<string, string>(LoadStatements(csi)) { [mappingId] = statement };
        WriteAtomically(csi, "statements.json", JsonSerializer.Serialize(statements, KeyStoreJson.Default.DictionaryStringString));
    }

    /// <summary>Forgets the published statements of <paramref name="csi"/> (after they were removed).</summary>
    public void ForgetStatements(Csi csi)
    {
        var path = System.IO.Path.Combine(CsiFolder(csi), "statements.json");
        if (File.Exists(path))
        {
            File.Delete(path);
        }
    }

    /// <summary>The identifiers this key folder holds a credential for, in ordinal order of their URIs.</summary>
    public IReadOnlyList<Csi> ListCsis()
    {
        var root = System.IO.Path.Combine(Path, "csi");
        if (!Directory.Exists(root))
        {
            return [];
        }

        var csis = new List<Csi>();
        foreach (var folder in Directory.GetDirectories(root))
        {
            if (File.Exists(System.IO.Path.Combine(folder, "credential.pem"))
                && Uri.UnescapeDataString(System.IO.Path.GetFileName(folder)) is var uri
                && CsiParser.Parse(uri) is { Success: true } parsed && string.Equals(parsed.Csi!.Uri, uri, StringComparison.Ordinal))
            {
                csis.Add(parsed.Csi!);
            }
        }

        return [.. csis.OrderBy(c => c.Uri, StringComparer.Ordinal)];
    }

    private void WriteAtomically(Csi csi, string name, string text)
    {
        var folder = CsiFolder(csi);
        PrivateFile.CreateDirectory(folder);
        var path = System.IO.Path.Combine(folder, name);
        File.WriteAllText(path + ".tmp", text);
        File.Move(path + ".tmp", path, overwrite: true);
    }

    // A readable, reversible folder name: characters outside [A-Za-z0-9@+._-] are %-escaped.
    private string CsiFolder(Csi csi)
    {
        ArgumentNullException.ThrowIfNull(csi);
        var name = new StringBuilder();
        foreach (var c in csi.Uri)
        {
            if (char.IsAsciiLetterOrDigit(c) || c is '@' or '+' or '.' or '_' or '-')
            {
                name.Append(c);
            }
            else
            {
                name.Append('%').Append(((int)c).ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return System.IO.Path.Combine(Path, "csi", name.ToString());
    }
}

[System.Text.Json.Serialization.JsonSourceGenerationOptions(System.Text.Json.JsonSerializerDefaults.Web)]
[System.Text.Json.Serialization.JsonSerializable(typeof(Dictionary<string, long>))]
[System.Text.Json.Serialization.JsonSerializable(typeof(Dictionary<string, string>))]
[System.Text.Json.Serialization.JsonSerializable(typeof(Dictionary<string, Transparency.AcknowledgedChange>))]
internal sealed partial class KeyStoreJson : System.Text.Json.Serialization.JsonSerializerContext;

using System.Text.Json;
using System.Text.Json.Serialization;
using Mimi.Discovery.Crypto;
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Statements;

namespace Mimi.Discovery.Client;

/// <summary>Whose a stored route key is.</summary>
public enum RouteKeyRole
{
    /// <summary>The recipient's own: they seal routes with it and hand it out.</summary>
    Own,

    /// <summary>Handed to this person by a recipient: they open that recipient's sealed routes with it.</summary>
    Held,
}

/// <summary>A route key in a <see cref="RouteKeyStore"/>.</summary>
/// <param name="Key">The key.</param>
/// <param name="Role">Own or held.</param>
/// <param name="CreatedAt">When it was created or imported.</param>
/// <param name="RevokedAt">For an own key replaced by <see cref="RouteKeyStore.Revoke"/>, when; null while current.</param>
public sealed record StoredRouteKey(RouteKey Key, RouteKeyRole Role, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt);

/// <summary>
/// Route keys in a key folder (<c>route-keys.json</c>, mode 0600: the keys are secrets): the recipient's own, per CSI and
/// name, and those others handed over. Revoking an own key replaces it by a new one under the same name; the old one is
/// kept, marked revoked, so the list shows what was handed out.
/// </summary>
public sealed class RouteKeyStore
{
    private readonly string _path;
    private readonly TimeProvider _time;

    /// <summary>Opens the route keys of the key folder <paramref name="folder"/> (nothing is created until a key is saved).</summary>
    public RouteKeyStore(string folder, TimeProvider? time = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        _path = Path.Combine(Path.GetFullPath(folder), "route-keys.json");
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Every stored key, in the order stored.</summary>
    public IReadOnlyList<StoredRouteKey> List() => Load().Select(Decode).OfType<StoredRouteKey>().ToList();

    /// <summary>The current own key named <paramref name="name"/> for <paramref name="csi"/>, or null.</summary>
    public RouteKey? Own(Csi csi, string name) =>
        List().LastOrDefault(k => IsCurrent(k, RouteKeyRole.Own, csi, name))?.Key;

    /// <summary>The current keys held for <paramref name="csi"/> (to open its sealed routes), own keys included.</summary>
    public IReadOnlyList<RouteKey> For(Csi csi) => List().Where(k => k.RevokedAt is null && k.Key.Csi == csi).Select(k => k.Key).ToList();

    /// <summary>Every current key, own and held.</summary>
    public IReadOnlyList<RouteKey> Current() => List().Where(k => k.RevokedAt is null).Select(k => k.Key).ToList();

    /// <summary>Creates an own key for <paramref name="csi"/>.</summary>
    /// <exception cref="InvalidOperationException">An own key of that name exists for the CSI (revoke it to replace it).</exception>
    public RouteKey Create(Csi csi, string name)
    {
        if (Own(csi, name) is not null)
        {
            throw new InvalidOperationException($"a route key '{name}' exists for {csi}; revoke it to replace it");
        }

        var key = RouteKey.Create(name, csi);
        Save([.. Load(), Encode(new StoredRouteKey(key, RouteKeyRole.Own, _time.GetUtcNow(), null))]);
        return key;
    }

    /// <summary>Stores a key someone handed over; importing the same key again changes nothing, a new key under a held name replaces the old.</summary>
    public void Import(RouteKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var now = _time.GetUtcNow();
        var kept = Load().Select(Decode).OfType<StoredRouteKey>().ToList();
        if (kept.Any(k => k.Key.Csi == key.Csi && k.Key.Secret.SequenceEqual(key.Secret)))
        {
            return;
        }

        // A recipient rotates a key under its name: the new one supersedes the one held before.
        var updated = kept.Select(k => IsCurrent(k, RouteKeyRole.Held, key.Csi, key.Name) ? k with { RevokedAt = now } : k);
        Save([.. updated.Select(Encode), Encode(new StoredRouteKey(key, RouteKeyRole.Held, now, null))]);
    }

    /// <summary>
    /// Revokes the own key <paramref name="name"/> of <paramref name="csi"/> and creates its successor under the same name. The
    /// routes stay readable with the old key until the recipient publishes again sealed with the new one.
    /// </summary>
    /// <returns>The new key, to hand to those who keep access; null when no such own key exists.</returns>
    public RouteKey? Revoke(Csi csi, string name)
    {
        var kept = Load().Select(Decode).OfType<StoredRouteKey>().ToList();
        var now = _time.GetUtcNow();
        if (!kept.Any(k => IsCurrent(k, RouteKeyRole.Own, csi, name)))
        {
            return null;
        }

        var key = RouteKey.Create(name, csi);
        var updated = kept.Select(k => IsCurrent(k, RouteKeyRole.Own, csi, name) ? k with { RevokedAt = now } : k);
        Save([.. updated.Select(Encode), Encode(new StoredRouteKey(key, RouteKeyRole.Own, now, null))]);
        return key;
    }

    private static bool IsCurrent(StoredRouteKey k, RouteKeyRole role, Csi csi, string name) =>
        k.Role == role && k.RevokedAt is null && k.Key.Csi == csi && string.Equals(k.Key.Name, name, StringComparison.Ordinal);

    private List<StoredKeyJson> Load()
    {
        if (!File.Exists(_path))
        {
            return [];
        }

        try
        {
            return JsonSerializer.Deserialize(File.ReadAllText(_path), RouteKeyJson.Default.ListStoredKeyJson) ?? [];
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{_path} is not a route key file: {e.Message}", e);
        }
    }

    private void Save(IEnumerable<StoredKeyJson> keys)
    {
        PrivateFile.CreateDirectory(Path.GetDirectoryName(_path)!);
        PrivateFile.Write(_path, JsonSerializer.Serialize(keys.ToList(), RouteKeyJson.Default.ListStoredKeyJson));
    }

    private static StoredRouteKey? Decode(StoredKeyJson j) =>
        RouteKey.TryParseLink(j.Link, out var key, out _) ? new StoredRouteKey(key, j.Own ? RouteKeyRole.Own : RouteKeyRole.Held, DateTimeOffset.FromUnixTimeSeconds(j.CreatedAt), j.RevokedAt is { } r ? DateTimeOffset.FromUnixTimeSeconds(r) : null) : null;

    private static StoredKeyJson Encode(StoredRouteKey k) =>
        new(k.Key.ToLink(), k.Role == RouteKeyRole.Own, k.CreatedAt.ToUnixTimeSeconds(), k.RevokedAt?.ToUnixTimeSeconds());
}

/// <summary>One key on disk, as its link.</summary>
internal sealed record StoredKeyJson(string Link, bool Own, long CreatedAt, long? RevokedAt);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = true)]
[JsonSerializable(typeof(List<StoredKeyJson>))]
internal sealed partial class RouteKeyJson : JsonSerializerContext;

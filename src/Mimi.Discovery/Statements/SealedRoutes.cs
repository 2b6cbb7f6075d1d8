// Sealed routes (requirements draft appendix B, journeys 5 "per sender" and 6 "closed group"):
// entries only holders of a route key can read, inside the signed statement.
// docs/protocol.md §2, "Sealed routes". Key derivation: HKDF-SHA256 (RFC 5869); AEAD: AES-256-GCM
// (NIST SP 800-38D), key and nonce derived from a fresh random salt per box.
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Mimi.Discovery.Statements;

/// <summary>
/// Seals and opens the boxes of a mapping statement's <c>sealed</c> member. A box is
/// <c>salt(16) || AES-256-GCM(key, nonce, plaintext) || tag(16)</c> where <c>key || nonce =
/// HKDF-SHA256(ikm = route key, salt, info = "mimi-discovery sealed route v1" || 0x00 || CSI URI, 44 bytes)</c>
/// and the plaintext is <c>u16 length || JSON array of entries || zero padding</c> to the statement's bucket.
/// Every box of a statement has one length (512 or 2048 bytes of plaintext), and their number is a
/// power of two (1, 2, 4, 8), made up with random boxes no key opens.
/// </summary>
public static class SealedRoutes
{
    /// <summary>Plaintext sizes a box may have; one per statement.</summary>
    public static IReadOnlyList<int> Buckets { get; } = [512, 2048];

    /// <summary>Numbers of boxes a statement may carry.</summary>
    public static IReadOnlyList<int> Counts { get; } = [1, 2, 4, 8];

    /// <summary>Most plaintext bytes (bucket × count) a statement may seal, so it stays under the 16 KiB statement limit.</summary>
    public const int MaxPlaintextBytes = 8192;

    private const int SaltLength = 16;
    private const int TagLength = 16;
    private static readonly byte[] Label = Encoding.ASCII.GetBytes("mimi-discovery sealed route v1");

    /// <summary>The boxes for <paramref name="groups"/>, padded in count and size; their order is random.</summary>
    /// <exception cref="ArgumentException">A group is for another CSI, has no or invalid entries, or the whole is over <see cref="MaxPlaintextBytes"/>.</exception>
    internal static IReadOnlyList<string> Seal(Identifiers.Csi csi, IReadOnlyList<SealedRouteDraft> groups)
    {
        if (groups.Count == 0)
        {
            return [];
        }

        var plaintexts = new List<byte[]>();
        foreach (var group in groups)
        {
            if (group?.Key is null || group.Key.Csi != csi)
            {
                throw new ArgumentException($"a sealed route's key must be a route key for {csi}", nameof(groups));
            }

            var entries = group.Entries ?? [];
            var problem = entries.Count == 0 ? "none given"
                : PayloadCodec.ValidateEntries(entries) ?? (entries.Any(e => e.Audience is not null) ? "a sealed entry has no audience of its own" : null);
            if (problem is not null)
            {
                throw new ArgumentException($"the routes sealed for '{group.Key.Name}' are invalid: {problem}", nameof(groups));
            }

            plaintexts.Add(JsonSerializer.SerializeToUtf8Bytes(entries.Select(PayloadCodec.EncodeEntry).ToList(), WireJson.Writer.ListEntryPayload));
        }

        var bucket = Buckets.FirstOrDefault(b => plaintexts.All(p => p.Length + 2 <= b));
        var count = Counts.FirstOrDefault(c => c >= plaintexts.Count);
        if (bucket == 0 || count == 0 || bucket * count > MaxPlaintextBytes)
        {
            throw new ArgumentException($"sealed routes hold at most {MaxPlaintextBytes} bytes: {Counts[^1]} groups of {Buckets[0] - 2} bytes of entries, or {MaxPlaintextBytes / Buckets[^1]} of {Buckets[^1] - 2}", nameof(groups));
        }

        var boxes = groups.Zip(plaintexts, (g, p) => SealOne(csi, g.Key, p, bucket)).ToList();
        while (boxes.Count < count)
        {
            // Indistinguishable from a real box without its key: AES-GCM output is pseudorandom.
            boxes.Add(RandomNumberGenerator.GetBytes(SaltLength + bucket + TagLength));
        }

        RandomNumberGenerator.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(boxes));
        return boxes.Select(b => System.Buffers.Text.Base64Url.EncodeToString(b)).ToList();
    }

    private static byte[] SealOne(Identifiers.Csi csi, RouteKey key, byte[] entriesJson, int bucket)
    {
        var plaintext = new byte[bucket];
        BinaryPrimitives.WriteUInt16BigEndian(plaintext, checked((ushort)entriesJson.Length));
        entriesJson.CopyTo(plaintext, 2);
        return SealPlaintext(csi, key, plaintext);
    }

    /// <summary>One box around a plaintext as given (length prefix and padding included), for tests that seal what no signer would.</summary>
    internal static byte[] SealPlaintext(Identifiers.Csi csi, RouteKey key, byte[] plaintext)
    {
        var bucket = plaintext.Length;
        var box = new byte[SaltLength + bucket + TagLength];
        RandomNumberGenerator.Fill(box.AsSpan(0, SaltLength));
        var (aeadKey, nonce) = Derive(key, box.AsSpan(0, SaltLength), csi);
        using var aes = new AesGcm(aeadKey, TagLength);
        aes.Encrypt(nonce, plaintext, box.AsSpan(SaltLength, bucket), box.AsSpan(SaltLength + bucket));
        return box;
    }

    /// <summary>
    /// The routes of <paramref name="mappings"/> that open with <paramref name="keys"/> (only keys for each
    /// statement's CSI are tried). A box that does not open — another group's, a padding box, a wrong or revoked
    /// key, a tampered box, or one whose plaintext breaks the entry rules — is skipped: never an exception,
    /// never part of a box.
    /// </summary>
    /// <param name="mappings">Verified statements (from <see cref="Verification.StatementVerifier"/>).</param>
    /// <param name="keys">The route keys the sender holds.</param>
    public static IReadOnlyList<Client.Route> Open(IEnumerable<MappingStatement> mappings, IEnumerable<RouteKey> keys)
    {
        ArgumentNullException.ThrowIfNull(mappings);
        ArgumentNullException.ThrowIfNull(keys);
        var held = keys.ToList();
        var routes = new List<Client.Route>();
        foreach (var mapping in mappings)
        {
            var mine = held.Where(k => k is not null && k.Csi == mapping.Csi).ToList();
            foreach (var box in mine.Count == 0 ? [] : mapping.SealedRoutes)
            {
                var bytes = DecodeCanonical(box);
                foreach (var key in mine)
                {
                    if (bytes is not null && TryOpen(mapping.Csi, key, bytes, out var entries))
                    {
                        routes.AddRange(entries.Select(e => new Client.Route(mapping, e) { SealedWith = key.Name }));
                        break;
                    }
                }
            }
        }

        return routes;
    }

    private static bool TryOpen(Identifiers.Csi csi, RouteKey key, byte[] box, out IReadOnlyList<MspEntry> entries)
    {
        entries = [];
        var bucket = box.Length - SaltLength - TagLength;
        if (!Buckets.Contains(bucket))
        {
            return false;
        }

        var plaintext = new byte[bucket];
        var (aeadKey, nonce) = Derive(key, box.AsSpan(0, SaltLength), csi);
        using (var aes = new AesGcm(aeadKey, TagLength))
        {
            try
            {
                aes.Decrypt(nonce, box.AsSpan(SaltLength, bucket), box.AsSpan(SaltLength + bucket), plaintext);
            }
            catch (AuthenticationTagMismatchException)
            {
                return false;
            }
        }

        // Opened: the plaintext is the recipient's. It must still be well-formed to the last byte.
        var length = BinaryPrimitives.ReadUInt16BigEndian(plaintext);
        if (length > bucket - 2 || plaintext.AsSpan(2 + length).ContainsAnyExcept((byte)0))
        {
            return false;
        }

        try
        {
            var payloads = JsonSerializer.Deserialize(plaintext.AsSpan(2, length), WireJson.Default.ListEntryPayload);
            return payloads is { Count: > 0 } && payloads.All(p => p.Audience is null)
                && PayloadCodec.TryDecodeEntries(payloads, out entries, out _);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static (byte[] Key, byte[] Nonce) Derive(RouteKey key, ReadOnlySpan<byte> salt, Identifiers.Csi csi)
    {
        var info = new byte[Label.Length + 1 + Encoding.UTF8.GetByteCount(csi.Uri)];
        Label.CopyTo(info, 0);
        Encoding.UTF8.GetBytes(csi.Uri, info.AsSpan(Label.Length + 1));
        var okm = new byte[44];
        HKDF.DeriveKey(HashAlgorithmName.SHA256, key.Secret, okm, salt, info);
        return (okm[..32], okm[32..]);
    }

    /// <summary>Why the <c>sealed</c> member breaks the format (count, one length, a bucket, canonical base64url), or <see langword="null"/>.</summary>
    internal static string? Validate(IReadOnlyList<string>? boxes)
    {
        if (boxes is null)
        {
            return null;
        }

        if (!Counts.Contains(boxes.Count))
        {
            return $"a statement carries {string.Join(", ", Counts)} sealed boxes, not {boxes.Count}";
        }

        var decoded = boxes.Select(b => b is null ? null : DecodeCanonical(b)).ToList();
        if (decoded.Any(d => d is null))
        {
            return "a sealed box is not canonical base64url";
        }

        var bucket = decoded[0]!.Length - SaltLength - TagLength;
        if (!Buckets.Contains(bucket) || decoded.Any(d => d!.Length != decoded[0]!.Length) || bucket * boxes.Count > MaxPlaintextBytes)
        {
            return $"sealed boxes are all {SaltLength + TagLength} bytes plus one plaintext bucket ({string.Join(" or ", Buckets)}), at most {MaxPlaintextBytes} plaintext bytes in all";
        }

        return null;
    }

    /// <summary>The bytes of canonical base64url text (RFC 4648 §5, unused bits zero), or null.</summary>
    internal static byte[]? DecodeCanonical(string text)
    {
        if (text.Length == 0 || !Crypto.CanonicalBase64Url.Is(text))
        {
            return null;
        }

        try
        {
            return System.Buffers.Text.Base64Url.DecodeFromChars(text);
        }
        catch (FormatException)
        {
            return null;
        }
    }
}

/// <summary>Entries a recipient seals for the holders of one route key (<see cref="MappingDraft.SealedRoutes"/>).</summary>
/// <param name="Key">The route key of the contact or group; for the draft's CSI.</param>
/// <param name="Entries">1 or more entries, without audiences of their own.</param>
public sealed record SealedRouteDraft(RouteKey Key, IReadOnlyList<MspEntry> Entries);

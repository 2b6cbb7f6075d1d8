using System.Text.Json;
using System.Text.Json.Serialization;
using Mimi.Discovery.Crypto;
using Mimi.Discovery.Verification;

namespace Mimi.Discovery.Client;

/// <summary>
/// Verified lookup answers kept for as long as the DP allows (<see cref="VerifiedLookup.MaxAge"/>),
/// per DP, CSI and querying service, so re-syncing an address book asks — and pays — only for contacts
/// that are new or whose answer expired. Only answers that verified and were proven complete (or
/// not checked, against a DP that keeps no log) are kept. With a path, entries survive restarts: the
/// file holds the statements, and every statement is verified again when the file is read.
/// </summary>
public sealed class LookupCache
{
    private readonly Dictionary<(string Dp, string Csi, string? Service), Entry> entries = [];
    private readonly Lock entriesLock = new();
    private readonly string? path;
    private readonly TimeProvider time;

    /// <summary>A cache in memory, or kept in <paramref name="path"/> (its entries verified again with <paramref name="verifier"/> when read).</summary>
    /// <exception cref="ArgumentException">A path without a verifier.</exception>
    public LookupCache(string? path = null, StatementVerifier? verifier = null, TimeProvider? time = null)
    {
        if (path is not null && verifier is null)
        {
            throw new ArgumentException("A kept cache needs a verifier: its statements are verified again when read.", nameof(verifier));
        }

        this.path = path;
        this.time = time ?? TimeProvider.System;
        if (path is not null && File.Exists(path))
        {
            Load(path, verifier!);
        }
    }

    /// <summary>Unexpired entries.</summary>
    public int Count
    {
        get
        {
            lock (entriesLock)
            {
                return entries.Values.Count(e => e.ExpiresAt > time.GetUtcNow());
            }
        }
    }

    /// <summary>The kept answer of the DP at <paramref name="dp"/> (its base URL) for <paramref name="csi"/> (canonical URI) asked by <paramref name="service"/>, while it has not expired.</summary>
    public bool TryGet(Uri dp, string csi, string? service, out VerifiedLookup answer)
    {
        ArgumentNullException.ThrowIfNull(dp);
        lock (entriesLock)
        {
            if (entries.TryGetValue((dp.AbsoluteUri, csi, service), out var entry) && entry.ExpiresAt > time.GetUtcNow())
            {
                answer = entry.Answer;
                return true;
            }
        }

        answer = null!;
        return false;
    }

    /// <summary>Keeps the answer of the DP at <paramref name="dp"/> for its <see cref="VerifiedLookup.MaxAge"/>, when it verified, was proven complete and may be kept at all.</summary>
    /// <returns>Whether it was kept.</returns>
    public bool Put(Uri dp, VerifiedLookup answer, string? service)
    {
        ArgumentNullException.ThrowIfNull(dp);
        ArgumentNullException.ThrowIfNull(answer);
        if (answer.Csi is null || answer.MaxAge is not > 0 || answer.Inconsistent || answer.Proof is { IsComplete: false })
        {
            return false;
        }

        lock (entriesLock)
        {
            entries[(dp.AbsoluteUri, answer.Csi.Uri, service)] = new Entry(answer, time.GetUtcNow().AddSeconds(answer.MaxAge.Value));
        }

        return true;
    }

    /// <summary>Writes the unexpired entries to the cache's file (mode 0600); nothing without a path.</summary>
    public void Save()
    {
        if (path is null)
        {
            return;
        }

        List<CachedAnswer> kept;
        lock (entriesLock)
        {
            var now = time.GetUtcNow();
            kept = entries.Where(e => e.Value.ExpiresAt > now).Select(e => new CachedAnswer(
                e.Key.Dp, e.Key.Csi, e.Key.Service, e.Value.Answer.Query, e.Value.Answer.Mappings.Select(m => m.Token).ToList(), e.Value.Answer.ClaimedResult,
                e.Value.Answer.Proof?.Epoch, e.Value.ExpiresAt.ToUnixTimeSeconds())).ToList();
        }

        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!); // the caller's folder: not ours to tighten; the file itself is 0600
        PrivateFile.Write(path, JsonSerializer.Serialize(kept, LookupCacheJson.Default.ListCachedAnswer));
    }

    private void Load(string file, StatementVerifier verifier)
    {
        List<CachedAnswer>? kept;
        try
        {
            kept = JsonSerializer.Deserialize(File.ReadAllText(file), LookupCacheJson.Default.ListCachedAnswer);
        }
        catch (JsonException)
        {
            return;
        }

        var now = time.GetUtcNow();
        foreach (var c in kept ?? [])
        {
            var expires = DateTimeOffset.FromUnixTimeSeconds(c.ExpiresAt);
            var parsed = Identifiers.CsiParser.Parse(c.Csi);
            var verified = c.Statements.Select(s => verifier.VerifyMapping(s)).ToList();
            // An entry whose statements no longer verify, or are about another CSI, is dropped.
            if (c.Dp is null || expires <= now || !parsed.Success || verified.Any(v => !v.IsValid || v.Statement!.Csi.Uri != parsed.Csi!.Uri))
            {
                continue;
            }

            var mappings = verified.Select(v => v.Statement!).ToList();
            var outcome = mappings.Count == 0 ? LookupOutcome.None : mappings.All(m => m.IsOptOut) ? LookupOutcome.OptedOut : LookupOutcome.Found;
            var answer = new VerifiedLookup(c.Query, parsed.Csi, outcome, mappings, [], c.Claimed, null)
            {
                Proof = c.Epoch is { } epoch ? new Transparency.ProofVerdict(Transparency.ProofStatus.Complete, "kept from a verified answer", epoch) : null,
                MaxAge = (long)(expires - now).TotalSeconds,
                QueryingService = c.Service,
            };
            entries[(c.Dp, c.Csi, c.Service)] = new Entry(answer, expires);
        }
    }

    private sealed record Entry(VerifiedLookup Answer, DateTimeOffset ExpiresAt);
}

/// <summary>A kept answer on disk.</summary>
internal sealed record CachedAnswer(string? Dp, string Csi, string? Service, string Query, IReadOnlyList<string> Statements, string Claimed, long? Epoch, long ExpiresAt);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(List<CachedAnswer>))]
internal sealed partial class LookupCacheJson : JsonSerializerContext;

using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Server.Hosting;

namespace Mimi.Discovery.Server.Mappings;

/// <summary>
/// Whole lookup answers, built and serialised once per (lookup, epoch) and served again as the same
/// UTF-8 JSON until the next epoch (docs/architecture.md, "Discovery Provider"). With the transparency log
/// on, an answer is a function of the lookup (its CSIs in order, the querying service, the tree size
/// the sender holds), the epoch, the latest epoch this process knows of, and the clock only through
/// which statements are still current and their <c>maxAge</c>: an entry records until when those are
/// unchanged and is never served after that. Only small lookups are kept (at most <see cref="MaxCsis"/>
/// CSIs: single lookups and small batches repeat, address-book syncs rarely do); their label proofs
/// come from the proof cache either way. Bounded by <see cref="DiscoveryOptions.AnswerCacheBytes"/>,
/// least recently used out.
/// </summary>
internal sealed class AnswerCache : IDisposable
{
    /// <summary>The most CSIs a lookup may ask for its answer to be kept.</summary>
    public const int MaxCsis = 16;

    private readonly MemoryCache? _answers;
    private readonly JsonTypeInfo<LookupResponse> _json;

    // The serialised form of each answer the cache holds, found by the answer itself, so the HTTP and
    // Oblivious HTTP writers need no other handle on the entry; it lives exactly as long as the answer.
    private readonly ConditionalWeakTable<LookupResponse, byte[]> _utf8 = new();
    private long _hits;

    public AnswerCache(IOptions<DiscoveryOptions> options, IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json)
    {
        var bytes = options.Value.AnswerCacheBytes;
        _answers = bytes > 0 ? new MemoryCache(new MemoryCacheOptions { SizeLimit = bytes, CompactionPercentage = 0.25 }) : null;
        // The host's options (the ones the lookup routes write with), so a cached answer's bytes are
        // exactly those of the same answer written fresh.
        _json = (JsonTypeInfo<LookupResponse>)json.Value.SerializerOptions.GetTypeInfo(typeof(LookupResponse));
    }

    /// <summary>Test seam: how many lookups were answered from the cache.</summary>
    internal long Hits => Interlocked.Read(ref _hits);

    /// <summary>The key of a lookup whose answer may be kept, or null (too many CSIs, or the cache is off).</summary>
    public string? KeyOf(LookupRequest request)
    {
        if (_answers is null || request.Csis.Count > MaxCsis)
        {
            return null;
        }

        // Each query as asked (any string: an invalid one is answered too), prefixed with its length, so
        // no two lookups share a key; a service id and a number hold no ':'.
        var key = new System.Text.StringBuilder().Append(request.Service).Append(':').Append(request.KnownTreeSize);
        foreach (var query in request.Csis)
        {
            key.Append(':').Append(query.Length).Append(':').Append(query);
        }

        return key.ToString();
    }

    /// <summary>The answer kept for <paramref name="key"/> at <paramref name="epoch"/>, if it is still exactly what the lookup would build at <paramref name="now"/> (Unix seconds).</summary>
    public LookupResponse? Find(string key, long epoch, long? latestEpoch, long now)
    {
        if (_answers is null || !_answers.TryGetValue(key, out Entry? entry) || entry!.Epoch != epoch || entry.LatestEpoch != latestEpoch || now >= entry.ValidBefore)
        {
            return null;
        }

        Interlocked.Increment(ref _hits);
        return entry.Response;
    }

    /// <summary>
    /// Keeps <paramref name="response"/>, built at <paramref name="epoch"/>, for lookups with
    /// <paramref name="key"/> until <paramref name="validBefore"/> (Unix seconds, exclusive).
    /// </summary>
    public void Add(string key, LookupResponse response, long epoch, long validBefore)
    {
        if (_answers is null)
        {
            return;
        }

        var utf8 = JsonSerializer.SerializeToUtf8Bytes(response, _json);
        _utf8.AddOrUpdate(response, utf8);
        // The bytes, the key, and the answer's objects: its label proofs are the proof cache's too, but
        // they stay as long as the answer does, so they count here as well.
        var size = utf8.Length + (2L * key.Length) + 512 + response.Results.Sum(r => r.Labels?.Sum(Transparency.TransparencyLog.EstimatedSize) ?? 0);
        _answers.Set(key, new Entry(epoch, response.LatestEpoch, validBefore, response), new MemoryCacheEntryOptions { Size = size });
    }

    /// <summary>The answer as UTF-8 JSON: the bytes kept with it when it came from this cache, else serialised now.</summary>
    public byte[] Utf8(LookupResponse response) => KeptUtf8(response) ?? JsonSerializer.SerializeToUtf8Bytes(response, _json);

    /// <summary>The kept UTF-8 JSON of an answer from this cache, or null for any other answer.</summary>
    public byte[]? KeptUtf8(LookupResponse response) => _utf8.TryGetValue(response, out var utf8) ? utf8 : null;

    public void Dispose() => _answers?.Dispose();

    private sealed record Entry(long Epoch, long? LatestEpoch, long ValidBefore, LookupResponse Response);
}

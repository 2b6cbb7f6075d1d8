using System.Collections.Concurrent;
using System.Security.Cryptography.X509Certificates;
using Mimi.Discovery.Credentials;

namespace Mimi.Discovery.Verification;

/// <summary>
/// Parsed credentials keyed by their exact x5c text, and the time window in which their chain is
/// known to reach a trust anchor. A chain that built once is valid at every instant inside the
/// intersection of its certificates' validity (no revocation is checked), so the window is exact.
/// Bounded: when full it starts over, which costs re-parsing, never correctness.
/// </summary>
internal sealed class CredentialCache(int capacity)
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    public bool TryGet(string key, out Entry entry)
    {
        entry = null!;
        return capacity > 0 && _entries.TryGetValue(key, out entry!);
    }

    public Entry Add(string key, Credential credential, X509Certificate2[] intermediates)
    {
        var entry = new Entry(credential, intermediates);
        if (capacity > 0)
        {
            if (_entries.Count >= capacity)
            {
                _entries.Clear();
            }

            _entries[key] = entry;
        }

        return entry;
    }

    internal sealed class Entry(Credential credential, X509Certificate2[] intermediates)
    {
        private TrustWindow? _trusted;

        public Credential Credential { get; } = credential;

        public X509Certificate2[] Intermediates { get; } = intermediates;

        public bool IsTrustedAt(DateTimeOffset now) => Volatile.Read(ref _trusted) is { } w && now >= w.From && now <= w.Until;

        public void MarkTrusted(IEnumerable<X509Certificate2> chain)
        {
            var certificates = chain.ToList();
            var from = certificates.Max(c => c.NotBefore.ToUniversalTime());
            var until = certificates.Min(c => c.NotAfter.ToUniversalTime());
            Volatile.Write(ref _trusted, new TrustWindow(new DateTimeOffset(from, TimeSpan.Zero), new DateTimeOffset(until, TimeSpan.Zero)));
        }

        private sealed record TrustWindow(DateTimeOffset From, DateTimeOffset Until);
    }
}

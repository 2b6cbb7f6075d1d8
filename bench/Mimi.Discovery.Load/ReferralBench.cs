using System.Diagnostics;
using System.Globalization;
using Mimi.Discovery.Client;
using Mimi.Discovery.Transparency;
using Mimi.Discovery.Verification;

/// <summary>
/// A referred lookup against a direct one, side by side in one run (bench/referral.sh): single-CSI
/// lookups of seeded numbers, each verified by the sender (signatures, chains, completeness proofs),
///   direct   — asked of the operator's DP, trusting its CA and log keys;
///   referred — asked of a root that delegated +336 to that DP (<see cref="ReferralFollower"/>: the
///              root's referral verified against its log, then the operator asked).
/// Prints lookups/s, p50 and p99 per mode and the ratio.
/// </summary>
internal static class ReferralBench
{
    public static async Task<int> RunAsync(Options o)
    {
        var count = o.Long("count");
        var seconds = o.Long("seconds", 20);
        var concurrency = (int)o.Long("concurrency", 8);
        var root = await EndpointAsync(new Uri(o.Get("root")), o.Get("root-ca"));
        var dp = await EndpointAsync(new Uri(o.Get("dp")), o.Get("dp-ca"));
        var follower = new ReferralFollower(root);

        async Task<bool> Direct(string csi) =>
            (await dp.Client.LookupAsync([csi], dp.Verifier, null, dp.Transparency)) is [{ Outcome: LookupOutcome.Found, Proof.IsComplete: true }];

        async Task<bool> Referred(string csi) =>
            (await follower.LookupAsync([csi])) is [{ Failure: null, Chain.Count: 2, Answer: { Outcome: LookupOutcome.Found, Proof.IsComplete: true } }];

        var results = new List<(string Mode, double Rps, double P50, double P99, long Wrong)>();
        foreach (var (mode, lookup) in new (string, Func<string, Task<bool>>)[] { ("direct", Direct), ("referred", Referred) })
        {
            await MeasureAsync(lookup, count, 3, concurrency); // warm-up
            var (rps, p50, p99, wrong) = await MeasureAsync(lookup, count, seconds, concurrency);
            results.Add((mode, rps, p50, p99, wrong));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{mode}: lookups_per_s={rps:F0} p50_ms={p50:F2} p99_ms={p99:F2} wrong={wrong}"));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"ratio referred/direct: lookups_per_s={results[1].Rps / results[0].Rps:F2} p50={results[1].P50 / results[0].P50:F2} p99={results[1].P99 / results[0].P99:F2}"));
        return results.All(r => r.Wrong == 0) ? 0 : 1;
    }

    private static async Task<(double Rps, double P50, double P99, long Wrong)> MeasureAsync(Func<string, Task<bool>> lookup, long count, long seconds, int concurrency)
    {
        var latencies = new List<double>[concurrency];
        long wrong = 0;
        var start = Stopwatch.GetTimestamp();
        var until = start + (Stopwatch.Frequency * seconds);
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async w =>
        {
            var random = new Random(w);
            var mine = latencies[w] = [];
            while (Stopwatch.GetTimestamp() < until)
            {
                var csi = "+336" + random.NextInt64(count).ToString("D8", CultureInfo.InvariantCulture);
                var t0 = Stopwatch.GetTimestamp();
                if (!await lookup(csi))
                {
                    Interlocked.Increment(ref wrong);
                }

                mine.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
            }
        }));
        var elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;
        var all = latencies.SelectMany(l => l).Order().ToArray();
        return (all.Length / elapsed, all[all.Length / 2], all[Math.Min(all.Length - 1, (int)(all.Length * 0.99))], wrong);
    }

    private static async Task<ProviderEndpoint> EndpointAsync(Uri url, string ca)
    {
        var handler = TlsTrust.CreateHandler(TlsTrust.LoadRoots(ca));
        handler.MaxConnectionsPerServer = 16;
        var client = new DiscoveryClient(new HttpClient(handler) { BaseAddress = url });
        var metadata = await client.GetMetadataAsync();
        return new ProviderEndpoint(url, client, new StatementVerifier(TrustAnchors.FromPem(string.Join('\n', metadata.CredentialCas))),
            new TransparencyCheck(TransparencyKeyset.FromWire(metadata.Transparency!)!, new TreeHeadMemory()));
    }
}

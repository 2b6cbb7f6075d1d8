using System.Diagnostics;
using System.Globalization;
using Mimi.Discovery.Client;
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Transparency;
using Mimi.Discovery.Verification;

/// <summary>
/// An address book of N contacts resolved privately (relay, tokens, transparency proofs checked) in
/// one of two ways, from a separate process against a seeded DP (bench/address-book.sh):
///   sync   — <see cref="AddressBookSync"/>: batches of up to 1,000 with their tokens in the body, then
///            the same book again (answered from the cache);
///   single — one lookup per contact, each with its own token, 4 in flight (the sync's concurrency).
/// Each phase prints the DP process's CPU time (from /proc), wall time, requests, bytes up and down
/// (encapsulated bodies, as the relay carries them) and tokens spent. Tokens are obtained before
/// measuring: issuance is not part of a lookup's cost.
/// </summary>
internal static class AddressBookBench
{
    /// <summary>An address book's mix, by CSI number: of every 20, 6 found, 1 opted out, 13 none.</summary>
    public static LookupOutcome Expected(long i) => (i % 20) switch
    {
        < 6 => LookupOutcome.Found,
        6 => LookupOutcome.OptedOut,
        _ => LookupOutcome.None,
    };

    public static async Task<int> RunAsync(Options o)
    {
        var contacts = (int)o.Long("contacts", 1000);
        var mode = o.Get("mode");
        var dpPid = (int)o.Long("dp-pid");
        var dp = new Uri(o.Get("dp"));
        using var direct = new HttpClient(TlsTrust.CreateHandler(TlsTrust.LoadRoots(o.Get("ca")))) { BaseAddress = dp };
        var counter = new CountingHandler(TlsTrust.CreateHandler(TlsTrust.LoadRoots(o.Get("relay-ca"))));
        var oblivious = new ObliviousHttpHandler(new Uri(o.Get("relay")), await ObliviousHttpHandler.FetchKeyAsync(direct), counter);
        var issuer = new TokenClient(direct, o.Get("token-account"));
        var service = (await issuer.GetBalanceAsync()).Service; // lookups paid with its tokens are made on its behalf
        using var wallet = new TokenWallet(issuer, options: new TokenWalletOptions { BatchSize = 256, LowWater = 0 });
        await wallet.RefillAsync((contacts + 255) / 256);
        var client = new DiscoveryClient(new HttpClient(new PrivateTokenHandler(wallet, oblivious)) { BaseAddress = dp, Timeout = TimeSpan.FromMinutes(5) });

        var metadata = await new DiscoveryClient(direct).GetMetadataAsync();
        var verifier = new StatementVerifier(TrustAnchors.FromPem(string.Join('\n', metadata.CredentialCas)));
        var check = new TransparencyCheck(TransparencyKeyset.FromWire(metadata.Transparency!)!, new TreeHeadMemory());
        var book = Enumerable.Range(0, contacts).Select(i => CsiParser.ParseOrThrow("+336" + i.ToString("D8", CultureInfo.InvariantCulture)).Uri).ToList();

        // Warm up connections, JIT and the DP's caches on numbers outside the book (not measured).
        await client.LookupAsync(Enumerable.Range(0, 20).Select(i => "+3369" + i.ToString("D7", CultureInfo.InvariantCulture)).ToList(), verifier, service, check);

        async Task<int> MeasureAsync(string phase, Func<Task<IReadOnlyList<VerifiedLookup>>> work)
        {
            int Spent() => wallet.Obtained.Tokens - wallet.Available;
            var (cpu0, up0, down0, requests0, spent0) = (CpuMilliseconds(dpPid), counter.Up, counter.Down, counter.Requests, Spent());
            var clock = Stopwatch.StartNew();
            var answers = await work();
            var wall = clock.Elapsed.TotalMilliseconds;
            var cpu = CpuMilliseconds(dpPid) - cpu0;
            var wrong = answers.Count(a => a.Proof is not { IsComplete: true } || a.Inconsistent
                                          || a.Outcome != Expected(long.Parse(a.Csi!.Uri[8..], CultureInfo.InvariantCulture)));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{phase} contacts={contacts} dp_cpu_ms={cpu:F0} wall_ms={wall:F0} requests={counter.Requests - requests0} up_kib={(counter.Up - up0) / 1024.0:F1} down_kib={(counter.Down - down0) / 1024.0:F1} tokens={Spent() - spent0} wrong={wrong}"));
            return wrong;
        }

        var wrong = 0;
        if (mode == "sync")
        {
            var sync = new AddressBookSync(client, verifier, check, new LookupCache(), wallet);
            wrong += await MeasureAsync("sync", async () => (await sync.SyncAsync(book, service)).Entries.Select(e => e.Answer).ToList());
            wrong += await MeasureAsync("sync-again", async () => (await sync.SyncAsync(book, service)).Entries.Select(e => e.Answer).ToList());
        }
        else
        {
            wrong += await MeasureAsync("single", async () =>
            {
                var answers = new VerifiedLookup[book.Count];
                await Parallel.ForAsync(0, book.Count, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, ct) =>
                    answers[i] = (await client.LookupAsync([book[i]], verifier, service, check, ct))[0]);
                return answers;
            });
        }

        return wrong == 0 ? 0 : 1;
    }

    /// <summary>User plus system CPU time of a process so far (/proc/PID/stat fields 14 and 15, in clock ticks of 10 ms).</summary>
    private static double CpuMilliseconds(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) * 10.0;
    }

    /// <summary>Counts the encapsulated bodies sent to and received from the relay.</summary>
    private sealed class CountingHandler(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        private long up;
        private long down;
        private long requests;

        public long Up => Interlocked.Read(ref up);

        public long Down => Interlocked.Read(ref down);

        public long Requests => Interlocked.Read(ref requests);

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref requests);
            Interlocked.Add(ref up, request.Content?.Headers.ContentLength ?? 0);
            var response = await base.SendAsync(request, cancellationToken);
            await response.Content.LoadIntoBufferAsync(cancellationToken);
            Interlocked.Add(ref down, response.Content.Headers.ContentLength ?? 0);
            return response;
        }
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Security.Cryptography;
using Mimi.Discovery.Client;
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Server.Hosting;
using Mimi.Discovery.Server.Storage;
using Mimi.Discovery.Statements;
using Spectre.Console;

// The load benchmark, in two roles that run as separate processes:
//   seed  --data DIR [--database PG] --from A --to B [--mix book]   real signed statements for CSIs A..B-1,
//         bulk-loaded; with --mix book, an address book's mix: of every 20, 6 found, 1 opted out, 13 none
//   drive --dp URL[,URL…] --ca PEM --count N [--seconds S] [--concurrency C] [--rate R] [--warmup W]   lookups over HTTPS keep-alive
//         (W: seconds of unrecorded lookups first — connections, JIT tiering, caches; default 3)
//         (several DPs: worker w asks the w-th modulo their number, e.g. DP processes on a primary and a replica)
//         (R: at most R lookups a second in all, for soaks; flat out when absent)
//         [--relay URL --relay-ca PEM]   sealed with Oblivious HTTP and sent through a relay
//         [--token-account KEY --tokens T]   paying one Privacy Pass token per lookup, T fetched before measuring
//         [--server-pid PID] [--relay-pid PID]   also reports server_cpu_us / relay_cpu_us: that process's CPU time
//         per measured request, in microseconds (it moves far less than requests/s with the rest of a shared machine)
//   writes / verify   the crash campaign's load and its check (see CrashCampaign.cs, bench/crash.sh)
//   book  an address-book sync against single private lookups (see AddressBookBench.cs, bench/address-book.sh)
//   referrals  lookups referred by a root against direct ones (see ReferralBench.cs, bench/referral.sh)
//   floor --data DIR --urls URL --body FILE   the HTTPS floor: the DP's Kestrel/TLS set-up answering one precomputed body (HttpsFloor.cs)
// bench/load.sh runs the whole matrix and prints the table in docs/benchmarks.md.
return args.FirstOrDefault() switch
{
    "seed" => await SeedAsync(Options.Parse(args[1..])),
    "drive" => await DriveAsync(Options.Parse(args[1..])),
    "dns-drive" => await DnsDriveAsync(Options.Parse(args[1..])),
    "dns-libraries" => await DnsLibrariesAsync(Options.Parse(args[1..])),
    "writes" => await CrashCampaign.WritesAsync(Options.Parse(args[1..])),
    "verify" => await CrashCampaign.VerifyAsync(Options.Parse(args[1..])),
    "book" => await AddressBookBench.RunAsync(Options.Parse(args[1..])),
    "referrals" => await ReferralBench.RunAsync(Options.Parse(args[1..])),
    "floor" => await HttpsFloor.RunAsync(Options.Parse(args[1..])),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: seed --data DIR [--database CONN] --from A --to B | drive --dp URL --ca PEM --count N [--seconds S] [--concurrency C] | dns-drive --server IP:PORT --count N [--seconds S] [--concurrency C]");
    return 2;
}

// CSI number i maps to a valid French mobile number, +33 6 followed by 8 digits.
static Csi CsiFor(long i) => CsiParser.ParseOrThrow("+336" + i.ToString("D8", CultureInfo.InvariantCulture));

static async Task<int> SeedAsync(Options o)
{
    var folder = DataFolder.Open(o.Get("data"), "Mimi Discovery", TimeProvider.System);
    var store = StoreFactory.Create(o.Find("database"), folder.Path);
    await store.MigrateAsync(default);
    long from = o.Long("from"), to = o.Long("to");
    var book = o.Find("mix") == "book";
    const int Batch = 10_000;

    // One recipient key signs every statement (each CSI still gets its own credential): key
    // generation is not what a DP's lookup path costs, and it would dominate seeding time.
    using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    var entries = new[] { new MspEntry("wire") { Account = "@user", Priority = 10, Tags = ["default"] }, new MspEntry("matrix.org") { Account = "@user:matrix.example", Priority = 20 } };
    await AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
        .StartAsync(async context =>
        {
            var task = context.AddTask($"seeding {from:N0}..{to:N0}", maxValue: to - from);
            for (var start = from; start < to; start += Batch)
            {
                var end = Math.Min(start + Batch, to);
                var rows = new StoredMapping?[end - start];
                Parallel.For(start, end, i =>
                {
                    var outcome = book ? AddressBookBench.Expected(i) : LookupOutcome.Found;
                    if (outcome == LookupOutcome.None)
                    {
                        return;
                    }

                    var csi = CsiFor(i);
                    using var credential = folder.Authority.IssueCredential(csi, key);
                    var signer = new StatementSigner(key, credential);
                    var optedOut = outcome == LookupOutcome.OptedOut;
                    var statement = signer.SignMapping(new MappingDraft(csi, 1, optedOut ? [] : entries));
                    rows[i - start] = new StoredMapping
                    {
                        Csi = csi.Uri,
                        MappingId = signer.MappingIdFor(Audience.Any).ToString(),
                        KeyThumbprint = signer.Credential.KeyThumbprint,
                        Audience = "any",
                        Services = optedOut ? "" : "wire matrix.org",
                        Version = 1,
                        IssuedAt = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
                        ExpiresAt = signer.Credential.NotAfter.ToUnixTimeSeconds(),
                        CredentialNotBefore = signer.Credential.NotBefore.ToUnixTimeSeconds(),
                        OptOut = optedOut,
                        Statement = statement,
                    };
                });
                await store.BulkInsertAsync(rows.OfType<StoredMapping>().ToList(), default);
                task.Increment(end - start);
            }
        });
    (store as IDisposable)?.Dispose();
    return 0;
}

static async Task<int> DriveAsync(Options o)
{
    var count = o.Long("count");
    var seconds = o.Long("seconds", 20);
    var concurrency = (int)o.Long("concurrency", 16);
    var rate = o.Long("rate", 0);
    var handler = TlsTrust.CreateHandler(TlsTrust.LoadRoots(o.Get("ca")));
    handler.MaxConnectionsPerServer = concurrency;
    var dps = o.Get("dp").Split(',').Select(dp => new Uri(dp)).ToList();
    using var direct = new HttpClient(handler) { BaseAddress = dps[0] };
    HttpMessageHandler stack = TlsTrust.CreateHandler(TlsTrust.LoadRoots(o.Get("ca")));
    ((SocketsHttpHandler)stack).MaxConnectionsPerServer = concurrency;
    if (o.Find("relay") is { } relay)
    {
        var toRelay = TlsTrust.CreateHandler(TlsTrust.LoadRoots(o.Get("relay-ca")));
        toRelay.MaxConnectionsPerServer = concurrency;
        stack = new ObliviousHttpHandler(new Uri(relay), await ObliviousHttpHandler.FetchKeyAsync(direct), toRelay);
    }

    // Issuance is not part of a lookup's cost: tokens are obtained before measuring (a wallet that
    // never refills on its own), and the run ends early if they run out.
    const int Batch = 256;
    using var tokens = o.Find("token-account") is { } account
        ? new TokenWallet(new TokenClient(direct, account), options: new TokenWalletOptions { BatchSize = Batch, LowWater = 0 })
        : null;
    if (tokens is not null)
    {
        await tokens.RefillAsync(((int)o.Long("tokens", 3000) + Batch - 1) / Batch);
        stack = new PrivateTokenHandler(tokens, stack);
    }

    if (dps.Count > 1 && stack is not SocketsHttpHandler)
    {
        Console.Error.WriteLine("drive: several --dp URLs take neither --relay nor --token-account");
        return 2;
    }

    // One client per DP; the first on the stack built above.
    var clients = dps.Select((dp, i) =>
    {
        if (i == 0)
        {
            return new HttpClient(stack) { BaseAddress = dp };
        }

        var more = TlsTrust.CreateHandler(TlsTrust.LoadRoots(o.Get("ca")));
        more.MaxConnectionsPerServer = concurrency;
        return new HttpClient(more) { BaseAddress = dp };
    }).ToList();

    // Warm up: connections, JIT, database caches.
    var warmEnd = Stopwatch.GetTimestamp() + Stopwatch.Frequency * o.Long("warmup", 3);
    var latencies = new List<double>[concurrency];
    var errors = 0L;
    var notFound = 0L;
    var peerProblems = 0L; // a federating DP's peers that did not answer (bench/federation.sh)
    var measureStart = 0L;
    var paceStart = Stopwatch.GetTimestamp();
    var sent = 0L;
    async Task WorkerAsync(int worker, long until, bool record)
    {
        var random = new Random(worker * 7919 + (record ? 1 : 0));
        var mine = latencies[worker] ??= [];
        while (Stopwatch.GetTimestamp() < until && tokens is not { Available: 0 })
        {
            if (rate > 0)
            {
                // Paced: request n leaves at n/rate seconds after the start, whichever worker sends it.
                var due = paceStart + (Interlocked.Increment(ref sent) * Stopwatch.Frequency / rate);
                var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait);
                }
            }

            var csi = "+336" + random.NextInt64(count).ToString("D8", CultureInfo.InvariantCulture);
            var t0 = Stopwatch.GetTimestamp();
            try
            {
                using var response = await clients[worker % clients.Count].PostAsJsonAsync("v1/lookup", new LookupRequest([csi]), ProtocolJson.Default.LookupRequest);
                var body = await response.Content.ReadFromJsonAsync(ProtocolJson.Default.LookupResponse);
                if (!response.IsSuccessStatusCode)
                {
                    Interlocked.Increment(ref errors);
                }
                else if (record && body!.Results[0].Result != LookupResultKinds.Found)
                {
                    Interlocked.Increment(ref notFound);
                }
                else if (record && body!.Peers?.Any(p => p.Status != PeerStatuses.Answered) == true)
                {
                    Interlocked.Increment(ref peerProblems);
                }
            }
            catch (HttpRequestException)
            {
                Interlocked.Increment(ref errors);
            }

            if (record)
            {
                mine.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
            }
        }
    }

    await Task.WhenAll(Enumerable.Range(0, concurrency).Select(w => WorkerAsync(w, warmEnd, record: false)));
    foreach (var list in latencies)
    {
        list.Clear();
    }

    errors = 0;
    // The CPU time of the processes watched, over the measured phase only (not issuance, not warm-up).
    var watched = new[] { ("server", o.Find("server-pid")), ("relay", o.Find("relay-pid")) }
        .Where(w => w.Item2 is not null)
        .Select(w => (Name: w.Item1, Process: Process.GetProcessById(int.Parse(w.Item2!, CultureInfo.InvariantCulture))))
        .ToList();
    var cpuBefore = watched.Select(w => { w.Process.Refresh(); return w.Process.TotalProcessorTime; }).ToList();
    measureStart = Stopwatch.GetTimestamp();
    await Task.WhenAll(Enumerable.Range(0, concurrency).Select(w => WorkerAsync(w, measureStart + Stopwatch.Frequency * seconds, record: true)));
    var elapsed = Stopwatch.GetElapsedTime(measureStart).TotalSeconds;
    var all = latencies.SelectMany(l => l).Order().ToArray();
    double Percentile(double p) => all[Math.Min(all.Length - 1, (int)(p * all.Length))];
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"requests={all.Length} seconds={elapsed:F1} rps={all.Length / elapsed:F0} p50_ms={Percentile(0.50):F2} p99_ms={Percentile(0.99):F2} max_ms={all[^1]:F0} errors={errors} not_found={notFound}")
        + (peerProblems > 0 ? string.Create(CultureInfo.InvariantCulture, $" peer_problems={peerProblems}") : "")
        + string.Concat(watched.Select((w, i) =>
        {
            w.Process.Refresh();
            var cpu = w.Process.TotalProcessorTime - cpuBefore[i];
            w.Process.Dispose();
            return string.Create(CultureInfo.InvariantCulture, $" {w.Name}_cpu_us={cpu.TotalMicroseconds / Math.Max(1, all.Length):F0}");
        })));
    clients.ForEach(c => c.Dispose());
    return errors == 0 && notFound == 0 && peerProblems == 0 ? 0 : 1;
}

// The SDK's resolver against an authoritative server: one resolution = the TXT and the
// private-type query of a phone number's ENUM name, both parsed.
static async Task<int> DnsDriveAsync(Options o)
{
    var count = o.Long("count");
    var seconds = o.Long("seconds", 20);
    var concurrency = (int)o.Long("concurrency", 16);
    using var resolver = new Mimi.Discovery.Dns.DnsDiscoveryResolver(System.Net.IPEndPoint.Parse(o.Get("server")));
    var found = 0L;
    var missed = 0L;
    var start = Stopwatch.GetTimestamp();
    var until = start + Stopwatch.Frequency * seconds;
    await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async worker =>
    {
        var random = new Random(worker);
        while (Stopwatch.GetTimestamp() < until)
        {
            var result = await resolver.ResolveAsync(CsiFor(random.NextInt64(count)));
            Interlocked.Increment(ref result.Outcome == Mimi.Discovery.Dns.DnsOutcome.Found ? ref found : ref missed);
        }
    }));
    var elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"resolutions={found + missed} seconds={elapsed:F1} per_second={(found + missed) / elapsed:F0} not_found={missed}"));
    return missed == 0 ? 0 : 1;
}

// The two DNS libraries served here, side by side: plain TXT queries for random ENUM names.
static async Task<int> DnsLibrariesAsync(Options o)
{
    var count = o.Long("count");
    var seconds = o.Long("seconds", 10);
    var concurrency = (int)o.Long("concurrency", 16);
    var server = System.Net.IPEndPoint.Parse(o.Get("server"));
    static string Name(long i) => "_mimi." + Mimi.Discovery.Dns.DiscoveryNames.EnumName(CsiFor(i));

    async Task<double> RunAsync(Func<string, Task<int>> query)
    {
        var done = 0L;
        var bad = 0L;
        var until = Stopwatch.GetTimestamp() + Stopwatch.Frequency * seconds;
        var start = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async w =>
        {
            var random = new Random(w);
            while (Stopwatch.GetTimestamp() < until)
            {
                var answers = await query(Name(random.NextInt64(count)));
                Interlocked.Increment(ref done);
                if (answers != 1)
                {
                    Interlocked.Increment(ref bad);
                }
            }
        }));
        if (bad > 0)
        {
            throw new InvalidOperationException($"{bad} queries did not return exactly one TXT record");
        }

        return done / Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    using var arsoft = new ARSoft.Tools.Net.Dns.DnsClient([server.Address], [new ARSoft.Tools.Net.Dns.UdpClientTransport(server.Port), new ARSoft.Tools.Net.Dns.TcpClientTransport(server.Port)], false, 3000);
    var dnsClient = new DnsClient.LookupClient(new DnsClient.LookupClientOptions(server) { UseCache = false, Timeout = TimeSpan.FromSeconds(3) });
    for (var round = 0; round < 2; round++)
    {
        var a = await RunAsync(async name => (await arsoft.ResolveAsync(ARSoft.Tools.Net.DomainName.Parse(name), ARSoft.Tools.Net.Dns.RecordType.Txt))?.AnswerRecords.Count ?? 0);
        var d = await RunAsync(async name => (await dnsClient.QueryAsync(name, DnsClient.QueryType.TXT)).Answers.Count);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"round={round + 1} arsoft_qps={a:F0} dnsclient_qps={d:F0} ratio_arsoft_to_dnsclient={a / d:F2}"));
    }

    return 0;
}

internal sealed class Options(Dictionary<string, string> values)
{
    public static Options Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            values[args[i].TrimStart('-')] = args[i + 1];
        }

        return new Options(values);
    }

    public string? Find(string name) => values.GetValueOrDefault(name);

    public string Get(string name) => Find(name) ?? throw new ArgumentException($"--{name} is required");

    public long Long(string name, long? fallback = null) =>
        Find(name) is { } v ? long.Parse(v, CultureInfo.InvariantCulture) : fallback ?? throw new ArgumentException($"--{name} is required");
}

using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Mimi.Discovery.Client;
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Server.Hosting;
using Mimi.Discovery.Statements;
using Mimi.Discovery.Transparency;
using Mimi.Discovery.Verification;

/// <summary>
/// The crash campaign's two roles (bench/crash.sh kills DP processes with SIGKILL between them):
///   writes — mixed write load against every DP process (publishes, removals, proof starts, token
///            issuance), moving to another process when one dies, and appending every acknowledged
///            write to a journal (one JSON line each, flushed before the next request);
///   verify — after the last restart and a drain: every acknowledged write is in the final state, every
///            receipt's epoch was honoured, the log audits clean from epoch 1, and no counted limit or
///            quota was passed.
/// </summary>
internal static class CrashCampaign
{
    private const int PublishesPerRecipient = 5;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>One acknowledged write: what the DP said 200 to.</summary>
    internal sealed record Acknowledged(string Kind, string? Csi, string? MappingId, long Version, long? Epoch, long At);

    public static async Task<int> WritesAsync(Options o)
    {
        var dps = o.Get("dp").Split(',').Select(u => new Uri(u)).ToArray();
        var folder = DataFolder.Open(o.Get("data"), "Mimi Discovery", TimeProvider.System);
        var stopFile = o.Get("stop");
        var sendsFor = o.Get("proof-csis").Split(',');
        // A pause after each publish and removal, for soaks that must not grow the directory without bound.
        var pause = TimeSpan.FromMilliseconds(o.Long("pause-ms", 0));
        using var journal = new StreamWriter(o.Get("journal"), append: true) { AutoFlush = true };
        var journalLock = new Lock();
        void Record(Acknowledged a)
        {
            lock (journalLock)
            {
                journal.WriteLine(JsonSerializer.Serialize(a, Json));
            }
        }

        var clients = dps.Select(dp =>
        {
            var handler = TlsTrust.CreateHandler(TlsTrust.LoadRoots(o.Get("ca")));
            handler.ConnectTimeout = TimeSpan.FromSeconds(2);
            return new DiscoveryClient(new HttpClient(handler) { BaseAddress = dp, Timeout = TimeSpan.FromSeconds(10) });
        }).ToArray();

        // Tries the DPs in turn from a random one; a dead process (connection refused, reset, timeout) is skipped.
        async Task<T?> AnyDpAsync<T>(Func<DiscoveryClient, Task<T>> call)
            where T : class
        {
            var first = Random.Shared.Next(clients.Length);
            for (var i = 0; i < clients.Length; i++)
            {
                try
                {
                    return await call(clients[(first + i) % clients.Length]);
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException
                                          || e is DiscoveryException { Code: "transport-error" } or DiscoveryException { Status: >= 500 })
                {
                    // Not acknowledged: the process died mid-request, or is starting, or its database is away.
                }
            }

            return null;
        }

        var next = 0L;
        var stats = new ConcurrentDictionary<string, long>();
        bool Running() => !File.Exists(stopFile);

        async Task PublishLoopAsync(int worker)
        {
            while (Running())
            {
                // A fresh recipient: a key, a credential from the DP's CA, five versions, then a removal.
                var csi = CsiParser.ParseOrThrow("+3367" + (worker * 1_000_000 + Interlocked.Increment(ref next)).ToString("D7", CultureInfo.InvariantCulture));
                using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
                using var credential = folder.Authority.IssueCredential(csi, key);
                var signer = new StatementSigner(key, credential);
                var version = 0L;
                for (var acked = 0; acked < PublishesPerRecipient && Running();)
                {
                    var statement = signer.SignMapping(new MappingDraft(csi, ++version, [new MspEntry("wire") { Account = "@v" + version }]));
                    PublishReceipt? receipt;
                    try
                    {
                        receipt = await AnyDpAsync(c => c.PublishAsync(statement));
                    }
                    catch (DiscoveryException e) when (e.Code == "version-not-newer")
                    {
                        // A try on a process that then died stored it; the answer was lost: unacknowledged.
                        receipt = null;
                    }

                    stats.AddOrUpdate(receipt is null ? "publish-unacknowledged" : "publish", 1, (_, n) => n + 1);
                    if (pause > TimeSpan.Zero)
                    {
                        await Task.Delay(pause);
                    }

                    if (receipt is not null)
                    {
                        Record(new("publish", csi.Uri, receipt.MappingId, receipt.Version, receipt.Epoch, Now()));
                        acked++;
                    }
                }

                var removal = signer.SignRemoval(new RemovalDraft(csi) { Version = version });
                while (Running())
                {
                    try
                    {
                        var removed = await AnyDpAsync(c => c.RemoveAsync(removal));
                        if (removed is not null)
                        {
                            Record(new("removal", csi.Uri, signer.MappingIdFor(Audience.Any).ToString(), version, removed.Epoch, Now()));
                            stats.AddOrUpdate("removal", 1, (_, n) => n + 1);
                            break;
                        }
                    }
                    catch (DiscoveryException e) when (e.Code == "nothing-to-remove")
                    {
                        // An earlier attempt was stored but its answer lost in a crash: removed, unacknowledged.
                        Record(new("removal", csi.Uri, signer.MappingIdFor(Audience.Any).ToString(), version, null, Now()));
                        stats.AddOrUpdate("removal-unacknowledged", 1, (_, n) => n + 1);
                        break;
                    }
                }
            }
        }

        async Task ProofLoopAsync()
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            while (Running())
            {
                var csi = CsiParser.ParseOrThrow(sendsFor[Random.Shared.Next(sendsFor.Length)]);
                try
                {
                    if (await AnyDpAsync(c => c.StartProofAsync(csi, key)) is not null)
                    {
                        Record(new("proof", csi.Uri, null, 0, null, Now()));
                        stats.AddOrUpdate("proof", 1, (_, n) => n + 1);
                    }
                }
                catch (DiscoveryException e) when (e.Code == "rate-limited")
                {
                    stats.AddOrUpdate("proof-limited", 1, (_, n) => n + 1);
                    await Task.Delay(100);
                }
            }
        }

        async Task TokenLoopAsync()
        {
            while (Running())
            {
                var dp = clients[Random.Shared.Next(clients.Length)];
                var tokens = new TokenClient(dp.Http, o.Get("token-account"));
                try
                {
                    await tokens.IssueAsync(1);
                    Record(new("token", null, null, 0, null, Now()));
                    stats.AddOrUpdate("token", 1, (_, n) => n + 1);
                }
                catch (DiscoveryException e) when (e.Code == "quota-exhausted")
                {
                    stats.AddOrUpdate("token-refused", 1, (_, n) => n + 1);
                    await Task.Delay(100);
                }
                catch (Exception e) when (e is DiscoveryException or HttpRequestException or TaskCanceledException or IOException)
                {
                    // Not acknowledged.
                }
            }
        }

        await Task.WhenAll(PublishLoopAsync(1), PublishLoopAsync(2), ProofLoopAsync(), TokenLoopAsync());
        Console.WriteLine(string.Join(' ', stats.OrderBy(s => s.Key).Select(s => $"{s.Key}={s.Value}")));
        return 0;
    }

    public static async Task<int> VerifyAsync(Options o)
    {
        var handler = TlsTrust.CreateHandler(TlsTrust.LoadRoots(o.Get("ca")));
        var client = new DiscoveryClient(new HttpClient(handler) { BaseAddress = new Uri(o.Get("dp")) });
        var journal = File.ReadAllLines(o.Get("journal")).Select(l => JsonSerializer.Deserialize<Acknowledged>(l, Json)!).ToList();
        var metadata = await client.GetMetadataAsync();
        using var keys = TransparencyKeyset.FromWire(metadata.Transparency!)!;
        var verifier = new StatementVerifier(TrustAnchors.FromPem(string.Join('\n', metadata.CredentialCas)));
        var problems = new List<string>();

        // Every acknowledged publish and removal: its receipt honoured (the latest change of a removed
        // mapping is its removal; earlier versions were erased with it), and the final state has it.
        var byCsi = journal.Where(a => a.Kind is "publish" or "removal").GroupBy(a => a.Csi!).ToList();
        var pendingFor = TimeSpan.FromSeconds(o.Long("wait-seconds", 60));
        var deadline = DateTime.UtcNow + pendingFor;
        var verdicts = new List<ReceiptVerdict>();
        while (true)
        {
            verdicts.Clear();
            foreach (var csi in byCsi)
            {
                var history = await client.GetHistoryAsync(CsiParser.ParseOrThrow(csi.Key), Labels.AnyScope);
                var head = ProofWire.Head(history.Head)!;
                var removal = csi.FirstOrDefault(a => a.Kind == "removal");
                var check = removal is not null ? [removal] : csi.ToList();
                foreach (var a in check.Where(a => a.Epoch is not null))
                {
                    verdicts.Add(LabelMonitor.CheckAcknowledged(history, head, new AcknowledgedChange(a.MappingId!, a.Version, a.Epoch!.Value, [Labels.AnyScope], a.Kind == "removal"), verifier));
                }
            }

            if (verdicts.All(v => v.Status != ReceiptStatus.NotYetDue) || DateTime.UtcNow > deadline)
            {
                break;
            }

            await Task.Delay(1000);
        }

        problems.AddRange(verdicts.Where(v => v.Status != ReceiptStatus.Honoured).Select(v => $"receipt {v.Change.MappingId} v{v.Change.Version} epoch {v.Change.Epoch}: {v.Status}: {v.Reason}"));

        var lost = 0;
        foreach (var chunk in byCsi.Chunk(500))
        {
            var answers = await client.LookupRawAsync(chunk.Select(c => c.Key).ToList());
            foreach (var (csi, answer) in chunk.Zip(answers.Results))
            {
                var removed = csi.Any(a => a.Kind == "removal");
                var latest = csi.Where(a => a.Kind == "publish").Max(a => a.Version);
                var shown = answer.Statements.Select(s => verifier.VerifyMapping(s)).Where(r => r.IsValid).Select(r => r.Statement!.Version).DefaultIfEmpty(0).Max();
                if (removed ? answer.Result != LookupResultKinds.None : shown < latest)
                {
                    lost++;
                    problems.Add($"{csi.Key}: acknowledged {(removed ? "removal" : "v" + latest)}, the DP answers {answer.Result} v{shown}");
                }
            }
        }

        var audit = await LogAuditor.AuditAsync(client, keys, new AuditState());
        problems.AddRange(audit.Violations.Select(v => "audit: " + v));

        // Counted limits per fixed window: proof starts per CSI for the one client here (per client and CSI), per client, tokens per account.
        long Window(long at, long seconds) => at - (at % seconds);
        var sendWindow = o.Long("send-window-seconds", 3600);
        var overCsi = journal.Where(a => a.Kind == "proof").GroupBy(a => (a.Csi, Window(a.At, sendWindow))).Where(g => g.Count() > o.Long("max-sends-per-csi")).ToList();
        var overClient = journal.Where(a => a.Kind == "proof").GroupBy(a => Window(a.At, sendWindow)).Where(g => g.Count() > o.Long("max-sends-per-client")).ToList();
        var overQuota = journal.Where(a => a.Kind == "token").GroupBy(a => Window(a.At, o.Long("quota-window-seconds"))).Where(g => g.Count() > o.Long("quota")).ToList();
        problems.AddRange(overCsi.Select(g => $"{g.Count()} codes sent to {g.Key.Csi} in one window"));
        problems.AddRange(overClient.Select(g => $"{g.Count()} codes for one client in one window"));
        problems.AddRange(overQuota.Select(g => $"{g.Count()} tokens issued in one quota window"));

        foreach (var problem in problems.Take(50))
        {
            Console.WriteLine("problem: " + problem);
        }

        var kinds = journal.GroupBy(a => a.Kind).ToDictionary(g => g.Key, g => g.Count());
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"acknowledged publishes={kinds.GetValueOrDefault("publish")} removals={journal.Count(a => a.Kind == "removal" && a.Epoch is not null)} proofs={kinds.GetValueOrDefault("proof")} tokens={kinds.GetValueOrDefault("token")} csis={byCsi.Count} receipts_checked={verdicts.Count} receipts_honoured={verdicts.Count(v => v.Status == ReceiptStatus.Honoured)} lost={lost} audited_epochs={audit.ToSize} problems={problems.Count}"));
        return problems.Count == 0 ? 0 : 1;
    }

    private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeSeconds();
}

using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Server.Hosting;
using Mimi.Discovery.Server.Storage;
using Mimi.Discovery.Statements;
using Mimi.Discovery.Transparency;

namespace Mimi.Discovery.Server.Transparency;

/// <summary>
/// The DP's key-transparency state: the VRF-keyed prefix tree of labels and the log of epochs,
/// kept in memory as immutable snapshots over the database (the source of truth). Sealing builds
/// the next snapshot, writes it in one transaction, and only then makes it visible, so every
/// lookup proves against one consistent epoch. Other DP processes on the same database catch up
/// from the stored epochs. A process reading a PostgreSQL hot standby
/// (<see cref="DiscoveryOptions.ReadReplica"/>) catches up from the standby, never seals, and
/// follows the primary's last epoch (<see cref="FollowPrimaryAsync"/>) to say when its answers lag.
/// </summary>
internal sealed partial class TransparencyLog : IDisposable
{
    private const int AbsentLabelCacheSize = 100_000;

    private readonly IDiscoveryStore _store;
    // What lookups read: _store, or the hot standby that replicates it.
    private readonly ILookupStore _reads;
    // The primary's last epoch as of the last FollowPrimaryAsync (0 before one, or without a replica).
    private long _primaryEpoch;
    private readonly TimeProvider _time;
    private readonly ILogger<TransparencyLog> _logger;
    private readonly DiscoveryOptions _options;
    private readonly EcVrfSecretKey _vrfKey;
    private readonly ECDsa _logKey;
    // _state guards the visible snapshot and the log (catch-up, publishing a seal); _sealing keeps
    // this process to one seal at a time. A seal holds _state only briefly, so lookups never wait on it.
    private readonly SemaphoreSlim _state = new(1, 1);
    private readonly SemaphoreSlim _sealing = new(1, 1);
    // The VRF proof and search key of labels a lookup proved absent, by "csi\0scope": a label's VRF
    // output never changes, so entries outlive epochs; the least recently used go when it is full.
    private readonly MemoryCache _absentLabels = new(new MemoryCacheOptions { SizeLimit = AbsentLabelCacheSize, CompactionPercentage = 0.25 });
    private long _absentLabelProofs;
    private readonly Lock _logLock = new();
    private MerkleTree _log = new();
    private readonly ConcurrentDictionary<(long From, long To), IReadOnlyList<byte[]>> _consistency = new();
    private volatile Snapshot _current = Snapshot.Empty;
    private readonly EpochCheck _epochCheck;
    // Label proofs of the visible epoch, built once and reused by later lookups (a sealed epoch never
    // changes); an entry is only taken while its epoch is still the visible one.
    private readonly MemoryCache? _proofs;

    private readonly Observability.SealTelemetry _telemetry;

    public TransparencyLog(IDiscoveryStore store, ILookupStore reads, DataFolder folder, IOptions<DiscoveryOptions> options, TimeProvider time, ILogger<TransparencyLog> logger, Observability.SealTelemetry telemetry)
    {
        _telemetry = telemetry;
        _store = store;
        _reads = reads;
        _time = time;
        _logger = logger;
        _options = options.Value;
        (var vrfSecret, _logKey) = folder.LoadTransparencyKeys();
        _vrfKey = new EcVrfSecretKey(vrfSecret);
        Keys = new TransparencyKeys(ProofWire.Encode(_vrfKey.PublicKey), ProofWire.Encode(_logKey.ExportSubjectPublicKeyInfo()), _options.SealInterval.TotalSeconds);
        _epochCheck = new EpochCheck(reads.GetLastEpochAsync, _options.EpochCheckInterval, time);
        _proofs = _options.ProofCacheBytes > 0 ? new MemoryCache(new MemoryCacheOptions { SizeLimit = _options.ProofCacheBytes, CompactionPercentage = 0.25 }) : null;
    }

    /// <summary>The public keys for the metadata document.</summary>
    public TransparencyKeys Keys { get; }

    /// <summary>The latest epoch this process has loaded or sealed.</summary>
    public long Epoch => _current.Epoch;

    /// <summary>Whether this process reads a hot standby (<see cref="DiscoveryOptions.ReadReplica"/>): it never seals.</summary>
    public bool ReadsReplica => !ReferenceEquals(_reads, _store);

    /// <summary>
    /// The primary's last epoch when it is ahead of the one this process serves (a lagging replica),
    /// as of the last <see cref="FollowPrimaryAsync"/>; null when not behind, or without a replica.
    /// </summary>
    public long? LatestEpoch => LatestAfter(_current.Epoch);

    private long? LatestAfter(long epoch) => Volatile.Read(ref _primaryEpoch) is var latest && latest > epoch ? latest : null;

    /// <summary>
    /// On a process reading a hot standby: reads the primary's last epoch (one small query) and
    /// catches up with what the standby has replayed (asked now, not within
    /// <see cref="Hosting.DiscoveryOptions.EpochCheckInterval"/>). Throws what the database throws.
    /// </summary>
    public async Task FollowPrimaryAsync(CancellationToken cancellationToken)
    {
        Volatile.Write(ref _primaryEpoch, await _store.GetLastEpochAsync(cancellationToken).ConfigureAwait(false));
        if (await _reads.GetLastEpochAsync(cancellationToken).ConfigureAwait(false) > _current.Epoch)
        {
            await CatchUpAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Whether the last seal took a full batch, so more CSIs are likely pending.</summary>
    public bool BacklogLikely { get; private set; }

    /// <summary>The current signed tree head, or null before the first epoch.</summary>
    public SignedTreeHead? Head => _current.Head;

    /// <summary>Loads or catches up with the epochs in the database, checking each root against the rebuilt tree.</summary>
    public async Task CatchUpAsync(CancellationToken cancellationToken)
    {
        await _state.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await CatchUpLockedAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _state.Release();
        }
    }

    /// <summary>
    /// Catches up when another DP process on the same database sealed since (or the client names a
    /// larger log), so every answer — lookups and the read API alike — is at the latest epoch.
    /// </summary>
    public async Task RefreshAsync(long? knownTreeSize, CancellationToken cancellationToken)
    {
        if (knownTreeSize > _current.Epoch || await _epochCheck.LastStoredEpochAsync(cancellationToken).ConfigureAwait(false) > _current.Epoch)
        {
            await CatchUpAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Seals pending changes into one epoch (docs/architecture.md, "Epochs and receipts"); returns it,
    /// or null when there was nothing to seal, another process holds the right to seal, or this
    /// process reads a hot standby (its primary's DP processes seal). The costly
    /// part (VRF proofs, the new tree) runs without the state lock, so lookups on this process go on
    /// answering from the last epoch meanwhile.
    /// </summary>
    public Task<long?> SealAsync(CancellationToken cancellationToken) =>
        ReadsReplica ? Task.FromResult<long?>(null) : _telemetry.ObserveAsync(SealOnceAsync, cancellationToken);

    private async Task<long?> SealOnceAsync(CancellationToken cancellationToken)
    {
        await _sealing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using var right = await _store.TryLockSealAsync(cancellationToken).ConfigureAwait(false);
            if (right is null)
            {
                return null;
            }

            // Another sealer (a SQLite DP in another process) may commit first: then catch up and try again.
            for (var attempt = 0; attempt < 3; attempt++)
            {
                await CatchUpAsync(cancellationToken).ConfigureAwait(false);
                var now = _time.GetUtcNow();
                var close = await _store.CloseEpochAsync(now.ToUnixTimeSeconds(), cancellationToken).ConfigureAwait(false);
                if (close is null)
                {
                    BacklogLikely = false;
                    return null;
                }

                var input = await _store.ReadPendingAsync(close, _options.EpochMaxBatch, now.ToUnixTimeSeconds(), cancellationToken).ConfigureAwait(false);
                var basis = _current;
                if (input.LastEpoch != basis.Epoch)
                {
                    continue;
                }

                if (AfterRead is { } probe)
                {
                    await probe(cancellationToken).ConfigureAwait(false);
                }

                // The plan runs on a thread of its own below request threads' priority (SealThreadPriority).
                var (plan, next) = await Task.Factory.StartNew(() =>
                {
                    SealThreadPriority.LowerCurrentThread();
                    return Plan(basis, input, now, close.LastSealedAt);
                }, cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
                if (!await _store.CommitSealAsync(basis.Epoch, plan, input.Pending, cancellationToken).ConfigureAwait(false))
                {
                    continue;
                }

                BacklogLikely = input.BatchFull;
                await PublishSealedAsync(next, cancellationToken).ConfigureAwait(false);
                LogSealed(_logger, next.Epoch, next.Changes);
                return next.Epoch;
            }

            return null;
        }
        finally
        {
            _sealing.Release();
        }
    }

    /// <summary>Test seam: runs after a seal has read what it covers and before it plans, to race changes against it.</summary>
    internal Func<CancellationToken, Task>? AfterRead { get; set; }

    /// <summary>
    /// Proves the committed labels of <paramref name="csis"/> a lookup by <paramref name="service"/>
    /// may see, and the delegation labels of <paramref name="subjects"/> (<see cref="Labels.DelegationScope"/>),
    /// at the current epoch. Returns per CSI the label proofs with their opened values, per subject its
    /// proof, and <see cref="LatestEpoch"/> as it stood for this epoch.
    /// </summary>
    public async Task<(IReadOnlyDictionary<string, IReadOnlyList<LabelProof>> Labels, IReadOnlyDictionary<string, LabelProof> Delegations, EpochProof Epoch, long? LatestEpoch)?> ProveAsync(
        IReadOnlyCollection<string> csis, string? service, long? knownTreeSize, IReadOnlyCollection<string> subjects, CancellationToken cancellationToken)
    {
        await RefreshAsync(knownTreeSize, cancellationToken).ConfigureAwait(false);
        var snapshot = _current;
        if (snapshot.Head is null)
        {
            return null;
        }

        var scopes = Labels.ScopesFor(service);
        var wanted = csis.SelectMany(csi => scopes.Select(scope => (Subject: csi, Scope: scope)))
            .Concat(subjects.Select(subject => (Subject: subject, Scope: Labels.DelegationScope)));
        var built = new Dictionary<(string Subject, string Scope), LabelProof>();
        var missing = new List<(string Subject, string Scope)>();
        foreach (var label in wanted)
        {
            if (_proofs is not null && _proofs.TryGetValue(label, out CachedProof? cached) && cached!.Epoch == snapshot.Epoch)
            {
                built[label] = cached.Proof;
            }
            else
            {
                missing.Add(label);
            }
        }

        if (missing.Count > 0)
        {
            var committed = (await _reads.GetCommittedAsync(missing.Select(l => l.Subject).Distinct(StringComparer.Ordinal).ToList(), snapshot.Epoch, cancellationToken).ConfigureAwait(false))
                .ToDictionary(c => (c.Csi, c.Scope));
            foreach (var label in missing)
            {
                var proof = Prove(snapshot, label.Subject, label.Scope, committed.GetValueOrDefault(label));
                built[label] = proof;
                _proofs?.Set(label, new CachedProof(snapshot.Epoch, proof), new MemoryCacheEntryOptions { Size = EstimatedSize(proof) });
            }
        }

        var proofs = csis.ToDictionary(csi => csi, csi => (IReadOnlyList<LabelProof>)scopes.Select(scope => built[(csi, scope)]).ToList(), StringComparer.Ordinal);
        var delegations = subjects.ToDictionary(subject => subject, subject => built[(subject, Labels.DelegationScope)] with { Subject = subject }, StringComparer.Ordinal);
        var epoch = snapshot.EpochProof;
        if (knownTreeSize is { } known && known >= 1 && known < snapshot.Epoch)
        {
            epoch = epoch with { ConsistencyFrom = known, Consistency = ProofWire.EncodeAll(ConsistencyProof(known, snapshot.Epoch)) };
        }

        return (proofs, delegations, epoch, LatestAfter(snapshot.Epoch));
    }

    /// <summary>The proof of one label at <paramref name="snapshot"/>'s epoch, opening the committed value when there is one.</summary>
    private LabelProof Prove(Snapshot snapshot, string subject, string scope, CommittedLabel? label)
    {
        if (label is not null)
        {
            var key = ProofWire.Decode(label.SearchKey);
            var proof = ProofWire.ToWire(scope, ProofWire.Decode(label.VrfProof), snapshot.Tree.Prove(key));
            return proof.Terminal == "leaf"
                ? proof with { Version = label.Version, Opening = label.Opening, Statements = SplitStatements(label.Statements) }
                : proof;
        }

        var (vrfProof, absentKey) = AbsentLabel(subject, scope);
        return ProofWire.ToWire(scope, vrfProof, snapshot.Tree.Prove(absentKey));
    }

    /// <summary>A label proof's managed size in bytes, roughly: its strings at two bytes a character and an object header each.</summary>
    internal static long EstimatedSize(LabelProof proof)
    {
        static long Of(string? s) => s is null ? 0 : 32 + 2L * s.Length;
        return 160 + Of(proof.Vrf) + Of(proof.LeafKey) + Of(proof.Commitment) + Of(proof.Opening) + Of(proof.Subject)
            + proof.Path.Sum(Of) + (proof.Statements?.Sum(Of) ?? 0);
    }

    /// <summary>A label proof and the epoch it proves against (the stored epochs never change, whichever process sealed them).</summary>
    private sealed record CachedProof(long Epoch, LabelProof Proof);

    /// <summary>RFC 9162 consistency proof between two log sizes of this process's log.</summary>
    public IReadOnlyList<byte[]> ConsistencyProof(long from, long to) =>
        // Every sender that saw an older head asks for the same few proofs after an epoch: each is
        // built once (it costs a pass over the log) and kept until the log grows.
        _consistency.GetOrAdd((from, to), key =>
        {
            lock (_logLock)
            {
                return _log.ConsistencyProof(key.From, key.To);
            }
        });

    /// <summary>Inclusion proof of an epoch's leaf under the log of <paramref name="size"/>.</summary>
    public IReadOnlyList<byte[]> InclusionProof(long epoch, long size)
    {
        lock (_logLock)
        {
            return _log.InclusionProof(epoch - 1, size);
        }
    }

    /// <summary>Test seam: how many VRF proofs this process has made for labels a lookup proved absent.</summary>
    internal long AbsentLabelProofs => Interlocked.Read(ref _absentLabelProofs);

    /// <summary>The VRF proof and search key of a label: a canonical CSI URI or a delegation subject, and a scope.</summary>
    public (byte[] Proof, byte[] Key) Vrf(string subject, string scope)
    {
        var proof = _vrfKey.Prove(Labels.Alpha(subject, scope));
        return (proof, EcVrf.ProofToHash(proof)!);
    }

    public void Dispose()
    {
        _logKey.Dispose();
        _proofs?.Dispose();
        _absentLabels.Dispose();
        _state.Dispose();
        _sealing.Dispose();
    }

    internal static IReadOnlyList<string> SplitStatements(string? statements) =>
        string.IsNullOrEmpty(statements) ? [] : statements.Split('\n');

    private (byte[] Proof, byte[] Key) AbsentLabel(string csi, string scope)
    {
        var id = csi + "\0" + scope;
        if (_absentLabels.TryGetValue(id, out (byte[] Proof, byte[] Key) cached))
        {
            return cached;
        }

        var computed = Vrf(csi, scope);
        Interlocked.Increment(ref _absentLabelProofs);
        _absentLabels.Set(id, computed, new MemoryCacheEntryOptions { Size = 1 });
        return computed;
    }

    private (SealPlan Plan, Snapshot Next) Plan(Snapshot basis, SealInput input, DateTimeOffset now, long lastSealedAt)
    {
        var existing = input.Labels.ToLookup(l => l.Csi, StringComparer.Ordinal);
        var changes = new List<(byte[] Key, byte[] Commitment)>();
        var labels = new List<StoredLabel>();
        var versions = new List<(StoredLabel Label, byte[] Key, string? Opening, string Statements, string Ids)>();
        var erase = new List<(string, string)>();
        var pending = new List<(string Csi, string Scope, StoredLabel? Before, List<string> Statements, List<string> Ids, HashSet<string> Live)>();
        foreach (var csi in input.Pending.Select(p => p.Csi))
        {
            var desired = new SortedDictionary<string, List<StoredMapping>>(StringComparer.Ordinal);
            foreach (var m in input.Mappings[csi])
            {
                IReadOnlyList<string> scopes;
                if (m.Audience == Labels.DelegationScope)
                {
                    scopes = [Labels.DelegationScope];
                }
                else if (m.Statement is not null && Audience.TryParse(m.Audience, out _, out _))
                {
                    // Per-entry audiences decide the scopes too, so they are read from the statement itself.
                    scopes = Labels.ScopesOfStored(m.Statement);
                }
                else
                {
                    continue;
                }

                foreach (var scope in scopes)
                {
                    (desired.TryGetValue(scope, out var list) ? list : desired[scope] = []).Add(m);
                }
            }

            var old = existing[csi].ToDictionary(l => l.Scope, StringComparer.Ordinal);
            var live = input.Mappings[csi].Select(m => m.MappingId).ToHashSet(StringComparer.Ordinal);
            foreach (var scope in desired.Keys.Union(old.Keys, StringComparer.Ordinal).Order(StringComparer.Ordinal))
            {
                var statements = desired.TryGetValue(scope, out var set) ? set.Select(m => m.Statement!).Order(StringComparer.Ordinal).ToList() : [];
                var ids = desired.TryGetValue(scope, out set) ? set.Select(m => m.MappingId).Order(StringComparer.Ordinal).ToList() : [];
                old.TryGetValue(scope, out var before);
                var previous = SplitStatements(before?.Statements);
                if ((before is null && statements.Count == 0) || (before?.Statements is not null && previous.Order(StringComparer.Ordinal).SequenceEqual(statements, StringComparer.Ordinal)))
                {
                    continue;
                }

                pending.Add((csi, scope, before, statements, ids, live));
            }
        }

        // New labels need a VRF proof each, the costliest step of a seal: spread them over the cores,
        // on threads of the seal's own at a lower priority — on the thread pool they would queue
        // lookups behind them, and at the same priority share the cores with lookups evenly.
        var fresh = pending.Where(p => p.Before is null).Select(p => (p.Csi, p.Scope)).ToArray();
        var computed = new (byte[] Proof, byte[] Key)[fresh.Length];
        OnSealThreads(fresh.Length, i => computed[i] = Vrf(fresh[i].Csi, fresh[i].Scope));
        var vrfs = fresh.Zip(computed).ToDictionary(x => x.First, x => x.Second);

        foreach (var (csi, scope, before, statements, ids, live) in pending)
        {
            var (vrfProof, key) = before is null ? vrfs[(csi, scope)] : (ProofWire.Decode(before.VrfProof), ProofWire.Decode(before.SearchKey));
            var version = (before?.Version ?? 0) + 1;
            var opening = Commitment.NewOpening();
            var commitment = Labels.Commit(opening, key, version, statements);
            changes.Add((key, commitment));
            var label = new StoredLabel(ProofWire.Encode(key), csi, scope, ProofWire.Encode(vrfProof), version, ProofWire.Encode(commitment), null, "");
            labels.Add(label);
            versions.Add((label, key, ProofWire.Encode(opening), string.Join('\n', statements), string.Join(' ', ids)));
            foreach (var gone in (before?.MappingIds ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(id => !live.Contains(id)))
            {
                erase.Add((label.SearchKey, gone));
            }
        }

        // An epoch is sealed even when the pending CSIs change no label (a mapping published and
        // removed within one epoch): receipts promised this epoch, and the log must reach it.
        var tree = basis.Tree.With(changes);
        var epoch = basis.Epoch + 1;

        // A head never goes back in time (senders and auditors refuse that): with a clock behind the
        // last head, the new one repeats the last head's time.
        var timestamp = now.ToUnixTimeMilliseconds();
        if (timestamp < lastSealedAt)
        {
            LogClockBehind(_logger, DateTimeOffset.FromUnixTimeMilliseconds(lastSealedAt), now);
            timestamp = lastSealedAt;
        }

        var leaf = new EpochLeaf(epoch, timestamp, tree.Root);
        MerkleTree log;
        lock (_logLock)
        {
            // The shared log only grows once the epoch is stored (PublishSealedAsync); this copy holds the candidate.
            log = _log.Copy(basis.Epoch);
        }

        log.Append(leaf.Hash());
        var logRoot = log.Root(epoch);
        var inclusion = log.InclusionProof(epoch - 1, epoch);

        var head = SignedTreeHead.Sign(_logKey, epoch, timestamp, logRoot);
        var rows = versions.Select(v => new VersionRow(v.Label.SearchKey, v.Label.Version, epoch, v.Label.Commitment, v.Opening, v.Statements, v.Ids,
            ProofWire.Encode(tree.Prove(v.Key).Siblings.SelectMany(s => s).ToArray()))).ToList();
        var stored = new StoredEpoch(epoch, timestamp, ProofWire.Encode(leaf.PrefixRoot), ProofWire.Encode(logRoot), ProofWire.Encode(head.Signature));
        return (new SealPlan(stored, labels, rows, erase), new Snapshot(epoch, tree, head, EpochProofOf(leaf, inclusion, head), changes.Count, leaf.Hash()));
    }

    /// <summary>Runs <paramref name="body"/> for 0..<paramref name="count"/>-1 on one dedicated thread per core (the calling one included), below request threads' priority.</summary>
    private static void OnSealThreads(int count, Action<int> body)
    {
        var next = -1;
        System.Runtime.ExceptionServices.ExceptionDispatchInfo? failure = null;
        void Work()
        {
            SealThreadPriority.LowerCurrentThread();
            try
            {
                for (var i = Interlocked.Increment(ref next); i < count && failure is null; i = Interlocked.Increment(ref next))
                {
                    body(i);
                }
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref failure, System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e), null);
            }
        }

        var helpers = Enumerable.Range(0, Math.Max(0, Math.Min(Environment.ProcessorCount, count) - 1))
            .Select(_ => new Thread(Work) { IsBackground = true, Name = "seal" }).ToList();
        helpers.ForEach(t => t.Start());
        Work();
        helpers.ForEach(t => t.Join());
        failure?.Throw();
    }

    private async Task CatchUpLockedAsync(CancellationToken cancellationToken)
    {
        var epochs = await _reads.GetEpochsAsync(_current.Epoch, cancellationToken).ConfigureAwait(false);
        if (epochs.Count == 0)
        {
            return;
        }

        var last = epochs[^1];
        PrefixTree tree;
        int changes;
        if (_current.Epoch == 0)
        {
            tree = await LoadTreeAsync(last.Epoch, cancellationToken).ConfigureAwait(false);
            changes = tree.Count;
        }
        else
        {
            var leaves = await _reads.GetLeavesAsync(_current.Epoch, last.Epoch, cancellationToken).ConfigureAwait(false);
            tree = _current.Tree.With(leaves.Select(l => (ProofWire.Decode(l.SearchKey), ProofWire.Decode(l.Commitment))));
            changes = leaves.Count;
        }

        Snapshot? next = null;
        lock (_logLock)
        {
            foreach (var e in epochs)
            {
                _log.Append(new EpochLeaf(e.Epoch, e.SealedAt, ProofWire.Decode(e.PrefixRoot)).Hash());
            }

            var log = _log;
            var head = new SignedTreeHead(last.Epoch, last.SealedAt, ProofWire.Decode(last.LogRoot), ProofWire.Decode(last.Signature));
            if (!tree.Root.AsSpan().SequenceEqual(ProofWire.Decode(last.PrefixRoot)) || !log.Root(last.Epoch).AsSpan().SequenceEqual(head.Root) || !head.VerifySignature(_logKey))
            {
                // Nothing of this state is served; the next attempt starts over from the database.
                _log = new MerkleTree();
                _current = Snapshot.Empty;
                throw new InvalidOperationException($"The stored transparency state at epoch {last.Epoch} does not match its roots or signature; the database or the data folder's keys are not this DP's.");
            }

            var leaf = new EpochLeaf(last.Epoch, last.SealedAt, tree.Root);
            next = new Snapshot(last.Epoch, tree, head, EpochProofOf(leaf, log.InclusionProof(last.Epoch - 1, last.Epoch), head), changes, leaf.Hash());
        }

        Publish(next);
        LogLoaded(_logger, next.Epoch, tree.Count);
    }

    /// <summary>Makes a stored seal visible, unless a lookup already caught up with it from the database.</summary>
    private async Task PublishSealedAsync(Snapshot next, CancellationToken cancellationToken)
    {
        await _state.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_current.Epoch != next.Epoch - 1)
            {
                return;
            }

            lock (_logLock)
            {
                _log.Append(next.LeafHash);
            }

            Publish(next);
        }
        finally
        {
            _state.Release();
        }
    }

    /// <summary>The prefix tree as of <paramref name="epoch"/>, built as the store streams its leaves in (start-up: no list of every row).</summary>
    private async Task<PrefixTree> LoadTreeAsync(long epoch, CancellationToken cancellationToken)
    {
        var tree = new PrefixTree();
        await _reads.ReadTreeAsync(epoch, (key, commitment) => tree.Set(ProofWire.Decode(key), ProofWire.Decode(commitment)), cancellationToken).ConfigureAwait(false);
        _ = tree.Root;
        return tree;
    }

    private void Publish(Snapshot next)
    {
        _consistency.Clear();
        _current = next;
        // Entries of the previous epoch are never taken again; drop them now rather than when the cache is full.
        _proofs?.Clear();
    }

    private static EpochProof EpochProofOf(EpochLeaf leaf, IReadOnlyList<byte[]> inclusion, SignedTreeHead head) =>
        new(leaf.Epoch, leaf.Timestamp, ProofWire.Encode(leaf.PrefixRoot), ProofWire.EncodeAll(inclusion), ProofWire.ToWire(head));

    [LoggerMessage(EventId = 400, Level = LogLevel.Information, Message = "Sealed epoch {Epoch} with {Changes} label change(s)")]
    private static partial void LogSealed(ILogger logger, long epoch, int changes);

    [LoggerMessage(EventId = 401, Level = LogLevel.Information, Message = "Transparency state at epoch {Epoch}: {Labels} label(s)")]
    private static partial void LogLoaded(ILogger logger, long epoch, int labels);

    [LoggerMessage(EventId = 403, Level = LogLevel.Warning, Message = "The clock ({Now:u}) is behind the last tree head ({Last:u}); the new head keeps the last head's time")]
    private static partial void LogClockBehind(ILogger logger, DateTimeOffset last, DateTimeOffset now);

    private sealed record Snapshot(long Epoch, PrefixTree Tree, SignedTreeHead? Head, EpochProof EpochProof, int Changes, byte[] LeafHash)
    {
        public static Snapshot Empty { get; } = new(0, new PrefixTree(), null, null!, 0, []);
    }
}

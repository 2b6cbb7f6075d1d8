// Third-party auditing of a DP's log. The auditor keeps its own copy of every leaf (search key →
// commitment) and of every epoch's log leaf. For each new epoch it applies the epoch's changes —
// which can only add or update leaves — recomputes the prefix root and the log, and checks both
// against what the DP signed. A log that was rolled back, forked, rewritten, or whose roots do
// not follow from its published changes is a violation.
using System.Text.Json;
using System.Text.Json.Serialization;
using Mimi.Discovery.Client;
using Mimi.Discovery.Protocol;

namespace Mimi.Discovery.Transparency;

/// <summary>What an auditor remembers between runs.</summary>
public sealed class AuditState
{
    /// <summary>The last verified tree head.</summary>
    public TreeHeadWire? Head { get; set; }

    /// <summary>Log leaf hashes (base64url), epoch 1 first.</summary>
    public List<string> LogLeaves { get; init; } = [];

    /// <summary>Every prefix-tree leaf: search key → commitment (base64url).</summary>
    public Dictionary<string, string> Leaves { get; init; } = [];

    /// <summary>Reads a state file; a fresh state when it does not exist.</summary>
    public static AuditState Load(string? path) =>
        path is not null && File.Exists(path) ? JsonSerializer.Deserialize(File.ReadAllText(path), AuditJson.Default.AuditState) ?? new AuditState() : new AuditState();

    /// <summary>Writes the state file.</summary>
    public void Save(string path) => File.WriteAllText(path, JsonSerializer.Serialize(this, AuditJson.Default.AuditState));
}

/// <summary>The result of an audit run.</summary>
/// <param name="FromSize">Log size at the start (the state's).</param>
/// <param name="ToSize">Log size audited up to.</param>
/// <param name="Violations">Every violation found; empty when the log is sound.</param>
public sealed record AuditReport(long FromSize, long ToSize, IReadOnlyList<string> Violations);

/// <summary>Audits a DP's transparency log epoch by epoch.</summary>
public static class LogAuditor
{
    /// <summary>Checks every epoch after <paramref name="state"/>'s head up to the DP's current one, updating the state when all is sound.</summary>
    /// <exception cref="DiscoveryException">The DP could not be reached or refused.</exception>
    public static async Task<AuditReport> AuditAsync(DiscoveryClient client, TransparencyKeyset keys, AuditState state, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(state);
        var known = ProofWire.Head(state.Head);
        var from = known?.Size ?? 0;
        var head = ProofWire.Head(await client.GetTreeHeadAsync(cancellationToken).ConfigureAwait(false));
        if (head is null || !head.VerifySignature(keys.LogKey))
        {
            return new AuditReport(from, from, ["the tree head's signature is not the DP's log key"]);
        }

        if (known is not null)
        {
            if (head.Size < known.Size)
            {
                return new AuditReport(from, head.Size, [$"the log went back from size {known.Size} to {head.Size}"]);
            }

            if (head.Size == known.Size && !head.SameAs(known))
            {
                return new AuditReport(from, head.Size, [$"two different signed tree heads for log size {head.Size}: the log is forked"]);
            }

            if (head.Size > known.Size)
            {
                var consistency = await client.GetConsistencyAsync(known.Size, head.Size, cancellationToken).ConfigureAwait(false);
                if (!ProofWire.TryDecodeAll(consistency.Proof, out var proof) || !MerkleProof.VerifyConsistency(known.Size, head.Size, known.Root, head.Root, proof))
                {
                    return new AuditReport(from, head.Size, [$"the log at size {head.Size} is not an extension of the one at size {known.Size}"]);
                }
            }
        }

        var tree = new PrefixTree();
        foreach (var (key, commitment) in state.Leaves)
        {
            tree.Set(ProofWire.Decode(key), ProofWire.Decode(commitment));
        }

        var violations = new List<string>();
        var lastTimestamp = known?.Timestamp ?? long.MinValue;
        var leaves = new Dictionary<string, string>(state.Leaves, StringComparer.Ordinal);
        var logLeaves = new List<string>(state.LogLeaves);
        for (var epoch = from + 1; epoch <= head.Size; epoch++)
        {
            var changes = await client.GetEpochChangesAsync(epoch, cancellationToken).ConfigureAwait(false);
            var problem = Apply(changes, epoch, tree, leaves, ref lastTimestamp);
            if (problem is not null)
            {
                violations.Add($"epoch {epoch}: {problem}");
                return new AuditReport(from, epoch - 1, violations);
            }

            logLeaves.Add(ProofWire.Encode(new EpochLeaf(epoch, changes.Timestamp, tree.Root).Hash()));
        }

        var log = new MerkleTree();
        foreach (var leaf in logLeaves)
        {
            log.Append(ProofWire.Decode(leaf));
        }

        if (head.Size > 0 && !log.Root(head.Size).AsSpan().SequenceEqual(head.Root))
        {
            return new AuditReport(from, head.Size, [$"the epochs' roots do not produce the signed log root at size {head.Size}"]);
        }

        state.Head = ProofWire.ToWire(head);
        state.LogLeaves.Clear();
        state.LogLeaves.AddRange(logLeaves);
        state.Leaves.Clear();
        foreach (var (k, v) in leaves)
        {
            state.Leaves[k] = v;
        }

        return new AuditReport(from, head.Size, violations);
    }

    private static string? Apply(EpochChanges changes, long epoch, PrefixTree tree, Dictionary<string, string> leaves, ref long lastTimestamp)
    {
        if (changes.Epoch != epoch)
        {
            return $"the DP answered with epoch {changes.Epoch}";
        }

        if (changes.Timestamp < lastTimestamp)
        {
            return "sealed before the previous epoch";
        }

        lastTimestamp = changes.Timestamp;
        string? previous = null;
        foreach (var change in changes.Changes ?? [])
        {
            if (!ProofWire.TryDecode(change.Key, out var key) || key.Length != PrefixTree.KeySize
                || !ProofWire.TryDecode(change.Commitment, out var commitment) || commitment.Length != PrefixTree.HashSize)
            {
                return "a change is malformed";
            }

            if (previous is not null && string.CompareOrdinal(previous, change.Key) >= 0)
            {
                return "changes are not in strict key order (a leaf set twice?)";
            }

            previous = change.Key;
            tree.Set(key, commitment);
            leaves[change.Key] = change.Commitment;
        }

        return ProofWire.TryDecode(changes.PrefixRoot, out var root) && root.AsSpan().SequenceEqual(tree.Root)
            ? null
            : "the published changes do not produce the epoch's prefix root";
    }
}

/// <summary>JSON for the audit state file.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(AuditState))]
internal sealed partial class AuditJson : JsonSerializerContext;

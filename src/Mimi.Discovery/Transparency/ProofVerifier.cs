// Sender-side checks of a DP's transparency proofs (docs/protocol.md §8): the signed tree head,
// its consistency with the last head this sender saw, the epoch's inclusion in the log, and per
// CSI the VRF and prefix-tree proofs of exactly the labels the querying service may see, opened
// to exactly the statements returned.
using System.Buffers.Text;
using System.Security.Cryptography;
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Protocol;

namespace Mimi.Discovery.Transparency;

/// <summary>Why a transparency proof was accepted or refused.</summary>
public enum ProofStatus
{
    /// <summary>The returned set is exactly what the DP committed at the epoch (possibly nothing).</summary>
    Complete,

    /// <summary>The DP sent no proof.</summary>
    Missing,

    /// <summary>The tree head is malformed or its signature is not the log key's.</summary>
    BadTreeHead,

    /// <summary>The tree head is older (smaller) than one this sender saw before.</summary>
    Rollback,

    /// <summary>Two different tree heads for the same log size: the log was forked.</summary>
    Fork,

    /// <summary>The new tree head is not an extension of the one seen before.</summary>
    Inconsistent,

    /// <summary>The answer is proven at an epoch other than the head's latest.</summary>
    StaleEpoch,

    /// <summary>The tree head is older than the sender accepts.</summary>
    StaleTreeHead,

    /// <summary>The tree head's time is ahead of the sender's clock by more than the allowed skew: the DP's clock is wrong, or it signs times it has not reached.</summary>
    FutureTreeHead,

    /// <summary>The tree head extends one seen before but carries an earlier time: the DP's clock went back.</summary>
    TimestampRegression,

    /// <summary>The epoch's prefix root is not in the log.</summary>
    BadEpochInclusion,

    /// <summary>The labels proven are not exactly the ones the querying service may see.</summary>
    WrongLabels,

    /// <summary>A VRF proof does not verify for the CSI and scope.</summary>
    BadVrf,

    /// <summary>A prefix-tree proof does not lead to the epoch's root.</summary>
    BadPrefixProof,

    /// <summary>The opened statements do not match the committed value.</summary>
    BadOpening,

    /// <summary>The statements returned are not exactly the committed ones.</summary>
    SetMismatch,
}

/// <summary>The outcome of a transparency check.</summary>
/// <param name="Status">What was found.</param>
/// <param name="Reason">A sentence for people.</param>
/// <param name="Epoch">The epoch proven at, when known.</param>
public sealed record ProofVerdict(ProofStatus Status, string Reason, long? Epoch = null)
{
    /// <summary>Whether the answer is proven complete.</summary>
    public bool IsComplete => Status == ProofStatus.Complete;
}

/// <summary>A DP's transparency public keys.</summary>
public sealed class TransparencyKeyset : IDisposable
{
    private TransparencyKeyset(byte[] vrfKey, ECDsa logKey)
    {
        VrfKey = vrfKey;
        LogKey = logKey;
    }

    /// <summary>Compressed VRF public key.</summary>
    public byte[] VrfKey { get; }

    /// <summary>The tree-head signing key.</summary>
    public ECDsa LogKey { get; }

    /// <summary>Reads the keys from DP metadata; null when they are malformed.</summary>
    public static TransparencyKeyset? FromWire(TransparencyKeys keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (!ProofWire.TryDecode(keys.VrfKey, out var vrf) || vrf.Length != 33 || !ProofWire.TryDecode(keys.LogKey, out var spki))
        {
            return null;
        }

        var log = ECDsa.Create();
        try
        {
            log.ImportSubjectPublicKeyInfo(spki, out _);
            return log.KeySize == 256 ? new TransparencyKeyset(vrf, log) : Fail(log);
        }
        catch (CryptographicException)
        {
            return Fail(log);
        }

        static TransparencyKeyset? Fail(ECDsa key)
        {
            key.Dispose();
            return null;
        }
    }

    /// <inheritdoc/>
    public void Dispose() => LogKey.Dispose();
}

/// <summary>Verifies lookup proofs.</summary>
public static class ProofVerifier
{
    /// <summary>How far ahead of the verifier's clock a tree head's time may be, by default.</summary>
    public static readonly TimeSpan DefaultMaxClockSkew = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Checks the epoch proof of a lookup: signature, consistency with <paramref name="known"/>
    /// (the last head this sender accepted from the DP), time (no older than <paramref name="maxAge"/>,
    /// no further ahead of <paramref name="now"/> than <paramref name="maxSkew"/> — default
    /// <see cref="DefaultMaxClockSkew"/> — and not earlier than <paramref name="known"/>'s) and the
    /// epoch's inclusion. Returns the verified head when complete.
    /// </summary>
    public static (ProofVerdict Verdict, SignedTreeHead? Head) VerifyEpoch(EpochProof? proof, TransparencyKeyset keys, SignedTreeHead? known, DateTimeOffset now, TimeSpan maxAge, TimeSpan? maxSkew = null)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (proof?.Head is null)
        {
            return (new ProofVerdict(ProofStatus.Missing, "the DP sent no transparency proof"), null);
        }

        var head = ProofWire.Head(proof.Head);
        if (head is null || !head.VerifySignature(keys.LogKey))
        {
            return (new ProofVerdict(ProofStatus.BadTreeHead, "the tree head's signature is not the DP's log key"), null);
        }

        if (known is not null)
        {
            if (head.Size < known.Size)
            {
                return (new ProofVerdict(ProofStatus.Rollback, $"the log went back from size {known.Size} to {head.Size}"), null);
            }

            if (head.Size == known.Size && !head.SameAs(known))
            {
                return (new ProofVerdict(ProofStatus.Fork, $"two different signed tree heads for log size {head.Size}: the log is forked"), null);
            }

            if (head.Size > known.Size
                && (proof.ConsistencyFrom != known.Size || !ProofWire.TryDecodeAll(proof.Consistency, out var consistency)
                    || !MerkleProof.VerifyConsistency(known.Size, head.Size, known.Root, head.Root, consistency)))
            {
                return (new ProofVerdict(ProofStatus.Inconsistent, $"no valid consistency proof from log size {known.Size} to {head.Size}"), null);
            }

            if (head.Timestamp < known.Timestamp)
            {
                return (new ProofVerdict(ProofStatus.TimestampRegression,
                    $"the tree head of size {head.Size} is timed {DateTimeOffset.FromUnixTimeMilliseconds(head.Timestamp):u}, before the head of size {known.Size} seen earlier ({DateTimeOffset.FromUnixTimeMilliseconds(known.Timestamp):u})"), null);
            }
        }

        var headTime = DateTimeOffset.FromUnixTimeMilliseconds(head.Timestamp);
        if (headTime - now > (maxSkew ?? DefaultMaxClockSkew))
        {
            return (new ProofVerdict(ProofStatus.FutureTreeHead,
                $"the tree head is timed {headTime:u}, {(headTime - now).TotalMinutes:0} minutes ahead of this clock: the DP's clock (or this one) is wrong"), null);
        }

        if (proof.Epoch != head.Size)
        {
            return (new ProofVerdict(ProofStatus.StaleEpoch, $"the answer is proven at epoch {proof.Epoch}, but the log's latest is {head.Size}", proof.Epoch), null);
        }

        if (now - DateTimeOffset.FromUnixTimeMilliseconds(head.Timestamp) > maxAge)
        {
            return (new ProofVerdict(ProofStatus.StaleTreeHead, $"the tree head is from {DateTimeOffset.FromUnixTimeMilliseconds(head.Timestamp):u}, older than {maxAge}", proof.Epoch), null);
        }

        if (!ProofWire.TryDecode(proof.PrefixRoot, out var prefixRoot) || prefixRoot.Length != PrefixTree.HashSize || !ProofWire.TryDecodeAll(proof.Inclusion, out var inclusion)
            || !MerkleProof.VerifyInclusion(proof.Epoch - 1, head.Size, new EpochLeaf(proof.Epoch, proof.Timestamp, prefixRoot).Hash(), inclusion, head.Root))
        {
            return (new ProofVerdict(ProofStatus.BadEpochInclusion, $"epoch {proof.Epoch}'s prefix root is not in the signed log", proof.Epoch), null);
        }

        return (new ProofVerdict(ProofStatus.Complete, "tree head verified", proof.Epoch), head);
    }

    /// <summary>
    /// Checks that <paramref name="result"/> holds exactly the statements committed for
    /// <paramref name="csi"/> under the labels <paramref name="service"/> may see, at the verified epoch —
    /// less, when <paramref name="now"/> is given, committed statements whose life ended by then
    /// (<see cref="Verification.StatementLifetime"/>, allowing <paramref name="maxClockSkew"/> for the DP's
    /// clock running ahead): a DP stops serving a statement at its end, before the next epoch drops it.
    /// Never throws for bad input: a malformed proof is a verdict.
    /// </summary>
    /// <param name="result">One result of a lookup answer.</param>
    /// <param name="csi">The CSI asked for.</param>
    /// <param name="service">The querying service, which decides the labels.</param>
    /// <param name="epoch">The verified epoch proof of the answer.</param>
    /// <param name="keys">The DP's transparency keys.</param>
    /// <param name="now">The sender's clock; null requires every committed statement.</param>
    /// <param name="maxClockSkew">How far ahead of <paramref name="now"/> the DP's clock may be.</param>
    public static ProofVerdict VerifyResult(LookupResult result, Csi csi, string? service, EpochProof epoch, TransparencyKeyset keys, DateTimeOffset? now = null, TimeSpan maxClockSkew = default)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(csi);
        ArgumentNullException.ThrowIfNull(epoch);
        ArgumentNullException.ThrowIfNull(keys);
        if (!ProofWire.TryDecode(epoch.PrefixRoot, out var prefixRoot) || prefixRoot.Length != PrefixTree.HashSize)
        {
            return new ProofVerdict(ProofStatus.BadEpochInclusion, $"epoch {epoch.Epoch}'s prefix root is malformed", epoch.Epoch);
        }

        var scopes = Labels.ScopesFor(service);
        if (result.Labels is not { } labels || labels.Count != scopes.Count || labels.Where((l, i) => l?.Scope != scopes[i]).Any())
        {
            return new ProofVerdict(ProofStatus.WrongLabels, $"expected proofs for the labels {string.Join(", ", scopes)}", epoch.Epoch);
        }

        var committed = new List<string>();
        foreach (var label in labels)
        {
            var verdict = VerifyLabel(label, Labels.Alpha(csi, label.Scope), $"{csi} / {label.Scope}", prefixRoot, keys, epoch.Epoch, committed);
            if (verdict is not null)
            {
                return verdict;
            }
        }

        // A statement with entries for several scopes (per-entry audiences) is committed under each label, and returned once.
        committed = committed.Distinct(StringComparer.Ordinal).ToList();
        var returned = result.Statements ?? [];
        var left = new List<string>(committed);
        var ended = now is { } at ? at + maxClockSkew : (DateTimeOffset?)null;
        if (returned.Any(r => r is null || !left.Remove(r))
            || left.Any(s => ended is null || !Verification.StatementLifetime.TryReadValidUntil(s, out var until) || until > ended))
        {
            return new ProofVerdict(ProofStatus.SetMismatch, $"the DP returned {returned.Count} statement(s) but committed {committed.Count} at epoch {epoch.Epoch}", epoch.Epoch);
        }

        return new ProofVerdict(ProofStatus.Complete, committed.Count == 0 ? $"nothing committed at epoch {epoch.Epoch}" : $"complete at epoch {epoch.Epoch}", epoch.Epoch);
    }

    /// <summary>
    /// Checks that a referral for <paramref name="csi"/> names the delegation the DP committed for the
    /// most specific delegated subject covering it at the verified epoch: one proof per subject of
    /// <see cref="Federation.Delegation.CoveringSubjects"/> from the most specific down to the one
    /// referred to, every one before it absent, the last present and opening to exactly
    /// <see cref="LookupResult.Delegation"/>. Returns the verdict and the subject referred to. Never
    /// throws for bad input.
    /// </summary>
    /// <param name="result">A <c>referral</c> result of a lookup answer.</param>
    /// <param name="csi">The CSI asked for.</param>
    /// <param name="epoch">The verified epoch proof of the answer.</param>
    /// <param name="keys">The referring DP's transparency keys.</param>
    public static (ProofVerdict Verdict, string? Subject) VerifyReferral(LookupResult result, Csi csi, EpochProof epoch, TransparencyKeyset keys)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(csi);
        ArgumentNullException.ThrowIfNull(epoch);
        ArgumentNullException.ThrowIfNull(keys);
        if (!ProofWire.TryDecode(epoch.PrefixRoot, out var prefixRoot) || prefixRoot.Length != PrefixTree.HashSize)
        {
            return (new ProofVerdict(ProofStatus.BadEpochInclusion, $"epoch {epoch.Epoch}'s prefix root is malformed", epoch.Epoch), null);
        }

        var subjects = Federation.Delegation.CoveringSubjects(csi);
        var labels = result.Labels ?? [];
        if (labels.Count == 0 || labels.Count > subjects.Count
            || labels.Where((l, i) => l is null || l.Scope != Labels.DelegationScope || l.Subject != subjects[i]).Any())
        {
            return (new ProofVerdict(ProofStatus.WrongLabels, $"a referral proves the delegation labels of {csi} from {subjects[0]} down to the subject referred to", epoch.Epoch), null);
        }

        for (var i = 0; i < labels.Count; i++)
        {
            var committed = new List<string>();
            if (VerifyLabel(labels[i], Labels.Alpha(subjects[i], Labels.DelegationScope), $"{subjects[i]} / {Labels.DelegationScope}", prefixRoot, keys, epoch.Epoch, committed) is { } failed)
            {
                return (failed, null);
            }

            var last = i == labels.Count - 1;
            if (!last && committed.Count > 0)
            {
                return (new ProofVerdict(ProofStatus.WrongLabels, $"the DP committed a delegation for {subjects[i]}, more specific than the one it referred to", epoch.Epoch), null);
            }

            if (last && (committed.Count != 1 || !string.Equals(committed[0], result.Delegation, StringComparison.Ordinal)))
            {
                return (new ProofVerdict(ProofStatus.SetMismatch, $"the delegation returned is not the one committed for {subjects[i]} at epoch {epoch.Epoch}", epoch.Epoch), null);
            }
        }

        return (new ProofVerdict(ProofStatus.Complete, $"delegation for {labels[^1].Subject} committed at epoch {epoch.Epoch}", epoch.Epoch), labels[^1].Subject);
    }

    private static ProofVerdict? VerifyLabel(LabelProof label, byte[] alpha, string name, byte[] prefixRoot, TransparencyKeyset keys, long epoch, List<string> committed)
    {
        if (!ProofWire.TryDecode(label.Vrf, out var vrfProof) || EcVrf.Verify(keys.VrfKey, alpha, vrfProof) is not { } searchKey)
        {
            return new ProofVerdict(ProofStatus.BadVrf, $"the VRF proof for {name} does not verify", epoch);
        }

        var proof = ProofWire.Prefix(label);
        if (proof is null)
        {
            return new ProofVerdict(ProofStatus.BadPrefixProof, $"the prefix-tree proof for {label.Scope} is malformed", epoch);
        }

        if (proof.Terminal != PrefixTerminal.Leaf)
        {
            return proof.Proves(prefixRoot, searchKey, [])
                ? null
                : new ProofVerdict(ProofStatus.BadPrefixProof, $"the absence proof for {label.Scope} does not lead to epoch {epoch}'s root", epoch);
        }

        if (label.Version is not (>= 1 and <= uint.MaxValue) || !ProofWire.TryDecode(label.Opening, out var opening) || opening.Length != Commitment.OpeningSize || label.Statements is null || label.Statements.Any(s => s is null))
        {
            return new ProofVerdict(ProofStatus.BadOpening, $"the label {label.Scope} is present but its version, opening or statements are missing", epoch);
        }

        var commitment = Labels.Commit(opening, searchKey, label.Version.Value, label.Statements);
        if (!(proof with { LeafCommitment = commitment }).Proves(prefixRoot, searchKey, commitment))
        {
            return new ProofVerdict(ProofStatus.BadOpening, $"the statements under {label.Scope} are not the ones committed at epoch {epoch}", epoch);
        }

        committed.AddRange(label.Statements);
        return null;
    }
}

/// <summary>Base64url conversions between the wire records and proof values.</summary>
internal static class ProofWire
{
    /// <summary>Base64url without padding.</summary>
    public static string Encode(ReadOnlySpan<byte> bytes) => Base64Url.EncodeToString(bytes);

    /// <summary>Decodes base64url; throws <see cref="FormatException"/> on bad input.</summary>
    public static byte[] Decode(string? text) => TryDecode(text, out var bytes) ? bytes : throw new FormatException("not base64url");

    /// <summary>Decodes base64url; false on bad input.</summary>
    public static bool TryDecode(string? text, out byte[] bytes)
    {
        bytes = [];
        if (text is null || !Base64Url.IsValid(text))
        {
            return false;
        }

        bytes = Base64Url.DecodeFromChars(text);
        return true;
    }

    /// <summary>Decodes a list of base64url hashes; false on bad input.</summary>
    public static bool TryDecodeAll(IReadOnlyList<string>? texts, out List<byte[]> values)
    {
        values = [];
        if (texts is null)
        {
            return false;
        }

        foreach (var text in texts)
        {
            if (!TryDecode(text, out var value))
            {
                return false;
            }

            values.Add(value);
        }

        return true;
    }

    /// <summary>Encodes a list of hashes.</summary>
    public static IReadOnlyList<string> EncodeAll(IEnumerable<byte[]> values) => values.Select(v => Encode(v)).ToList();

    /// <summary>A signed tree head to the wire.</summary>
    public static TreeHeadWire ToWire(SignedTreeHead head)
    {
        ArgumentNullException.ThrowIfNull(head);
        return new TreeHeadWire(head.Size, head.Timestamp, Encode(head.Root), Encode(head.Signature));
    }

    /// <summary>A signed tree head from the wire; null when malformed.</summary>
    public static SignedTreeHead? Head(TreeHeadWire? wire) =>
        wire is not null && TryDecode(wire.Root, out var root) && TryDecode(wire.Signature, out var signature)
            ? new SignedTreeHead(wire.Size, wire.Timestamp, root, signature)
            : null;

    /// <summary>A prefix proof to the wire form of a label proof (without the opened value).</summary>
    public static LabelProof ToWire(string scope, byte[] vrfProof, PrefixProof proof)
    {
        ArgumentNullException.ThrowIfNull(proof);
        return proof.Terminal switch
        {
            PrefixTerminal.Leaf => new LabelProof(scope, Encode(vrfProof), EncodeAll(proof.Siblings), "leaf"),
            PrefixTerminal.OtherLeaf => new LabelProof(scope, Encode(vrfProof), EncodeAll(proof.Siblings), "other", Encode(proof.LeafKey), Encode(proof.LeafCommitment)),
            _ => new LabelProof(scope, Encode(vrfProof), EncodeAll(proof.Siblings), "empty"),
        };
    }

    /// <summary>The prefix proof in a label proof; null when malformed. A <c>leaf</c> proof's commitment is left for the caller to compute.</summary>
    public static PrefixProof? Prefix(LabelProof label)
    {
        ArgumentNullException.ThrowIfNull(label);
        if (!TryDecodeAll(label.Path, out var path))
        {
            return null;
        }

        switch (label.Terminal)
        {
            case "leaf":
                return new PrefixProof(path, PrefixTerminal.Leaf, null, null);
            case "empty" when label.LeafKey is null && label.Commitment is null:
                return new PrefixProof(path, PrefixTerminal.Empty, null, null);
            case "other" when TryDecode(label.LeafKey, out var key) && TryDecode(label.Commitment, out var commitment):
                return new PrefixProof(path, PrefixTerminal.OtherLeaf, key, commitment);
            default:
                return null;
        }
    }
}

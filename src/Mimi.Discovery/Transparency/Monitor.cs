// Owner-side monitoring of one label: every version the DP sealed, proven in its epoch and
// chained to the current signed tree head, with the keys that signed its statements. A version
// signed by a key the owner does not hold is mis-issuance; a gap in version numbers is a hidden
// version; an erased version (a removal deleted its text) can only be shown as erased.
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Statements;
using Mimi.Discovery.Verification;

namespace Mimi.Discovery.Transparency;

/// <summary>One version as the monitor saw it.</summary>
/// <param name="Version">Label version: it counts the changes to the label's set of statements, so it differs from the mapping versions (<paramref name="MappingVersions"/>) as soon as a label holds two mappings or one was removed.</param>
/// <param name="Epoch">The epoch that sealed it.</param>
/// <param name="SealedAt">When.</param>
/// <param name="Signers">Key thumbprints of its statements' signers (empty for an empty set or an erased version).</param>
/// <param name="Erased">The DP erased its content after a removal.</param>
/// <param name="Problem">Why this version is a violation, or null.</param>
/// <param name="MappingVersions">The mapping version (<c>ver</c>) of each statement, in the order of <paramref name="Signers"/>.</param>
public sealed record MonitoredVersion(long Version, long Epoch, DateTimeOffset SealedAt, IReadOnlyList<string> Signers, bool Erased, string? Problem, IReadOnlyList<long>? MappingVersions = null);

/// <summary>A monitor run over one label.</summary>
/// <param name="Versions">Every version, oldest first.</param>
/// <param name="Problems">Every violation found (empty when all is well).</param>
/// <param name="Head">The verified tree head, when its signature verified.</param>
public sealed record MonitorReport(IReadOnlyList<MonitoredVersion> Versions, IReadOnlyList<string> Problems, SignedTreeHead? Head);

/// <summary>Checks a label's history against the owner's keys.</summary>
public static class LabelMonitor
{
    /// <summary>
    /// Verifies <paramref name="history"/> for <paramref name="csi"/>: the tree head's signature,
    /// the VRF, each version's epoch inclusion and prefix-tree path, each opening, the version
    /// sequence, and that every statement was signed by one of <paramref name="ownerKeys"/>
    /// (RFC 7638 thumbprints). Statement signatures are checked with <paramref name="verifier"/>.
    /// </summary>
    public static MonitorReport Check(LabelHistory history, Csi csi, TransparencyKeyset keys, IReadOnlySet<string> ownerKeys, StatementVerifier verifier)
    {
        ArgumentNullException.ThrowIfNull(history);
        ArgumentNullException.ThrowIfNull(csi);
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(ownerKeys);
        ArgumentNullException.ThrowIfNull(verifier);
        var problems = new List<string>();
        var head = ProofWire.Head(history.Head);
        if (head is null || !head.VerifySignature(keys.LogKey))
        {
            return new MonitorReport([], ["the tree head's signature is not the DP's log key"], null);
        }

        if (history.Csi != csi.Uri || !ProofWire.TryDecode(history.Vrf, out var vrf) || EcVrf.Verify(keys.VrfKey, Labels.Alpha(csi, history.Scope), vrf) is not { } searchKey)
        {
            return new MonitorReport([], [$"the VRF proof for {csi} / {history.Scope} does not verify"], head);
        }

        var versions = new List<MonitoredVersion>();
        var expected = 1L;
        var lastEpoch = 0L;
        foreach (var v in history.Versions ?? [])
        {
            var sealedAt = DateTimeOffset.FromUnixTimeMilliseconds(v.Timestamp);
            var problem = CheckVersion(v, searchKey, head, keys, ownerKeys, verifier, csi, out var signers, out var mappingVersions, out var erased);
            if (problem is null && v.Version != expected)
            {
                problem = $"version {v.Version} follows version {expected - 1}: the DP hides version(s) in between";
            }

            if (problem is null && v.Epoch <= lastEpoch)
            {
                problem = $"version {v.Version} is sealed at epoch {v.Epoch}, not after the previous version's epoch {lastEpoch}";
            }

            if (problem is not null)
            {
                problems.Add($"v{v.Version}: {problem}");
            }

            versions.Add(new MonitoredVersion(v.Version, v.Epoch, sealedAt, signers, erased, problem, mappingVersions));
            expected = v.Version + 1;
            lastEpoch = v.Epoch;
        }

        return new MonitorReport(versions, problems, head);
    }

    private static string? CheckVersion(LabelVersion v, byte[] searchKey, SignedTreeHead head, TransparencyKeyset keys, IReadOnlySet<string> ownerKeys, StatementVerifier verifier, Csi csi,
        out IReadOnlyList<string> signers, out IReadOnlyList<long> mappingVersions, out bool erased)
    {
        signers = [];
        var versions = new List<long>();
        mappingVersions = versions;
        erased = v.Opening is null && v.Statements is null;
        if (v.Epoch < 1 || v.Epoch > head.Size || v.Version is < 1 or > uint.MaxValue
            || !ProofWire.TryDecode(v.PrefixRoot, out var prefixRoot) || !ProofWire.TryDecodeAll(v.Inclusion, out var inclusion)
            || !MerkleProof.VerifyInclusion(v.Epoch - 1, head.Size, new EpochLeaf(v.Epoch, v.Timestamp, prefixRoot).Hash(), inclusion, head.Root))
        {
            return $"epoch {v.Epoch} is not in the signed log";
        }

        if (!ProofWire.TryDecode(v.Commitment, out var commitment) || !ProofWire.TryDecodeAll(v.Path, out var path)
            || !new PrefixProof(path, PrefixTerminal.Leaf, null, commitment).Proves(prefixRoot, searchKey, commitment))
        {
            return $"the label's leaf is not in epoch {v.Epoch}'s prefix tree";
        }

        if (erased)
        {
            return null;
        }

        if (!ProofWire.TryDecode(v.Opening, out var opening) || opening.Length != Commitment.OpeningSize || v.Statements is null
            || !Commitment.Verify(commitment, opening, searchKey, (uint)v.Version, Labels.Value(v.Statements)))
        {
            return "the statements shown are not the ones committed";
        }

        var found = new List<string>();
        foreach (var statement in v.Statements)
        {
            // A past version is checked as of the epoch that sealed it: its statements expire later.
            var result = verifier.VerifyMapping(statement, DateTimeOffset.FromUnixTimeMilliseconds(v.Timestamp));
            if (!result.IsValid)
            {
                return $"a statement does not verify ({result.Status}: {result.Reason})";
            }

            var thumbprint = result.Statement.Id.KeyThumbprint;
            found.Add(thumbprint);
            versions.Add(result.Statement.Version);
            if (result.Statement.Csi != csi)
            {
                return $"a statement maps {result.Statement.Csi}, not {csi}";
            }

            if (!ownerKeys.Contains(thumbprint))
            {
                signers = found;
                return $"a statement is signed by key {thumbprint}, which the owner does not hold";
            }
        }

        signers = found;
        return null;
    }

    /// <summary>
    /// Checks that the DP kept an acknowledged change's receipt (docs/protocol.md §8, "Receipts"):
    /// once the log reaches <see cref="AcknowledgedChange.Epoch"/>, some version of the label sealed at
    /// that epoch or earlier shows the change — the mapping at that version or a later one, or for a
    /// removal, the mapping gone. <paramref name="history"/> must be the label of one of the change's
    /// scopes, already checked with <see cref="Check"/> (its versions proven); statements are read as
    /// of the epoch that sealed them.
    /// </summary>
    public static ReceiptVerdict CheckAcknowledged(LabelHistory history, SignedTreeHead head, AcknowledgedChange change, StatementVerifier verifier)
    {
        ArgumentNullException.ThrowIfNull(history);
        ArgumentNullException.ThrowIfNull(head);
        ArgumentNullException.ThrowIfNull(change);
        ArgumentNullException.ThrowIfNull(verifier);
        var sealedBy = (history.Versions ?? []).Where(v => v.Epoch <= change.Epoch).OrderBy(v => v.Version).ToList();
        long? VersionIn(LabelVersion v) => v.Statements?
            .Select(s => verifier.VerifyMapping(s, DateTimeOffset.FromUnixTimeMilliseconds(v.Timestamp)))
            .Where(r => r.IsValid && r.Statement!.Id.ToString() == change.MappingId)
            .Select(r => (long?)r.Statement!.Version).Max();

        // A receipt's epoch is a bound: the change may show earlier, even before the log reaches it.
        var notYetDue = head.Size < change.Epoch;
        if (change.Removal)
        {
            var latest = sealedBy.LastOrDefault();
            return latest switch
            {
                _ when notYetDue && (latest is null || latest.Statements is null || VersionIn(latest) <= change.Version) =>
                    new(change, ReceiptStatus.NotYetDue, $"due by epoch {change.Epoch}; the log is at {head.Size}"),
                null => new(change, ReceiptStatus.Honoured, $"the label has no version by epoch {change.Epoch}: the mapping was never in a sealed set"),
                { Statements: null } => new(change, ReceiptStatus.Unverifiable, $"the version sealed at epoch {latest.Epoch} was erased by a later removal"),
                _ when VersionIn(latest) is { } live && live <= change.Version => new(change, ReceiptStatus.Broken,
                    $"the removal acknowledged for epoch {change.Epoch} is not sealed: version {live} of the mapping is still in the set at epoch {latest.Epoch}"),
                _ => new(change, ReceiptStatus.Honoured, $"removed by epoch {latest.Epoch}"),
            };
        }

        if (sealedBy.FirstOrDefault(v => VersionIn(v) >= change.Version) is { } shown)
        {
            return new(change, ReceiptStatus.Honoured, $"sealed at epoch {shown.Epoch}");
        }

        if (notYetDue)
        {
            return new(change, ReceiptStatus.NotYetDue, $"due by epoch {change.Epoch}; the log is at {head.Size}");
        }

        return sealedBy.Any(v => v.Statements is null)
            ? new(change, ReceiptStatus.Unverifiable, $"versions sealed by epoch {change.Epoch} were erased by a later removal")
            : new(change, ReceiptStatus.Broken, $"version {change.Version} was acknowledged for epoch {change.Epoch} but no version of label {history.Scope} sealed by then shows it");
    }
}

/// <summary>
/// A change a DP acknowledged, as its owner keeps it: the receipt's epoch is a promise that the
/// change is sealed in that epoch or an earlier one.
/// </summary>
/// <param name="MappingId">The mapping changed (thumbprint/audience).</param>
/// <param name="Version">The version published, or for a removal the version removed.</param>
/// <param name="Epoch">The epoch the receipt named.</param>
/// <param name="Scopes">The labels the mapping is committed under (<see cref="Labels.ScopesOf(Audience, IReadOnlyList{MspEntry}, bool)"/>).</param>
/// <param name="Removal">Whether the change removed the mapping.</param>
public sealed record AcknowledgedChange(string MappingId, long Version, long Epoch, IReadOnlyList<string> Scopes, bool Removal = false)
{
    /// <summary>The change a publish of <paramref name="draft"/> was acknowledged with, or null when the DP keeps no log (no epoch).</summary>
    public static AcknowledgedChange? Of(MappingDraft draft, PublishReceipt receipt)
    {
        ArgumentNullException.ThrowIfNull(draft);
        ArgumentNullException.ThrowIfNull(receipt);
        return receipt.Epoch is { } epoch
            ? new(receipt.MappingId, receipt.Version, epoch, Labels.ScopesOf(draft.Audience, draft.Entries, draft.SealedRoutes.Count > 0))
            : null;
    }

    /// <summary>This mapping's removal, acknowledged with <paramref name="receipt"/>; null when the DP keeps no log.</summary>
    public AcknowledgedChange? RemovedBy(RemovalReceipt receipt)
    {
        ArgumentNullException.ThrowIfNull(receipt);
        return receipt.Epoch is { } epoch && receipt.Removed.Contains(MappingId, StringComparer.Ordinal) ? this with { Epoch = epoch, Removal = true } : null;
    }
}

/// <summary>Whether a receipt was kept.</summary>
public enum ReceiptStatus
{
    /// <summary>The change is sealed by the epoch the receipt named.</summary>
    Honoured,

    /// <summary>The log has not reached that epoch yet.</summary>
    NotYetDue,

    /// <summary>The versions that would show it were erased by a later removal, so it cannot be checked.</summary>
    Unverifiable,

    /// <summary>The log passed that epoch without the change: the DP broke its receipt.</summary>
    Broken,
}

/// <summary>The check of one acknowledged change.</summary>
/// <param name="Change">The change.</param>
/// <param name="Status">Whether it was kept.</param>
/// <param name="Reason">A sentence for people.</param>
public sealed record ReceiptVerdict(AcknowledgedChange Change, ReceiptStatus Status, string Reason);

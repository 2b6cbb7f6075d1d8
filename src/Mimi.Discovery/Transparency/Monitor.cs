// Owner-side monitoring of one label: every version the DP sealed, proven in its epoch and
// chained to the current signed tree head, with the keys that signed its statements. A version
// signed by a key the owner does not hold is mis-issuance; a gap in version numbers is a hidden
// version; an erased version (a removal deleted its text) can only be shown as erased.
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Verification;

namespace Mimi.Discovery.Transparency;

/// <summary>One version as the monitor saw it.</summary>
/// <param name="Version">Label version.</param>
/// <param name="Epoch">The epoch that sealed it.</param>
/// <param name="SealedAt">When.</param>
/// <param name="Signers">Key thumbprints of its statements' signers (empty for an empty set or an erased version).</param>
/// <param name="Erased">The DP erased its content after a removal.</param>
/// <param name="Problem">Why this version is a violation, or null.</param>
public sealed record MonitoredVersion(long Version, long Epoch, DateTimeOffset SealedAt, IReadOnlyList<string> Signers, bool Erased, string? Problem);

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
            var problem = CheckVersion(v, searchKey, head, keys, ownerKeys, verifier, csi, out var signers, out var erased);
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

            versions.Add(new MonitoredVersion(v.Version, v.Epoch, sealedAt, signers, erased, problem));
            expected = v.Version + 1;
            lastEpoch = v.Epoch;
        }

        return new MonitorReport(versions, problems, head);
    }

    private static string? CheckVersion(LabelVersion v, byte[] searchKey, SignedTreeHead head, TransparencyKeyset keys, IReadOnlySet<string> ownerKeys, StatementVerifier verifier, Csi csi,
        out IReadOnlyList<string> signers, out bool erased)
    {
        signers = [];
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
            var result = verifier.VerifyMapping(statement);
            if (!result.IsValid && result.Status is VerificationStatus.Expired or VerificationStatus.CredentialExpired)
            {
                // Past versions expire; their signer can no longer be checked against a live credential.
                found.Add("(expired)");
                continue;
            }

            if (!result.IsValid)
            {
                return $"a statement does not verify ({result.Status}: {result.Reason})";
            }

            var thumbprint = result.Statement.Id.KeyThumbprint;
            found.Add(thumbprint);
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
}

using System.Security.Cryptography;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Transparency;

namespace Mimi.Discovery.Tests.Transparency;

/// <summary>The tree head's time against the sender's clock and against the heads it saw before.</summary>
public sealed class ProofVerifierTimeTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);
    private readonly ECDsa _logKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly TransparencyKeyset _keys;
    private readonly MerkleTree _log = new();
    private readonly List<EpochLeaf> _leaves = [];

    public ProofVerifierTimeTests()
    {
        var vrfKey = new byte[33];
        vrfKey[0] = 2;
        _keys = TransparencyKeyset.FromWire(new TransparencyKeys(ProofWire.Encode(vrfKey), ProofWire.Encode(_logKey.ExportSubjectPublicKeyInfo()), 2))!;
    }

    public void Dispose()
    {
        _logKey.Dispose();
        _keys.Dispose();
    }

    /// <summary>Seals one more epoch timed <paramref name="time"/> and returns its proof, extending <paramref name="known"/> when given.</summary>
    private EpochProof Seal(DateTimeOffset time, SignedTreeHead? known = null)
    {
        var leaf = new EpochLeaf(_leaves.Count + 1, time.ToUnixTimeMilliseconds(), SHA256.HashData(BitConverter.GetBytes(_leaves.Count)));
        _leaves.Add(leaf);
        _log.Append(leaf.Hash());
        var head = SignedTreeHead.Sign(_logKey, leaf.Epoch, leaf.Timestamp, _log.Root(leaf.Epoch));
        return new EpochProof(leaf.Epoch, leaf.Timestamp, ProofWire.Encode(leaf.PrefixRoot), ProofWire.EncodeAll(_log.InclusionProof(leaf.Epoch - 1, leaf.Epoch)), ProofWire.ToWire(head),
            known?.Size, known is null ? null : ProofWire.EncodeAll(_log.ConsistencyProof(known.Size, leaf.Epoch)));
    }

    [Fact]
    public void VerifyEpoch_HeadWithinSkew_IsComplete()
    {
        var (verdict, head) = ProofVerifier.VerifyEpoch(Seal(Now.AddMinutes(4)), _keys, null, Now, TimeSpan.FromDays(1));

        Assert.Equal(ProofStatus.Complete, verdict.Status);
        Assert.NotNull(head);
    }

    [Fact]
    public void VerifyEpoch_HeadTwoDaysAhead_IsFutureTreeHead()
    {
        var (verdict, head) = ProofVerifier.VerifyEpoch(Seal(Now.AddDays(2)), _keys, null, Now, TimeSpan.FromDays(1));

        Assert.Equal(ProofStatus.FutureTreeHead, verdict.Status);
        Assert.Null(head);
    }

    [Fact]
    public void VerifyEpoch_SkewAllowedIsTheCallers()
    {
        var proof = Seal(Now.AddMinutes(10));

        Assert.Equal(ProofStatus.FutureTreeHead, ProofVerifier.VerifyEpoch(proof, _keys, null, Now, TimeSpan.FromDays(1)).Verdict.Status);
        Assert.Equal(ProofStatus.Complete, ProofVerifier.VerifyEpoch(proof, _keys, null, Now, TimeSpan.FromDays(1), maxSkew: TimeSpan.FromMinutes(15)).Verdict.Status);
    }

    [Fact]
    public void VerifyEpoch_LaterHeadTimedBeforeTheOneSeen_IsTimestampRegression()
    {
        var (_, first) = ProofVerifier.VerifyEpoch(Seal(Now), _keys, null, Now, TimeSpan.FromDays(1));

        var (verdict, head) = ProofVerifier.VerifyEpoch(Seal(Now.AddHours(-1), first), _keys, first, Now, TimeSpan.FromDays(1));

        Assert.Equal(ProofStatus.TimestampRegression, verdict.Status);
        Assert.Null(head);
    }

    [Fact]
    public void VerifyEpoch_LaterHeadWithTheSameTime_IsComplete()
    {
        var (_, first) = ProofVerifier.VerifyEpoch(Seal(Now), _keys, null, Now, TimeSpan.FromDays(1));

        Assert.Equal(ProofStatus.Complete, ProofVerifier.VerifyEpoch(Seal(Now, first), _keys, first, Now, TimeSpan.FromDays(1)).Verdict.Status);
    }
}

using Mimi.Discovery.Client;
using Mimi.Discovery.Server.Federation;
using Mimi.Discovery.Server.Storage;
using Mimi.Discovery.Server.Tokens;
using Mimi.Discovery.Server.Transparency;
using Mimi.Discovery.Statements;
using Mimi.Discovery.Transparency;
using Mimi.Discovery.Verification;

namespace Mimi.Discovery.Server.Tests.Federation;

/// <summary>
/// Redistribution: a DP mirrors a peer's mappings over the peer's log with a cursor, serves them from
/// its own log (a sender trusting the mirror's advertised CAs verifies them), follows new versions and
/// removals, and never stores what does not verify. The mirroring API lists identifiers, so it takes
/// the mirror key only.
/// </summary>
public sealed class MirrorTests
{
    private const string Alice = "+33612345678";
    private const string Bob = "+33698765432";

    [Fact]
    public async Task Mirror_FollowsPublishesVersionsAndRemovals_ServingThemWithItsOwnProofs()
    {
        var (key, hash) = ApiKeys.Create();
        await using var origin = await DpHost.StartAsync(o => o.MirrorKeyHashes.Add(hash));
        var alice = await origin.RegisterAsync(Alice);
        await origin.Client.PublishAsync(alice.Sign(1, [new MspEntry("wire") { Account = "@alice", Priority = 10 }]));
        var bob = await origin.RegisterAsync(Bob);
        await origin.Client.PublishAsync(bob.Sign(1, [new MspEntry("signal") { Account = "@bob", Priority = 10 }]));
        var config = await PeerConfig.ForAsync(origin);
        config.MirrorKey = key;
        await using var mirror = await DpHost.StartAsync(o => o.Peers.Add(config));

        Assert.Equal(2, await PullAndSealAsync(mirror));
        var answers = await LookupAsync(mirror, Alice, Bob);
        Assert.Equal(["@alice", "@bob"], answers.Select(a => Assert.Single(a.Mappings).Entries[0].Account));
        Assert.All(answers, a => Assert.True(a.Proof!.IsComplete, a.Proof.Reason));

        // Nothing new: the cursor stands at the origin's head, nothing is applied again.
        Assert.Equal(0, await mirror.Service<MirrorPuller>().PullAsync(default));

        // A new version and a removal at the origin arrive at the mirror.
        await origin.Client.PublishAsync(alice.Sign(2, [new MspEntry("wire") { Account = "@alice-2", Priority = 10 }]));
        await origin.Client.RemoveAsync(bob.Signer.SignRemoval(new RemovalDraft(bob.Csi) { Version = 1 }));
        Assert.Equal(2, await PullAndSealAsync(mirror));
        answers = await LookupAsync(mirror, Alice, Bob);
        Assert.Equal(2, Assert.Single(answers[0].Mappings).Version);
        Assert.Equal(LookupOutcome.None, answers[1].Outcome);
        Assert.True(answers[1].Proof!.IsComplete);
        Assert.Equal(await origin.Service<TransparencyLog>().SealAsync(default) ?? origin.Service<TransparencyLog>().Epoch,
            await mirror.Service<IDiscoveryStore>().GetMirrorCursorAsync(origin.BaseAddress.ToString(), default));
    }

    [Fact]
    public async Task MirroringApi_WithoutTheKey_IsRefused_AndAMirrorWithAWrongKeyStoresNothing()
    {
        var (key, hash) = ApiKeys.Create();
        await using var origin = await DpHost.StartAsync(o => o.MirrorKeyHashes.Add(hash));
        var alice = await origin.RegisterAsync(Alice);
        await origin.Client.PublishAsync(alice.Sign(1));

        var anonymous = await ProblemAssert.ThrowsAsync(401, "mirror-key-required", () => origin.Client.GetMirrorEpochAsync(1));
        Assert.Contains("mirror key", anonymous.Message, StringComparison.Ordinal);

        // With the key: an epoch not sealed yet is a 404 naming the range.
        using var keyed = new HttpClient(TlsTrust.CreateHandler(TlsTrust.LoadRoots(Path.Combine(origin.DataDirectory, "tls.crt")))) { BaseAddress = origin.BaseAddress };
        keyed.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        var unsealed = await ProblemAssert.ThrowsAsync(404, "unknown-epoch", () => new DiscoveryClient(keyed).GetMirrorEpochAsync(999));
        Assert.Contains("epochs run from 1 to", unsealed.Message, StringComparison.Ordinal);

        var config = await PeerConfig.ForAsync(origin);
        config.MirrorKey = ApiKeys.Create().Key; // not the one the origin knows
        await using var mirror = await DpHost.StartAsync(o => o.Peers.Add(config));
        Assert.Equal(0, await PullAndSealAsync(mirror));
        Assert.Equal(0, await mirror.Service<IDiscoveryStore>().GetMirrorCursorAsync(origin.BaseAddress.ToString(), default));
        Assert.Equal(LookupOutcome.None, (await LookupAsync(mirror, Alice))[0].Outcome);
    }

    private static async Task<int> PullAndSealAsync(DpHost mirror)
    {
        var applied = await mirror.Service<MirrorPuller>().PullAsync(default);
        await mirror.Service<TransparencyLog>().SealAsync(default);
        return applied;
    }

    /// <summary>A sender of the mirror, trusting the CAs the mirror advertises (its own and its mirrored peers').</summary>
    private static async Task<IReadOnlyList<VerifiedLookup>> LookupAsync(DpHost mirror, params string[] csis)
    {
        var metadata = await mirror.Client.GetMetadataAsync();
        var verifier = new StatementVerifier(TrustAnchors.FromPem(string.Join('\n', metadata.CredentialCas)), mirror.Clock);
        var check = new TransparencyCheck(TransparencyKeyset.FromWire(metadata.Transparency!)!, new TreeHeadMemory(), TimeSpan.FromDays(1), mirror.Clock);
        return await mirror.Client.LookupAsync(csis, verifier, null, check);
    }
}

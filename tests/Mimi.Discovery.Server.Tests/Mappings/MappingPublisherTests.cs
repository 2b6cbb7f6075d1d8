using System.Security.Cryptography;
using Microsoft.Extensions.Time.Testing;
using Mimi.Discovery.Client;
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Statements;

namespace Mimi.Discovery.Server.Tests.Mappings;

/// <summary>The SDK's recipient flow against a real DP: prove once, reuse the credential, number versions, remove.</summary>
public sealed class MappingPublisherTests : IDisposable
{
    private readonly string _home = Directory.CreateTempSubdirectory("mimi-keys-").FullName;

    public void Dispose() => Directory.Delete(_home, recursive: true);

    [Fact]
    public async Task ProvesOnce_ThenReusesTheCredential_AndNumbersVersions()
    {
        await using var dp = await DpHost.StartAsync();
        var csi = CsiParser.ParseOrThrow("+33612345601");
        var store = new KeyStore(_home);
        using var key = store.GetOrCreateKey(out _);
        var publisher = new MappingPublisher(dp.Client, store, key, dp.Clock);
        var codesAsked = new List<string>();

        var first = await publisher.EnsureCredentialAsync(csi, ReadOutbox(dp, codesAsked));
        var v1 = await publisher.PublishAsync(new MappingDraft(csi, publisher.NextVersion(csi, Audience.Any), [new MspEntry("wire") { Account = "@bob" }]), first.Certificate);
        var second = await publisher.EnsureCredentialAsync(csi, ReadOutbox(dp, codesAsked));
        var v2 = await publisher.PublishAsync(new MappingDraft(csi, publisher.NextVersion(csi, Audience.Any), []), second.Certificate);

        Assert.True(first.Issued);
        Assert.False(second.Issued);
        Assert.Equal(first.Certificate.Thumbprint, second.Certificate.Thumbprint);
        Assert.Equal(["outbox"], codesAsked);
        Assert.Equal((1, 2), (v1.Version, v2.Version));
        Assert.Equal(v1.MappingId, v2.MappingId);
        Assert.Equal(2, Assert.Single(store.LoadVersions(csi)).Value);
        Assert.Equal(2, store.LoadAcknowledged(csi)[v2.MappingId].Version);
        Assert.Equal(1, publisher.NextVersion(csi, Audience.SameService));
    }

    [Fact]
    public async Task CredentialAboutToExpire_IsNotReused()
    {
        await using var dp = await DpHost.StartAsync();
        var csi = CsiParser.ParseOrThrow("+33612345602");
        var store = new KeyStore(_home);
        using var key = store.GetOrCreateKey(out _);
        var codesAsked = new List<string>();
        var issued = await new MappingPublisher(dp.Client, store, key, dp.Clock).EnsureCredentialAsync(csi, ReadOutbox(dp, codesAsked));

        // The publisher's own clock, half an hour before the credential ends: inside the reuse margin.
        var late = new FakeTimeProvider(issued.Certificate.NotAfter.ToUniversalTime() - TimeSpan.FromMinutes(30));
        var again = await new MappingPublisher(dp.Client, store, key, late).EnsureCredentialAsync(csi, ReadOutbox(dp, codesAsked));

        Assert.True(again.Issued);
        Assert.Equal(2, codesAsked.Count);
    }

    [Fact]
    public async Task CredentialForAnotherKeyOrFromAnotherDp_IsNotReused()
    {
        await using var dp = await DpHost.StartAsync();
        await using var otherDp = await DpHost.StartAsync();
        var csi = CsiParser.ParseOrThrow("+33612345603");
        var store = new KeyStore(_home);
        using var key = store.GetOrCreateKey(out _);
        var codesAsked = new List<string>();
        await new MappingPublisher(otherDp.Client, store, key, dp.Clock).EnsureCredentialAsync(csi, ReadOutbox(otherDp, codesAsked));

        var fromThisDp = await new MappingPublisher(dp.Client, store, key, dp.Clock).EnsureCredentialAsync(csi, ReadOutbox(dp, codesAsked));
        using var newKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var forNewKey = await new MappingPublisher(dp.Client, store, newKey, dp.Clock).EnsureCredentialAsync(csi, ReadOutbox(dp, codesAsked));

        Assert.True(fromThisDp.Issued);
        Assert.True(forNewKey.Issued);
        Assert.Equal(3, codesAsked.Count);
    }

    [Fact]
    public async Task NoCode_IsRefusedAndNothingIsStored()
    {
        await using var dp = await DpHost.StartAsync();
        var csi = CsiParser.ParseOrThrow("+33612345604");
        var store = new KeyStore(_home);
        using var key = store.GetOrCreateKey(out _);

        var e = await Assert.ThrowsAsync<ArgumentException>(() =>
            new MappingPublisher(dp.Client, store, key, dp.Clock).EnsureCredentialAsync(csi, (_, _, _) => ValueTask.FromResult("  ")));

        Assert.Contains("No code", e.Message, StringComparison.Ordinal);
        Assert.Null(store.LoadCredential(csi));
    }

    [Fact]
    public async Task WrongCode_IsTheDpsProblemAndNothingIsStored()
    {
        await using var dp = await DpHost.StartAsync();
        var csi = CsiParser.ParseOrThrow("+33612345605");
        var store = new KeyStore(_home);
        using var key = store.GetOrCreateKey(out _);

        var e = await Assert.ThrowsAsync<DiscoveryException>(() =>
            new MappingPublisher(dp.Client, store, key, dp.Clock).EnsureCredentialAsync(csi, (_, _, _) => ValueTask.FromResult("000000x")));

        Assert.Equal(400, e.Status);
        Assert.Null(store.LoadCredential(csi));
    }

    [Fact]
    public async Task Remove_RemovesWhatThisFolderPublished_AndNothingWhenItRecordsNone()
    {
        await using var dp = await DpHost.StartAsync();
        var csi = CsiParser.ParseOrThrow("+33612345606");
        var store = new KeyStore(_home);
        using var key = store.GetOrCreateKey(out _);
        var publisher = new MappingPublisher(dp.Client, store, key, dp.Clock);

        Assert.Null(await publisher.RemoveAsync(csi));

        var credential = await publisher.EnsureCredentialAsync(csi, ReadOutbox(dp, []));
        var published = await publisher.PublishAsync(new MappingDraft(csi, publisher.NextVersion(csi, Audience.Any), [new MspEntry("wire") { Account = "@bob" }]), credential.Certificate);
        var removed = await publisher.RemoveAsync(csi);

        Assert.Equal([published.MappingId], removed!.Removed);
        Assert.Equal(LookupResultKinds.None, (await dp.LookupJsonAsync(csi.Uri)).GetProperty("result").GetString());
    }

    private static ProofCodeReader ReadOutbox(DpHost dp, List<string> asked) => (proof, _, _) =>
    {
        asked.Add(proof.Channel);
        return ValueTask.FromResult(dp.LastCode());
    };
}

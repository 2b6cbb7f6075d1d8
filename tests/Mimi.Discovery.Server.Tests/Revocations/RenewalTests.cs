using Mimi.Discovery.Client;
using Mimi.Discovery.Statements;
using Mimi.Discovery.Verification;

namespace Mimi.Discovery.Server.Tests.Revocations;

/// <summary>Renewal (docs/protocol.md §15): re-prove, and republish the same entries under the new credential.</summary>
public sealed class RenewalTests
{
    [Fact]
    public async Task RenewAsync_ReprovesAndRepublishesTheSameEntries_UnderTheLaterCredential()
    {
        await using var dp = await DpHost.StartAsync();
        var keys = new KeyStore(Directory.CreateTempSubdirectory("mimi-keys-").FullName);
        using var key = keys.GetOrCreateKey(out _);
        var publisher = new MappingPublisher(dp.Client, keys, key, dp.Clock);
        var csi = Identifiers.CsiParser.ParseOrThrow("+33612345678");
        ValueTask<string> Code(Protocol.ProofStarted proof, Identifiers.Csi to, CancellationToken cancellationToken) => ValueTask.FromResult(dp.LastCode());
        var first = await publisher.EnsureCredentialAsync(csi, Code);
        MspEntry[] entries = [new MspEntry("wire") { Account = "@bob", Priority = 10, Tags = ["default"] }];
        await publisher.PublishAsync(new MappingDraft(csi, 1, entries) { Audience = Audience.SameService }, first.Certificate);
        dp.Time.Advance(TimeSpan.FromSeconds(2));

        var renewal = await publisher.RenewAsync(csi, Code);

        Assert.True(renewal.Credential.Issued);
        Assert.True(renewal.Credential.Certificate.NotAfter > first.Certificate.NotAfter);
        var receipt = Assert.Single(renewal.Receipts);
        Assert.Equal(2, receipt.Version);
        Assert.Equal([csi], keys.ListCsis());
        var verifier = new StatementVerifier(TrustAnchors.FromPem(File.ReadAllText(Path.Combine(dp.DataDirectory, "ca.crt"))), dp.Clock);
        var served = (await dp.Client.LookupAsync([csi.Uri], verifier, "wire")).Single().Mappings.Single();
        Assert.Equal(2, served.Version);
        Assert.Equal(Audience.SameService, served.Audience);
        Assert.Equal("@bob", Assert.Single(served.Entries).Account);
        Assert.Equal(renewal.Credential.Certificate.Thumbprint, served.Credential.Certificate.Thumbprint);
    }

    [Fact]
    public async Task RenewAsync_NothingPublished_RenewsTheCredentialOnly()
    {
        await using var dp = await DpHost.StartAsync();
        var keys = new KeyStore(Directory.CreateTempSubdirectory("mimi-keys-").FullName);
        using var key = keys.GetOrCreateKey(out _);
        var publisher = new MappingPublisher(dp.Client, keys, key, dp.Clock);

        var renewal = await publisher.RenewAsync(Identifiers.CsiParser.ParseOrThrow("bob@example.com"), (_, _, _) => ValueTask.FromResult(dp.LastCode()));

        Assert.Empty(renewal.Receipts);
        Assert.NotNull(keys.LoadCredential(Identifiers.CsiParser.ParseOrThrow("bob@example.com")));
    }
}

using System.Security.Cryptography;
using Mimi.Discovery.Statements;

namespace Mimi.Discovery.Server.Tests.Apis;

public sealed class RemovalApiTests : IAsyncLifetime
{
    private DpHost _dp = null!;

    public async ValueTask InitializeAsync() => _dp = await DpHost.StartAsync();

    public ValueTask DisposeAsync() => _dp.DisposeAsync();

    private async Task<IReadOnlyList<string>> StatementsAsync(string csi) => (await _dp.Client.LookupRawAsync([csi])).Results.Single().Statements;

    [Fact]
    public async Task OwnerRemoval_RemovesAndAReplayedOldStatementCannotReturn()
    {
        var bob = await _dp.RegisterAsync("+33612345678");
        var v1 = bob.Sign(1);
        await _dp.Client.PublishAsync(v1);

        var receipt = await _dp.Client.RemoveAsync(bob.Signer.SignRemoval(new RemovalDraft(bob.Csi) { Version = 1 }));

        Assert.Equal("owner", receipt.Authority);
        Assert.Equal([bob.Signer.MappingIdFor(Audience.Any).ToString()], receipt.Removed);
        Assert.Empty(await StatementsAsync("+33612345678"));
        await ProblemAssert.ThrowsAsync(409, "version-not-newer", () => _dp.Client.PublishAsync(v1));
        _dp.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(2, (await _dp.Client.PublishAsync(bob.Sign(2))).Version);
    }

    [Fact]
    public async Task OwnerRemoval_BareKey_Works()
    {
        var bob = await _dp.RegisterAsync("+33612345678");
        await _dp.Client.PublishAsync(bob.Sign(3));

        var receipt = await _dp.Client.RemoveAsync(StatementSigner.SignOwnerRemoval(bob.Key, new RemovalDraft(bob.Csi) { Version = 3 }, _dp.Time));

        Assert.Single(receipt.Removed);
    }

    [Fact]
    public async Task Removal_ByAnotherKey_IsNothingToRemoveAndChangesNothing()
    {
        var bob = await _dp.RegisterAsync("+33612345678");
        await _dp.Client.PublishAsync(bob.Sign(1));
        using var mallory = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        await ProblemAssert.ThrowsAsync(404, "nothing-to-remove",
            () => _dp.Client.RemoveAsync(StatementSigner.SignOwnerRemoval(mallory, new RemovalDraft(bob.Csi) { Version = 99 }, _dp.Time)));

        Assert.Single(await StatementsAsync("+33612345678"));
    }

    [Fact]
    public async Task Removal_Forged_IsRejected()
    {
        var bob = await _dp.RegisterAsync("+33612345678");
        await _dp.Client.PublishAsync(bob.Sign(1));
        var removal = bob.Signer.SignRemoval(new RemovalDraft(bob.Csi) { Version = 1 });

        await ProblemAssert.ThrowsAsync(422, "statement-rejected", () => _dp.Client.RemoveAsync(removal[..^4] + "AAAA"));
        await ProblemAssert.ThrowsAsync(422, "statement-rejected", () => _dp.Client.RemoveAsync(bob.Sign(2)));
        Assert.Single(await StatementsAsync("+33612345678"));
    }

    [Fact]
    public async Task Supersede_NewOwnerRemovesOthersAndOldCredentialsCannotPublishAgain()
    {
        var oldOwner = await _dp.RegisterAsync("+33612345678");
        var oldDevice = await _dp.RegisterAsync("+33612345678");
        await _dp.Client.PublishAsync(oldOwner.Sign(1));
        await _dp.Client.PublishAsync(oldDevice.Sign(1));
        _dp.Time.Advance(TimeSpan.FromDays(1));

        var newOwner = await _dp.RegisterAsync("+33612345678");
        var receipt = await _dp.Client.PublishAsync(newOwner.Sign(1, supersede: true));

        Assert.Equal(2, receipt.Superseded.Count);
        var statements = await StatementsAsync("+33612345678");
        Assert.Equal(newOwner.Sign(1, supersede: true).Split('.')[1], Assert.Single(statements).Split('.')[1]);
        await ProblemAssert.ThrowsAsync(403, "credential-superseded", () => _dp.Client.PublishAsync(oldOwner.Sign(2)));
    }

    [Fact]
    public async Task SuccessorRemoval_RemovesOlderOwners()
    {
        var oldOwner = await _dp.RegisterAsync("bob@example.com");
        await _dp.Client.PublishAsync(oldOwner.Sign(1));
        _dp.Time.Advance(TimeSpan.FromDays(1));
        var newOwner = await _dp.RegisterAsync("bob@example.com");

        var receipt = await _dp.Client.RemoveAsync(newOwner.Signer.SignRemoval(new RemovalDraft(newOwner.Csi) { Supersede = true }));

        Assert.Equal("successor", receipt.Authority);
        Assert.Empty(await StatementsAsync("bob@example.com"));
        await ProblemAssert.ThrowsAsync(403, "credential-superseded", () => _dp.Client.PublishAsync(oldOwner.Sign(2)));
    }

    [Fact]
    public async Task CsipRemoval_ScopeCoveringTheCsi_Removes()
    {
        var bob = await _dp.RegisterAsync("+33612345678");
        await _dp.Client.PublishAsync(bob.Sign(1));
        _dp.Time.Advance(TimeSpan.FromSeconds(5));
        var csip = await Mappings.CsipKit.OnboardAsync(_dp, "Example Telecom", ["+336"]);

        var receipt = await _dp.Client.RemoveAsync(csip.SignRemoval(new RemovalDraft(bob.Csi)));

        Assert.Equal("csip", receipt.Authority);
        Assert.Empty(await StatementsAsync("+33612345678"));
        var act = Assert.Single(await _dp.Service<Mimi.Discovery.Server.Storage.ICsipStore>().GetCsipActsAsync(bob.Csi.Uri, default));
        Assert.Equal(("Example Telecom", null, receipt.Removed.Single()), (act.Csip, act.Feed, act.MappingId));
    }

    [Fact]
    public async Task CsipRemoval_CsipNotOnboarded_IsRefusedAndChangesNothing()
    {
        var bob = await _dp.RegisterAsync("+33612345678");
        await _dp.Client.PublishAsync(bob.Sign(1));
        _dp.Time.Advance(TimeSpan.FromSeconds(5));
        var csip = await Mappings.CsipKit.OnboardAsync(_dp, "Example Telecom", ["+336"], onboard: false);

        await ProblemAssert.ThrowsAsync(403, "csip-not-onboarded", () => _dp.Client.RemoveAsync(csip.SignRemoval(new RemovalDraft(bob.Csi))));

        Assert.Single(await StatementsAsync("+33612345678"));
    }

    [Fact]
    public async Task CsipRemoval_CsipRevoked_IsRefusedAndChangesNothing()
    {
        var bob = await _dp.RegisterAsync("+33612345678");
        await _dp.Client.PublishAsync(bob.Sign(1));
        _dp.Time.Advance(TimeSpan.FromSeconds(5));
        var csip = await Mappings.CsipKit.OnboardAsync(_dp, "Example Telecom", ["+336"]);
        Assert.Equal(1, await _dp.Service<Mimi.Discovery.Server.Storage.ICsipStore>().RevokeCsipAsync("Example Telecom", 1, default));

        await ProblemAssert.ThrowsAsync(403, "csip-revoked", () => _dp.Client.RemoveAsync(csip.SignRemoval(new RemovalDraft(bob.Csi))));

        Assert.Single(await StatementsAsync("+33612345678"));
        Assert.Empty(await _dp.Service<Mimi.Discovery.Server.Storage.ICsipStore>().GetCsipActsAsync(bob.Csi.Uri, default));
    }

    [Theory]
    [InlineData("""{"statement":"x.y.z"}""", 422, "statement-rejected")]
    [InlineData("""{"nope":1}""", 400, "invalid-request")]
    public async Task Removal_MalformedBody_IsRejected(string body, int status, string code)
    {
        await ProblemAssert.IsProblemAsync(await _dp.PostJsonAsync("v1/removals", body), status, code);
    }
}

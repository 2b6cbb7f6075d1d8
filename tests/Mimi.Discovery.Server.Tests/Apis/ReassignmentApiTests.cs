using System.Security.Cryptography;
using Mimi.Discovery.Credentials;
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Server.Storage;
using Mimi.Discovery.Server.Tests.Mappings;
using Mimi.Discovery.Statements;

namespace Mimi.Discovery.Server.Tests.Apis;

/// <summary><c>POST /v1/reassignments</c> over HTTPS (docs/protocol.md §16).</summary>
public sealed class ReassignmentApiTests : IAsyncLifetime
{
    private const string Bob = "+33612345678";
    private const string Carol = "+447911123456";
    private const string Dave = "+33698765432";

    private DpHost _dp = null!;

    public async ValueTask InitializeAsync() => _dp = await DpHost.StartAsync();

    public ValueTask DisposeAsync() => _dp.DisposeAsync();

    private async Task<IReadOnlyList<string>> StatementsAsync(string csi) => (await _dp.Client.LookupRawAsync([csi])).Results.Single().Statements;

    private Reassignment Now(string csi) => new(CsiParser.ParseOrThrow(csi), _dp.Time.GetUtcNow());

    /// <summary>Bob publishes, then his number changes hands 5 s later; returns his recipient.</summary>
    private async Task<DpHost.Recipient> PublishedThenReassignedAsync(string csi = Bob)
    {
        var owner = await _dp.RegisterAsync(csi);
        await _dp.Client.PublishAsync(owner.Sign(1));
        _dp.Time.Advance(TimeSpan.FromSeconds(5));
        return owner;
    }

    [Fact]
    public async Task Feed_OutOfScopeNumbersRefusedOneByOne_TheRestApplied()
    {
        var bob = await PublishedThenReassignedAsync();
        var carol = await PublishedThenReassignedAsync(Carol);
        var csip = await CsipKit.OnboardAsync(_dp, "Example Telecom", ["+336"]);

        var receipt = await _dp.Client.SubmitReassignmentFeedAsync(csip.SignReassignmentFeed([Now(Bob), Now(Carol), Now(Dave)], "feed-1"));

        Assert.Equal(("feed-1", "Example Telecom"), (receipt.Feed, receipt.Csip));
        Assert.Equal(
            [("tel:" + Bob, ReassignmentResults.Applied), ("tel:" + Carol, ReassignmentResults.NotInScope), ("tel:" + Dave, ReassignmentResults.NothingToRemove)],
            receipt.Results.Select(r => (r.Csi, r.Result)));
        Assert.Equal([bob.Signer.MappingIdFor(Audience.Any).ToString()], receipt.Results[0].Removed);
        Assert.NotNull(receipt.Epoch);
        Assert.Empty(await StatementsAsync(Bob));
        Assert.Single(await StatementsAsync(Carol));
        Assert.Single(await _dp.Service<ICsipStore>().GetCsipActsAsync("tel:" + Bob, default));
        Assert.Empty(await _dp.Service<ICsipStore>().GetCsipActsAsync("tel:" + Carol, default));
        _ = carol;
        var history = await _dp.Client.GetHistoryAsync(bob.Csi, "any");
        Assert.Equal(new CsipRemoval("Example Telecom", receipt.Results[0].Removed[0], _dp.Time.GetUtcNow().ToUnixTimeSeconds(), "feed-1"), Assert.Single(history.CsipRemovals!));
        Assert.Null((await _dp.Client.GetHistoryAsync(CsiParser.ParseOrThrow(Carol), "any")).CsipRemovals);
    }

    [Fact]
    public async Task Feed_PreviousHolderCannotRepublish_TheNewHolderCan()
    {
        var bob = await PublishedThenReassignedAsync();
        var csip = await CsipKit.OnboardAsync(_dp, "Example Telecom", ["+336"]);
        await _dp.Client.SubmitReassignmentFeedAsync(csip.SignReassignmentFeed([Now(Bob)]));
        _dp.Time.Advance(TimeSpan.FromSeconds(5));

        await ProblemAssert.ThrowsAsync(403, "credential-superseded", () => _dp.Client.PublishAsync(bob.Sign(2)));
        var newHolder = await _dp.RegisterAsync(Bob);
        await _dp.Client.PublishAsync(newHolder.Sign(1));

        Assert.Single(await StatementsAsync(Bob));
    }

    [Fact]
    public async Task Feed_MappingUnderACredentialIssuedAfterTheReassignment_IsKept()
    {
        await PublishedThenReassignedAsync();
        var at = Now(Bob);
        _dp.Time.Advance(TimeSpan.FromSeconds(5));
        var newHolder = await _dp.RegisterAsync(Bob);
        await _dp.Client.PublishAsync(newHolder.Sign(1));
        var csip = await CsipKit.OnboardAsync(_dp, "Example Telecom", ["+336"]);

        var receipt = await _dp.Client.SubmitReassignmentFeedAsync(csip.SignReassignmentFeed([at]));

        Assert.Equal(ReassignmentResults.Applied, receipt.Results.Single().Result);
        Assert.Equal([newHolder.Signer.MappingIdFor(Audience.Any).ToString()], (await _dp.Client.LookupRawAsync([Bob])).Results.Single().Statements.Select(MappingIdOf));
    }

    private static string MappingIdOf(string statement)
    {
        var header = Jose.JWT.Headers(statement);
        var x5c = (System.Collections.IEnumerable)header["x5c"];
        using var certificate = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificate(Convert.FromBase64String(x5c.Cast<object>().First().ToString()!));
        Assert.True(Credential.TryParse(certificate, out var credential, out _));
        return new MappingId(credential!.KeyThumbprint, Audience.Any.Token).ToString();
    }

    [Fact]
    public async Task Feed_Replayed_IsFeedReplayedAndChangesNothing()
    {
        var csip = await CsipKit.OnboardAsync(_dp, "Example Telecom", ["+336"]);
        var feed = csip.SignReassignmentFeed([Now(Dave)], "once");
        await _dp.Client.SubmitReassignmentFeedAsync(feed);
        await PublishedThenReassignedAsync(Dave);

        await ProblemAssert.ThrowsAsync(409, "feed-replayed", () => _dp.Client.SubmitReassignmentFeedAsync(feed));

        Assert.Single(await StatementsAsync(Dave));
    }

    [Fact]
    public async Task Feed_OlderThanTheMaximumAge_IsFeedExpiredAndChangesNothing()
    {
        await PublishedThenReassignedAsync();
        var csip = await CsipKit.OnboardAsync(_dp, "Example Telecom", ["+336"]);
        var feed = csip.SignReassignmentFeed([Now(Bob)]);
        _dp.Time.Advance(TimeSpan.FromMinutes(11));

        await ProblemAssert.ThrowsAsync(422, "feed-expired", () => _dp.Client.SubmitReassignmentFeedAsync(feed));

        Assert.Single(await StatementsAsync(Bob));
    }

    [Fact]
    public async Task Feed_Forged_IsFeedRejectedAndChangesNothing()
    {
        await PublishedThenReassignedAsync();
        var csip = await CsipKit.OnboardAsync(_dp, "Example Telecom", ["+336"]);
        var parts = csip.SignReassignmentFeed([Now(Bob)]).Split('.');
        var other = csip.SignReassignmentFeed([Now(Dave)]).Split('.');

        await ProblemAssert.ThrowsAsync(422, "feed-rejected", () => _dp.Client.SubmitReassignmentFeedAsync($"{parts[0]}.{parts[1]}.{other[2]}"));

        Assert.Single(await StatementsAsync(Bob));
    }

    [Fact]
    public async Task Feed_FromAnotherCa_IsIssuerNotAccepted()
    {
        await PublishedThenReassignedAsync();
        using var rogue = CredentialAuthority.Create("Rogue CA", TimeSpan.FromDays(365), _dp.Clock);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var csip = new StatementSigner(key, rogue.IssueCsipCredential("Rogue", CsipScope.Create(["+336"], []), key, TimeSpan.FromDays(30)), time: _dp.Clock);

        await ProblemAssert.ThrowsAsync(403, "issuer-not-accepted", () => _dp.Client.SubmitReassignmentFeedAsync(csip.SignReassignmentFeed([Now(Bob)])));

        Assert.Single(await StatementsAsync(Bob));
    }

    [Fact]
    public async Task Feed_CsipNotOnboarded_IsRefusedAndChangesNothing()
    {
        await PublishedThenReassignedAsync();
        var csip = await CsipKit.OnboardAsync(_dp, "Example Telecom", ["+336"], onboard: false);

        await ProblemAssert.ThrowsAsync(403, "csip-not-onboarded", () => _dp.Client.SubmitReassignmentFeedAsync(csip.SignReassignmentFeed([Now(Bob)])));

        Assert.Single(await StatementsAsync(Bob));
    }

    [Fact]
    public async Task Feed_CsipRevoked_IsRefusedAndItsIdStaysUnused()
    {
        await PublishedThenReassignedAsync();
        var csip = await CsipKit.OnboardAsync(_dp, "Example Telecom", ["+336"]);
        await _dp.Service<ICsipStore>().RevokeCsipAsync("Example Telecom", 1, default);

        await ProblemAssert.ThrowsAsync(403, "csip-revoked", () => _dp.Client.SubmitReassignmentFeedAsync(csip.SignReassignmentFeed([Now(Bob)])));

        Assert.Single(await StatementsAsync(Bob));
    }

    [Fact]
    public async Task Feed_MoreNumbersThanTheDpTakes_IsFeedTooLarge()
    {
        await using var dp = await DpHost.StartAsync(o => o.MaxReassignments = 2);
        var csip = await CsipKit.OnboardAsync(dp, "Example Telecom", ["+336"]);
        var numbers = new[] { Bob, Dave, "+33611111111" }.Select(n => new Reassignment(CsiParser.ParseOrThrow(n), dp.Time.GetUtcNow())).ToList();

        await ProblemAssert.ThrowsAsync(413, "feed-too-large", () => dp.Client.SubmitReassignmentFeedAsync(csip.SignReassignmentFeed(numbers)));

        Assert.Empty(await dp.Service<ICsipStore>().GetCsipActsAsync("tel:" + Bob, default));
    }

    [Fact]
    public async Task Feed_BodyOverFourMebibytes_IsFeedTooLarge()
    {
        var body = "{\"feed\":\"" + new string('a', ReassignmentFeed.MaxLength + 2048) + "\"}";

        await ProblemAssert.IsProblemAsync(await _dp.PostJsonAsync("v1/reassignments", body), 413, "feed-too-large");
    }

    [Fact]
    public async Task Feed_JustOverTheStatementLimit_IsNotRefusedForItsSize()
    {
        // Larger than the DP's general request limit (256 KiB): this route alone takes up to 4 MiB.
        var body = "{\"feed\":\"" + new string('a', 300 * 1024) + "\"}";

        await ProblemAssert.IsProblemAsync(await _dp.PostJsonAsync("v1/reassignments", body), 422, "feed-rejected");
    }

    [Theory]
    [InlineData("""{"feed":"x.y.z"}""", 422, "feed-rejected")]
    [InlineData("""{"nope":1}""", 400, "invalid-request")]
    [InlineData("""not json""", 400, "invalid-request")]
    public async Task Feed_MalformedBody_IsRefused(string body, int status, string code)
    {
        await ProblemAssert.IsProblemAsync(await _dp.PostJsonAsync("v1/reassignments", body), status, code);
    }

    [Fact]
    public async Task Feed_AMappingStatement_IsFeedRejected()
    {
        var bob = await _dp.RegisterAsync(Bob);

        await ProblemAssert.ThrowsAsync(422, "feed-rejected", () => _dp.Client.SubmitReassignmentFeedAsync(bob.Sign(1)));
    }

    [Fact]
    public async Task Metadata_AnnouncesTheFeedLimits()
    {
        var limits = (await _dp.Client.GetMetadataAsync()).Limits;

        Assert.Equal((10_000, 600L), (limits.MaxReassignments, limits.ReassignmentFeedMaxAgeSeconds));
        Assert.True(limits.MaxReassignmentBytes > ReassignmentFeed.MaxLength);
    }
}

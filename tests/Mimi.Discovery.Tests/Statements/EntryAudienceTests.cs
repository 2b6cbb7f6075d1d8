using Mimi.Discovery.Statements;
using Mimi.Discovery.Transparency;
using Mimi.Discovery.Verification;

namespace Mimi.Discovery.Tests.Statements;

public sealed class EntryAudienceTests : IDisposable
{
    private readonly TestPki _pki = new();

    public void Dispose() => _pki.Dispose();

    private static readonly MspEntry[] SameApp =
    [
        new("wire") { Account = "@bob", Priority = 10, Audience = Audience.SameService },
        new("signal") { Account = "+33612345678", Priority = 20, Audience = Audience.SameService },
        new("matrix.org") { Account = "@bob:matrix.example", Priority = 30 },
        new("whatsapp") { Account = "+33612345678", Priority = 40, Audience = Audience.Only(["whatsapp", "wire"]) },
    ];

    [Fact]
    public void ScopesOf_PerEntryAudiences_IsTheUnionOfTheEntriesScopes()
    {
        Assert.Equal(["any", "svc:signal", "svc:whatsapp", "svc:wire"], Labels.ScopesOf(Audience.Any, SameApp));
        Assert.Equal(["svc:wire"], Labels.ScopesOf(Audience.Any, [SameApp[0]]));
        Assert.Equal(["any"], Labels.ScopesOf(Audience.Any, Array.Empty<MspEntry>()));
    }

    [Theory]
    [InlineData(null, "matrix.org")]
    [InlineData("wire", "wire matrix.org whatsapp")]
    [InlineData("signal", "signal matrix.org")]
    [InlineData("whatsapp", "matrix.org whatsapp")]
    [InlineData("telegram", "matrix.org")]
    public void EntriesFor_QueryingService_ShowsOnlyWhatIsMeantForIt(string? service, string expected)
    {
        var bob = _pki.NewRecipient("+33612345678");
        var statement = _pki.Verifier().VerifyMapping(bob.Publish(entries: SameApp)).Statement!;

        Assert.Equal(expected.Split(' '), statement.EntriesFor(service).Select(e => e.Service));
        Assert.True(statement.IsVisibleTo(service));
    }

    [Fact]
    public void IsVisibleTo_NoEntryForTheService_IsFalse()
    {
        var bob = _pki.NewRecipient("+33612345678");
        var statement = _pki.Verifier().VerifyMapping(bob.Publish(entries: SameApp[..2])).Statement!;

        Assert.False(statement.IsVisibleTo(null));
        Assert.False(statement.IsVisibleTo("matrix.org"));
        Assert.True(statement.IsVisibleTo("signal"));
        Assert.Empty(statement.EntriesFor("matrix.org"));
    }

    [Fact]
    public void SignMapping_EntryAudienceInARestrictedStatement_Throws()
    {
        var bob = _pki.NewRecipient("+33612345678");

        var e = Assert.Throws<ArgumentException>(() => bob.Publish(entries: SameApp, audience: Audience.Only(["wire"])));
        Assert.Contains("statement's audience must be 'any'", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""[{"service":"wire","priority":1,"tags":[],"audience":"any"}]""", "any")]
    [InlineData("""[{"service":"wire","priority":1,"tags":[],"audience":["wire","signal"]}]""", "sorted")]
    [InlineData("""[{"service":"wire","priority":1,"tags":[],"audience":"everyone"}]""", "audience of 'wire'")]
    public void VerifyMapping_MalformedEntryAudience_IsInvalidContent(string entries, string why)
    {
        var bob = _pki.NewRecipient("+33612345678");
        var now = _pki.Time.GetUtcNow().ToUnixTimeSeconds();
        var jws = Crafted.Jws(Crafted.Header(MappingStatement.MediaType, bob.Credential), Crafted.MappingPayload(bob.Csi.Uri, now, now + 3600, entries), bob.Key);

        var verified = _pki.Verifier().VerifyMapping(jws);

        Assert.Equal(VerificationStatus.InvalidContent, verified.Status);
        Assert.Contains(why, verified.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void VerifyMapping_EntryAudienceUnderARestrictedStatement_IsInvalidContent()
    {
        var bob = _pki.NewRecipient("+33612345678");
        var now = _pki.Time.GetUtcNow().ToUnixTimeSeconds();
        var payload = Crafted.MappingPayload(bob.Csi.Uri, now, now + 3600, """[{"service":"wire","priority":1,"tags":[],"audience":"same-service"}]""")
            .Replace("\"audience\":\"any\"", "\"audience\":[\"wire\"]", StringComparison.Ordinal);
        var jws = Crafted.Jws(Crafted.Header(MappingStatement.MediaType, bob.Credential), payload, bob.Key);

        var verified = _pki.Verifier().VerifyMapping(jws);

        Assert.Equal(VerificationStatus.InvalidContent, verified.Status);
        Assert.Contains("must be 'any'", verified.Reason, StringComparison.Ordinal);
    }
}

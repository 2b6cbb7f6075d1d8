using System.Text.Json;
using Mimi.Discovery.Client;
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Statements;
using Mimi.Discovery.Verification;

namespace Mimi.Discovery.Tests.Invitations;

/// <summary>Invitations (docs/protocol.md §14): a PASSporT extension signed under the sender's credential; signing, and each refusal.</summary>
public sealed class InvitationTests : IDisposable
{
    private readonly TestPki _pki = new();
    private readonly TestPki.Recipient _alice;
    private readonly Csi _bob = CsiParser.ParseOrThrow("+33612345678");
    private readonly MspEntry[] _reach = [new MspEntry("wire") { Account = "@alice", Priority = 10, Tags = ["default"] }];

    public InvitationTests() => _alice = _pki.NewRecipient("alice@example.com");

    public void Dispose() => _pki.Dispose();

    private string Sign(Func<InvitationDraft, InvitationDraft>? change = null) =>
        _alice.Signer.SignInvitation((change ?? (d => d))(new InvitationDraft(_bob, _reach) { Callback = new Uri("https://dp.example/v1/invitations/x/answer") }));

    private void AssertFails(VerificationStatus expected, string jws)
    {
        var result = _pki.Verifier().VerifyInvitation(jws, _pki.Time.GetUtcNow());
        Assert.Equal(expected, result.Status);
        Assert.Null(result.Statement);
        Assert.NotEmpty(result.Reason);
    }

    [Fact]
    public void VerifyInvitation_Honest_IsValidAndSaysWhoInvitesWhomWhere()
    {
        var jws = Sign();

        var result = _pki.Verifier().VerifyInvitation(jws, _pki.Time.GetUtcNow());

        Assert.True(result.IsValid, result.ToString());
        var invitation = result.Statement;
        Assert.Equal(_alice.Csi, invitation.Sender);
        Assert.Equal(_bob, invitation.Recipient);
        Assert.Equal("@alice", Assert.Single(invitation.Reach).Account);
        Assert.Equal(TestPki.Start + Invitation.DefaultLifetime, invitation.ExpiresAt);
        Assert.True(Invitation.IsWellFormedId(invitation.Id));
        var header = JsonDocument.Parse(Crafted.Decode(jws.Split('.')[0])).RootElement;
        Assert.Equal("passport", header.GetProperty("typ").GetString());
        Assert.Equal(Invitation.PassportType, header.GetProperty("ppt").GetString());
    }

    [Fact]
    public void SignInvitation_Claims_AreInLexicographicOrder()
    {
        var id = Invitation.NewId();
        var payload = Crafted.Decode(Sign(d => d with { Id = id, Callback = null }).Split('.')[1]);
        var iat = TestPki.Start.ToUnixTimeSeconds();

        Assert.Equal($$$"""{"dest":{"tn":["33612345678"]},"exp":{{{iat + (long)Invitation.DefaultLifetime.TotalSeconds}}},"iat":{{{iat}}},"jti":"{{{id}}}","orig":{"uri":"mailto:alice@example.com"},"reach":[{"service":"wire","account":"@alice","priority":10,"tags":["default"]}]}""", payload);
    }

    [Fact]
    public void VerifyInvitation_AfterExpiry_IsExpired()
    {
        var jws = Sign(d => d with { Lifetime = TimeSpan.FromHours(1) });
        _pki.Time.Advance(TimeSpan.FromHours(1));

        AssertFails(VerificationStatus.Expired, jws);
    }

    [Fact]
    public void VerifyInvitation_Tampered_IsBadSignature()
    {
        var jws = Sign();
        var parts = jws.Split('.');
        var payload = Crafted.Decode(parts[1]).Replace("@alice", "@mallory", StringComparison.Ordinal);

        AssertFails(VerificationStatus.BadSignature, parts[0] + "." + Crafted.Encode(payload) + "." + parts[2]);
    }

    [Fact]
    public void VerifyInvitation_UnderAnotherCa_IsUntrustedIssuer()
    {
        using var other = new TestPki("Another CA");
        var jws = other.NewRecipient("alice@example.com").Signer.SignInvitation(new InvitationDraft(_bob, _reach));

        AssertFails(VerificationStatus.UntrustedIssuer, jws);
    }

    [Fact]
    public void Verify_CallerAssertionAndInvitation_AreNeverTakenForEachOther()
    {
        var assertion = _alice.Signer.SignCallerAssertion([_bob]);
        var invitation = Sign();

        AssertFails(VerificationStatus.WrongType, assertion);
        Assert.Equal(VerificationStatus.WrongType, _pki.Verifier().VerifyCallerAssertion(invitation, _pki.Time.GetUtcNow()).Status);
    }

    [Fact]
    public void VerifyInvitation_ForgedContent_IsInvalidContent()
    {
        var header = Crafted.Decode(Sign().Split('.')[0]);
        var iat = TestPki.Start.ToUnixTimeSeconds();
        string Payload(string dest, long exp, string jti = "AAAAAAAAAAAAAAAAAAAAAA", string reach = """[{"service":"wire","priority":1,"tags":[]}]""") =>
            $$$"""{"dest":{{{dest}}},"exp":{{{exp}}},"iat":{{{iat}}},"jti":"{{{jti}}}","orig":{"uri":"mailto:alice@example.com"},"reach":{{{reach}}}}""";

        foreach (var payload in new[]
        {
            Payload("""{"tn":["33612345678","33612345679"]}""", iat + 60),
            Payload("""{"uri":["mailto:alice@example.com"]}""", iat + 60),
            Payload("""{"tn":["33612345678"]}""", iat + 60, jti: "short"),
            Payload("""{"tn":["33612345678"]}""", iat + 60, reach: "[]"),
            Payload("""{"tn":["33612345678"]}""", iat - 1),
            Payload("""{"tn":["33612345678"]}""", iat + (long)Invitation.MaxLifetime.TotalSeconds + 1),
        })
        {
            AssertFails(VerificationStatus.InvalidContent, Crafted.Jws(header, payload, _alice.Key));
        }
    }

    [Fact]
    public void SignInvitation_Misuse_Throws()
    {
        Assert.Throws<ArgumentException>(() => _alice.Signer.SignInvitation(new InvitationDraft(_alice.Csi, _reach)));
        Assert.Throws<ArgumentException>(() => _alice.Signer.SignInvitation(new InvitationDraft(_bob, [])));
        Assert.Throws<ArgumentException>(() => Sign(d => d with { Lifetime = Invitation.MaxLifetime + TimeSpan.FromSeconds(1) }));
        Assert.Throws<ArgumentException>(() => Sign(d => d with { Callback = new Uri("http://dp.example/answer") }));
        Assert.Throws<ArgumentException>(() => Sign(d => d with { Id = "not-an-id" }));
    }

    [Fact]
    public void VerifyInvitationPreference_RoundTrips_AndRefusesAnInvitation()
    {
        var refuse = _alice.Signer.SignInvitationPreference(refuse: true);

        var result = _pki.Verifier().VerifyInvitationPreference(refuse, _pki.Time.GetUtcNow());

        Assert.True(result.IsValid, result.ToString());
        Assert.True(result.Statement.Refuse);
        Assert.Equal(_alice.Csi, result.Statement.Csi);
        Assert.Equal(VerificationStatus.WrongType, _pki.Verifier().VerifyInvitationPreference(Sign(), _pki.Time.GetUtcNow()).Status);
    }

    [Theory]
    [InlineData("https://dp.example/v1/invitations#AAAAAAAAAAAAAAAAAAAAAA", true)]
    [InlineData("https://dp.example:8443/v1/invitations#AAAAAAAAAAAAAAAAAAAAAA", true)]
    [InlineData("http://dp.example/v1/invitations#AAAAAAAAAAAAAAAAAAAAAA", false)]
    [InlineData("https://dp.example/v1/invitations#AAAA", false)]
    [InlineData("https://dp.example/v1/invitations?x=1#AAAAAAAAAAAAAAAAAAAAAA", false)]
    [InlineData("https://dp.example/v1/invitations/AAAAAAAAAAAAAAAAAAAAAA", false)]
    [InlineData("https://dp.example/v1/lookup#AAAAAAAAAAAAAAAAAAAAAA", false)]
    public void TryParseInvitationLink_TakesOnlyInvitationLinks(string link, bool valid)
    {
        Assert.Equal(valid, DiscoveryClient.TryParseInvitationLink(link, out var dp, out var code));
        if (valid)
        {
            Assert.Equal("AAAAAAAAAAAAAAAAAAAAAA", code);
            Assert.Equal(new Uri(link).GetLeftPart(UriPartial.Authority) + "/", dp.AbsoluteUri);
        }
    }
}

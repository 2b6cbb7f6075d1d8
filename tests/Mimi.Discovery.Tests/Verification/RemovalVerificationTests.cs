using System.Security.Cryptography;
using Mimi.Discovery.Credentials;
using Mimi.Discovery.Statements;
using Mimi.Discovery.Verification;

namespace Mimi.Discovery.Tests.Verification;

public sealed class RemovalVerificationTests : IDisposable
{
    private readonly TestPki _pki = new();
    private readonly TestPki.Recipient _bob;
    private readonly MappingStatement _bobV2;

    public RemovalVerificationTests()
    {
        _bob = _pki.NewRecipient("bob@example.com");
        _bobV2 = Verify(_bob.Publish(version: 2));
    }

    public void Dispose() => _pki.Dispose();

    private MappingStatement Verify(string jws)
    {
        var result = _pki.Verifier().VerifyMapping(jws);
        Assert.True(result.IsValid, result.ToString());
        return result.Statement;
    }

    private RemovalStatement VerifyRemoval(string jws)
    {
        var result = _pki.Verifier().VerifyRemoval(jws);
        Assert.True(result.IsValid, result.ToString());
        return result.Statement;
    }

    [Fact]
    public void OwnerRemoval_WithCredential_CoversOwnVersionsUpToItsVersion()
    {
        var removal = VerifyRemoval(_bob.Signer.SignRemoval(new RemovalDraft(_bob.Csi) { Version = 2 }));

        Assert.Equal(RemovalAuthority.Owner, removal.Authority);
        Assert.True(removal.Covers(_bobV2));
        _pki.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.False(removal.Covers(Verify(_bob.Publish(version: 3))));
    }

    [Fact]
    public void OwnerRemoval_WithBareKey_WorksAfterCredentialExpiry()
    {
        _pki.Time.Advance(CredentialAuthority.DefaultCredentialLifetime + TimeSpan.FromDays(1));
        var jws = StatementSigner.SignOwnerRemoval(_bob.Key, new RemovalDraft(_bob.Csi) { Version = 2, Target = _bobV2.Id }, _pki.Time);

        var removal = VerifyRemoval(jws);

        Assert.Equal(RemovalAuthority.Owner, removal.Authority);
        Assert.Null(removal.Credential);
        Assert.Equal(_bobV2.Id, removal.Target);
        Assert.True(removal.Covers(_bobV2));
    }

    [Fact]
    public void OwnerRemoval_OtherKey_CoversNothing()
    {
        using var mallory = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var removal = VerifyRemoval(StatementSigner.SignOwnerRemoval(mallory, new RemovalDraft(_bob.Csi) { Version = 99 }, _pki.Time));

        Assert.False(removal.Covers(_bobV2));
    }

    [Fact]
    public void OwnerRemoval_TargetingAnotherAudience_DoesNotCoverThisMapping()
    {
        var target = _bob.Signer.MappingIdFor(Audience.SameService);
        var removal = VerifyRemoval(_bob.Signer.SignRemoval(new RemovalDraft(_bob.Csi) { Version = 5, Target = target }));

        Assert.False(removal.Covers(_bobV2));
    }

    [Fact]
    public void SuccessorRemoval_NewerCredential_CoversOlderOwnersOnly()
    {
        _pki.Time.Advance(TimeSpan.FromDays(2));
        var carol = _pki.NewRecipient(_bob.Csi);
        var carolMapping = Verify(carol.Publish());

        var removal = VerifyRemoval(carol.Signer.SignRemoval(new RemovalDraft(_bob.Csi) { Supersede = true }));

        Assert.Equal(RemovalAuthority.Successor, removal.Authority);
        Assert.True(removal.Covers(_bobV2));
        Assert.False(removal.Covers(carolMapping));

        // Bob's credential is older, so Bob cannot supersede Carol back.
        var bobBack = VerifyRemoval(_bob.Signer.SignRemoval(new RemovalDraft(_bob.Csi) { Supersede = true }));
        Assert.False(bobBack.Covers(carolMapping));
    }

    [Fact]
    public void CsipRemoval_ScopeCoversCsi_CoversMappingsIssuedBeforeIt()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var certificate = _pki.Authority.IssueCsipCredential("Example Mail", CsipScope.Create([], ["example.com"]), key, TimeSpan.FromDays(365));
        var csip = new StatementSigner(key, certificate, time: _pki.Time);
        _pki.Time.Advance(TimeSpan.FromSeconds(1));

        var removal = VerifyRemoval(csip.SignRemoval(new RemovalDraft(_bob.Csi)));

        Assert.Equal(RemovalAuthority.Csip, removal.Authority);
        Assert.True(removal.Covers(_bobV2));
        _pki.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(removal.Covers(Verify(_bob.Publish(version: 3))));
    }

    [Fact]
    public void CsipRemoval_OutOfScope_IsCsiMismatch()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var certificate = _pki.Authority.IssueCsipCredential("Other Mail", CsipScope.Create(["+44"], ["example.org"]), key, TimeSpan.FromDays(365));
        var signer = new StatementSigner(key, certificate, time: _pki.Time);
        Assert.Throws<ArgumentException>(() => signer.SignRemoval(new RemovalDraft(_bob.Csi)));

        var header = Crafted.Header(RemovalStatement.MediaType, certificate);
        var payload = $$"""{"csi":"{{_bob.Csi.Uri}}","iat":{{_pki.Time.GetUtcNow().ToUnixTimeSeconds()}},"target":"*","supersede":false}""";

        var result = _pki.Verifier().VerifyRemoval(Crafted.Jws(header, payload, key));

        Assert.Equal(VerificationStatus.CsiMismatch, result.Status);
    }

    [Fact]
    public void CsipRemoval_UntrustedCa_IsUntrustedIssuer()
    {
        using var rogue = new TestPki("Rogue CA");
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var certificate = rogue.Authority.IssueCsipCredential("Rogue", CsipScope.Create([], ["example.com"]), key, TimeSpan.FromDays(365));
        var jws = new StatementSigner(key, certificate, time: _pki.Time).SignRemoval(new RemovalDraft(_bob.Csi));

        Assert.Equal(VerificationStatus.UntrustedIssuer, _pki.Verifier().VerifyRemoval(jws).Status);
    }

    [Theory]
    [InlineData("\"*\"", "3", "true")]
    [InlineData("\"*\"", null, "false")]
    [InlineData("\"nonsense\"", "3", "false")]
    public void Removal_InconsistentPayload_IsInvalidContent(string target, string? version, string supersede)
    {
        var ver = version is null ? string.Empty : $",\"ver\":{version}";
        var payload = $$"""{"csi":"{{_bob.Csi.Uri}}","iat":{{_pki.Time.GetUtcNow().ToUnixTimeSeconds()}},"target":{{target}}{{ver}},"supersede":{{supersede}}}""";

        var result = _pki.Verifier().VerifyRemoval(Crafted.Jws(Crafted.Header(RemovalStatement.MediaType, _bob.Credential), payload, _bob.Key));

        Assert.Equal(VerificationStatus.InvalidContent, result.Status);
    }

    [Fact]
    public void Removal_BareKeyWithBadJwk_IsMalformed()
    {
        var payload = $$"""{"csi":"{{_bob.Csi.Uri}}","iat":1,"target":"*","ver":1,"supersede":false}""";
        var header = """{"alg":"ES256","typ":"mimi-removal+jws","jwk":{"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA"}}""";

        Assert.Equal(VerificationStatus.Malformed, _pki.Verifier().VerifyRemoval(Crafted.Jws(header, payload, _bob.Key)).Status);
    }

    [Fact]
    public void Removal_FromTheFuture_IsNotYetValid()
    {
        var future = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(TestPki.Start.AddDays(1));
        var jws = StatementSigner.SignOwnerRemoval(_bob.Key, new RemovalDraft(_bob.Csi) { Version = 2 }, future);

        Assert.Equal(VerificationStatus.NotYetValid, _pki.Verifier().VerifyRemoval(jws).Status);
    }

    [Fact]
    public void Removal_MappingStatement_IsWrongType()
    {
        Assert.Equal(VerificationStatus.WrongType, _pki.Verifier().VerifyRemoval(_bob.Publish()).Status);
    }

    [Fact]
    public void SignOwnerRemoval_WithoutVersionOrWithSupersede_Throws()
    {
        Assert.Throws<ArgumentException>(() => StatementSigner.SignOwnerRemoval(_bob.Key, new RemovalDraft(_bob.Csi)));
        Assert.Throws<ArgumentException>(() => StatementSigner.SignOwnerRemoval(_bob.Key, new RemovalDraft(_bob.Csi) { Version = 1, Supersede = true }));
    }
}

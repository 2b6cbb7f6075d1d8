using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Mimi.Discovery.Credentials;
using Mimi.Discovery.Statements;
using Mimi.Discovery.Verification;

namespace Mimi.Discovery.Tests.Verification;

/// <summary>Revocations (docs/protocol.md §15): signing, verifying, who may revoke, and the CRL a sender checks statements against.</summary>
public sealed class RevocationVerificationTests : IDisposable
{
    private readonly TestPki _pki = new();
    private readonly TestPki.Recipient _bob;

    public RevocationVerificationTests() => _bob = _pki.NewRecipient("+33612345678");

    public void Dispose() => _pki.Dispose();

    private Revocation Verify(string jws)
    {
        var result = _pki.Verifier().VerifyRevocation(jws, _pki.Time.GetUtcNow());
        Assert.True(result.IsValid, result.ToString());
        return result.Statement;
    }

    private StatementSigner Csip(string prefix, out X509Certificate2 certificate)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        certificate = _pki.Authority.IssueCsipCredential("Example Telecom", CsipScope.Create([prefix], []), key, TimeSpan.FromDays(365));
        return new StatementSigner(key, certificate, time: _pki.Time);
    }

    private static Credential Parsed(X509Certificate2 certificate) => Credential.TryParse(certificate, out var parsed, out var reason) ? parsed : throw new InvalidOperationException(reason);

    [Fact]
    public void SignRevocation_ByOwner_VerifiesWithEveryClaim_AndOwnerAuthority()
    {
        var revocation = Verify(_bob.Signer.SignRevocation(_bob.Csi, Revocation.ThumbprintOf(_bob.Credential), RevocationReason.KeyCompromise));

        Assert.Equal(_bob.Csi, revocation.Csi);
        Assert.Equal(RevocationReason.KeyCompromise, revocation.Reason);
        Assert.Equal(Revocation.ThumbprintOf(_bob.Credential), revocation.CredentialThumbprint);
        Assert.Equal(43, revocation.CredentialThumbprint.Length);
        Assert.True(Invitation.IsWellFormedId(revocation.Id));
        Assert.Equal(_pki.Time.GetUtcNow().ToUnixTimeSeconds(), revocation.IssuedAt.ToUnixTimeSeconds());
        Assert.Equal(RevocationAuthority.Owner, revocation.AuthorityOver(Parsed(_bob.Credential)));
        Assert.NotEqual(revocation.Id, Verify(_bob.Signer.SignRevocation(_bob.Csi, Revocation.ThumbprintOf(_bob.Credential), RevocationReason.KeyCompromise)).Id);
    }

    [Fact]
    public void AuthorityOver_LaterCredentialIsSuccessor_EarlierIsNone_CsipIsCsip()
    {
        _pki.Time.Advance(TimeSpan.FromSeconds(2));
        var successor = _pki.NewRecipient(_bob.Csi);

        Assert.Equal(RevocationAuthority.Successor,
            Verify(successor.Signer.SignRevocation(_bob.Csi, Revocation.ThumbprintOf(_bob.Credential), RevocationReason.AffiliationChanged)).AuthorityOver(Parsed(_bob.Credential)));
        Assert.Null(Verify(_bob.Signer.SignRevocation(_bob.Csi, Revocation.ThumbprintOf(successor.Credential), RevocationReason.AffiliationChanged)).AuthorityOver(Parsed(successor.Credential)));
        var csip = Csip("+336", out _);
        Assert.Equal(RevocationAuthority.Csip,
            Verify(csip.SignRevocation(_bob.Csi, Revocation.ThumbprintOf(_bob.Credential), RevocationReason.AffiliationChanged)).AuthorityOver(Parsed(_bob.Credential)));
        Assert.Throws<ArgumentException>(() => Verify(csip.SignRevocation(_bob.Csi, Revocation.ThumbprintOf(_bob.Credential), RevocationReason.Superseded)).AuthorityOver(Parsed(successor.Credential)));
    }

    [Fact]
    public void SignRevocation_BadInput_Throws()
    {
        var other = _pki.NewRecipient("alice@example.com");

        Assert.Throws<ArgumentException>(() => _bob.Signer.SignRevocation(other.Csi, Revocation.ThumbprintOf(other.Credential), RevocationReason.KeyCompromise));
        Assert.Throws<ArgumentException>(() => _bob.Signer.SignRevocation(_bob.Csi, "not-a-thumbprint", RevocationReason.KeyCompromise));
        Assert.Throws<ArgumentException>(() => _bob.Signer.SignRevocation(_bob.Csi, Revocation.ThumbprintOf(_bob.Credential), (RevocationReason)2));
        Assert.Throws<ArgumentException>(() => Csip("+44", out _).SignRevocation(_bob.Csi, Revocation.ThumbprintOf(_bob.Credential), RevocationReason.KeyCompromise));
    }

    [Fact]
    public void VerifyRevocation_WrongTypeOrFutureOrOtherCa_Fails()
    {
        var verifier = _pki.Verifier();

        Assert.Equal(VerificationStatus.WrongType, verifier.VerifyRevocation(_bob.Publish(), _pki.Time.GetUtcNow()).Status);
        _pki.Time.Advance(TimeSpan.FromHours(1));
        var revocation = _bob.Signer.SignRevocation(_bob.Csi, Revocation.ThumbprintOf(_bob.Credential), RevocationReason.KeyCompromise);
        Assert.Equal(VerificationStatus.NotYetValid, verifier.VerifyRevocation(revocation, _pki.Time.GetUtcNow() - TimeSpan.FromMinutes(10)).Status);
        using var rogue = new TestPki("Rogue CA");
        Assert.Equal(VerificationStatus.UntrustedIssuer, rogue.Verifier().VerifyRevocation(revocation, _pki.Time.GetUtcNow()).Status);
        Assert.Equal(VerificationStatus.Malformed, verifier.VerifyRevocation("", _pki.Time.GetUtcNow()).Status);
    }

    [Fact]
    public void RevocationList_ListsCredential_SetRefusesItsStatementsAndAssertions_KeepsTheNewestList()
    {
        var statement = _bob.Publish();
        var alice = _pki.NewRecipient("alice@example.com");
        var serial = _bob.Credential.SerialNumberBytes.ToArray();
        var crl = _pki.Authority.CreateRevocationList([(serial, _pki.Time.GetUtcNow(), X509RevocationReason.KeyCompromise)], 1, _pki.Time.GetUtcNow().AddHours(1));

        Assert.True(RevocationList.TryParse(crl, _pki.Anchors, out var list, out var reason), reason);
        Assert.Equal(1, list.Number);
        Assert.Equal(RevocationReason.KeyCompromise, Assert.Single(list.Entries).Reason);
        Assert.True(list.IsRevoked(_bob.Credential));
        Assert.False(list.IsRevoked(alice.Credential));

        var set = new RevocationSet();
        Assert.True(set.Add(list));
        var verifier = new StatementVerifier(_pki.Anchors, _pki.Time, new VerificationOptions { Revocations = set });
        Assert.Equal(VerificationStatus.Revoked, verifier.VerifyMapping(statement).Status);
        Assert.Equal(VerificationStatus.Revoked, verifier.VerifyCallerAssertion(_bob.Signer.SignCallerAssertion([alice.Csi]), _pki.Time.GetUtcNow()).Status);
        Assert.True(verifier.VerifyMapping(alice.Publish()).IsValid);

        // An older list (a lower number) does not roll the set back.
        Assert.True(RevocationList.TryParse(_pki.Authority.CreateRevocationList([], 0, _pki.Time.GetUtcNow().AddHours(1)), _pki.Anchors, out var older, out _));
        Assert.False(set.Add(older));
        Assert.True(set.IsRevoked(_bob.Credential));
    }

    [Fact]
    public void RevocationList_OtherCaOrTampered_IsRefused()
    {
        var crl = _pki.Authority.CreateRevocationList([(_bob.Credential.SerialNumberBytes.ToArray(), _pki.Time.GetUtcNow(), X509RevocationReason.KeyCompromise)], 1, _pki.Time.GetUtcNow().AddHours(1));
        using var rogue = new TestPki("Test DP credential CA");

        Assert.False(RevocationList.TryParse(crl, rogue.Anchors, out _, out var reason));
        Assert.Contains("trusted credential CA", reason, StringComparison.Ordinal);
        var tampered = (byte[])crl.Clone();
        tampered[^1] ^= 1;
        Assert.False(RevocationList.TryParse(tampered, _pki.Anchors, out _, out _));
    }
}

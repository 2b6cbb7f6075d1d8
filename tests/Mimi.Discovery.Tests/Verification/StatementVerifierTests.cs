using System.Security.Cryptography;
using CsCheck;
using Mimi.Discovery.Credentials;
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Statements;
using Mimi.Discovery.Verification;

namespace Mimi.Discovery.Tests.Verification;

public sealed class StatementVerifierTests : IDisposable
{
    private readonly TestPki _pki = new();
    private readonly TestPki.Recipient _bob;

    public StatementVerifierTests() => _bob = _pki.NewRecipient("+33612345678");

    public void Dispose() => _pki.Dispose();

    private long Now => _pki.Time.GetUtcNow().ToUnixTimeSeconds();

    private void AssertFails(VerificationStatus expected, string? jws, StatementVerifier? verifier = null)
    {
        var result = (verifier ?? _pki.Verifier()).VerifyMapping(jws);
        Assert.Equal(expected, result.Status);
        Assert.Null(result.Statement);
        Assert.NotEmpty(result.Reason);
    }

    [Fact]
    public void VerifyMapping_HonestStatement_ReturnsEverythingSigned()
    {
        var jws = _bob.Publish(version: 7, audience: Audience.Only(["wire"]));

        var result = _pki.Verifier().VerifyMapping(jws);

        Assert.True(result.IsValid, result.ToString());
        var statement = result.Statement;
        Assert.Equal(_bob.Csi, statement.Csi);
        Assert.Equal(7, statement.Version);
        Assert.Equal(TestPki.Start, statement.IssuedAt);
        Assert.Equal(_bob.Signer.Credential.NotAfter, statement.ExpiresAt);
        Assert.Equal("only:wire", statement.Audience.Token);
        Assert.Equal(TestPki.Recipient.TwoServices, statement.Entries);
        Assert.Equal(new MappingId(Mimi.Discovery.Crypto.JwkThumbprint.Compute(_bob.Key), "only:wire"), statement.Id);
        Assert.Equal(["wire", "matrix.org"], statement.EntriesByPreference.Select(e => e.Service));
        Assert.False(statement.IsOptOut);
        Assert.Equal(jws, statement.Token);
    }

    [Fact]
    public void VerifyMapping_EmptyEntries_IsAnOptOut()
    {
        var result = _pki.Verifier().VerifyMapping(_bob.Publish(entries: []));

        Assert.True(result.IsValid, result.ToString());
        Assert.True(result.Statement.IsOptOut);
    }

    [Fact]
    public void VerifyMapping_SeveralTrustAnchors_AcceptsAnyOfThem()
    {
        using var other = new TestPki("Another CA");
        var verifier = new StatementVerifier(new TrustAnchors([other.Authority.Certificate, _pki.Authority.Certificate]), _pki.Time);

        Assert.True(verifier.VerifyMapping(_bob.Publish()).IsValid);
    }

    [Fact]
    public void VerifyMapping_TamperedPayload_IsBadSignature()
    {
        var parts = _bob.Publish().Split('.');
        var payload = Crafted.Decode(parts[1]).Replace("\"priority\":10", "\"priority\":1", StringComparison.Ordinal);

        AssertFails(VerificationStatus.BadSignature, parts[0] + "." + Crafted.Encode(payload) + "." + parts[2]);
    }

    [Fact]
    public void VerifyMapping_SwappedCredential_IsBadSignature()
    {
        var mallory = _pki.NewRecipient("+33612345679");
        var parts = _bob.Publish().Split('.');
        var malloryHeader = mallory.Publish().Split('.')[0];

        AssertFails(VerificationStatus.BadSignature, malloryHeader + "." + parts[1] + "." + parts[2]);
    }

    [Fact]
    public void VerifyMapping_StatementForAnotherCsi_IsCsiMismatch()
    {
        var jws = Crafted.Jws(Crafted.Header(MappingStatement.MediaType, _bob.Credential),
            Crafted.MappingPayload("tel:+33612345679", Now, Now + 3600), _bob.Key);

        AssertFails(VerificationStatus.CsiMismatch, jws);
    }

    [Fact]
    public void VerifyMapping_NonCanonicalCsi_IsInvalidContent()
    {
        var jws = Crafted.Jws(Crafted.Header(MappingStatement.MediaType, _bob.Credential),
            Crafted.MappingPayload("tel:+33-6-12-34-56-78", Now, Now + 3600), _bob.Key);

        AssertFails(VerificationStatus.InvalidContent, jws);
    }

    [Fact]
    public void VerifyMapping_AfterExpiry_IsExpired()
    {
        var jws = _bob.Signer.SignMapping(new MappingDraft(_bob.Csi, 1, []) { ExpiresAt = TestPki.Start.AddHours(1) });
        _pki.Time.Advance(TimeSpan.FromHours(2));

        AssertFails(VerificationStatus.Expired, jws);
    }

    [Fact]
    public void VerifyMapping_AfterCredentialExpiry_IsCredentialExpired()
    {
        var jws = _bob.Publish();
        _pki.Time.Advance(CredentialAuthority.DefaultCredentialLifetime + TimeSpan.FromSeconds(1));

        AssertFails(VerificationStatus.CredentialExpired, jws);
    }

    [Fact]
    public void VerifyMapping_ExpAfterCredentialExpiry_IsOutlivesCredential()
    {
        var notAfter = _bob.Signer.Credential.NotAfter.ToUnixTimeSeconds();
        var jws = Crafted.Jws(Crafted.Header(MappingStatement.MediaType, _bob.Credential),
            Crafted.MappingPayload(_bob.Csi.Uri, Now, notAfter + 365 * 86400), _bob.Key);

        // Refused while the credential is valid (what a DP checks at publish), and after it.
        AssertFails(VerificationStatus.OutlivesCredential, jws);
        _pki.Time.Advance(CredentialAuthority.DefaultCredentialLifetime - TimeSpan.FromMinutes(1));
        AssertFails(VerificationStatus.OutlivesCredential, jws);
    }

    [Fact]
    public void VerifyMapping_ExpAtCredentialExpiry_IsValidUntilThen()
    {
        var notAfter = _bob.Signer.Credential.NotAfter;
        var jws = Crafted.Jws(Crafted.Header(MappingStatement.MediaType, _bob.Credential),
            Crafted.MappingPayload(_bob.Csi.Uri, Now, notAfter.ToUnixTimeSeconds()), _bob.Key);

        var result = _pki.Verifier().VerifyMapping(jws);

        Assert.True(result.IsValid, result.ToString());
        Assert.Equal(notAfter, result.Statement.ValidUntil);
        Assert.True(StatementLifetime.TryReadValidUntil(jws, out var read));
        Assert.Equal(notAfter, read);
    }

    [Fact]
    public void StatementLifetime_IsTheEarlierOfExpAndCredentialExpiry()
    {
        var notAfter = _bob.Signer.Credential.NotAfter;
        var beyond = Crafted.Jws(Crafted.Header(MappingStatement.MediaType, _bob.Credential),
            Crafted.MappingPayload(_bob.Csi.Uri, Now, notAfter.ToUnixTimeSeconds() + 86400), _bob.Key);
        var shorter = _bob.Signer.SignMapping(new MappingDraft(_bob.Csi, 1, []) { ExpiresAt = TestPki.Start.AddHours(1) });

        Assert.True(StatementLifetime.TryReadValidUntil(beyond, out var beyondUntil));
        Assert.Equal(notAfter, beyondUntil);
        Assert.True(StatementLifetime.TryReadValidUntil(shorter, out var shorterUntil));
        Assert.Equal(TestPki.Start.AddHours(1), shorterUntil);
        Assert.True(StatementLifetime.IsCurrent(notAfter.AddDays(1), notAfter, notAfter.AddSeconds(-1)));
        Assert.False(StatementLifetime.IsCurrent(notAfter.AddDays(1), notAfter, notAfter));
        Assert.False(StatementLifetime.TryReadValidUntil("not.a.statement", out _));
        Assert.False(StatementLifetime.TryReadValidUntil(null, out _));
    }

    [Fact]
    public void VerifyMapping_SameVerifierAcrossCredentialExpiry_RejectsOnceExpired()
    {
        var verifier = _pki.Verifier();
        var jws = _bob.Publish();
        Assert.True(verifier.VerifyMapping(jws).IsValid);
        Assert.True(verifier.VerifyMapping(jws).IsValid);

        _pki.Time.Advance(CredentialAuthority.DefaultCredentialLifetime + TimeSpan.FromSeconds(1));

        AssertFails(VerificationStatus.CredentialExpired, jws, verifier);
    }

    [Fact]
    public void VerifyMapping_CachedCredential_StillChecksEverySignature()
    {
        var verifier = _pki.Verifier();
        Assert.True(verifier.VerifyMapping(_bob.Publish(version: 1)).IsValid);
        var parts = _bob.Publish(version: 2).Split('.');
        var forged = parts[0] + "." + Crafted.Encode(Crafted.Decode(parts[1]).Replace("\"ver\":2", "\"ver\":3", StringComparison.Ordinal)) + "." + parts[2];

        AssertFails(VerificationStatus.BadSignature, forged, verifier);
    }

    [Fact]
    public void VerifyMapping_CacheOff_GivesTheSameResults()
    {
        var verifier = new StatementVerifier(_pki.Anchors, _pki.Time, new VerificationOptions { CredentialCacheSize = 0 });
        Assert.True(verifier.VerifyMapping(_bob.Publish()).IsValid);
        using var other = new TestPki("Another CA");
        Assert.Equal(VerificationStatus.UntrustedIssuer, new StatementVerifier(other.Anchors, _pki.Time, new VerificationOptions { CredentialCacheSize = 0 }).VerifyMapping(_bob.Publish()).Status);
    }

    [Fact]
    public void VerifyMapping_VerifierClockBeforeCredential_IsCredentialNotYetValid()
    {
        var jws = _bob.Publish();
        var verifier = new StatementVerifier(_pki.Anchors, new Microsoft.Extensions.Time.Testing.FakeTimeProvider(TestPki.Start.AddDays(-1)));

        AssertFails(VerificationStatus.CredentialNotYetValid, jws, verifier);
    }

    [Fact]
    public void VerifyMapping_IssuedInTheFuture_IsNotYetValid()
    {
        var jws = Crafted.Jws(Crafted.Header(MappingStatement.MediaType, _bob.Credential),
            Crafted.MappingPayload(_bob.Csi.Uri, Now + 3600, Now + 7200), _bob.Key);

        AssertFails(VerificationStatus.NotYetValid, jws);
    }

    [Fact]
    public void VerifyMapping_ExpiryBeforeIssue_IsInvalidContent()
    {
        var jws = Crafted.Jws(Crafted.Header(MappingStatement.MediaType, _bob.Credential),
            Crafted.MappingPayload(_bob.Csi.Uri, Now, Now - 1), _bob.Key);

        AssertFails(VerificationStatus.InvalidContent, jws);
    }

    [Fact]
    public void VerifyMapping_UntrustedCa_IsUntrustedIssuer()
    {
        using var other = new TestPki("Someone else's CA");

        AssertFails(VerificationStatus.UntrustedIssuer, _bob.Publish(), other.Verifier());
    }

    [Fact]
    public void VerifyMapping_SelfIssuedLookalikeCa_IsUntrustedIssuer()
    {
        // Same CA name, different key: names alone must not make a chain.
        using var impostor = new TestPki("Test DP credential CA");
        impostor.Time.SetUtcNow(_pki.Time.GetUtcNow());
        var mallory = impostor.NewRecipient(_bob.Csi);

        AssertFails(VerificationStatus.UntrustedIssuer, mallory.Publish());
    }

    [Fact]
    public void VerifyMapping_CaCertificateUsedAsLeaf_IsNotACredential()
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var ca = CredentialAuthority.Create("Leaf-pretending CA", TimeSpan.FromDays(1), _pki.Time);
        var jws = Crafted.Jws(Crafted.Header(MappingStatement.MediaType, ca.Certificate),
            Crafted.MappingPayload(_bob.Csi.Uri, Now, Now + 3600), caKey);

        AssertFails(VerificationStatus.NotACredential, jws);
    }

    [Fact]
    public void VerifyMapping_SignedUnderCsipCredential_IsNotACredential()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var csip = _pki.Authority.IssueCsipCredential("Telco", CsipScope.Create(["+33"], []), key, TimeSpan.FromDays(30));
        var jws = Crafted.Jws(Crafted.Header(MappingStatement.MediaType, csip), Crafted.MappingPayload(_bob.Csi.Uri, Now, Now + 3600), key);

        AssertFails(VerificationStatus.NotACredential, jws);
    }

    [Theory]
    [InlineData("none")]
    [InlineData("HS256")]
    [InlineData("ES384")]
    [InlineData("RS256")]
    [InlineData("PS256")]
    [InlineData("EdDSA")]
    [InlineData("es256")]
    public void VerifyMapping_OtherAlgorithm_IsUnsupportedAlgorithm(string alg)
    {
        var x5c = Convert.ToBase64String(_bob.Credential.RawData);
        var header = $$"""{"alg":"{{alg}}","typ":"mimi-mapping+jws","x5c":["{{x5c}}"]}""";
        var payload = Crafted.MappingPayload(_bob.Csi.Uri, Now, Now + 3600);

        // Algorithm confusion: an HMAC keyed with the public key must fail before any key is used.
        var jws = Crafted.Hs256(header, payload, _bob.Key.ExportSubjectPublicKeyInfo());

        AssertFails(VerificationStatus.UnsupportedAlgorithm, jws);
    }

    [Fact]
    public void VerifyMapping_UnsignedNoneToken_IsMalformed()
    {
        var header = Crafted.Encode("""{"alg":"none","typ":"mimi-mapping+jws"}""");
        var payload = Crafted.Encode(Crafted.MappingPayload(_bob.Csi.Uri, Now, Now + 3600));

        AssertFails(VerificationStatus.Malformed, header + "." + payload + ".");
    }

    [Fact]
    public void VerifyMapping_CriticalHeader_IsUnsupportedCriticalHeader()
    {
        var x5c = Convert.ToBase64String(_bob.Credential.RawData);
        var header = $$"""{"alg":"ES256","typ":"mimi-mapping+jws","crit":["exp"],"exp":1,"x5c":["{{x5c}}"]}""";

        // An unknown "exp" member would also be refused; crit is checked first.
        AssertFails(VerificationStatus.Malformed, Crafted.Jws(header, Crafted.MappingPayload(_bob.Csi.Uri, Now, Now + 3600), _bob.Key));
        var critOnly = $$"""{"alg":"ES256","typ":"mimi-mapping+jws","crit":["b64"],"x5c":["{{x5c}}"]}""";
        AssertFails(VerificationStatus.UnsupportedCriticalHeader, Crafted.Jws(critOnly, Crafted.MappingPayload(_bob.Csi.Uri, Now, Now + 3600), _bob.Key));
    }

    [Fact]
    public void VerifyMapping_RemovalStatement_IsWrongType()
    {
        var removal = _bob.Signer.SignRemoval(new RemovalDraft(_bob.Csi) { Version = 1 });

        AssertFails(VerificationStatus.WrongType, removal);
    }

    [Fact]
    public void VerifyMapping_NoCredential_IsMissingCredential()
    {
        var jws = Crafted.Jws("""{"alg":"ES256","typ":"mimi-mapping+jws"}""", Crafted.MappingPayload(_bob.Csi.Uri, Now, Now + 3600), _bob.Key);

        AssertFails(VerificationStatus.MissingCredential, jws);
    }

    [Theory]
    [InlineData("[\"not base64!\"]")]
    [InlineData("[\"AAAA\"]")]
    [InlineData("[]")]
    public void VerifyMapping_GarbageCredential_IsMalformedCredential(string x5c)
    {
        var jws = Crafted.Jws($$"""{"alg":"ES256","typ":"mimi-mapping+jws","x5c":{{x5c}}}""", Crafted.MappingPayload(_bob.Csi.Uri, Now, Now + 3600), _bob.Key);

        AssertFails(VerificationStatus.MalformedCredential, jws);
    }

    [Theory]
    [InlineData(",\"extra\":1")]
    [InlineData(",\"csi\":\"tel:+33612345679\"")]
    public void VerifyMapping_UnknownOrDuplicateMember_IsMalformed(string extra)
    {
        var jws = Crafted.Jws(Crafted.Header(MappingStatement.MediaType, _bob.Credential),
            Crafted.MappingPayload(_bob.Csi.Uri, Now, Now + 3600, extra: extra), _bob.Key);

        AssertFails(VerificationStatus.Malformed, jws);
    }

    [Theory]
    [InlineData("""[{"service":"wire","priority":1,"tags":["default"]},{"service":"x","priority":2,"tags":["default"]}]""")]
    [InlineData("""[{"service":"Wire","priority":1,"tags":[]}]""")]
    [InlineData("""[{"service":"wire","priority":70000,"tags":[]}]""")]
    [InlineData("""[{"service":"wire","endpoint":"relative/path","priority":1,"tags":[]}]""")]
    public void VerifyMapping_InvalidEntries_IsInvalidContent(string entries)
    {
        var jws = Crafted.Jws(Crafted.Header(MappingStatement.MediaType, _bob.Credential),
            Crafted.MappingPayload(_bob.Csi.Uri, Now, Now + 3600, entries), _bob.Key);

        AssertFails(VerificationStatus.InvalidContent, jws);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("garbage")]
    [InlineData("a.b")]
    [InlineData("a.b.c.d")]
    [InlineData("..")]
    [InlineData("e30.e30.e30")]
    [InlineData("!!!.###.$$$")]
    public void VerifyMapping_Garbage_IsMalformed(string? jws)
    {
        AssertFails(VerificationStatus.Malformed, jws);
    }

    [Fact]
    public void VerifyMapping_Truncated_IsRejected()
    {
        var jws = _bob.Publish();
        for (var length = 1; length < jws.Length; length += 7)
        {
            Assert.False(_pki.Verifier().VerifyMapping(jws[..length]).IsValid);
        }
    }

    [Fact]
    public void VerifyMapping_HugeInput_IsTooLargeWithoutParsing()
    {
        AssertFails(VerificationStatus.TooLarge, new string('A', 10_000_000));
    }

    [Fact]
    public void VerifyMapping_NonCanonicalBase64Url_IsMalformed_ThoughDecodersIgnoreTheBits()
    {
        // A 64-byte signature is 86 characters: the last one carries 4 unused bits, which must be 0.
        // The property test below found that setting them still verified.
        var jws = _bob.Publish();
        var last = jws[^1];
        var alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        var respelled = jws[..^1] + alphabet[alphabet.IndexOf(last, StringComparison.Ordinal) | 1];
        Assert.True(_pki.Verifier().VerifyMapping(jws).IsValid);

        AssertFails(VerificationStatus.Malformed, respelled);
    }

    [Fact]
    public void VerifyMapping_RandomMutations_NeverThrowAndNeverVerify()
    {
        var jws = _bob.Publish();
        var verifier = _pki.Verifier();
        Gen.Select(Gen.Int[0, jws.Length - 1], Gen.Char["AB_-.x0="]).Sample((position, c) =>
        {
            if (jws[position] == c)
            {
                return;
            }

            var mutated = jws[..position] + c + jws[(position + 1)..];
            var result = verifier.VerifyMapping(mutated);
            Assert.False(result.IsValid, $"mutation at {position} to '{c}' verified");
        }, iter: 300);
    }

    [Fact]
    public void SignMapping_InvalidDrafts_Throw()
    {
        var other = CsiParser.ParseOrThrow("+33612345679");
        Assert.Throws<ArgumentException>(() => _bob.Signer.SignMapping(new MappingDraft(other, 1, [])));
        Assert.Throws<ArgumentException>(() => _bob.Signer.SignMapping(new MappingDraft(_bob.Csi, 0, [])));
        Assert.Throws<ArgumentException>(() => _bob.Signer.SignMapping(new MappingDraft(_bob.Csi, 1, [new MspEntry("BAD")])));
        Assert.Throws<ArgumentException>(() => _bob.Signer.SignMapping(new MappingDraft(_bob.Csi, 1, []) { ExpiresAt = TestPki.Start.AddYears(1) }));
        Assert.Throws<ArgumentException>(() => _bob.Signer.SignMapping(new MappingDraft(_bob.Csi, 1, Enumerable.Range(0, 33).Select(i => new MspEntry("s" + i)).ToList())));
    }

    [Fact]
    public void StatementSigner_CredentialForAnotherKey_Throws()
    {
        using var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        Assert.Throws<ArgumentException>(() => new StatementSigner(otherKey, _bob.Credential));
        Assert.Throws<ArgumentException>(() => new StatementSigner(_bob.Key, _pki.Authority.Certificate));
    }
}

using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Mimi.Discovery.Credentials;
using Mimi.Discovery.Identifiers;

namespace Mimi.Discovery.Tests.Credentials;

public sealed class CredentialTests : IDisposable
{
    private readonly TestPki _pki = new();

    public void Dispose() => _pki.Dispose();

    [Theory]
    [InlineData("+33612345678")]
    [InlineData("bob@xn--bcher-kva.example")]
    public void IssueCredential_ParsesBackToTheSameCsiAndKey(string input)
    {
        var csi = CsiParser.ParseOrThrow(input);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        using var certificate = _pki.Authority.IssueCredential(csi, key);

        Assert.True(Credential.TryParse(certificate, out var credential, out var reason), reason);
        Assert.Equal(CredentialKind.Csi, credential.Kind);
        Assert.Equal(csi, credential.Csi);
        Assert.Equal(Mimi.Discovery.Crypto.JwkThumbprint.Compute(key), credential.KeyThumbprint);
        Assert.Equal(TestPki.Start, credential.NotBefore);
        Assert.Equal(TestPki.Start + CredentialAuthority.DefaultCredentialLifetime, credential.NotAfter);
        Assert.Equal(_pki.Authority.Certificate.SubjectName.Name, certificate.IssuerName.Name);
        Assert.False(certificate.HasPrivateKey);
    }

    [Fact]
    public void IssueCredential_EmailUsesRfc822NameAndPhoneUsesUri()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var email = _pki.Authority.IssueCredential(CsiParser.ParseOrThrow("bob@example.com"), key);
        using var phone = _pki.Authority.IssueCredential(CsiParser.ParseOrThrow("+33612345678"), key);

        var emailSan = email.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        var phoneSan = phone.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Contains("bob@example.com", emailSan.Format(false), StringComparison.Ordinal);
        Assert.Contains("tel:+33612345678", phoneSan.Format(false), StringComparison.Ordinal);
        Assert.True(emailSan.Critical);
    }

    [Fact]
    public void IssueCredential_NonP256Key_Throws()
    {
        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        Assert.Throws<ArgumentException>(() => _pki.Authority.IssueCredential(CsiParser.ParseOrThrow("+33612345678"), p384));
    }

    [Fact]
    public void IssueCsipCredential_ParsesScopeThatCoversPrefixAndDomain()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var scope = CsipScope.Create(["+336"], ["Example.com"]);

        using var certificate = _pki.Authority.IssueCsipCredential("Example Telecom", scope, key, TimeSpan.FromDays(365));

        Assert.True(Credential.TryParse(certificate, out var credential, out var reason), reason);
        Assert.Equal(CredentialKind.Csip, credential.Kind);
        Assert.Equal(["+336"], credential.Scope!.PhonePrefixes);
        Assert.Equal(["example.com"], credential.Scope.EmailDomains);
        Assert.True(credential.Scope.Covers(CsiParser.ParseOrThrow("+33612345678")));
        Assert.True(credential.Scope.Covers(CsiParser.ParseOrThrow("eve@example.com")));
        Assert.False(credential.Scope.Covers(CsiParser.ParseOrThrow("+33142345678")));
        Assert.False(credential.Scope.Covers(CsiParser.ParseOrThrow("eve@mail.example.com")));
    }

    [Theory]
    [InlineData("33")]
    [InlineData("+")]
    [InlineData("+0")]
    [InlineData("+33a")]
    public void CsipScope_BadPrefix_IsRejected(string prefix)
    {
        Assert.False(CsipScope.TryCreate([prefix], [], out _, out var reason));
        Assert.NotEmpty(reason);
    }

    [Fact]
    public void TryParse_CaCertificate_IsNotACredential()
    {
        Assert.False(Credential.TryParse(_pki.Authority.Certificate, out _, out var reason));
        Assert.Contains("CA certificate", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_CertificateWithoutMimiUsage_IsNotACredential()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=web", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddUri(new Uri("tel:+33612345678"));
        request.CertificateExtensions.Add(san.Build());
        using var certificate = request.CreateSelfSigned(TestPki.Start, TestPki.Start.AddDays(1));

        Assert.False(Credential.TryParse(certificate, out _, out var reason));
        Assert.Contains("extended key usage", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_RsaKeyOrTwoCsis_IsNotACredential()
    {
        using var rsa = RSA.Create(2048);
        var rsaRequest = new CertificateRequest("CN=x", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        rsaRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(MimiOids.CsiCredential)], true));
        using var rsaCertificate = rsaRequest.CreateSelfSigned(TestPki.Start, TestPki.Start.AddDays(1));
        Assert.False(Credential.TryParse(rsaCertificate, out _, out var rsaReason));
        Assert.Contains("P-256", rsaReason, StringComparison.Ordinal);

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=x", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(MimiOids.CsiCredential)], true));
        var san = new SubjectAlternativeNameBuilder();
        san.AddUri(new Uri("tel:+33612345678"));
        san.AddEmailAddress("bob@example.com");
        request.CertificateExtensions.Add(san.Build());
        using var twoNames = request.CreateSelfSigned(TestPki.Start, TestPki.Start.AddDays(1));
        Assert.False(Credential.TryParse(twoNames, out _, out var reason));
        Assert.Contains("exactly one CSI", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void FromPem_RoundTripsAndRejectsMismatchedKey()
    {
        using var loaded = CredentialAuthority.FromPem(_pki.Authority.ExportCertificatePem(), _pki.Authority.ExportPrivateKeyPem(), _pki.Time);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var credential = loaded.IssueCredential(CsiParser.ParseOrThrow("+33612345678"), key);
        Assert.True(_pki.Verifier() is not null);
        Assert.Equal(_pki.Authority.Certificate.Thumbprint, loaded.Certificate.Thumbprint);

        using var other = CredentialAuthority.Create("Other", TimeSpan.FromDays(1), _pki.Time);
        Assert.Throws<ArgumentException>(() => CredentialAuthority.FromPem(_pki.Authority.ExportCertificatePem(), other.ExportPrivateKeyPem()));
        Assert.Throws<ArgumentException>(() => CredentialAuthority.FromPem("garbage", "garbage"));
    }
}

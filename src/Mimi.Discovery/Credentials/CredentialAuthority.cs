using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Mimi.Discovery.Crypto;
using Mimi.Discovery.Identifiers;

namespace Mimi.Discovery.Credentials;

/// <summary>
/// An issuing CA for credentials. A Discovery Provider runs one and calls
/// <see cref="IssueCredential"/> after a recipient has proved control of a CSI; a CSI issuer's
/// own CA may call <see cref="IssueCsipCredential"/>. Certificates are ECDSA P-256 with SHA-256.
/// </summary>
internal sealed class CredentialAuthority : IDisposable
{
    /// <summary>Default lifetime of a credential: short, so a reassigned identifier's old binding lapses soon.</summary>
    public static readonly TimeSpan DefaultCredentialLifetime = TimeSpan.FromDays(30);

    private readonly ECDsa _key;
    private readonly TimeProvider _time;

    private CredentialAuthority(X509Certificate2 certificate, ECDsa key, TimeProvider time)
    {
        Certificate = certificate;
        _key = key;
        _time = time;
    }

    /// <summary>The CA certificate senders add to their trust anchors.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>Creates a new self-signed issuing CA with a fresh P-256 key.</summary>
    /// <param name="name">Common name, e.g. <c>Example DP credential CA</c>.</param>
    /// <param name="lifetime">How long the CA certificate is valid.</param>
    /// <param name="time">Clock; the system clock when omitted.</param>
    public static CredentialAuthority Create(string name, TimeSpan lifetime, TimeProvider? time = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        time ??= TimeProvider.System;
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName("CN=" + name.Replace(",", " ", StringComparison.Ordinal)), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = Truncate(time.GetUtcNow());
        var certificate = request.CreateSelfSigned(now.AddMinutes(-5), now + lifetime);
        using var withKey = certificate;
        return new CredentialAuthority(X509CertificateLoader.LoadCertificate(certificate.RawData), key, time);
    }

    /// <summary>Loads a CA from PEM: its certificate and its PKCS#8 private key.</summary>
    /// <exception cref="ArgumentException">The PEM is malformed or the key does not match the certificate.</exception>
    public static CredentialAuthority FromPem(string certificatePem, string privateKeyPem, TimeProvider? time = null)
    {
        X509Certificate2 certificate;
        var key = ECDsa.Create();
        try
        {
            certificate = X509Certificate2.CreateFromPem(certificatePem);
            key.ImportFromPem(privateKeyPem);
        }
        catch (CryptographicException e)
        {
            key.Dispose();
            throw new ArgumentException("The CA certificate or key PEM is malformed: " + e.Message, e);
        }

        using var certKey = certificate.GetECDsaPublicKey();
        if (certKey is null || !string.Equals(JwkThumbprint.Compute(certKey), JwkThumbprint.Compute(key), StringComparison.Ordinal))
        {
            key.Dispose();
            throw new ArgumentException("The CA private key does not belong to the CA certificate.");
        }

        return new CredentialAuthority(certificate, key, time ?? TimeProvider.System);
    }

    /// <summary>The CA certificate as PEM.</summary>
    public string ExportCertificatePem() => Certificate.ExportCertificatePem();

    /// <summary>The CA private key as PKCS#8 PEM. Store it with owner-only permissions.</summary>
    public string ExportPrivateKeyPem() => _key.ExportPkcs8PrivateKeyPem();

    /// <summary>Issues a credential binding <paramref name="recipientKey"/> to exactly <paramref name="csi"/>.</summary>
    /// <exception cref="ArgumentException">The key is not a P-256 public key.</exception>
    public X509Certificate2 IssueCredential(Csi csi, ECDsa recipientKey, TimeSpan? lifetime = null)
    {
        ArgumentNullException.ThrowIfNull(csi);
        var san = new SubjectAlternativeNameBuilder();
        if (csi.Kind == CsiKind.Phone)
        {
            san.AddUri(new Uri(csi.Uri));
        }
        else
        {
            san.AddEmailAddress(csi.Value);
        }

        return Issue("CN=" + csi.Value, recipientKey, MimiOids.CsiCredential, san, lifetime ?? DefaultCredentialLifetime);
    }

    /// <summary>Issues a CSIP credential covering <paramref name="scope"/>.</summary>
    /// <exception cref="ArgumentException">The key is not a P-256 public key.</exception>
    public X509Certificate2 IssueCsipCredential(string issuerName, CsipScope scope, ECDsa csipKey, TimeSpan lifetime)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(issuerName);
        ArgumentNullException.ThrowIfNull(scope);
        var san = new SubjectAlternativeNameBuilder();
        foreach (var prefix in scope.PhonePrefixes)
        {
            san.AddUri(new Uri("tel:" + prefix));
        }

        foreach (var domain in scope.EmailDomains)
        {
            san.AddDnsName(domain);
        }

        return Issue("CN=" + issuerName.Replace(",", " ", StringComparison.Ordinal), csipKey, MimiOids.CsipCredential, san, lifetime);
    }

    private X509Certificate2 Issue(string subject, ECDsa subjectKey, string usage, SubjectAlternativeNameBuilder san, TimeSpan lifetime)
    {
        ArgumentNullException.ThrowIfNull(subjectKey);
        if (!P256.IsP256(subjectKey))
        {
            throw new ArgumentException("Credentials bind ECDSA P-256 keys only.", nameof(subjectKey));
        }

        if (lifetime <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(lifetime), "A credential's lifetime must be positive.");
        }

        using var publicOnly = ECDsa.Create(subjectKey.ExportParameters(false));
        var request = new CertificateRequest(new X500DistinguishedName(subject), publicOnly, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(usage)], true));
        request.CertificateExtensions.Add(san.Build(critical: true));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, true, false));

        var now = Truncate(_time.GetUtcNow());
        var notAfter = now + lifetime;
        if (notAfter > Certificate.NotAfter.ToUniversalTime())
        {
            notAfter = new DateTimeOffset(Certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero);
        }

        var serial = new byte[16];
        RandomNumberGenerator.Fill(serial);
        serial[0] &= 0x7F; // a positive INTEGER (RFC 5280 §4.1.2.2)
        var generator = X509SignatureGenerator.CreateForECDsa(_key);
        return request.Create(Certificate.SubjectName, generator, now, notAfter, serial);
    }

    /// <summary>
    /// Signs a certificate revocation list (RFC 5280 §5, version 2, ECDSA with SHA-256) of this CA's
    /// revoked credentials (docs/protocol.md §15): thisUpdate now, <paramref name="nextUpdate"/>, the
    /// cRLNumber <paramref name="number"/> and an authorityKeyIdentifier; each entry its serial number,
    /// revocationDate and reasonCode.
    /// </summary>
    /// <param name="entries">Serial numbers (big-endian, as in the certificates), when and why each was revoked.</param>
    /// <param name="number">The cRLNumber: a DP gives its count of revocations, so a later list has a higher number.</param>
    /// <param name="nextUpdate">When the next list is due.</param>
    /// <returns>The DER encoding (<c>application/pkix-crl</c>).</returns>
    public byte[] CreateRevocationList(IEnumerable<(byte[] SerialNumber, DateTimeOffset RevokedAt, X509RevocationReason Reason)> entries, long number, DateTimeOffset nextUpdate)
    {
        ArgumentNullException.ThrowIfNull(entries);
        ArgumentOutOfRangeException.ThrowIfNegative(number);
        var builder = new CertificateRevocationListBuilder();
        foreach (var (serial, revokedAt, reason) in entries)
        {
            builder.AddEntry(serial, revokedAt, reason);
        }

        var now = Truncate(_time.GetUtcNow());
        return builder.Build(Certificate.SubjectName, X509SignatureGenerator.CreateForECDsa(_key), number, Truncate(nextUpdate), HashAlgorithmName.SHA256,
            X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, true, false), now);
    }

    private static DateTimeOffset Truncate(DateTimeOffset t) => new(t.Ticks - (t.Ticks % TimeSpan.TicksPerSecond), TimeSpan.Zero);

    /// <inheritdoc/>
    public void Dispose()
    {
        _key.Dispose();
        Certificate.Dispose();
    }
}

using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Mimi.Discovery.Crypto;

namespace Mimi.Discovery.Server.Hosting;

/// <summary>
/// The HTTPS certificate of a process that keeps a data folder (the DP, the relay): a generated
/// self-signed localhost certificate (<c>tls.crt</c>, <c>tls.key</c> 0600) that clients trust
/// explicitly with <c>--ca</c>, unless the operator configures a real one.
/// </summary>
internal static class TlsCertificateFiles
{
    public const string CertificateFileName = "tls.crt";

    public const string KeyFileName = "tls.key";

    /// <summary>Loads the configured certificate (with its key file, or a key inside the certificate file), else the generated one.</summary>
    public static X509Certificate2 Load(string? configuredCertificate, string? configuredKey, string generatedCertificate, string generatedKey) =>
        X509Certificate2.CreateFromPemFile(configuredCertificate ?? generatedCertificate, configuredKey ?? (configuredCertificate is null ? generatedKey : null));

    /// <summary>Creates the localhost certificate, or renews it when it expires within a week.</summary>
    public static void EnsureLocalhost(string certificatePath, string keyPath, TimeProvider time)
    {
        var now = time.GetUtcNow();
        if (File.Exists(certificatePath) && File.Exists(keyPath))
        {
            using var existing = X509Certificate2.CreateFromPem(File.ReadAllText(certificatePath));
            if (existing.NotAfter.ToUniversalTime() > now.UtcDateTime.AddDays(7))
            {
                return;
            }
        }

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddIpAddress(IPAddress.Loopback);
        san.AddIpAddress(IPAddress.IPv6Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var certificate = request.CreateSelfSigned(now.AddMinutes(-5), now.AddYears(1));
        PrivateFile.Write(keyPath, key.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(certificatePath, certificate.ExportCertificatePem());
    }
}

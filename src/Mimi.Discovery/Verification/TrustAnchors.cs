using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Mimi.Discovery.Verification;

/// <summary>
/// The credential CAs a sender chooses to trust (R4). Several may be trusted at once: a DP's own
/// issuer, a consortium CA, a telco's CA.
/// </summary>
public sealed class TrustAnchors
{
    private readonly X509Certificate2Collection _certificates;

    /// <summary>Trusts the given CA certificates.</summary>
    /// <exception cref="ArgumentException">A certificate is not a CA certificate, or none is given.</exception>
    public TrustAnchors(IEnumerable<X509Certificate2> certificates)
    {
        ArgumentNullException.ThrowIfNull(certificates);
        _certificates = [];
        foreach (var certificate in certificates)
        {
            if (certificate.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault() is not { CertificateAuthority: true })
            {
                throw new ArgumentException($"'{certificate.Subject}' is not a CA certificate.", nameof(certificates));
            }

            _certificates.Add(certificate);
        }

        if (_certificates.Count == 0)
        {
            throw new ArgumentException("At least one trust anchor is needed.", nameof(certificates));
        }
    }

    /// <summary>Trusts every CA certificate in a PEM bundle.</summary>
    /// <exception cref="ArgumentException">The PEM holds no certificate, a malformed one, or a non-CA certificate.</exception>
    public static TrustAnchors FromPem(string pem)
    {
        ArgumentNullException.ThrowIfNull(pem);
        var collection = new X509Certificate2Collection();
        try
        {
            collection.ImportFromPem(pem);
        }
        catch (CryptographicException e)
        {
            throw new ArgumentException("The trust anchor PEM is malformed: " + e.Message, nameof(pem), e);
        }

        return new TrustAnchors(collection);
    }

    /// <summary>The trusted CA certificates.</summary>
    public IReadOnlyList<X509Certificate2> Certificates => [.. _certificates];

    internal X509Certificate2Collection Collection => _certificates;
}

using System.Diagnostics.CodeAnalysis;
using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Mimi.Discovery.Crypto;
using Mimi.Discovery.Identifiers;

namespace Mimi.Discovery.Credentials;

/// <summary>Whether a credential binds one CSI or a CSIP scope.</summary>
public enum CredentialKind
{
    /// <summary>Binds a recipient key to exactly one CSI.</summary>
    Csi,

    /// <summary>Binds a CSI issuer's key to a scope of many CSIs.</summary>
    Csip,
}

/// <summary>
/// A parsed credential: an X.509 end-entity certificate whose P-256 key is bound either to exactly
/// one CSI (SAN URI <c>tel:+…</c> or rfc822Name) or to a <see cref="CsipScope"/>. Parsing checks the
/// shape only; trust and validity are the verifier's business.
/// </summary>
public sealed class Credential
{
    private Credential(X509Certificate2 certificate, CredentialKind kind, Csi? csi, CsipScope? scope, ECDsa key)
    {
        Certificate = certificate;
        Kind = kind;
        Csi = csi;
        Scope = scope;
        PublicKey = key;
        KeyThumbprint = JwkThumbprint.Compute(key);
    }

    /// <summary>The certificate.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>Single-CSI or CSIP credential.</summary>
    public CredentialKind Kind { get; }

    /// <summary>For a <see cref="CredentialKind.Csi"/> credential, the bound identifier.</summary>
    public Csi? Csi { get; }

    /// <summary>For a <see cref="CredentialKind.Csip"/> credential, its scope.</summary>
    public CsipScope? Scope { get; }

    /// <summary>The credential's P-256 public key.</summary>
    public ECDsa PublicKey { get; }

    /// <summary>RFC 7638 thumbprint of <see cref="PublicKey"/>.</summary>
    public string KeyThumbprint { get; }

    /// <summary>Start of validity (UTC).</summary>
    public DateTimeOffset NotBefore => new(Certificate.NotBefore.ToUniversalTime(), TimeSpan.Zero);

    /// <summary>End of validity (UTC).</summary>
    public DateTimeOffset NotAfter => new(Certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero);

    /// <summary>Interprets a certificate as a credential; never throws for a malformed certificate.</summary>
    public static bool TryParse(X509Certificate2 certificate, [NotNullWhen(true)] out Credential? credential, out string reason)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        credential = null;
        try
        {
            return TryParseCore(certificate, out credential, out reason);
        }
        catch (Exception e) when (e is CryptographicException or AsnContentException or FormatException)
        {
            reason = "the certificate's extensions are malformed";
            return false;
        }
    }

    private static bool TryParseCore(X509Certificate2 certificate, out Credential? credential, out string reason)
    {
        credential = null;
        var basic = certificate.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault();
        if (basic is { CertificateAuthority: true })
        {
            reason = "the certificate is a CA certificate, not a credential";
            return false;
        }

        var eku = certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().FirstOrDefault();
        var usages = eku?.EnhancedKeyUsages.Cast<Oid>().Select(o => o.Value).ToList() ?? [];
        var kind = usages.Contains(MimiOids.CsiCredential) ? CredentialKind.Csi
            : usages.Contains(MimiOids.CsipCredential) ? CredentialKind.Csip
            : (CredentialKind?)null;
        if (kind is null)
        {
            reason = "the certificate does not carry the MIMI discovery credential extended key usage";
            return false;
        }

        var key = certificate.GetECDsaPublicKey();
        if (key is null || !P256.IsP256(key))
        {
            key?.Dispose();
            reason = "the credential's key is not an ECDSA P-256 key";
            return false;
        }

        var (uris, emails, dnsNames) = ReadSubjectAltNames(certificate);
        if (kind == CredentialKind.Csi)
        {
            var names = uris.Concat(emails.Select(e => "mailto:" + e)).ToList();
            if (names.Count != 1 || dnsNames.Count != 0)
            {
                key.Dispose();
                reason = "a credential must name exactly one CSI in its subject alternative name";
                return false;
            }

            var parsed = CsiParser.Parse(names[0]);
            if (!parsed.Success || !string.Equals(parsed.Csi.Uri, names[0], StringComparison.Ordinal))
            {
                key.Dispose();
                reason = "the credential's CSI is not in canonical form";
                return false;
            }

            credential = new Credential(certificate, CredentialKind.Csi, parsed.Csi, null, key);
        }
        else
        {
            var prefixes = uris.Select(u => u.StartsWith("tel:", StringComparison.Ordinal) ? u[4..] : u).ToList();
            if (emails.Count != 0 || !CsipScope.TryCreate(prefixes, dnsNames, out var scope, out reason))
            {
                key.Dispose();
                reason = "the CSIP credential's scope is malformed";
                return false;
            }

            credential = new Credential(certificate, CredentialKind.Csip, null, scope, key);
        }

        reason = string.Empty;
        return true;
    }

    // RFC 5280 §4.2.1.6: GeneralName choices rfc822Name [1], dNSName [2], uniformResourceIdentifier [6], all IA5String.
    private static (List<string> Uris, List<string> Emails, List<string> DnsNames) ReadSubjectAltNames(X509Certificate2 certificate)
    {
        var uris = new List<string>();
        var emails = new List<string>();
        var dns = new List<string>();
        var san = certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().FirstOrDefault();
        if (san is null)
        {
            return (uris, emails, dns);
        }

        var reader = new AsnReader(san.RawData, AsnEncodingRules.DER);
        var names = reader.ReadSequence();
        reader.ThrowIfNotEmpty();
        while (names.HasData)
        {
            var tag = names.PeekTag();
            var list = tag.TagClass == TagClass.ContextSpecific
                ? tag.TagValue switch { 1 => emails, 2 => dns, 6 => uris, _ => null }
                : null;
            if (list is null)
            {
                // Any other name form (directoryName, IP address…) makes the binding ambiguous.
                throw new FormatException("unsupported subject alternative name");
            }

            list.Add(names.ReadCharacterString(UniversalTagNumber.IA5String, tag));
        }

        return (uris, emails, dns);
    }
}

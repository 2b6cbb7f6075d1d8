using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using Mimi.Discovery.Statements;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.X509;
using Org.BouncyCastle.X509.Extension;

namespace Mimi.Discovery.Verification;

/// <summary>One entry of a <see cref="RevocationList"/>: a revoked credential's serial number, when and why.</summary>
/// <param name="SerialNumber">The credential's serial number, upper-case hex without leading zeros (as <see cref="RevocationList.SerialKey"/> writes it).</param>
/// <param name="RevokedAt">The entry's revocationDate.</param>
/// <param name="Reason">The entry's reasonCode extension (RFC 5280 §5.3.1); <see cref="RevocationReason.Unspecified"/> when absent.</param>
public sealed record RevokedCredential(string SerialNumber, DateTimeOffset RevokedAt, RevocationReason Reason);

/// <summary>
/// A DP's certificate revocation list (RFC 5280 §5, <c>GET /v1/revocations/crl</c>, docs/protocol.md §15),
/// parsed and its signature verified against a trusted credential CA: the credentials it lists are
/// refused by a <see cref="StatementVerifier"/> whose <see cref="VerificationOptions.Revocations"/> holds it.
/// </summary>
public sealed class RevocationList
{
    private readonly HashSet<string> _serials;

    private RevocationList(X509Certificate2 issuer, long number, DateTimeOffset thisUpdate, DateTimeOffset nextUpdate, IReadOnlyList<RevokedCredential> entries, byte[] encoded)
    {
        Issuer = issuer;
        Number = number;
        ThisUpdate = thisUpdate;
        NextUpdate = nextUpdate;
        Entries = entries;
        Encoded = encoded;
        _serials = new HashSet<string>(entries.Select(e => e.SerialNumber), StringComparer.Ordinal);
    }

    /// <summary>The trusted CA certificate that signed the list.</summary>
    public X509Certificate2 Issuer { get; }

    /// <summary>The cRLNumber extension (RFC 5280 §5.2.3); a DP counts its revocations with it, so a later list has a higher number.</summary>
    public long Number { get; }

    /// <summary>The list's thisUpdate.</summary>
    public DateTimeOffset ThisUpdate { get; }

    /// <summary>The list's nextUpdate: fetch a new list then.</summary>
    public DateTimeOffset NextUpdate { get; }

    /// <summary>The revoked credentials.</summary>
    public IReadOnlyList<RevokedCredential> Entries { get; }

    /// <summary>The DER encoding as received.</summary>
    public ReadOnlyMemory<byte> Encoded { get; }

    /// <summary>Whether <paramref name="credential"/> was issued by <see cref="Issuer"/> and is listed.</summary>
    public bool IsRevoked(X509Certificate2 credential)
    {
        ArgumentNullException.ThrowIfNull(credential);
        return credential.IssuerName.RawData.AsSpan().SequenceEqual(Issuer.SubjectName.RawData) && _serials.Contains(SerialKey(credential.SerialNumber));
    }

    /// <summary>A serial number (hex) as the list keys it: upper case, without leading zeros.</summary>
    public static string SerialKey(string hex)
    {
        ArgumentNullException.ThrowIfNull(hex);
        var trimmed = hex.ToUpperInvariant().TrimStart('0');
        return trimmed.Length == 0 ? "0" : trimmed;
    }

    /// <summary>
    /// Parses a DER CRL and verifies it: signed (ECDSA with SHA-256) by one of <paramref name="anchors"/>
    /// whose subject is the CRL's issuer and whose key usage, if stated, allows cRLSign; a version 2 list
    /// with a cRLNumber and a nextUpdate after its thisUpdate. Never throws for bad input.
    /// </summary>
    /// <param name="der">The CRL as served (<c>application/pkix-crl</c>).</param>
    /// <param name="anchors">The credential CAs trusted for the DP.</param>
    /// <param name="list">The verified list.</param>
    /// <param name="reason">Why it was refused, when it was.</param>
    public static bool TryParse(byte[] der, TrustAnchors anchors, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out RevocationList? list, out string reason)
    {
        ArgumentNullException.ThrowIfNull(der);
        ArgumentNullException.ThrowIfNull(anchors);
        list = null;
        X509Crl crl;
        try
        {
            crl = new X509CrlParser().ReadCrl(der) ?? throw new ArgumentException("empty");
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            reason = "the revocation list is not a DER CRL (RFC 5280 §5)";
            return false;
        }

        if (!string.Equals(crl.SigAlgOid, Org.BouncyCastle.Asn1.X9.X9ObjectIdentifiers.ECDsaWithSha256.Id, StringComparison.Ordinal))
        {
            reason = "the revocation list is not signed with ECDSA and SHA-256";
            return false;
        }

        var issuerName = crl.IssuerDN.GetEncoded();
        X509Certificate2? issuer = null;
        foreach (var anchor in anchors.Certificates)
        {
            if (!anchor.SubjectName.RawData.AsSpan().SequenceEqual(issuerName)
                || anchor.Extensions.OfType<X509KeyUsageExtension>().FirstOrDefault() is { } usage && !usage.KeyUsages.HasFlag(X509KeyUsageFlags.CrlSign))
            {
                continue;
            }

            try
            {
                crl.Verify(new X509CertificateParser().ReadCertificate(anchor.RawData).GetPublicKey());
                issuer = anchor;
                break;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Not this anchor's signature; try the next one of the same name.
            }
        }

        if (issuer is null)
        {
            reason = "the revocation list is not signed by a trusted credential CA";
            return false;
        }

        var numberValue = crl.GetExtensionValue(X509Extensions.CrlNumber);
        if (crl.Version != 2 || numberValue is null || crl.NextUpdate is not { } next || next <= crl.ThisUpdate)
        {
            reason = "the revocation list is not a version 2 CRL with a cRLNumber and a nextUpdate after its thisUpdate";
            return false;
        }

        long number;
        var entries = new List<RevokedCredential>();
        try
        {
            number = DerInteger.GetInstance(X509ExtensionUtilities.FromExtensionValue(numberValue)).LongValueExact;
            foreach (var entry in crl.GetRevokedCertificates() ?? new HashSet<X509CrlEntry>())
            {
                var code = entry.GetExtensionValue(X509Extensions.ReasonCode) is { } value
                    ? DerEnumerated.GetInstance(X509ExtensionUtilities.FromExtensionValue(value)).IntValueExact
                    : 0;
                entries.Add(new RevokedCredential(SerialKey(entry.SerialNumber.ToString(16)), Utc(entry.RevocationDate),
                    Enum.IsDefined((RevocationReason)code) ? (RevocationReason)code : RevocationReason.Unspecified));
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            reason = "the revocation list's cRLNumber or an entry is malformed";
            return false;
        }

        list = new RevocationList(issuer, number, Utc(crl.ThisUpdate), Utc(next), entries, der.ToArray());
        reason = string.Empty;
        return true;
    }

    private static DateTimeOffset Utc(DateTime time) => new(DateTime.SpecifyKind(time, DateTimeKind.Utc));

    /// <inheritdoc/>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"CRL {Number} of {Issuer.Subject}: {Entries.Count} revoked, next update {NextUpdate:u}");
}

/// <summary>
/// The revocation lists a sender holds, at most one per issuing CA (the one with the highest number):
/// give it to <see cref="VerificationOptions.Revocations"/> and statements under a listed credential
/// are refused (<see cref="VerificationStatus.Revoked"/>). Safe for concurrent use; refresh it with
/// <see cref="Client.DiscoveryClient.UpdateRevocationsAsync"/>.
/// </summary>
public sealed class RevocationSet
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, RevocationList> _lists = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _fetched = new(StringComparer.Ordinal);

    /// <summary>The lists held, one per issuer.</summary>
    public IReadOnlyList<RevocationList> Lists
    {
        get
        {
            lock (_lock)
            {
                return [.. _lists.Values];
            }
        }
    }

    /// <summary>Holds <paramref name="list"/> unless a list of the same issuer with a higher number is held (no rollback); true when it was taken.</summary>
    public bool Add(RevocationList list)
    {
        ArgumentNullException.ThrowIfNull(list);
        var issuer = Convert.ToHexString(list.Issuer.SubjectName.RawData);
        lock (_lock)
        {
            if (_lists.TryGetValue(issuer, out var held) && held.Number > list.Number)
            {
                return false;
            }

            _lists[issuer] = list;
            return true;
        }
    }

    /// <summary>Whether a held list revokes <paramref name="credential"/>.</summary>
    public bool IsRevoked(X509Certificate2 credential)
    {
        ArgumentNullException.ThrowIfNull(credential);
        lock (_lock)
        {
            return _lists.TryGetValue(Convert.ToHexString(credential.IssuerName.RawData), out var list) && list.IsRevoked(credential);
        }
    }

    /// <summary>Until when the list last fetched from <paramref name="source"/> is current (its nextUpdate); null when none was.</summary>
    internal DateTimeOffset? FreshUntil(Uri source)
    {
        lock (_lock)
        {
            return _fetched.TryGetValue(source.AbsoluteUri, out var until) ? until : null;
        }
    }

    internal void Fetched(Uri source, DateTimeOffset until)
    {
        lock (_lock)
        {
            _fetched[source.AbsoluteUri] = until;
        }
    }
}

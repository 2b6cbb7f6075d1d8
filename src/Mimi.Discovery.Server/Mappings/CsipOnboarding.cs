using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Mimi.Discovery.Credentials;
using Mimi.Discovery.Server.Storage;

namespace Mimi.Discovery.Server.Mappings;

/// <summary>
/// Onboarding a CSIP (docs/operations.md, "CSIP onboarding"): the DP's credential CA issues a CSIP
/// credential for the CSIP's public key, limited to its scope, and the store keeps it. From then on the
/// CSIP's removals and reassignment feeds are accepted until the operator revokes it.
/// </summary>
internal static class CsipOnboarding
{
    /// <summary>Longest CSIP credential the operator may issue.</summary>
    public static readonly TimeSpan MaxLifetime = TimeSpan.FromDays(366);

    /// <summary>Whether <paramref name="name"/> is a CSIP name: 1–64 characters, no spaces, commas or control characters.</summary>
    public static bool IsValidName(string name) =>
        name.Length is > 0 and <= 64 && !name.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c == ',');

    /// <summary>Issues the credential and the row to store for it.</summary>
    /// <exception cref="ArgumentException">The key is not a P-256 public key.</exception>
    public static (X509Certificate2 Credential, StoredCsip Row) Issue(CredentialAuthority authority, string name, CsipScope scope, ECDsa publicKey, TimeSpan lifetime, TimeProvider time)
    {
        var credential = authority.IssueCsipCredential(name, scope, publicKey, lifetime);
        return (credential, new StoredCsip
        {
            Thumbprint = MappingService.CsipThumbprint(credential),
            Name = name,
            Scope = string.Join(',', scope.Elements),
            Credential = credential.ExportCertificatePem(),
            NotAfter = new DateTimeOffset(credential.NotAfter.ToUniversalTime(), TimeSpan.Zero).ToUnixTimeSeconds(),
            CreatedAt = time.GetUtcNow().ToUnixTimeSeconds(),
        });
    }
}

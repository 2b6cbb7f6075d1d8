using Mimi.Discovery.Credentials;
using Mimi.Discovery.Identifiers;

namespace Mimi.Discovery.Statements;

/// <summary>On what authority a removal is made (R10).</summary>
public enum RemovalAuthority
{
    /// <summary>Signed by the mapping's own key.</summary>
    Owner,

    /// <summary>Signed by a holder of a newer credential for the same CSI, with <c>supersede</c> (the identifier was reassigned).</summary>
    Successor,

    /// <summary>Signed under a CSIP credential whose scope covers the CSI.</summary>
    Csip,
}

/// <summary>
/// A verified removal statement (R9, R10). Use <see cref="Covers(MappingStatement)"/> to decide which stored mappings it removes.
/// </summary>
public sealed class RemovalStatement
{
    internal RemovalStatement(string token, Csi csi, DateTimeOffset issuedAt, MappingId? target, long? version,
        bool supersede, RemovalAuthority authority, string signerThumbprint, Credential? credential)
    {
        Token = token;
        Csi = csi;
        IssuedAt = issuedAt;
        Target = target;
        Version = version;
        Supersede = supersede;
        Authority = authority;
        SignerThumbprint = signerThumbprint;
        Credential = credential;
    }

    /// <summary>Media type of a removal statement's JWS (<c>typ</c> header).</summary>
    public const string MediaType = "mimi-removal+jws";

    /// <summary>The compact JWS exactly as signed.</summary>
    public string Token { get; }

    /// <summary>The CSI whose mappings are removed.</summary>
    public Csi Csi { get; }

    /// <summary>When the removal was signed; mappings issued later are not affected.</summary>
    public DateTimeOffset IssuedAt { get; }

    /// <summary>The one mapping removed, or <see langword="null"/> for every mapping the authority reaches.</summary>
    public MappingId? Target { get; }

    /// <summary>For an owner removal: the highest version removed. A later publish must exceed it.</summary>
    public long? Version { get; }

    /// <summary>Whether the signer claims the CSI as its new owner.</summary>
    public bool Supersede { get; }

    /// <summary>On what authority the removal is made.</summary>
    public RemovalAuthority Authority { get; }

    /// <summary>RFC 7638 thumbprint of the signing key.</summary>
    public string SignerThumbprint { get; }

    /// <summary>The credential the removal was signed under; <see langword="null"/> for an owner removal signed with the bare key.</summary>
    public Credential? Credential { get; }

    /// <summary>Whether this removal removes <paramref name="mapping"/>.</summary>
    /// <remarks>
    /// Owner: same key, the targeted mapping (or all of the key's), versions up to <see cref="Version"/>.
    /// Successor: every mapping of the CSI under another key whose credential is older than the
    /// successor's, issued before the removal. CSIP: the targeted mapping or all, issued before the removal.
    /// </remarks>
    public bool Covers(MappingStatement mapping)
    {
        ArgumentNullException.ThrowIfNull(mapping);
        return mapping.Csi == Csi && Covers(mapping.Id, mapping.Version, mapping.IssuedAt, mapping.Credential.NotBefore);
    }

    /// <summary>
    /// Whether this removal removes the version of mapping <paramref name="id"/> of the same CSI
    /// described by the other arguments; what a DP calls with the columns it stores.
    /// </summary>
    public bool Covers(MappingId id, long version, DateTimeOffset issuedAt, DateTimeOffset credentialNotBefore)
    {
        if (Target is { } target && target != id)
        {
            return false;
        }

        return Authority switch
        {
            RemovalAuthority.Owner => string.Equals(id.KeyThumbprint, SignerThumbprint, StringComparison.Ordinal) && version <= Version,
            RemovalAuthority.Successor => !string.Equals(id.KeyThumbprint, SignerThumbprint, StringComparison.Ordinal)
                                          && credentialNotBefore < Credential!.NotBefore
                                          && issuedAt <= IssuedAt,
            _ => issuedAt <= IssuedAt,
        };
    }
}

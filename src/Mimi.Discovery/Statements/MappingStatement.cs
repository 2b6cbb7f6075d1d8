using Mimi.Discovery.Credentials;
using Mimi.Discovery.Identifiers;

namespace Mimi.Discovery.Statements;

/// <summary>
/// A verified mapping statement: one recipient key's signed binding of one CSI to a list of MSP
/// entries, for one audience. Instances come only from <see cref="Verification.StatementVerifier"/>,
/// so holding one means it verified against the trust anchors that verifier was given.
/// </summary>
public sealed class MappingStatement
{
    internal MappingStatement(string token, Csi csi, long version, DateTimeOffset issuedAt, DateTimeOffset expiresAt,
        bool supersede, Audience audience, IReadOnlyList<MspEntry> entries, Credential credential, IReadOnlyList<string>? sealedRoutes = null)
    {
        Token = token;
        Csi = csi;
        Version = version;
        IssuedAt = issuedAt;
        ExpiresAt = expiresAt;
        Supersede = supersede;
        Audience = audience;
        Entries = entries;
        Credential = credential;
        SealedRoutes = sealedRoutes ?? [];
        Id = new MappingId(credential.KeyThumbprint, audience.Token);
    }

    /// <summary>Media type of a mapping statement's JWS (<c>typ</c> header).</summary>
    public const string MediaType = "mimi-mapping+jws";

    /// <summary>The compact JWS exactly as signed.</summary>
    public string Token { get; }

    /// <summary>The CSI this statement maps.</summary>
    public Csi Csi { get; }

    /// <summary>Version, strictly increasing per <see cref="Id"/>.</summary>
    public long Version { get; }

    /// <summary>When the recipient signed it.</summary>
    public DateTimeOffset IssuedAt { get; }

    /// <summary>The statement's <c>exp</c>: after this instant it is no longer valid.</summary>
    public DateTimeOffset ExpiresAt { get; }

    /// <summary>When the statement stops being current: the earlier of <see cref="ExpiresAt"/> and its credential's expiry (<see cref="Verification.StatementLifetime"/>).</summary>
    public DateTimeOffset ValidUntil => Verification.StatementLifetime.ValidUntil(ExpiresAt, Credential.NotAfter);

    /// <summary>The R10 "new" bit: the signer holds a newer credential and every other mapping of the CSI is superseded.</summary>
    public bool Supersede { get; }

    /// <summary>Which querying services may see this statement.</summary>
    public Audience Audience { get; }

    /// <summary>The MSP entries, as signed. Empty means a deliberate opt-out: reachable nowhere (R5).</summary>
    public IReadOnlyList<MspEntry> Entries { get; }

    /// <summary>The credential that binds the signing key to <see cref="Csi"/>.</summary>
    public Credential Credential { get; }

    /// <summary>The mapping this statement is a version of.</summary>
    public MappingId Id { get; }

    /// <summary>
    /// The sealed boxes as signed (base64url; <see cref="Statements.SealedRoutes"/>): routes only holders of a route key
    /// can read, and padding no key opens. Empty when the statement seals nothing.
    /// </summary>
    public IReadOnlyList<string> SealedRoutes { get; }

    /// <summary>Whether this statement says "reachable nowhere": no entries and nothing sealed.</summary>
    public bool IsOptOut => Entries.Count == 0 && SealedRoutes.Count == 0;

    /// <summary>
    /// The entries a lookup made for <paramref name="queryingService"/> (null: anonymous) may see: none when the
    /// statement's audience excludes it, else those whose own audience (<see cref="MspEntry.Audience"/>) admits it.
    /// </summary>
    public IEnumerable<MspEntry> EntriesFor(string? queryingService) =>
        Audience.Admits(queryingService, Entries) ? Entries.Where(e => e.Admits(queryingService)) : [];

    /// <summary>
    /// Whether a DP may return this statement to a lookup made for <paramref name="queryingService"/>: its audience admits
    /// the service, and it is an opt-out, carries sealed routes, or has an entry the service may see
    /// (<see cref="Transparency.Labels.ScopesOf(MappingStatement)"/>).
    /// </summary>
    public bool IsVisibleTo(string? queryingService) =>
        Transparency.Labels.ScopesOf(this).Intersect(Transparency.Labels.ScopesFor(queryingService), StringComparer.Ordinal).Any();

    /// <summary>Entries in the order a sender should try them: <c>default</c> first, then by priority.</summary>
    public IEnumerable<MspEntry> EntriesByPreference =>
        Entries.OrderByDescending(e => e.IsDefault).ThenBy(e => e.Priority);
}

// Labels: which statements of a CSI a leaf commits to. A statement is committed under every
// scope that may see it, so a lookup by service S proves exactly two labels — the "any" label
// and the "svc:S" label — and learns nothing of other services' labels (their VRF outputs are
// unpredictable without the DP's VRF key).
//   audience any           → scope "any"
//   audience only:a+b      → scopes "svc:a", "svc:b"
//   audience same-service  → "svc:X" for each service X among the statement's entries
//   audience any, with per-entry audiences → the union of each entry's scopes, an entry without
//   an audience of its own in "any", an entry "only:a+b" in "svc:a" and "svc:b", an entry
//   "same-service" in "svc:" its own service; an opt-out (no entries) in "any"
// Delegations (Federation.Delegation) are committed the same way under the subject of each
// delegated element (tel:+33, mailto:example.com) and the scope "delegation".
// VRF input (alpha) = "mimi-discovery label v1" || 0x00 || CSI URI or subject || 0x00 || scope (UTF-8).
// Committed value   = SHA-256 of each statement (compact JWS, UTF-8) in ordinal order of the
// statements, concatenated; the empty value means "nothing here" (never published, or erased).
using System.Security.Cryptography;
using System.Text;
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Statements;

namespace Mimi.Discovery.Transparency;

/// <summary>Label scopes, VRF inputs and committed values.</summary>
internal static class Labels
{
    /// <summary>The scope every querying service sees.</summary>
    public const string AnyScope = "any";

    /// <summary>The scope of statements visible to <paramref name="service"/> only (beside others listed).</summary>
    public static string ServiceScope(string service) => "svc:" + service;

    /// <summary>The scope delegations are committed under, beside their subject (<see cref="Federation.Delegation.Subject"/>).</summary>
    public const string DelegationScope = "delegation";

    /// <summary>The scopes a lookup by <paramref name="service"/> (null: none named) must prove, in order.</summary>
    public static IReadOnlyList<string> ScopesFor(string? service) => service is null ? [AnyScope] : [AnyScope, ServiceScope(service)];

    /// <summary>The scopes a statement with this audience and entry services is committed under.</summary>
    public static IReadOnlyList<string> ScopesOf(Audience audience, IEnumerable<string> entryServices)
    {
        ArgumentNullException.ThrowIfNull(audience);
        ArgumentNullException.ThrowIfNull(entryServices);
        return audience.Kind switch
        {
            AudienceKind.Any => [AnyScope],
            AudienceKind.Services => audience.Services.Select(ServiceScope).ToList(),
            _ => entryServices.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).Select(ServiceScope).ToList(),
        };
    }

    /// <summary>
    /// The scopes a statement is committed under, with per-entry audiences (docs/protocol.md §8, "Labels
    /// and audience"): for a statement whose audience is <see cref="Audience.Any"/>, the union of its entries' scopes
    /// (<see cref="AnyScope"/> for an entry without an audience of its own), and <see cref="AnyScope"/> for an opt-out;
    /// otherwise <see cref="ScopesOf(Audience, IEnumerable{string})"/>. Sorted, distinct.
    /// </summary>
    /// <param name="audience">The statement's audience.</param>
    /// <param name="entries">Its entries.</param>
    /// <param name="hasSealedRoutes">Whether it carries sealed routes: a statement visible to every service then sits under <see cref="AnyScope"/> too, since anyone may hold a route key.</param>
    public static IReadOnlyList<string> ScopesOf(Audience audience, IReadOnlyList<MspEntry> entries, bool hasSealedRoutes = false)
    {
        ArgumentNullException.ThrowIfNull(audience);
        ArgumentNullException.ThrowIfNull(entries);
        if (audience.Kind != AudienceKind.Any || (entries.All(e => e.Audience is null) && !hasSealedRoutes))
        {
            return ScopesOf(audience, entries.Select(e => e.Service));
        }

        return entries.SelectMany(e => e.Audience is { } own ? ScopesOf(own, [e.Service]) : [AnyScope])
            .Concat(hasSealedRoutes ? [AnyScope] : [])
            .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>The scopes <paramref name="statement"/> is committed under (<see cref="ScopesOf(Audience, IReadOnlyList{MspEntry}, bool)"/>).</summary>
    public static IReadOnlyList<string> ScopesOf(MappingStatement statement)
    {
        ArgumentNullException.ThrowIfNull(statement);
        return ScopesOf(statement.Audience, statement.Entries, statement.SealedRoutes.Count > 0);
    }

    /// <summary>
    /// The scopes of a statement a DP stored (verified when it was stored), read from its payload
    /// without verifying it again; empty when the payload does not parse.
    /// </summary>
    internal static IReadOnlyList<string> ScopesOfStored(string jws)
    {
        ArgumentNullException.ThrowIfNull(jws);
        try
        {
            var parts = jws.Split('.');
            var payload = System.Text.Json.JsonSerializer.Deserialize(System.Buffers.Text.Base64Url.DecodeFromChars(parts[1]), WireJson.Default.MappingPayload);
            return payload is not null && PayloadCodec.TryDecodeAudience(payload.Audience, out var audience, out _)
                && PayloadCodec.TryDecodeEntries(payload.Entries, out var entries, out _)
                ? ScopesOf(audience, entries, payload.Sealed is { Count: > 0 })
                : [];
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or FormatException or IndexOutOfRangeException)
        {
            return [];
        }
    }

    /// <summary>The VRF input of a label.</summary>
    public static byte[] Alpha(Csi csi, string scope)
    {
        ArgumentNullException.ThrowIfNull(csi);
        return Alpha(csi.Uri, scope);
    }

    /// <summary>The VRF input of a label by its subject: a CSI URI, or a delegation subject.</summary>
    public static byte[] Alpha(string subject, string scope)
    {
        ArgumentNullException.ThrowIfNull(subject);
        ArgumentNullException.ThrowIfNull(scope);
        return Encoding.UTF8.GetBytes($"mimi-discovery label v1\0{subject}\0{scope}");
    }

    /// <summary>The committed value of a set of statements (order does not matter).</summary>
    public static byte[] Value(IEnumerable<string> statements)
    {
        ArgumentNullException.ThrowIfNull(statements);
        var sorted = statements.Order(StringComparer.Ordinal).ToList();
        var value = new byte[sorted.Count * 32];
        for (var i = 0; i < sorted.Count; i++)
        {
            SHA256.HashData(Encoding.UTF8.GetBytes(sorted[i]), value.AsSpan(i * 32));
        }

        return value;
    }

    /// <summary>The commitment of a label version: keyed by the label's search key (VRF output).</summary>
    public static byte[] Commit(ReadOnlySpan<byte> opening, ReadOnlySpan<byte> searchKey, long version, IEnumerable<string> statements) =>
        Commitment.Compute(opening, searchKey, checked((uint)version), Value(statements));
}

// Labels: which statements of a CSI a leaf commits to. A statement is committed under every
// scope that may see it, so a lookup by service S proves exactly two labels — the "any" label
// and the "svc:S" label — and learns nothing of other services' labels (their VRF outputs are
// unpredictable without the DP's VRF key).
//   audience any           → scope "any"
//   audience only:a+b      → scopes "svc:a", "svc:b"
//   audience same-service  → "svc:X" for each service X among the statement's entries
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

using System.Net.Http.Json;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Statements;
using Mimi.Discovery.Verification;

namespace Mimi.Discovery.Client;

// Revocation (docs/protocol.md §15): revoke a credential, fetch the DP's CRL, keep a RevocationSet current.
public sealed partial class DiscoveryClient
{
    /// <summary>The path of a DP's revocation list (docs/protocol.md §15).</summary>
    public const string RevocationListPath = "v1/revocations/crl";

    /// <summary>
    /// Submits a revocation (<see cref="StatementSigner.SignRevocation"/>) to the DP that issued the
    /// credential. The DP lists the credential in its CRL and removes the mappings signed under it.
    /// </summary>
    /// <exception cref="DiscoveryException">The DP refused it: <c>revocation-forged</c>, <c>revocation-expired</c>, <c>revocation-replayed</c>,
    /// <c>revocation-out-of-scope</c>, <c>revocation-not-authorised</c>, <c>credential-not-found</c>, <c>credential-expired</c>, <c>credential-already-revoked</c>, …</exception>
    public Task<RevocationReceipt> RevokeAsync(string revocation, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(revocation);
        return SendAsync(HttpMethod.Post, "v1/revocations", JsonContent.Create(new RevocationRequest(revocation), RevocationJson.Default.RevocationRequest),
            RevocationJson.Default.RevocationReceipt, cancellationToken);
    }

    /// <summary>The DP's current revocation list (RFC 5280 CRL, DER), unverified: check it with <see cref="RevocationList.TryParse"/>.</summary>
    /// <exception cref="DiscoveryException">The DP refused or could not be reached.</exception>
    public async Task<byte[]> GetRevocationListAsync(CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, RevocationListPath);
        using var response = await SendAcceptedAsync(request, cancellationToken).ConfigureAwait(false);
        return await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Keeps <paramref name="revocations"/> current with this DP's revocation list: fetches it unless the
    /// list last fetched from this DP is before its nextUpdate, verifies it against <paramref name="anchors"/>,
    /// and adds it (a list older than the one held is ignored).
    /// </summary>
    /// <param name="revocations">The set a <see cref="StatementVerifier"/> checks (<see cref="VerificationOptions.Revocations"/>).</param>
    /// <param name="anchors">The credential CAs trusted for this DP.</param>
    /// <param name="time">Clock for the cache; the system clock when omitted.</param>
    /// <param name="cancellationToken">Cancels the fetch.</param>
    /// <returns>Whether a list was fetched now.</returns>
    /// <exception cref="DiscoveryException">The DP refused, or its list does not verify.</exception>
    public async Task<bool> UpdateRevocationsAsync(RevocationSet revocations, TrustAnchors anchors, TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(revocations);
        ArgumentNullException.ThrowIfNull(anchors);
        var now = (time ?? TimeProvider.System).GetUtcNow();
        var source = http.BaseAddress ?? throw new InvalidOperationException("The HttpClient has no BaseAddress.");
        if (revocations.FreshUntil(source) is { } until && until > now)
        {
            return false;
        }

        var der = await GetRevocationListAsync(cancellationToken).ConfigureAwait(false);
        if (!RevocationList.TryParse(der, anchors, out var list, out var reason))
        {
            throw new DiscoveryException($"the revocation list of {source} does not verify: {reason}");
        }

        revocations.Add(list);
        revocations.Fetched(source, list.NextUpdate);
        return true;
    }
}

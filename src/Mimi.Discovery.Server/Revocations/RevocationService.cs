using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Options;
using Mimi.Discovery.Credentials;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Server.Hosting;
using Mimi.Discovery.Server.Mappings;
using Mimi.Discovery.Server.Storage;
using Mimi.Discovery.Statements;
using Mimi.Discovery.Verification;

namespace Mimi.Discovery.Server.Revocations;

/// <summary>
/// Revocation (docs/protocol.md §15): the owner of a credential this DP issued, a later credential for the
/// same CSI (a successor) or an onboarded CSIP whose scope covers it revokes it with a signed revocation. Every refusal
/// — forged, expired, replayed, out of scope, not authorised, unknown, expired or already revoked credential —
/// is a specific problem, checked before anything is stored. A revocation taken lists the credential in the
/// DP's CRL and removes the mappings signed under it in the same transaction, so lookups stop returning them;
/// a later publish under it is refused (<c>credential-revoked</c>).
/// </summary>
internal sealed partial class RevocationService(
    IRevocationStore store,
    StatementVerifier verifier,
    MappingService mappings,
    DataFolder folder,
    IOptions<DiscoveryOptions> options,
    TimeProvider time,
    ILogger<RevocationService> logger)
{
    /// <summary>The media type of the CRL (RFC 5280 §5, RFC 2585 §4.2).</summary>
    public const string CrlMediaType = "application/pkix-crl";

    public async Task<Outcome<RevocationReceipt>> RevokeAsync(RevocationRequest? request, CancellationToken cancellationToken)
    {
        if (request?.Revocation is not { Length: > 0 } jws)
        {
            return Problem.InvalidRequest("send {\"revocation\": \"<compact JWS, typ mimi-revocation+jws>\"} (docs/protocol.md §15)");
        }

        var now = time.GetUtcNow();
        var verified = verifier.VerifyRevocation(jws, now);
        if (!verified.IsValid)
        {
            LogRejected(logger, verified.Status);
            return Rejected(verified.Status, verified.Reason);
        }

        var revocation = verified.Statement;
        if (revocation.IssuedAt < now - options.Value.RevocationMaxAge)
        {
            LogRefused(logger, "expired");
            return Expired($"the revocation was signed at {revocation.IssuedAt:u}, more than {options.Value.RevocationMaxAge.TotalMinutes:0} minute(s) ago; sign a new one");
        }

        var issued = await store.GetIssuedAsync(revocation.CredentialThumbprint, cancellationToken).ConfigureAwait(false);
        Credential? target = null;
        if (issued is not null)
        {
            // The certificate stays with the parsed credential.
            var certificate = X509CertificateLoader.LoadCertificate(Convert.FromBase64String(issued.Certificate));
            if (Credential.TryParse(certificate, out var parsed, out _) && parsed.Kind == CredentialKind.Csi && parsed.Csi == revocation.Csi)
            {
                target = parsed;
            }
        }

        if (target is null)
        {
            // The same answer for a thumbprint never issued here and one issued for another CSI.
            LogRefused(logger, "credential-not-found");
            return new Problem("credential-not-found", StatusCodes.Status404NotFound,
                "this DP issued no credential with this x5t#S256 for this CSI; revoke a credential at the DP that issued it");
        }

        if (target.NotAfter <= now)
        {
            LogRefused(logger, "credential-expired");
            return new Problem("credential-expired", StatusCodes.Status422UnprocessableEntity,
                $"the credential expired at {target.NotAfter:u}; an expired credential signs nothing a verifier accepts, so there is nothing to revoke");
        }

        var authority = revocation.AuthorityOver(target);
        if (authority is null)
        {
            LogRefused(logger, "not-authorised");
            return new Problem("revocation-not-authorised", StatusCodes.Status403Forbidden,
                "a credential is revoked by its owner (signed under it), by a credential for the same CSI issued later, or by a CSIP whose scope covers the CSI; this signer is none of them");
        }

        // A CSIP acts only while this DP's operator has it onboarded (`csip add`, docs/operations.md), as for removals and feeds.
        if (authority == RevocationAuthority.Csip && (await mappings.OnboardedCsipAsync(revocation.Signer, cancellationToken).ConfigureAwait(false)).Problem is { } notOnboarded)
        {
            LogRefused(logger, notOnboarded.Code);
            return notOnboarded;
        }

        // A replay or a second revocation of the credential is the store's to tell, in the transaction that stores it.
        if (authority != RevocationAuthority.Owner && await store.IsRevokedAsync(Revocation.ThumbprintOf(revocation.Signer.Certificate), cancellationToken).ConfigureAwait(false))
        {
            LogRefused(logger, "signer-revoked");
            return new Problem("signer-credential-invalid", StatusCodes.Status422UnprocessableEntity, "the signer's credential is itself revoked; sign under a valid credential");
        }

        var row = new StoredRevocation
        {
            Thumbprint = revocation.CredentialThumbprint,
            SerialNumber = target.Certificate.SerialNumber,
            RevokedAt = now.ToUnixTimeSeconds(),
            Reason = (int)revocation.Reason,
            NotAfter = target.NotAfter.ToUnixTimeSeconds(),
        };
        var result = await store.RevokeAsync(row, revocation.Id,
            new RevokedMappings(revocation.Csi.Uri, target.KeyThumbprint, target.NotBefore.ToUnixTimeSeconds()), cancellationToken).ConfigureAwait(false);
        switch (result.Status)
        {
            case RevocationStatus.Replayed:
                LogRefused(logger, "replayed");
                return new Problem("revocation-replayed", StatusCodes.Status409Conflict, "a revocation with this jti was taken before; each revocation is submitted once (sign a new one)");
            case RevocationStatus.AlreadyRevoked:
                LogRefused(logger, "already-revoked");
                return AlreadyRevoked();
        }

        LogRevoked(logger, authority.Value, revocation.Reason, result.Removed.Count);
        var epoch = result.Removed.Count > 0 ? await mappings.AfterCommitAsync(revocation.Csi, result.DueEpoch, cancellationToken).ConfigureAwait(false) : null;
        return new RevocationReceipt(revocation.Csi.Uri, revocation.CredentialThumbprint, row.SerialNumber, authority.Value.ToString().ToLowerInvariant(),
            Revocation.ReasonName(revocation.Reason), DateTimeOffset.FromUnixTimeSeconds(row.RevokedAt), result.Removed, epoch);
    }

    /// <summary>
    /// The current CRL (RFC 5280 §5): every revoked credential not yet expired, signed by the DP's credential CA,
    /// its cRLNumber the count of revocations ever taken, its nextUpdate <see cref="DiscoveryOptions.RevocationListLifetime"/> from now.
    /// </summary>
    public async Task<byte[]> RevocationListAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var (count, current) = await store.ListRevocationsAsync(now.ToUnixTimeSeconds(), cancellationToken).ConfigureAwait(false);
        return folder.Authority.CreateRevocationList(
            current.Select(r => (Convert.FromHexString(r.SerialNumber), DateTimeOffset.FromUnixTimeSeconds(r.RevokedAt), (X509RevocationReason)r.Reason)),
            count, now + options.Value.RevocationListLifetime);
    }

    private static Problem Rejected(VerificationStatus status, string reason) => status switch
    {
        VerificationStatus.TooLarge => new Problem("statement-too-large", StatusCodes.Status413PayloadTooLarge, reason),
        VerificationStatus.BadSignature => new Problem("revocation-forged", StatusCodes.Status422UnprocessableEntity,
            "the revocation's signature does not verify under the credential in its x5c; sign it with that credential's key"),
        VerificationStatus.UntrustedIssuer => new Problem("issuer-not-accepted", StatusCodes.Status403Forbidden,
            "this DP does not accept the signer's credential issuer; sign under a credential from this DP or from a CSIP CA it accepts"),
        VerificationStatus.CredentialExpired or VerificationStatus.CredentialNotYetValid or VerificationStatus.MissingCredential
            or VerificationStatus.MalformedCredential or VerificationStatus.NotACredential or VerificationStatus.Revoked =>
            new Problem("signer-credential-invalid", StatusCodes.Status422UnprocessableEntity, $"the signer's credential is not usable: {status}: {reason}"),
        // The verifier's reason names the CSI and the scope; the detail names neither.
        VerificationStatus.CsiMismatch => new Problem("revocation-out-of-scope", StatusCodes.Status403Forbidden,
            "the signer's credential does not cover the revocation's csi: a single-CSI credential binds another identifier, or a CSIP credential's scope does not cover it"),
        VerificationStatus.NotYetValid => Expired("the revocation's iat is in the future or outside its signer's credential validity; sign it again now"),
        _ => new Problem("revocation-rejected", StatusCodes.Status422UnprocessableEntity, $"the revocation does not verify: {status}: {reason} (docs/protocol.md §15)"),
    };

    private static Problem Expired(string detail) => new("revocation-expired", StatusCodes.Status422UnprocessableEntity, detail);

    private static Problem AlreadyRevoked() =>
        new("credential-already-revoked", StatusCodes.Status409Conflict, "this credential is revoked already; it stays on the DP's revocation list until it expires");

    [LoggerMessage(EventId = 1700, Level = LogLevel.Information, Message = "Credential revoked on {Authority} authority ({Reason}); {Removed} mapping(s) removed")]
    private static partial void LogRevoked(ILogger logger, RevocationAuthority authority, RevocationReason reason, int removed);

    [LoggerMessage(EventId = 1702, Level = LogLevel.Information, Message = "Revocation refused: it does not verify ({Status})")]
    private static partial void LogRejected(ILogger logger, VerificationStatus status);

    [LoggerMessage(EventId = 1701, Level = LogLevel.Information, Message = "Revocation refused: {Reason}")]
    private static partial void LogRefused(ILogger logger, string reason);
}

/// <summary>Forgets revocation ids older than any revocation the DP still takes, and issued credentials a week after they expired.</summary>
internal sealed class RevocationJanitor(IRevocationStore store, IOptions<DiscoveryOptions> options, TimeProvider time) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromHours(1), time);
        do
        {
            var now = time.GetUtcNow();
            // The skew a verifier allows for a future iat is kept too, so an id is remembered as long as its revocation is accepted.
            await store.PurgeRevocationsAsync((now - options.Value.RevocationMaxAge - TimeSpan.FromMinutes(10)).ToUnixTimeSeconds(), (now - TimeSpan.FromDays(7)).ToUnixTimeSeconds(), stoppingToken).ConfigureAwait(false);
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }
}

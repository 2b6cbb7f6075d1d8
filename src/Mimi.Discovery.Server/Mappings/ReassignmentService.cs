using Microsoft.Extensions.Options;
using Mimi.Discovery.Credentials;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Server.Hosting;
using Mimi.Discovery.Server.Storage;
using Mimi.Discovery.Verification;

namespace Mimi.Discovery.Server.Mappings;

/// <summary>
/// Reassignment feeds (docs/protocol.md §16, R10): an onboarded CSIP's signed list of identifiers
/// that changed hands. The whole feed is verified, then applied in one transaction: each identifier
/// its scope covers loses the mappings under credentials issued before it changed hands, and such
/// credentials are refused from then on; each one outside the scope is refused on its own. A feed
/// refused as a whole (forged, expired, replayed, too large, from a CSIP not onboarded or revoked)
/// changes nothing.
/// </summary>
internal sealed partial class ReassignmentService(
    ICsipStore csips,
    MappingService mappings,
    StatementVerifier verifier,
    IOptions<DiscoveryOptions> options,
    TimeProvider time,
    ILogger<ReassignmentService> logger)
{
    public async Task<Outcome<ReassignmentReceipt>> SubmitAsync(ReassignmentSubmission? submission, CancellationToken cancellationToken)
    {
        if (submission?.Feed is null)
        {
            return Problem.InvalidRequest("send {\"feed\": \"<compact JWS>\"} (docs/protocol.md §16)");
        }

        var verified = verifier.VerifyReassignmentFeed(submission.Feed);
        if (!verified.IsValid)
        {
            return Rejected(verified.Status, verified.Reason);
        }

        var feed = verified.Statement;
        var max = options.Value.MaxReassignments;
        if (feed.Reassignments.Count > max)
        {
            return TooLarge($"the feed lists {feed.Reassignments.Count} identifiers; this DP takes at most {max} in one feed: split it");
        }

        var now = time.GetUtcNow();
        if (now - feed.IssuedAt > options.Value.ReassignmentFeedMaxAge)
        {
            return new Problem("feed-expired", StatusCodes.Status422UnprocessableEntity,
                $"the feed was signed at {feed.IssuedAt:u}, more than {options.Value.ReassignmentFeedMaxAge.TotalMinutes:0} minutes ago; sign it again (with a new jti)");
        }

        var onboarded = await mappings.OnboardedCsipAsync(feed.Credential, cancellationToken).ConfigureAwait(false);
        if (onboarded.Problem is { } refused)
        {
            return refused;
        }

        var csip = onboarded.Value!;
        // The scope the operator onboarded, and the credential's own: they are the same for a credential
        // `csip add` issued; both must cover an identifier.
        var stored = CsipScope.TryParse(csip.Scope.Split(',', StringSplitOptions.RemoveEmptyEntries), out var parsed, out _) ? parsed : null;
        var inScope = feed.Reassignments.Select(r => stored is not null && stored.Covers(r.Csi) && feed.Credential.Scope!.Covers(r.Csi)).ToList();
        var entries = feed.Reassignments.Where((_, i) => inScope[i]).Select(r => new FeedEntry(r.Csi.Uri, r.At.ToUnixTimeSeconds())).ToList();

        var applied = await csips.ApplyFeedAsync(csip, feed.Id, feed.IssuedAt.ToUnixTimeSeconds(), now.ToUnixTimeSeconds(), entries, cancellationToken).ConfigureAwait(false);
        switch (applied.Status)
        {
            case FeedStatus.Replayed:
                return new Problem("feed-replayed", StatusCodes.Status409Conflict,
                    $"this DP applied a feed with id (jti) '{feed.Id}' from this CSIP before; each feed is applied once: sign a new one with a new jti (`csip feed --id`)");
            case FeedStatus.Revoked:
                return new Problem("csip-revoked", StatusCodes.Status403Forbidden, $"the CSIP '{csip.Name}' was revoked by this DP's operator; ask them to onboard it again");
        }

        var results = new List<ReassignmentOutcome>(feed.Reassignments.Count);
        var changed = new List<Identifiers.Csi>();
        var next = 0;
        for (var i = 0; i < feed.Reassignments.Count; i++)
        {
            var csi = feed.Reassignments[i].Csi;
            if (!inScope[i])
            {
                results.Add(new ReassignmentOutcome(csi.Uri, ReassignmentResults.NotInScope, []));
                continue;
            }

            var removed = applied.Removed[next++];
            results.Add(new ReassignmentOutcome(csi.Uri, removed.Count > 0 ? ReassignmentResults.Applied : ReassignmentResults.NothingToRemove, removed));
            if (removed.Count > 0)
            {
                changed.Add(csi);
            }
        }

        LogApplied(logger, csip.Name, changed.Count, entries.Count - changed.Count, feed.Reassignments.Count - entries.Count);
        var epoch = changed.Count == 0 ? null : await mappings.AfterCommitAsync(changed, applied.DueEpoch, cancellationToken).ConfigureAwait(false);
        return new ReassignmentReceipt(feed.Id, csip.Name, results, epoch);
    }

    /// <summary>The problem for a body longer than <see cref="Apis.ReassignmentApi.MaxBodyBytes"/> or a feed of too many identifiers.</summary>
    public static Problem TooLarge(string detail) => new("feed-too-large", StatusCodes.Status413PayloadTooLarge, detail);

    private static Problem Rejected(VerificationStatus status, string reason) => status switch
    {
        VerificationStatus.TooLarge => TooLarge(reason + "; split the feed"),
        VerificationStatus.UntrustedIssuer => new Problem("issuer-not-accepted", StatusCodes.Status403Forbidden,
            $"this DP does not accept the feed's credential issuer ({reason}); a CSIP acts with the credential this DP's operator issued it"),
        _ => new Problem("feed-rejected", StatusCodes.Status422UnprocessableEntity, $"the feed does not verify: {status}: {reason} (docs/protocol.md §16)"),
    };

    [LoggerMessage(EventId = 220, Level = LogLevel.Information, Message = "Reassignment feed from CSIP {Csip}: {Applied} identifier(s) with mappings removed, {Nothing} with none, {Refused} out of scope")]
    private static partial void LogApplied(ILogger logger, string csip, int applied, int nothing, int refused);
}

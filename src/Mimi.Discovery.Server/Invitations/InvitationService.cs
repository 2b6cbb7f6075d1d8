using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Server.Hosting;
using Mimi.Discovery.Server.Proofs;
using Mimi.Discovery.Server.Storage;
using Mimi.Discovery.Server.Tokens;
using Mimi.Discovery.Statements;
using Mimi.Discovery.Verification;
using Base64Url = System.Buffers.Text.Base64Url;

namespace Mimi.Discovery.Server.Invitations;

/// <summary>What an invitation request answers: the result, and the <c>WWW-Authenticate</c> challenge a token refusal carries.</summary>
internal sealed record InvitationAnswerOutcome(Outcome<InvitationAccepted> Outcome, string? Challenge = null);

/// <summary>
/// Invitations (docs/protocol.md §14, SPIN): a sender whose lookup said <c>none</c> asks the DP to
/// deliver a signed invitation to the identifier; the recipient fetches it by the link's code, verifies
/// it, and may answer once. Only the sender's own faults are refused — a forged, expired, replayed or
/// out-of-scope invitation, no or a bad token, her own limit — each before anything is stored or spent.
/// Everything else gets the same <see cref="InvitationAccepted"/>, delivered or not: the recipient's
/// slot for the period already used (by anyone), "never invite me", or any live mapping of the
/// identifier, even one the sender's lookup did not show. Identifiers are stored only as keyed hashes,
/// and no log line holds an identifier, a code or an invitation.
/// </summary>
internal sealed partial class InvitationService(
    IInvitationStore store,
    IDiscoveryStore mappings,
    StatementVerifier verifier,
    ILookupGate gate,
    ChannelRouter channels,
    InvitationDelivery delivery,
    DataFolder folder,
    PublicOrigin origin,
    IOptions<DiscoveryOptions> options,
    TimeProvider time,
    ILogger<InvitationService> logger)
{
    /// <summary>The status of every accepted invitation.</summary>
    public const string Accepted = "accepted";

    private readonly CallerAssertionVerifier _answers = new(verifier, time);

    private InvitationOptions Settings => options.Value.Invitations;

    public async Task<InvitationAnswerOutcome> InviteAsync(InvitationRequest? request, IReadOnlyList<string> authorization, CancellationToken cancellationToken)
    {
        if (request?.Invitation is not { Length: > 0 } jws)
        {
            return new(Problem.InvalidRequest("send {\"invitation\": \"<compact JWS>\"} (docs/protocol.md §14)"));
        }

        var now = time.GetUtcNow();
        var verified = verifier.VerifyInvitation(jws, now);
        if (!verified.IsValid)
        {
            LogRejected(logger, verified.Status);
            return new(Rejected(verified.Status, verified.Reason));
        }

        var invitation = verified.Statement;
        if (OutOfScope(invitation) is { } scope)
        {
            LogRefused(logger, "out-of-scope");
            return new(new Problem("invitation-out-of-scope", StatusCodes.Status422UnprocessableEntity, scope));
        }

        var channel = channels.For(invitation.Recipient.Kind);
        if (channel is null)
        {
            return new(new Problem("channel-unavailable", StatusCodes.Status501NotImplemented,
                $"this DP has no delivery channel for {(invitation.Recipient.Kind == CsiKind.Email ? "email addresses" : "phone numbers")}, so it delivers no invitation to one"));
        }

        if (await store.InvitationExistsAsync(invitation.Id, cancellationToken).ConfigureAwait(false))
        {
            LogRefused(logger, "replayed");
            return new(Replayed());
        }

        // The sender's own limit, then the price: a refused request counts nothing and spends nothing.
        var period = (long)Settings.Period.TotalSeconds;
        var nowSeconds = now.ToUnixTimeSeconds();
        var window = nowSeconds - (nowSeconds % period);
        var sender = Keyed("sender", invitation.Sender);
        if (!await store.TakeSenderCountAsync(sender, Settings.MaxPerSender, window, cancellationToken).ConfigureAwait(false))
        {
            LogRefused(logger, "sender-limit");
            return new(new Problem("invitation-limit", StatusCodes.Status429TooManyRequests,
                $"you asked for {Settings.MaxPerSender} invitation(s) in this period of {Settings.Period.TotalHours:0.#} hour(s), the most one sender may; try again later")
            { RetryAfterSeconds = window + period - nowSeconds });
        }

        var admitted = await gate.AdmitAsync(authorization, new LookupRequest([invitation.Recipient.Uri]), cancellationToken).ConfigureAwait(false);
        if (admitted.Problem is { } refused)
        {
            await store.ReturnSenderCountAsync(sender, window, CancellationToken.None).ConfigureAwait(false);
            return new(refused, admitted.Challenge);
        }

        var slot = await MayDeliverAsync(invitation.Recipient, nowSeconds, cancellationToken).ConfigureAwait(false) ? Keyed("recipient", invitation.Recipient) : null;
        var code = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(Invitation.IdBytes));
        var row = new StoredInvitation
        {
            Id = invitation.Id,
            CodeHash = CodeHash(code),
            Invitation = invitation.Jws,
            CreatedAt = nowSeconds,
            ExpiresAt = invitation.ExpiresAt.ToUnixTimeSeconds(),
        };
        var stored = await store.StoreInvitationAsync(row, slot, nowSeconds - period, cancellationToken).ConfigureAwait(false);
        if (stored == InvitationStored.Replayed)
        {
            // Another submission of the same id won a race after the check above; the token is spent.
            return new(Replayed());
        }

        if (stored == InvitationStored.Deliver)
        {
            var link = $"{origin.Value}/v1/invitations#{code}";
            var text = $"{options.Value.Name}: {invitation.Sender} invites you to get in touch on a messaging service. See who and where: {link} (valid until {invitation.ExpiresAt:yyyy-MM-dd HH:mm} UTC). Not interested? Ignore this message.";
            delivery.Enqueue(new PendingDelivery(channel, new ChallengeMessage(invitation.Recipient, code, text, "An invitation to get in touch"), invitation.Id, slot!, nowSeconds));
        }

        LogAccepted(logger, invitation.Recipient.Kind, stored == InvitationStored.Deliver ? "queued for delivery" : "not delivered");
        return new(new InvitationAccepted(invitation.Id, Accepted, invitation.Callback?.AbsoluteUri));
    }

    public async Task<Outcome<InvitationDocument>> FetchAsync(string? code, CancellationToken cancellationToken)
    {
        if (code is null)
        {
            return Problem.InvalidRequest("send {\"code\": \"<the 22 characters after '#' in the link>\"}");
        }

        if (!Invitation.IsWellFormedId(code))
        {
            return NotFound();
        }

        var row = await store.GetInvitationByCodeAsync(CodeHash(code), cancellationToken).ConfigureAwait(false);
        if (row?.Invitation is null)
        {
            return NotFound();
        }

        return row.ExpiresAt <= time.GetUtcNow().ToUnixTimeSeconds() ? Expired() : new InvitationDocument(row.Invitation);
    }

    public async Task<Outcome<InvitationAnswerStatus>> AnswerAsync(string id, InvitationAnswer? answer, CancellationToken cancellationToken)
    {
        if (answer?.Assertion is not { Length: > 0 } assertion)
        {
            return Problem.InvalidRequest("send {\"assertion\": \"<caller assertion from the invited CSI to the sender>\"}");
        }

        var row = Invitation.IsWellFormedId(id) ? await store.GetInvitationAsync(id, cancellationToken).ConfigureAwait(false) : null;
        if (row?.Invitation is null)
        {
            return NotFound();
        }

        var now = time.GetUtcNow();
        if (row.ExpiresAt <= now.ToUnixTimeSeconds())
        {
            return Expired();
        }

        if (row.AnsweredAt is not null)
        {
            return Answered();
        }

        // The stored invitation verified when it was accepted; read as of then. (One whose CA this DP
        // no longer accepts is answered as one it never delivered.)
        var stored = verifier.VerifyInvitation(row.Invitation, DateTimeOffset.FromUnixTimeSeconds(row.CreatedAt));
        if (!stored.IsValid)
        {
            return NotFound();
        }

        var invitation = stored.Statement;
        var verified = _answers.Verify(assertion, invitation.Sender);
        if (!verified.IsValid)
        {
            return new Problem("assertion-rejected", StatusCodes.Status422UnprocessableEntity, verified.Status == VerificationStatus.NotForRecipient
                ? "the caller assertion is not addressed to the invitation's sender"
                : $"the caller assertion does not verify: {verified.Status}" + (verified.Status is VerificationStatus.CsiMismatch ? "" : ": " + verified.Reason));
        }

        if (verified.Statement.Originator != invitation.Recipient)
        {
            return new Problem("answer-not-from-recipient", StatusCodes.Status403Forbidden,
                "the caller assertion is signed for another identifier than the invited one; answer with the invited identifier's credential");
        }

        if (!await store.AnswerInvitationAsync(id, assertion, now.ToUnixTimeSeconds(), cancellationToken).ConfigureAwait(false))
        {
            return Answered();
        }

        LogAnswered(logger);
        return new InvitationAnswerStatus(id, true, assertion, DateTimeOffset.FromUnixTimeSeconds(now.ToUnixTimeSeconds()));
    }

    /// <summary>Whether the invitation was answered; an unknown or undelivered one reads as not answered, so the answer says nothing of delivery.</summary>
    public async Task<Outcome<InvitationAnswerStatus>> AnswerStatusAsync(string id, CancellationToken cancellationToken)
    {
        if (!Invitation.IsWellFormedId(id))
        {
            return Problem.InvalidRequest("an invitation id is 22 base64url characters (its jti)");
        }

        var row = await store.GetInvitationAsync(id, cancellationToken).ConfigureAwait(false);
        return row is { AnsweredAt: { } at, Answer: { } answered }
            ? new InvitationAnswerStatus(id, true, answered, DateTimeOffset.FromUnixTimeSeconds(at))
            : new InvitationAnswerStatus(id, false);
    }

    public async Task<Outcome<InvitationPreferenceReceipt>> SetPreferenceAsync(StatementSubmission? submission, CancellationToken cancellationToken)
    {
        if (submission?.Statement is not { Length: > 0 } jws)
        {
            return Problem.InvalidRequest("send {\"statement\": \"<invitation preference, compact JWS>\"}");
        }

        var verified = verifier.VerifyInvitationPreference(jws, time.GetUtcNow());
        if (!verified.IsValid)
        {
            return verified.Status switch
            {
                VerificationStatus.UntrustedIssuer => new Problem("issuer-not-accepted", StatusCodes.Status403Forbidden,
                    "this DP does not accept the preference's credential issuer; prove control of the identifier at this DP first"),
                VerificationStatus.CsiMismatch => new Problem("statement-rejected", StatusCodes.Status422UnprocessableEntity,
                    "the preference does not verify: CsiMismatch: its CSI is not the one its credential binds"),
                _ => new Problem("statement-rejected", StatusCodes.Status422UnprocessableEntity, $"the preference does not verify: {verified.Status}: {verified.Reason}"),
            };
        }

        var preference = verified.Statement;
        if (!await store.SetInvitationPreferenceAsync(Keyed("recipient", preference.Csi), preference.Refuse, preference.IssuedAt.ToUnixTimeSeconds(), cancellationToken).ConfigureAwait(false))
        {
            return new Problem("preference-not-newer", StatusCodes.Status409Conflict, "a preference signed at the same time or later is stored already; sign a new one");
        }

        LogPreference(logger, preference.Csi.Kind, preference.Refuse ? "refuses" : "accepts");
        return new InvitationPreferenceReceipt(preference.Csi.Uri, preference.Refuse ? "refuse" : "accept");
    }

    /// <summary>Why this DP does not deliver a (valid) invitation, as a sentence; null when in scope.</summary>
    private string? OutOfScope(Invitation invitation)
    {
        if (invitation.ExpiresAt - invitation.IssuedAt > Settings.MaxLifetime)
        {
            return $"this DP delivers invitations that live at most {Settings.MaxLifetime.TotalDays:0.#} day(s) (exp − iat); sign one that expires sooner";
        }

        var expected = Invitation.CallbackAt(origin.Value + "/v1", invitation.Id);
        if (invitation.Callback is { } callback && callback != expected)
        {
            return "cb names another place than this DP's answer URL for this invitation (the api of /.well-known/mimi-discovery + /invitations/<jti>/answer); leave it out, or name that URL";
        }

        return null;
    }

    /// <summary>Whether the recipient has said nothing against it: no live mapping (any audience, opted-out included) and no "never invite me".</summary>
    private async Task<bool> MayDeliverAsync(Csi recipient, long now, CancellationToken cancellationToken)
    {
        var rows = await mappings.GetMappingsAsync(recipient.Uri, cancellationToken).ConfigureAwait(false);
        if (rows.Any(r => r.Statement is not null && r.ExpiresAt > now))
        {
            return false;
        }

        return !await store.RefusesInvitationsAsync(Keyed("recipient", recipient), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>An identifier as stored: HMAC-SHA256 under the DP's secret, so the tables list no number or address.</summary>
    private string Keyed(string purpose, Csi csi) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(folder.CodeSecret, Encoding.UTF8.GetBytes("invitation-" + purpose + ":" + csi.Uri)));

    private string CodeHash(string code) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(folder.CodeSecret, Encoding.UTF8.GetBytes("invitation-code:" + code)));

    private static Problem Rejected(VerificationStatus status, string reason) => status switch
    {
        VerificationStatus.Expired => Expired(),
        VerificationStatus.UntrustedIssuer => new Problem("issuer-not-accepted", StatusCodes.Status403Forbidden,
            "this DP does not accept the invitation's credential issuer; sign it under a credential from this DP"),
        VerificationStatus.TooLarge => new Problem("statement-too-large", StatusCodes.Status413PayloadTooLarge, reason),
        // The verifier's reasons for these name identifiers; the detail does not.
        VerificationStatus.CsiMismatch => new Problem("invitation-rejected", StatusCodes.Status422UnprocessableEntity,
            "the invitation does not verify: CsiMismatch: its orig is not the CSI its credential binds"),
        VerificationStatus.InvalidContent => new Problem("invitation-rejected", StatusCodes.Status422UnprocessableEntity, "the invitation does not verify: InvalidContent: " + reason),
        _ => new Problem("invitation-rejected", StatusCodes.Status422UnprocessableEntity, $"the invitation does not verify: {status}: {reason}"),
    };

    private static Problem Replayed() =>
        new("invitation-replayed", StatusCodes.Status409Conflict, "an invitation with this jti was submitted before; each invitation is submitted once (sign a new one for a new invitation)");

    private static Problem Expired() =>
        new("invitation-expired", StatusCodes.Status410Gone, "the invitation has expired; ask the sender for a new one");

    private static Problem NotFound() =>
        new("invitation-not-found", StatusCodes.Status404NotFound, "no invitation is reachable at this link; check it was copied whole");

    private static Problem Answered() =>
        new("invitation-answered", StatusCodes.Status409Conflict, "this invitation was answered already; it is answered once");

    [LoggerMessage(EventId = 1400, Level = LogLevel.Information, Message = "Invitation for a {Kind} CSI accepted: {Outcome}")]
    private static partial void LogAccepted(ILogger logger, CsiKind kind, string outcome);

    [LoggerMessage(EventId = 1401, Level = LogLevel.Information, Message = "Invitation refused: {Reason}")]
    private static partial void LogRefused(ILogger logger, string reason);

    [LoggerMessage(EventId = 1404, Level = LogLevel.Information, Message = "Invitation refused: it does not verify ({Status})")]
    private static partial void LogRejected(ILogger logger, VerificationStatus status);

    [LoggerMessage(EventId = 1402, Level = LogLevel.Information, Message = "Invitation answered")]
    private static partial void LogAnswered(ILogger logger);

    [LoggerMessage(EventId = 1403, Level = LogLevel.Information, Message = "Invitation preference stored: a {Kind} CSI {Preference} invitations")]
    private static partial void LogPreference(ILogger logger, CsiKind kind, string preference);
}

using System.Text.Json;
using Mimi.Discovery.Statements;

namespace Mimi.Discovery.Verification;

// Invitations and invitation preferences (docs/protocol.md §14), opened like every statement
// signed under a single-CSI credential.
public sealed partial class StatementVerifier
{
    /// <summary>
    /// Verifies an invitation (docs/protocol.md §14) as of <paramref name="at"/>: structure, <c>typ</c>
    /// <c>passport</c> with <c>ppt</c> <see cref="Invitation.PassportType"/>, ES256 signature, the credential
    /// in <c>x5c</c> and its chain to the trust anchors, <c>orig</c> equal to the credential's CSI, exactly one
    /// canonical <c>dest</c> other than the sender, a well-formed <c>jti</c>, valid <c>reach</c> entries, an https
    /// <c>cb</c> if any, <c>iat</c> within the credential's validity and not in the future, and
    /// <c>exp</c> after <c>iat</c> by at most <see cref="Invitation.MaxLifetime"/> and not yet passed
    /// (<see cref="VerificationStatus.Expired"/>). Never throws for bad input.
    /// </summary>
    public VerificationResult<Invitation> VerifyInvitation(string? jws, DateTimeOffset at)
    {
        if (OpenUnderCsiCredential(jws, CallerAssertion.MediaType, "an invitation", out var envelope, out var credential, Invitation.PassportType) is { } failure)
        {
            return VerificationResult<Invitation>.Fail(failure.Status, failure.Reason);
        }

        InvitationPayload payload;
        try
        {
            payload = JsonSerializer.Deserialize(envelope.Payload, WireJson.Default.InvitationPayload)!;
        }
        catch (JsonException e)
        {
            return VerificationResult<Invitation>.Fail(VerificationStatus.Malformed, "the payload is not an invitation: " + e.Message);
        }

        if (!TryPassportIdentity(payload.Orig.Tn, payload.Orig.Uri, out var sender) || (payload.Orig.Tn is null) == (payload.Orig.Uri is null))
        {
            return VerificationResult<Invitation>.Fail(VerificationStatus.InvalidContent, "orig must hold exactly one canonical tn (E.164 digits) or mailto uri");
        }

        var tn = payload.Dest.Tn ?? [];
        var uri = payload.Dest.Uri ?? [];
        if (tn.Count + uri.Count != 1 || !TryPassportIdentity(tn.Count == 1 ? tn[0] : null, uri.Count == 1 ? uri[0] : null, out var recipient))
        {
            return VerificationResult<Invitation>.Fail(VerificationStatus.InvalidContent, "dest must name exactly one recipient, a canonical tn (E.164 digits) or mailto uri");
        }

        if (recipient == sender)
        {
            return VerificationResult<Invitation>.Fail(VerificationStatus.InvalidContent, "an invitation is for someone else than its sender");
        }

        if (!Invitation.IsWellFormedId(payload.Id))
        {
            return VerificationResult<Invitation>.Fail(VerificationStatus.InvalidContent, "jti must be 16 bytes in base64url (22 characters)");
        }

        if (payload.Reach.Count == 0)
        {
            return VerificationResult<Invitation>.Fail(VerificationStatus.InvalidContent, "reach must name at least one entry");
        }

        if (!PayloadCodec.TryDecodeEntries(payload.Reach, out var reach, out var reason))
        {
            return VerificationResult<Invitation>.Fail(VerificationStatus.InvalidContent, "reach: " + reason);
        }

        Uri? callback = null;
        if (payload.Callback is not null && (!Uri.TryCreate(payload.Callback, UriKind.Absolute, out callback) || callback.Scheme != Uri.UriSchemeHttps))
        {
            return VerificationResult<Invitation>.Fail(VerificationStatus.InvalidContent, "cb must be an absolute https URL");
        }

        if (!TryUnixTime(payload.IssuedAt, out var issuedAt) || !TryUnixTime(payload.ExpiresAt, out var expiresAt) || expiresAt <= issuedAt)
        {
            return VerificationResult<Invitation>.Fail(VerificationStatus.InvalidContent, "iat and exp must be Unix times with exp after iat");
        }

        if (expiresAt - issuedAt > Invitation.MaxLifetime)
        {
            return VerificationResult<Invitation>.Fail(VerificationStatus.InvalidContent, $"an invitation lives at most {Invitation.MaxLifetime.TotalDays:0} days");
        }

        if (CheckCredential(envelope, at) is { } credentialFailure)
        {
            return VerificationResult<Invitation>.Fail(credentialFailure.Status, credentialFailure.Reason);
        }

        if (credential.Csi != sender)
        {
            return VerificationResult<Invitation>.Fail(VerificationStatus.CsiMismatch, "the invitation's orig is not the CSI its credential binds");
        }

        if (CheckIssuance(issuedAt, credential, at) is { } timeFailure)
        {
            return VerificationResult<Invitation>.Fail(timeFailure.Status, timeFailure.Reason);
        }

        if (at >= expiresAt)
        {
            return VerificationResult<Invitation>.Fail(VerificationStatus.Expired, $"the invitation expired at {expiresAt:u}");
        }

        return VerificationResult<Invitation>.Valid(new Invitation(jws!, payload.Id, sender, recipient, reach, issuedAt, expiresAt, callback, credential));
    }

    /// <summary>
    /// Verifies an invitation preference (docs/protocol.md §14, "Never invite me") as of <paramref name="at"/>:
    /// structure, <c>typ</c> <see cref="InvitationPreference.MediaType"/>, signature, credential chain, the
    /// CSI the credential binds, and <c>iat</c> within the credential's validity and not in the future.
    /// </summary>
    public VerificationResult<InvitationPreference> VerifyInvitationPreference(string? jws, DateTimeOffset at)
    {
        if (OpenUnderCsiCredential(jws, InvitationPreference.MediaType, "an invitation preference", out var envelope, out var credential) is { } failure)
        {
            return VerificationResult<InvitationPreference>.Fail(failure.Status, failure.Reason);
        }

        InvitationPreferencePayload payload;
        try
        {
            payload = JsonSerializer.Deserialize(envelope.Payload, WireJson.Default.InvitationPreferencePayload)!;
        }
        catch (JsonException e)
        {
            return VerificationResult<InvitationPreference>.Fail(VerificationStatus.Malformed, "the payload is not an invitation preference: " + e.Message);
        }

        if (!PayloadCodec.TryParseCanonicalCsi(payload.Csi, out var csi))
        {
            return VerificationResult<InvitationPreference>.Fail(VerificationStatus.InvalidContent, "the payload's csi is not a canonical CSI URI");
        }

        if (payload.Invitations is not ("refuse" or "accept") || !TryUnixTime(payload.IssuedAt, out var issuedAt))
        {
            return VerificationResult<InvitationPreference>.Fail(VerificationStatus.InvalidContent, "invitations must be \"refuse\" or \"accept\", and iat a Unix time");
        }

        if (CheckCredential(envelope, at) is { } credentialFailure)
        {
            return VerificationResult<InvitationPreference>.Fail(credentialFailure.Status, credentialFailure.Reason);
        }

        if (credential.Csi != csi)
        {
            return VerificationResult<InvitationPreference>.Fail(VerificationStatus.CsiMismatch, "the preference's csi is not the one its credential binds");
        }

        return CheckIssuance(issuedAt, credential, at) is { } timeFailure
            ? VerificationResult<InvitationPreference>.Fail(timeFailure.Status, timeFailure.Reason)
            : VerificationResult<InvitationPreference>.Valid(new InvitationPreference(jws!, csi, payload.Invitations == "refuse", issuedAt, credential));
    }
}

using System.Text.Json;
using Mimi.Discovery.Credentials;
using Mimi.Discovery.Identifiers;

namespace Mimi.Discovery.Statements;

// Invitations and invitation preferences (docs/protocol.md §14), signed like caller assertions.
public sealed partial class StatementSigner
{
    /// <summary>
    /// Signs an invitation (docs/protocol.md §14): a PASSporT (RFC 8225) with <c>ppt</c>
    /// <see cref="Invitation.PassportType"/>, this credential's CSI as <c>orig</c>, the recipient as
    /// <c>dest</c>, and <c>exp</c>, <c>jti</c>, <c>reach</c> and optionally <c>cb</c>.
    /// </summary>
    /// <returns>The compact JWS.</returns>
    /// <exception cref="ArgumentException">A CSIP credential; the recipient is the sender; no or too many or invalid entries; a bad id, lifetime or callback.</exception>
    public string SignInvitation(InvitationDraft draft)
    {
        ArgumentNullException.ThrowIfNull(draft);
        ArgumentNullException.ThrowIfNull(draft.Recipient, nameof(draft));
        if (_credential.Kind != CredentialKind.Csi)
        {
            throw new ArgumentException("An invitation is signed under a single-CSI credential; a CSIP credential names no sender.", nameof(draft));
        }

        var orig = _credential.Csi!;
        if (draft.Recipient == orig)
        {
            throw new ArgumentException("An invitation is for someone else than its sender.", nameof(draft));
        }

        var reach = (draft.Reach ?? []).Select(e => e is null ? null! : e with { Tags = e.Tags.Select(t => t is null ? null! : PreferenceTags.Normalize(t)).ToList() }).ToList();
        if (reach.Count == 0)
        {
            throw new ArgumentException("An invitation names at least one entry where the sender can be reached.", nameof(draft));
        }

        if (PayloadCodec.ValidateEntries(reach) is { } problem)
        {
            throw new ArgumentException(problem, nameof(draft));
        }

        if (!Invitation.IsWellFormedId(draft.Id))
        {
            throw new ArgumentException("The invitation id is 16 bytes in base64url (Invitation.NewId).", nameof(draft));
        }

        var lifetime = draft.Lifetime ?? Invitation.DefaultLifetime;
        var now = _time.GetUtcNow();
        var expires = now + lifetime;
        if (lifetime <= TimeSpan.Zero || lifetime > Invitation.MaxLifetime || expires > _credential.NotAfter)
        {
            throw new ArgumentException($"An invitation lives more than zero and at most {Invitation.MaxLifetime.TotalDays:0} days, and not past its credential ({_credential.NotAfter:u}).", nameof(draft));
        }

        if (draft.Callback is { } callback && (!callback.IsAbsoluteUri || callback.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException("The callback is an absolute https URL.", nameof(draft));
        }

        var recipient = draft.Recipient;
        var payload = new InvitationPayload
        {
            Callback = draft.Callback?.AbsoluteUri,
            Dest = recipient.Kind == CsiKind.Phone
                ? new PassportDestinations { Tn = [CallerAssertion.TelephoneNumber(recipient)] }
                : new PassportDestinations { Uri = [recipient.Uri] },
            ExpiresAt = expires.ToUnixTimeSeconds(),
            IssuedAt = now.ToUnixTimeSeconds(),
            Id = draft.Id,
            Orig = orig.Kind == CsiKind.Phone ? new PassportOriginator { Tn = CallerAssertion.TelephoneNumber(orig) } : new PassportOriginator { Uri = orig.Uri },
            Reach = reach.Select(PayloadCodec.EncodeEntry).ToList(),
        };
        return Sign(JsonSerializer.SerializeToUtf8Bytes(payload, WireJson.Writer.InvitationPayload), CallerAssertion.MediaType,
            new Dictionary<string, object> { ["ppt"] = Invitation.PassportType, ["x5c"] = _x5c });
    }

    /// <summary>
    /// Signs this credential's CSI's invitation preference (docs/protocol.md §14, "Never invite me"):
    /// <paramref name="refuse"/> true for "never invite me", false to accept invitations again.
    /// </summary>
    /// <exception cref="ArgumentException">A CSIP credential.</exception>
    public string SignInvitationPreference(bool refuse)
    {
        if (_credential.Kind != CredentialKind.Csi)
        {
            throw new ArgumentException("An invitation preference is signed under the identifier's own credential.", nameof(refuse));
        }

        var payload = new InvitationPreferencePayload
        {
            Csi = _credential.Csi!.Uri,
            IssuedAt = _time.GetUtcNow().ToUnixTimeSeconds(),
            Invitations = refuse ? "refuse" : "accept",
        };
        return Sign(JsonSerializer.SerializeToUtf8Bytes(payload, WireJson.Writer.InvitationPreferencePayload), InvitationPreference.MediaType,
            new Dictionary<string, object> { ["x5c"] = _x5c });
    }
}

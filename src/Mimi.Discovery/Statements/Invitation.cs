using System.Security.Cryptography;
using Mimi.Discovery.Credentials;
using Mimi.Discovery.Identifiers;

namespace Mimi.Discovery.Statements;

/// <summary>
/// A verified invitation (SPIN's "SPINvitation", docs/protocol.md §14): the sender <see cref="Sender"/>,
/// proven by the key her credential certifies, invites <see cref="Recipient"/> — whose lookup said
/// <c>none</c> — to get in touch at <see cref="Reach"/>. It is a PASSporT (RFC 8225) extended as RFC 8225
/// §8.1 allows: <c>typ</c> <c>passport</c>, <c>ppt</c> <see cref="PassportType"/>, signed with ES256 and
/// carrying the credential chain in <c>x5c</c>, so it is the sender's caller assertion and her invitation at once.
/// </summary>
/// <param name="Jws">The compact JWS as received.</param>
/// <param name="Id">The <c>jti</c> claim: 16 random bytes in base64url (22 characters), unique per invitation; the DP refuses a second submission of it.</param>
/// <param name="Sender">The <c>orig</c> claim, the CSI the credential binds.</param>
/// <param name="Recipient">The one <c>dest</c> the invitation is for.</param>
/// <param name="Reach">The <c>reach</c> claim: where the sender can be reached (her own mapping entries), 1 to <see cref="MappingDraft.MaxEntries"/>.</param>
/// <param name="IssuedAt">The <c>iat</c> claim.</param>
/// <param name="ExpiresAt">The <c>exp</c> claim: after it nobody delivers, shows as valid, or answers it.</param>
/// <param name="Callback">The <c>cb</c> claim: the https URL the recipient may answer at once (a caller assertion back to the sender), or null.</param>
/// <param name="Credential">The sender's credential.</param>
public sealed record Invitation(string Jws, string Id, Csi Sender, Csi Recipient, IReadOnlyList<MspEntry> Reach, DateTimeOffset IssuedAt, DateTimeOffset ExpiresAt, Uri? Callback, Credential Credential)
{
    /// <summary>The PASSporT extension type (<c>ppt</c> header, RFC 8225 §8.1) of an invitation.</summary>
    public const string PassportType = "mimi-invite";

    /// <summary>How long an invitation is valid unless its sender chooses otherwise.</summary>
    public static TimeSpan DefaultLifetime { get; } = TimeSpan.FromDays(7);

    /// <summary>The longest <c>exp</c> − <c>iat</c> any verifier accepts (a DP may accept less).</summary>
    public static TimeSpan MaxLifetime { get; } = TimeSpan.FromDays(30);

    internal const int IdBytes = 16;

    /// <summary>A fresh invitation id: 16 random bytes, base64url.</summary>
    public static string NewId() => System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(IdBytes));

    /// <summary>Whether <paramref name="id"/> has the form of an invitation id (or of a DP's invitation code): 22 canonical base64url characters.</summary>
    public static bool IsWellFormedId(string? id) =>
        id is { Length: 22 } && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_') && Crypto.CanonicalBase64Url.Is(id);

    /// <summary>The answer URL a DP whose API is at <paramref name="api"/> (its metadata's <c>api</c>, e.g. <c>https://dp.example/v1</c>) takes for invitation <paramref name="id"/>.</summary>
    public static Uri CallbackAt(string api, string id)
    {
        ArgumentException.ThrowIfNullOrEmpty(api);
        ArgumentException.ThrowIfNullOrEmpty(id);
        return new Uri(api.TrimEnd('/') + "/invitations/" + id + "/answer");
    }
}

/// <summary>What a sender invites: the recipient and where she can be reached (<see cref="StatementSigner.SignInvitation"/>).</summary>
/// <param name="Recipient">The CSI to invite (its lookup said <c>none</c>).</param>
/// <param name="Reach">Where the sender can be reached: 1 to <see cref="MappingDraft.MaxEntries"/> entries, typically her own mapping's.</param>
public sealed record InvitationDraft(Csi Recipient, IReadOnlyList<MspEntry> Reach)
{
    /// <summary>The invitation id (<c>jti</c>); a fresh one unless set.</summary>
    public string Id { get; init; } = Invitation.NewId();

    /// <summary>How long it stays valid; <see cref="Invitation.DefaultLifetime"/> unless set, at most <see cref="Invitation.MaxLifetime"/> and never past the credential.</summary>
    public TimeSpan? Lifetime { get; init; }

    /// <summary>Where the recipient may answer (<see cref="Invitation.CallbackAt"/>), or null for no answer.</summary>
    public Uri? Callback { get; init; }
}

/// <summary>
/// A verified invitation preference (docs/protocol.md §14, "Never invite me"): the owner of <see cref="Csi"/>,
/// signing under her credential, tells a DP to deliver no invitation to it (<see cref="Refuse"/>) or to
/// deliver them again. The DP honours it silently: senders are answered as if the invitation went out.
/// </summary>
/// <param name="Jws">The compact JWS as received (<c>typ</c> <see cref="MediaType"/>).</param>
/// <param name="Csi">The identifier, the one the credential binds.</param>
/// <param name="Refuse">True for "never invite me", false to accept invitations again.</param>
/// <param name="IssuedAt">The <c>iat</c> claim; a DP keeps the latest.</param>
/// <param name="Credential">The owner's credential.</param>
public sealed record InvitationPreference(string Jws, Csi Csi, bool Refuse, DateTimeOffset IssuedAt, Credential Credential)
{
    /// <summary>The JWS <c>typ</c> of an invitation preference.</summary>
    public const string MediaType = "mimi-invitation-preference";
}

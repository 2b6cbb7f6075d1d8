using System.Text.Json;
using System.Text.Json.Serialization;

namespace Mimi.Discovery.Protocol;

// The JSON bodies of the invitation API (docs/protocol.md §14).

/// <summary><c>POST /v1/invitations</c>: a sender asks the DP to deliver an invitation; tokens go in <c>Authorization: PrivateToken</c> when the DP requires them.</summary>
/// <param name="Invitation">The invitation (compact JWS, <see cref="Statements.Invitation"/>).</param>
public sealed record InvitationRequest(string Invitation);

/// <summary>
/// The DP's answer to every invitation it accepted, whether it delivered it or, silently, not (a limit
/// for the recipient, "never invite me", or a mapping the sender's lookup did not show): the same members
/// and <see cref="Status"/> <c>accepted</c> either way.
/// </summary>
/// <param name="Id">The invitation's <c>jti</c>.</param>
/// <param name="Status">Always <c>accepted</c>.</param>
/// <param name="Answer">Where the sender reads whether the recipient answered (<c>GET</c>), when the invitation names a callback.</param>
public sealed record InvitationAccepted(string Id, string Status, string? Answer);

/// <summary><c>POST /v1/invitations/open</c>: the code of a delivered link (after its <c>#</c>), sent in the body so it is in no request line or log.</summary>
/// <param name="Code">The 22 base64url characters.</param>
public sealed record InvitationCode(string Code);

/// <summary>The answer to <c>POST /v1/invitations/open</c>: the invitation a delivered message's link points to.</summary>
/// <param name="Invitation">The invitation (compact JWS), for the recipient to verify.</param>
public sealed record InvitationDocument(string Invitation);

/// <summary><c>POST /v1/invitations/{id}/answer</c>: the recipient's answer, once.</summary>
/// <param name="Assertion">A caller assertion (RFC 8225 PASSporT) from the invited CSI to the sender, under the recipient's new credential.</param>
public sealed record InvitationAnswer(string Assertion);

/// <summary>Whether an invitation was answered (<c>GET /v1/invitations/{id}/answer</c>, and the reply to an answer).</summary>
/// <param name="Id">The invitation's <c>jti</c>.</param>
/// <param name="Answered">True once the recipient answered.</param>
/// <param name="Assertion">The recipient's caller assertion, for the sender to verify.</param>
/// <param name="AnsweredAt">When the DP took the answer.</param>
public sealed record InvitationAnswerStatus(string Id, bool Answered, string? Assertion = null, DateTimeOffset? AnsweredAt = null);

/// <summary>The DP's receipt for an invitation preference (<c>POST /v1/invitations/preferences</c>).</summary>
/// <param name="Csi">The identifier.</param>
/// <param name="Invitations"><c>refuse</c> or <c>accept</c>, as now stored.</param>
public sealed record InvitationPreferenceReceipt(string Csi, string Invitations);

/// <summary>Source-generated JSON contracts of the invitation API, with the options of the rest of the API.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(InvitationRequest))]
[JsonSerializable(typeof(InvitationAccepted))]
[JsonSerializable(typeof(InvitationCode))]
[JsonSerializable(typeof(InvitationDocument))]
[JsonSerializable(typeof(InvitationAnswer))]
[JsonSerializable(typeof(InvitationAnswerStatus))]
[JsonSerializable(typeof(InvitationPreferenceReceipt))]
[JsonSerializable(typeof(StatementSubmission))]
internal sealed partial class InvitationJson : JsonSerializerContext;

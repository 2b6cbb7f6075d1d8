using System.Net.Http.Json;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Statements;

namespace Mimi.Discovery.Client;

// Invitations (docs/protocol.md §14): send one, fetch one by its link, answer it, read the answer.
public sealed partial class DiscoveryClient
{
    /// <summary>
    /// Asks the DP to deliver <paramref name="invitation"/> (signed with <see cref="StatementSigner.SignInvitation"/>).
    /// The answer is the same whether the DP delivered it or silently did not.
    /// </summary>
    /// <exception cref="DiscoveryException">The DP refused it: a forged, expired, replayed or out-of-scope invitation, a missing token (<c>token-required</c>: use a client that pays with tokens), or the sender's own limit (<c>invitation-limit</c>).</exception>
    public Task<InvitationAccepted> InviteAsync(string invitation, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(invitation);
        return SendAsync(HttpMethod.Post, "v1/invitations", JsonContent.Create(new InvitationRequest(invitation), InvitationJson.Default.InvitationRequest),
            InvitationJson.Default.InvitationAccepted, cancellationToken);
    }

    /// <summary>Fetches the invitation behind a delivered link's code (<c>POST /v1/invitations/open</c>) (unverified: verify it with <see cref="Verification.StatementVerifier.VerifyInvitation"/>).</summary>
    /// <exception cref="DiscoveryException"><c>invitation-not-found</c> or <c>invitation-expired</c>.</exception>
    public Task<InvitationDocument> GetInvitationAsync(string code, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(code);
        return SendAsync(HttpMethod.Post, "v1/invitations/open", JsonContent.Create(new InvitationCode(code), InvitationJson.Default.InvitationCode),
            InvitationJson.Default.InvitationDocument, cancellationToken);
    }

    /// <summary>
    /// Answers an invitation at its callback (<see cref="Invitation.Callback"/>) with a caller assertion
    /// from the invited CSI to the sender (<see cref="StatementSigner.SignCallerAssertion"/>). Once only.
    /// </summary>
    /// <exception cref="DiscoveryException"><c>invitation-answered</c> (a second answer), <c>invitation-expired</c>, <c>invitation-not-found</c>, <c>assertion-rejected</c>.</exception>
    public Task<InvitationAnswerStatus> AnswerInvitationAsync(Uri callback, string assertion, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(callback);
        ArgumentException.ThrowIfNullOrEmpty(assertion);
        if (!callback.IsAbsoluteUri || callback.Scheme != Uri.UriSchemeHttps)
        {
            throw new ArgumentException("The callback is an absolute https URL.", nameof(callback));
        }

        return SendAsync(HttpMethod.Post, callback.AbsoluteUri, JsonContent.Create(new InvitationAnswer(assertion), InvitationJson.Default.InvitationAnswer),
            InvitationJson.Default.InvitationAnswerStatus, cancellationToken);
    }

    /// <summary>Whether the invitation <paramref name="id"/> was answered, and the recipient's caller assertion if so (unverified).</summary>
    /// <exception cref="DiscoveryException">The DP refused.</exception>
    public Task<InvitationAnswerStatus> GetInvitationAnswerAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        return SendAsync(HttpMethod.Get, "v1/invitations/" + Uri.EscapeDataString(id) + "/answer", null, InvitationJson.Default.InvitationAnswerStatus, cancellationToken);
    }

    /// <summary>Stores an invitation preference (<see cref="StatementSigner.SignInvitationPreference"/>): "never invite me", or invitations again.</summary>
    /// <exception cref="DiscoveryException">The DP refused it (<c>statement-rejected</c>, <c>preference-not-newer</c>).</exception>
    public Task<InvitationPreferenceReceipt> SetInvitationPreferenceAsync(string statement, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(statement);
        return SendAsync(HttpMethod.Post, "v1/invitations/preferences", JsonContent.Create(new StatementSubmission(statement), InvitationJson.Default.StatementSubmission),
            InvitationJson.Default.InvitationPreferenceReceipt, cancellationToken);
    }

    /// <summary>
    /// Splits an invitation link, <c>https://dp.example/v1/invitations#&lt;code&gt;</c> as a delivered
    /// message carries it, into the DP's origin and the code. The code is a fragment, so following
    /// the link sends it nowhere; <see cref="GetInvitationAsync"/> sends it in a request body.
    /// </summary>
    public static bool TryParseInvitationLink(string? link, out Uri dp, out string code)
    {
        dp = null!;
        code = string.Empty;
        if (!Uri.TryCreate(link?.Trim(), UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttps || !string.IsNullOrEmpty(uri.Query)
            || uri.AbsolutePath != "/v1/invitations" || uri.Fragment.Length != 23 || !Invitation.IsWellFormedId(uri.Fragment[1..]))
        {
            return false;
        }

        dp = new Uri(uri.GetLeftPart(UriPartial.Authority) + "/");
        code = uri.Fragment[1..];
        return true;
    }
}

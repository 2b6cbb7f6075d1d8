using Microsoft.AspNetCore.Http.HttpResults;
using Mimi.Discovery.Protocol;

namespace Mimi.Discovery.Server.Invitations;

/// <summary>The invitation endpoints (docs/protocol.md §14).</summary>
internal static class InvitationApi
{
    public static RouteGroupBuilder MapInvitationApi(this RouteGroupBuilder v1)
    {
        v1.MapPost("/invitations", InviteAsync).WithName("Invite").WithTags("Invitations");
        v1.MapPost("/invitations/preferences", SetPreferenceAsync).WithName("InvitationPreference").WithTags("Invitations");
        // The code travels in a body, never in a request line: paths reach logs (the host's request scope) and proxies.
        v1.MapPost("/invitations/open", FetchAsync).WithName("OpenInvitation").WithTags("Invitations");
        v1.MapPost("/invitations/{id}/answer", AnswerAsync).WithName("AnswerInvitation").WithTags("Invitations");
        v1.MapGet("/invitations/{id}/answer", AnswerStatusAsync).WithName("InvitationAnswer").WithTags("Invitations");
        return v1;
    }

    private static async Task<Results<Accepted<InvitationAccepted>, ProblemHttpResult>> InviteAsync(InvitationRequest request, HttpContext context, InvitationService invitations, CancellationToken cancellationToken)
    {
        var authorization = context.Request.Headers.Authorization.Where(a => a is not null).Select(a => a!).ToList();
        var answer = await invitations.InviteAsync(request, authorization, cancellationToken).ConfigureAwait(false);
        if (answer.Challenge is not null)
        {
            context.Response.Headers.WWWAuthenticate = answer.Challenge;
        }

        return answer.Outcome.Problem is { } problem ? problem.ToResult(context) : TypedResults.Accepted((string?)null, answer.Outcome.Value!);
    }

    private static async Task<Results<Ok<InvitationDocument>, ProblemHttpResult>> FetchAsync(InvitationCode request, InvitationService invitations, CancellationToken cancellationToken) =>
        (await invitations.FetchAsync(request?.Code, cancellationToken).ConfigureAwait(false)).ToResult();

    private static async Task<Results<Ok<InvitationAnswerStatus>, ProblemHttpResult>> AnswerAsync(string id, InvitationAnswer answer, InvitationService invitations, CancellationToken cancellationToken) =>
        (await invitations.AnswerAsync(id, answer, cancellationToken).ConfigureAwait(false)).ToResult();

    private static async Task<Results<Ok<InvitationAnswerStatus>, ProblemHttpResult>> AnswerStatusAsync(string id, InvitationService invitations, CancellationToken cancellationToken) =>
        (await invitations.AnswerStatusAsync(id, cancellationToken).ConfigureAwait(false)).ToResult();

    private static async Task<Results<Ok<InvitationPreferenceReceipt>, ProblemHttpResult>> SetPreferenceAsync(StatementSubmission submission, InvitationService invitations, CancellationToken cancellationToken) =>
        (await invitations.SetPreferenceAsync(submission, cancellationToken).ConfigureAwait(false)).ToResult();
}

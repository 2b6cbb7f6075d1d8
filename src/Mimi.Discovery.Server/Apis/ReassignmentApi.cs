using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Server.Mappings;
using Mimi.Discovery.Statements;

namespace Mimi.Discovery.Server.Apis;

/// <summary><c>POST /v1/reassignments</c>: a CSIP's reassignment feed (docs/protocol.md §16).</summary>
internal static class ReassignmentApi
{
    /// <summary>Largest request body: the longest feed and room for its JSON envelope. Above the DP's general request limit, for this route only.</summary>
    public const int MaxBodyBytes = ReassignmentFeed.MaxLength + 1024;

    public static IEndpointRouteBuilder MapReassignmentApi(this IEndpointRouteBuilder v1)
    {
        v1.MapPost("/reassignments", SubmitAsync).WithName("Reassign").WithTags("Mappings");
        return v1;
    }

    private static async Task<Results<Ok<ReassignmentReceipt>, ProblemHttpResult>> SubmitAsync(HttpContext context, ReassignmentService reassignments, CancellationToken cancellationToken)
    {
        var tooLarge = ReassignmentService.TooLarge($"a reassignment request is at most {MaxBodyBytes} bytes (a feed of at most {ReassignmentFeed.MaxLength} characters); split the feed");
        if (context.Request.ContentLength > MaxBodyBytes)
        {
            return tooLarge.ToResult();
        }

        // The body is read here, not bound, so this route alone may exceed Kestrel's general limit.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeLimit)
        {
            sizeLimit.MaxRequestBodySize = MaxBodyBytes + 1L;
        }

        using var body = new MemoryStream();
        var buffer = new byte[16384];
        try
        {
            int read;
            while ((read = await context.Request.Body.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (body.Length + read > MaxBodyBytes)
                {
                    return tooLarge.ToResult();
                }

                body.Write(buffer, 0, read);
            }
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return tooLarge.ToResult();
        }

        ReassignmentSubmission? submission;
        try
        {
            submission = JsonSerializer.Deserialize(body.GetBuffer().AsSpan(0, (int)body.Length), ProtocolJson.Default.ReassignmentSubmission);
        }
        catch (JsonException)
        {
            submission = null;
        }

        return (await reassignments.SubmitAsync(submission, cancellationToken).ConfigureAwait(false)).ToResult();
    }
}

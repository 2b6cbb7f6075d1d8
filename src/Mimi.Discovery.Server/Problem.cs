using Microsoft.AspNetCore.Http.HttpResults;

namespace Mimi.Discovery.Server;

/// <summary>
/// A refused request: a stable machine-readable code, the HTTP status, and a sentence saying
/// what to fix. Rendered as RFC 9457 problem details with <c>type</c> <c>urn:mimi-discovery:problem:&lt;code&gt;</c>
/// and a <c>code</c> member.
/// </summary>
internal sealed record Problem(string Code, int Status, string Detail)
{
    public const string TypePrefix = "urn:mimi-discovery:problem:";

    /// <summary>Seconds after which the same request may succeed (the <c>Retry-After</c> header), when known.</summary>
    public long? RetryAfterSeconds { get; init; }

    /// <summary>The problem as a result; with <paramref name="context"/>, also its <c>Retry-After</c>.</summary>
    public ProblemHttpResult ToResult(HttpContext? context = null)
    {
        if (context is not null && RetryAfterSeconds is { } seconds)
        {
            context.Response.Headers.RetryAfter = Math.Max(1, seconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return ToResultCore();
    }

    private ProblemHttpResult ToResultCore() => TypedResults.Problem(ToProblemDetails());

    /// <summary>The RFC 9457 document.</summary>
    public Microsoft.AspNetCore.Mvc.ProblemDetails ToProblemDetails() => new()
    {
        Detail = Detail,
        Status = Status,
        Title = Code.Replace('-', ' '),
        Type = TypePrefix + Code,
        Extensions = { ["code"] = Code },
    };

    public static Problem InvalidRequest(string detail) => new("invalid-request", StatusCodes.Status400BadRequest, detail);

    public static Problem InvalidCsi(string detail) => new("invalid-csi", StatusCodes.Status400BadRequest, detail);
}

/// <summary>A service result: a value, or the problem that refused it.</summary>
internal readonly record struct Outcome<T>(T? Value, Problem? Problem)
{
    public static implicit operator Outcome<T>(T value) => new(value, null);

    public static implicit operator Outcome<T>(Problem problem) => new(default, problem);

    public Results<Ok<T>, ProblemHttpResult> ToResult(HttpContext? context = null) => Problem is { } p ? p.ToResult(context) : TypedResults.Ok(Value!);
}

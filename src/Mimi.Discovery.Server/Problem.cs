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

    public ProblemHttpResult ToResult() => TypedResults.Problem(
        detail: Detail,
        statusCode: Status,
        title: Code.Replace('-', ' '),
        type: TypePrefix + Code,
        extensions: new Dictionary<string, object?> { ["code"] = Code });

    public static Problem InvalidRequest(string detail) => new("invalid-request", StatusCodes.Status400BadRequest, detail);

    public static Problem InvalidCsi(string detail) => new("invalid-csi", StatusCodes.Status400BadRequest, detail);
}

/// <summary>A service result: a value, or the problem that refused it.</summary>
internal readonly record struct Outcome<T>(T? Value, Problem? Problem)
{
    public static implicit operator Outcome<T>(T value) => new(value, null);

    public static implicit operator Outcome<T>(Problem problem) => new(default, problem);

    public Results<Ok<T>, ProblemHttpResult> ToResult() => Problem is { } p ? p.ToResult() : TypedResults.Ok(Value!);
}

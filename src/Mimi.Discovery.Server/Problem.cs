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

    /// <summary><c>invalid-csi</c> by the parser's category: a fixed sentence that never repeats the input, which may be someone's number or address.</summary>
    public static Problem InvalidCsi(Identifiers.CsiError error) => InvalidCsi("the csi is not a CSI: " + CsiErrorText(error));

    /// <summary>A fixed sentence for each <see cref="Identifiers.CsiError"/>, without the input.</summary>
    public static string CsiErrorText(Identifiers.CsiError error) => error switch
    {
        Identifiers.CsiError.Empty => "it is empty",
        Identifiers.CsiError.TooLong => "it is longer than any phone number or email address can be",
        Identifiers.CsiError.ControlCharacter => "it contains a control or invisible character",
        Identifiers.CsiError.UnrecognisedForm => "it is neither a phone number nor an email address",
        Identifiers.CsiError.PhoneRegionRequired => "a national phone number needs its country code (+CC…)",
        Identifiers.CsiError.PhoneUnparsable => "the phone number cannot be parsed",
        Identifiers.CsiError.PhoneNotAssignable => "the phone number is not a valid number in its numbering plan",
        Identifiers.CsiError.PhoneHasExtension => "a phone number with an extension or parameters is not a CSI",
        Identifiers.CsiError.EmailQuotedLocalPart => "a quoted local part is not supported",
        Identifiers.CsiError.EmailInvalidLocalPart => "the local part has characters outside the dot-atom form (ASCII letters, digits, !#$%&'*+-/=?^_`{|}~ and dots)",
        Identifiers.CsiError.EmailLocalPartTooLong => "the local part is longer than 64 octets",
        Identifiers.CsiError.EmailInvalidDomain => "the domain is not a valid host name",
        Identifiers.CsiError.EmailTooLong => "the address is longer than 254 octets",
        Identifiers.CsiError.EmailInvalidUri => "the mailto URI has headers, several addresses or bad percent-encoding",
        _ => $"it is not a phone number or email address this DP takes ({error})",
    };
}

/// <summary>A service result: a value, or the problem that refused it.</summary>
internal readonly record struct Outcome<T>(T? Value, Problem? Problem)
{
    public static implicit operator Outcome<T>(T value) => new(value, null);

    public static implicit operator Outcome<T>(Problem problem) => new(default, problem);

    public Results<Ok<T>, ProblemHttpResult> ToResult(HttpContext? context = null) => Problem is { } p ? p.ToResult(context) : TypedResults.Ok(Value!);
}

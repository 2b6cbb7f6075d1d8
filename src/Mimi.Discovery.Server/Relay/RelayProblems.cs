namespace Mimi.Discovery.Server.Relay;

/// <summary>The relay's refusals, and the stable codes for those the framework raises itself.</summary>
internal static class RelayProblems
{
    public static Problem UnsupportedMediaType { get; } = new(
        "unsupported-media-type", StatusCodes.Status415UnsupportedMediaType, "send the encapsulated request with Content-Type: message/ohttp-req (RFC 9458)");

    public static Problem RateLimited { get; } = new(
        "rate-limited", StatusCodes.Status429TooManyRequests, "too many requests from this address; wait the seconds given in Retry-After");

    // One sentence for every gateway failure: the client learns nothing of the gateway's own answer.
    public static Problem GatewayUnavailable { get; } = new(
        "gateway-unavailable", StatusCodes.Status502BadGateway, "the gateway did not answer with an encapsulated response; try again later");

    public static Problem TooLarge(int limit) => new(
        "payload-too-large", StatusCodes.Status413PayloadTooLarge, $"the encapsulated request exceeds this relay's limit of {limit} bytes");

    public static void AddDefaults(ProblemDetailsContext context)
    {
        var details = context.ProblemDetails;
        if (details.Extensions.ContainsKey("code"))
        {
            return;
        }

        var (code, detail) = details.Status switch
        {
            StatusCodes.Status404NotFound => ("not-found", "the relay has one resource: POST / with a message/ohttp-req body"),
            StatusCodes.Status405MethodNotAllowed => ("method-not-allowed", "the relay resource takes only POST"),
            StatusCodes.Status413PayloadTooLarge => ("payload-too-large", "the encapsulated request exceeds this relay's limit"),
            StatusCodes.Status431RequestHeaderFieldsTooLarge => ("headers-too-large", Hosting.RequestLimits.HeadersTooLargeDetail),
            >= 400 and < 500 => ("invalid-request", "the relay cannot take this request: POST / with a message/ohttp-req body"),
            _ => ("server-error", "the relay failed to handle the request; try again later"),
        };
        details.Type = Problem.TypePrefix + code;
        details.Detail ??= detail;
        details.Extensions["code"] = code;
    }
}

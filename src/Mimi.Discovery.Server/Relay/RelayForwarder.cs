// RFC 9458 §6.2: the relay forwards the encapsulated request and nothing that identifies the
// client — no addresses, no client headers — and sees only ciphertext, so it logs none of it.
using System.Net.Http.Headers;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http.HttpResults;
using Mimi.Discovery.Privacy.Ohttp;

namespace Mimi.Discovery.Server.Relay;

/// <summary>Handles <c>POST /</c>: checks the media type and size, forwards the body to the gateway, and answers with its encapsulated response.</summary>
internal sealed partial class RelayForwarder(RelaySettings settings, IHttpClientFactory httpClients, TimeProvider time, ILogger<RelayForwarder> logger)
{
    /// <summary>The largest encapsulated response passed back: what a client accepts by default.</summary>
    internal const int MaxResponseBytes = OhttpClient.DefaultMaxResponseLength;

    public async Task<Results<FileContentHttpResult, ProblemHttpResult>> RelayAsync(HttpContext context)
    {
        var started = time.GetTimestamp();
        var request = context.Request;
        if (!IsMediaType(request.ContentType, RelayServer.RequestMediaType))
        {
            return Refuse(RelayOutcome.UnsupportedMediaType, RelayProblems.UnsupportedMediaType, request.ContentLength ?? 0, started);
        }

        if (request.ContentLength > settings.MaxRequestBytes)
        {
            return Refuse(RelayOutcome.TooLarge, RelayProblems.TooLarge(settings.MaxRequestBytes), request.ContentLength.Value, started);
        }

        var body = await ReadBoundedAsync(request.Body, settings.MaxRequestBytes, request.ContentLength, context.RequestAborted).ConfigureAwait(false);
        if (body is null)
        {
            return Refuse(RelayOutcome.TooLarge, RelayProblems.TooLarge(settings.MaxRequestBytes), settings.MaxRequestBytes + 1, started);
        }

        RelayOutcome outcome;
        int gatewayStatus;
        byte[]? answer;
        using (var span = RelayTelemetry.Source.StartActivity("relay.forward"))
        {
            (outcome, gatewayStatus, answer) = await ForwardAsync(body, context.RequestAborted).ConfigureAwait(false);
            span?.SetTag("mimi.discovery.outcome", outcome.ToString());
        }

        var elapsed = time.GetElapsedTime(started).TotalMilliseconds;
        if (answer is null)
        {
            LogGatewayFailure(logger, outcome, body.Length, StatusCodes.Status502BadGateway, gatewayStatus, elapsed);
            return RelayProblems.GatewayUnavailable.ToResult();
        }

        LogRequest(logger, outcome, body.Length, StatusCodes.Status200OK, answer.Length, elapsed);
        return TypedResults.Bytes(answer, RelayServer.ResponseMediaType);
    }

    /// <summary>Answers a request the rate limiter refused.</summary>
    public Task RejectAsync(HttpContext context, RateLimitLease lease)
    {
        context.Response.Headers.RetryAfter = RelayServer.RetryAfterSeconds(lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : TimeSpan.FromMinutes(1));
        LogRequest(logger, RelayOutcome.RateLimited, context.Request.ContentLength ?? 0, StatusCodes.Status429TooManyRequests, 0, 0);
        return RelayProblems.RateLimited.ToResult().ExecuteAsync(context);
    }

    private ProblemHttpResult Refuse(RelayOutcome outcome, Problem problem, long requestBytes, long started)
    {
        var elapsed = time.GetElapsedTime(started).TotalMilliseconds;
        LogRequest(logger, outcome, requestBytes, problem.Status, 0, elapsed);
        return problem.ToResult();
    }

    private async Task<(RelayOutcome Outcome, int GatewayStatus, byte[]? Answer)> ForwardAsync(byte[] body, CancellationToken requestAborted)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(requestAborted);
        timeout.CancelAfter(settings.Timeout);

        // A fresh message carries nothing of the client's request: only the body and its media type
        // (the client's fixed User-Agent comes from the named client).
        using var message = new HttpRequestMessage(HttpMethod.Post, settings.Gateway) { Content = new ByteArrayContent(body) };
        message.Content.Headers.ContentType = new MediaTypeHeaderValue(RelayServer.RequestMediaType);
        try
        {
            using var response = await httpClients.CreateClient(RelayServer.GatewayClientName)
                .SendAsync(message, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            if (response.StatusCode != System.Net.HttpStatusCode.OK)
            {
                return (RelayOutcome.GatewayStatus, status, null);
            }

            if (!IsMediaType(response.Content.Headers.ContentType?.ToString(), RelayServer.ResponseMediaType))
            {
                return (RelayOutcome.GatewayMediaType, status, null);
            }

            if (response.Content.Headers.ContentLength > MaxResponseBytes)
            {
                return (RelayOutcome.GatewayTooLarge, status, null);
            }

            var stream = await response.Content.ReadAsStreamAsync(timeout.Token).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                var answer = await ReadBoundedAsync(stream, MaxResponseBytes, response.Content.Headers.ContentLength, timeout.Token).ConfigureAwait(false);
                return answer is null ? (RelayOutcome.GatewayTooLarge, status, null) : (RelayOutcome.Relayed, status, answer);
            }
        }
        catch (OperationCanceledException) when (!requestAborted.IsCancellationRequested)
        {
            return (RelayOutcome.GatewayTimeout, 0, null);
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            return (RelayOutcome.GatewayUnreachable, 0, null);
        }
    }

    /// <summary>Reads a whole body of at most <paramref name="limit"/> bytes; null, having read no more than one byte past it, when it is longer.</summary>
    private static async Task<byte[]?> ReadBoundedAsync(Stream stream, int limit, long? declaredLength, CancellationToken cancellationToken)
    {
        // Room for the declared length and one byte more, so the end is seen without growing.
        var buffer = new byte[(int)Math.Min(limit + 1L, (declaredLength ?? 4096) + 1)];
        var total = 0;
        try
        {
            while (true)
            {
                if (total == buffer.Length)
                {
                    Array.Resize(ref buffer, (int)Math.Min(limit + 1L, buffer.Length * 2L));
                }

                var read = await stream.ReadAsync(buffer.AsMemory(total), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    return buffer[..total];
                }

                total += read;
                if (total > limit)
                {
                    return null;
                }
            }
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            // Kestrel's backstop tripped first (a body framed in very many tiny chunks).
            return null;
        }
    }

    private static bool IsMediaType(string? contentType, string expected) =>
        MediaTypeHeaderValue.TryParse(contentType, out var parsed) && string.Equals(parsed.MediaType, expected, StringComparison.OrdinalIgnoreCase);

    // Sizes, statuses and timings only: never a body byte, never the client's address.
    [LoggerMessage(EventId = 600, Level = LogLevel.Information, Message = "Request {Outcome}: {RequestBytes} bytes in, HTTP {Status} with {ResponseBytes} bytes out, {ElapsedMs:0.0} ms")]
    private static partial void LogRequest(ILogger logger, RelayOutcome outcome, long requestBytes, int status, int responseBytes, double elapsedMs);

    [LoggerMessage(EventId = 601, Level = LogLevel.Warning, Message = "Request {Outcome}: {RequestBytes} bytes in, HTTP {Status} out (gateway HTTP {GatewayStatus}; 0 when it did not answer), {ElapsedMs:0.0} ms")]
    private static partial void LogGatewayFailure(ILogger logger, RelayOutcome outcome, int requestBytes, int status, int gatewayStatus, double elapsedMs);
}

/// <summary>How a relay request ended, as logged.</summary>
internal enum RelayOutcome
{
    Relayed,
    UnsupportedMediaType,
    TooLarge,
    RateLimited,
    GatewayUnreachable,
    GatewayTimeout,
    GatewayStatus,
    GatewayMediaType,
    GatewayTooLarge,
}

using System.Text.Json;
using Microsoft.Extensions.Options;
using Mimi.Discovery.Privacy.Ohttp;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Server.Apis;
using Mimi.Discovery.Server.Hosting;

namespace Mimi.Discovery.Server.Privacy;

/// <summary>
/// The Oblivious HTTP gateway (RFC 9458 §6): opens an encapsulated Binary HTTP request, serves it
/// through the same lookup code as the direct routes — only lookups and the token-free metadata are
/// reachable this way — and seals the answer, padded to a fixed size bucket so its length does not
/// tell the relay whether anything was found. The DP sees the query but only the relay's address.
/// </summary>
internal sealed class ObliviousGateway(OhttpKeyRing keys, LookupPipeline lookups, Mappings.AnswerCache answers, MetadataBuilder metadata, IOptions<DiscoveryOptions> options, Observability.DiscoveryMetrics metrics)
{
    /// <summary>Media type of an encapsulated request.</summary>
    public const string RequestMediaType = "message/ohttp-req";

    /// <summary>Media type of an encapsulated response.</summary>
    public const string ResponseMediaType = "message/ohttp-res";

    /// <summary>Opens, serves and seals one request; a problem when the encapsulation itself is unusable.</summary>
    public async Task<Outcome<byte[]>> HandleAsync(ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        if (!keys.Gateway.TryDecapsulateRequest(body.Span, out var request, out var refused))
        {
            return refused.Code switch
            {
                OhttpError.UnknownKeyId => new Problem("ohttp-key-unknown", StatusCodes.Status422UnprocessableEntity,
                    "no gateway key has that key id (it may have expired); fetch /.well-known/ohttp-gateway and encapsulate again"),
                OhttpError.UnsupportedSuite => new Problem("ohttp-suite-unsupported", StatusCodes.Status422UnprocessableEntity,
                    "the key configuration does not offer that KEM, KDF and AEAD; use one it lists"),
                OhttpError.TooLarge => new Problem("payload-too-large", StatusCodes.Status413PayloadTooLarge, refused.Message),
                OhttpError.DecryptionFailed => new Problem("ohttp-decryption-failed", StatusCodes.Status400BadRequest,
                    "the request does not decrypt under the named key: it was altered or sealed to another key"),
                _ => new Problem("ohttp-malformed", StatusCodes.Status400BadRequest, "not an encapsulated request: " + refused.Message),
            };
        }

        using (request)
        {
            var limits = new BinaryHttpLimits { MaxMessageLength = options.Value.MaxRequestBytes, MaxContentLength = options.Value.MaxRequestBytes };
            var response = BinaryHttpRequest.TryDecode(request.Request.Span, out var inner, out var malformed, limits)
                ? await ServeAsync(inner, cancellationToken).ConfigureAwait(false)
                : ProblemResponse(new Problem("bhttp-malformed", StatusCodes.Status400BadRequest, "the encapsulated request is not a known-length Binary HTTP request: " + malformed.Message));

            // Padding is trailing zeros (RFC 9292 §3.8): the encoding once, copied into the bucket's length.
            var encoded = response.Encode();
            var padded = new byte[encoded.Length + PaddingFor(encoded.Length)];
            encoded.CopyTo(padded, 0);
            return request.EncapsulateResponse(padded);
        }
    }

    private async Task<BinaryHttpResponse> ServeAsync(BinaryHttpRequest inner, CancellationToken cancellationToken)
    {
        switch (LookupPipeline.Match(inner.Method, inner.Path, inner.Content.Span))
        {
            case null:
                return ProblemResponse(new Problem("not-reachable-through-gateway", StatusCodes.Status404NotFound,
                    "only lookups (POST /v1/lookup, GET /v1/lookup/{csi}) and GET /.well-known/mimi-discovery are served through the gateway"));
            case { Problem: { } problem }:
                return ProblemResponse(problem);
            case { Request: null }:
                return Json(200, metadata.Build(), ProtocolJson.Default.DiscoveryMetadata);
            case { Request: { } request }:
                var authorization = inner.Headers.Where(h => h.Name.Equals("authorization", StringComparison.OrdinalIgnoreCase)).Select(h => h.Value).ToList();
                var answer = await lookups.LookupAsync(request, authorization, cancellationToken).ConfigureAwait(false);
                if (answer.Outcome.Problem is not { } refused)
                {
                    // As the direct routes write it: the bytes kept with a cached answer, else serialised now.
                    var found = new BinaryHttpResponse(200) { Content = answers.Utf8(answer.Outcome.Value!) };
                    found.Headers.Add(new BinaryHttpField("content-type", "application/json"));
                    return found;
                }

                var response = ProblemResponse(refused);
                if (answer.Challenge is not null)
                {
                    response.Headers.Add(new BinaryHttpField("www-authenticate", answer.Challenge));
                }

                return response;
        }
    }

    /// <summary>Zero padding that brings an encoded response to the smallest bucket that holds it.</summary>
    private int PaddingFor(int length)
    {
        foreach (var bucket in options.Value.ResponseBuckets)
        {
            if (length <= bucket)
            {
                return bucket - length;
            }
        }

        return 0;
    }

    private static BinaryHttpResponse Json<T>(int status, T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, string mediaType = "application/json")
    {
        var response = new BinaryHttpResponse(status) { Content = JsonSerializer.SerializeToUtf8Bytes(value, type) };
        response.Headers.Add(new BinaryHttpField("content-type", mediaType));
        return response;
    }

    private BinaryHttpResponse ProblemResponse(Problem problem)
    {
        metrics.Problem(problem.Code, problem.Status);
        return Json(problem.Status, new ProblemBody(Problem.TypePrefix + problem.Code, problem.Code.Replace('-', ' '), problem.Status, problem.Detail, problem.Code),
            ProtocolJson.Default.ProblemBody, "application/problem+json");
    }
}

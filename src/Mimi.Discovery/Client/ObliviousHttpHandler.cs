using System.Net;
using System.Net.Http.Headers;
using Mimi.Discovery.Privacy;
using Mimi.Discovery.Privacy.Ohttp;

namespace Mimi.Discovery.Client;

/// <summary>
/// Sends every request through an Oblivious HTTP relay (RFC 9458): the request becomes a Binary
/// HTTP message, padded to a size bucket, sealed to the gateway's key configuration and posted to
/// the relay; the sealed answer is opened back into an <see cref="HttpResponseMessage"/>. Put it
/// under a <see cref="DiscoveryClient"/>'s <see cref="HttpClient"/> (whose base address names the
/// DP) and the client's code does not change. The relay learns the client's address but not the
/// query; the DP learns the query but only the relay's address.
/// </summary>
public sealed class ObliviousHttpHandler : HttpMessageHandler
{
    // Up to 128 KiB: an address-book batch of 1,000 CSIs with its tokens (docs/protocol.md §9.4).
    private static readonly int[] RequestBuckets = [1 << 10, 4 << 10, 16 << 10, 64 << 10, 128 << 10];

    // An answer as large as the encapsulated response may be: the DP pads address-book answers to 4 MiB.
    private static readonly BinaryHttpLimits ResponseLimits = new() { MaxMessageLength = OhttpClient.DefaultMaxResponseLength, MaxContentLength = OhttpClient.DefaultMaxResponseLength };

    // Fields about the hop to the relay, not the request inside (RFC 9110 §7.6.1; Expect, §10.1.1).
    private static readonly HashSet<string> ConnectionFields = new(["Connection", "Keep-Alive", "Proxy-Connection", "TE", "Transfer-Encoding", "Upgrade", "Expect"], StringComparer.OrdinalIgnoreCase);

    private readonly Uri _relay;
    private readonly OhttpClient _ohttp;
    private readonly HttpMessageInvoker _transport;

    /// <param name="relay">The relay resource URL.</param>
    /// <param name="gatewayKey">A key configuration of the DP's gateway.</param>
    /// <param name="transport">Carries the encapsulated requests to the relay (e.g. a <see cref="TlsTrust.CreateHandler"/> handler).</param>
    public ObliviousHttpHandler(Uri relay, OhttpKeyConfig gatewayKey, HttpMessageHandler transport)
    {
        ArgumentNullException.ThrowIfNull(relay);
        ArgumentNullException.ThrowIfNull(gatewayKey);
        ArgumentNullException.ThrowIfNull(transport);
        _relay = relay;
        _ohttp = new OhttpClient(gatewayKey);
        _transport = new HttpMessageInvoker(transport, disposeHandler: true);
    }

    /// <summary>Fetches a DP's gateway key configurations (<c>application/ohttp-keys</c>) and picks the first this client supports.</summary>
    /// <exception cref="DiscoveryException">The DP offers none, or could not be reached.</exception>
    public static async Task<OhttpKeyConfig> FetchKeyAsync(HttpClient dp, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dp);
        try
        {
            using var response = await dp.GetAsync(new Uri("/.well-known/ohttp-gateway", UriKind.Relative), cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode || response.Content.Headers.ContentType?.MediaType != "application/ohttp-keys")
            {
                throw new DiscoveryException($"the DP offers no Oblivious HTTP gateway keys (HTTP {(int)response.StatusCode})");
            }

            var configs = OhttpKeyConfig.DecodeList(await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false));
            return configs.Count > 0 ? configs[0] : throw new DiscoveryException("none of the DP's gateway key configurations is supported");
        }
        catch (HttpRequestException e)
        {
            throw DiscoveryClient.Unreachable(dp.BaseAddress, e);
        }
        catch (ProtocolException<OhttpError> e)
        {
            throw new DiscoveryException("the DP's gateway key configurations are malformed: " + e.Message, e);
        }
    }

    /// <inheritdoc/>
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var uri = request.RequestUri ?? throw new InvalidOperationException("The request has no URI.");
        var inner = new BinaryHttpRequest(request.Method.Method, uri.Scheme, uri.Authority, uri.PathAndQuery);
        foreach (var header in request.Headers.Where(h => !ConnectionFields.Contains(h.Key)))
        {
            foreach (var value in header.Value)
            {
                inner.Headers.Add(new BinaryHttpField(header.Key.ToLowerInvariant(), value));
            }
        }

        if (request.Content is not null)
        {
            foreach (var header in request.Content.Headers)
            {
                inner.Headers.Add(new BinaryHttpField(header.Key.ToLowerInvariant(), string.Join(", ", header.Value)));
            }

            inner.Content = await request.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        }

        var plain = inner.Encode();
        var bucket = RequestBuckets.FirstOrDefault(b => b >= plain.Length, plain.Length);
        var sealedRequest = _ohttp.EncapsulateRequest(inner.Encode(bucket - plain.Length));

        using var outer = new HttpRequestMessage(HttpMethod.Post, _relay) { Content = new ByteArrayContent(sealedRequest.EncapsulatedRequest.ToArray()) };
        outer.Content.Headers.ContentType = new MediaTypeHeaderValue("message/ohttp-req");
        LargeBodies.ExpectContinueIfLarge(outer, sealedRequest.EncapsulatedRequest.Length);
        HttpResponseMessage sent;
        try
        {
            sent = await _transport.SendAsync(outer, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            // Name the hop that failed: the relay, not the DP behind it.
            throw new DiscoveryException($"cannot reach the Oblivious HTTP relay at {_relay}: {DiscoveryClient.Describe(e)}", e);
        }

        using var relayed = sent;
        if (relayed.StatusCode != HttpStatusCode.OK || relayed.Content.Headers.ContentType?.MediaType != "message/ohttp-res")
        {
            // The relay's or gateway's own refusal (problem+json), passed on as it is.
            var passed = new HttpResponseMessage(relayed.StatusCode) { RequestMessage = request, Content = new ByteArrayContent(await relayed.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false)) };
            passed.Content.Headers.ContentType = relayed.Content.Headers.ContentType;
            return passed;
        }

        BinaryHttpResponse answer;
        try
        {
            answer = BinaryHttpResponse.Decode(sealedRequest.DecapsulateResponse(await relayed.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false)), ResponseLimits);
        }
        catch (Exception e) when (e is ProtocolException<OhttpError> or ProtocolException<BinaryHttpError>)
        {
            throw new DiscoveryException("the relay returned an answer that does not open under this request's keys: " + e.Message, e);
        }

        var response = new HttpResponseMessage((HttpStatusCode)answer.StatusCode) { RequestMessage = request, Content = new ByteArrayContent(answer.Content.ToArray()) };
        foreach (var field in answer.Headers)
        {
            if (!response.Headers.TryAddWithoutValidation(field.Name, field.Value))
            {
                response.Content.Headers.TryAddWithoutValidation(field.Name, field.Value);
            }
        }

        return response;
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _transport.Dispose();
        }

        base.Dispose(disposing);
    }
}

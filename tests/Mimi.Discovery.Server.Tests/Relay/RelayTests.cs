using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using Mimi.Discovery.Privacy.Ohttp;
using Mimi.Discovery.Server.Relay;

namespace Mimi.Discovery.Server.Tests.Relay;

public sealed class RelayTests : IAsyncLifetime
{
    private const string Client = "127.0.0.2";

    private StandInGateway _gateway = null!;

    public async ValueTask InitializeAsync() => _gateway = await StandInGateway.StartAsync();

    public async ValueTask DisposeAsync() => await _gateway.DisposeAsync();

    private Task<RelayHost> StartRelayAsync(Action<RelayOptions>? configure = null) => RelayHost.StartAsync(_gateway.Url, _gateway.CaFile, configure);

    private static ByteArrayContent Body(byte[] bytes, string? mediaType = RelayServer.RequestMediaType)
    {
        var content = new ByteArrayContent(bytes);
        if (mediaType is not null)
        {
            content.Headers.ContentType = MediaTypeHeaderValue.Parse(mediaType);
        }

        return content;
    }

    private static OhttpClientRequest Encapsulate(OhttpKeyConfig config, string query) =>
        new OhttpClient(config).EncapsulateRequest(
            new BinaryHttpRequest("POST", "https", "dp.example", "/lookup") { Content = Encoding.UTF8.GetBytes(query) }.Encode());

    [Fact]
    public async Task Relay_EncapsulatedRequest_ReturnsGatewayBytesExactly()
    {
        await using var relay = await StartRelayAsync();
        var request = Encapsulate(_gateway.Config, """{"csis":["mailto:alice@example.com"]}""");

        using var response = await relay.Client().PostAsync("/", Body(request.EncapsulatedRequest.ToArray()), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(RelayServer.ResponseMediaType, response.Content.Headers.ContentType?.MediaType);
        var answer = await response.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken);
        Assert.Equal(_gateway.LastResponse, answer);
        Assert.Equal(request.EncapsulatedRequest.ToArray(), Assert.Single(_gateway.Calls).Body);
        var inner = BinaryHttpResponse.Decode(request.DecapsulateResponse(answer));
        Assert.Equal("""{"csis":["mailto:alice@example.com"]}""", Encoding.UTF8.GetString(inner.Content.Span));
    }

    [Fact]
    public async Task Relay_ClientHeaders_NoneReachGateway()
    {
        await using var relay = await StartRelayAsync();
        using var message = new HttpRequestMessage(HttpMethod.Post, "/") { Content = Body(Encapsulate(_gateway.Config, "q").EncapsulatedRequest.ToArray()) };
        string[] clientValues = ["203.0.113.7", "for=203.0.113.7", "1.1 client-proxy", "session=client-cookie", "Bearer client-secret", "client-agent/1.0", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "user=client", "fr-CH", "client-custom"];
        message.Headers.TryAddWithoutValidation("X-Forwarded-For", clientValues[0]);
        message.Headers.TryAddWithoutValidation("X-Real-IP", clientValues[0]);
        message.Headers.TryAddWithoutValidation("Forwarded", clientValues[1]);
        message.Headers.TryAddWithoutValidation("Via", clientValues[2]);
        message.Headers.TryAddWithoutValidation("Cookie", clientValues[3]);
        message.Headers.TryAddWithoutValidation("Authorization", clientValues[4]);
        message.Headers.TryAddWithoutValidation("User-Agent", clientValues[5]);
        message.Headers.TryAddWithoutValidation("traceparent", clientValues[6]);
        message.Headers.TryAddWithoutValidation("baggage", clientValues[7]);
        message.Headers.TryAddWithoutValidation("Accept-Language", clientValues[8]);
        message.Headers.TryAddWithoutValidation("X-Custom", clientValues[9]);

        using var response = await relay.Client(Client).SendAsync(message, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var seen = Assert.Single(_gateway.Calls).Headers;
        Assert.All(seen, h => Assert.Contains(h.Key, (string[])["Host", "Content-Type", "Content-Length", "User-Agent"], StringComparer.OrdinalIgnoreCase));
        Assert.Equal(RelayServer.RequestMediaType, seen.Single(h => h.Key.Equals("Content-Type", StringComparison.OrdinalIgnoreCase)).Value);
        Assert.Equal("mimi-discovery-relay", seen.Single(h => h.Key.Equals("User-Agent", StringComparison.OrdinalIgnoreCase)).Value);
        Assert.All(seen, h => Assert.DoesNotContain(Client, h.Value, StringComparison.Ordinal));
        Assert.All(seen, h => Assert.DoesNotContain(clientValues, v => h.Value.Contains(v, StringComparison.Ordinal) || h.Value.Contains("0af7651916cd43dd8448eb211c80319c", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData("application/json")]
    [InlineData("message/ohttp-res")]
    [InlineData(null)]
    public async Task Relay_WrongMediaType_UnsupportedMediaTypeProblem(string? mediaType)
    {
        await using var relay = await StartRelayAsync();

        using var response = await relay.Client().PostAsync("/", Body(Encapsulate(_gateway.Config, "q").EncapsulatedRequest.ToArray(), mediaType), TestContext.Current.CancellationToken);

        await ProblemAssert.IsProblemAsync(response, 415, "unsupported-media-type");
        Assert.Empty(_gateway.Calls);
    }

    [Theory]
    [InlineData(false, 1025)]
    [InlineData(true, 1025)]
    [InlineData(false, 1 << 20)] // far over the limit: still the relay's own problem, not a bare 413
    [InlineData(true, 1 << 20)]
    public async Task Relay_OversizedBody_PayloadTooLargeAndGatewayNeverCalled(bool chunked, int size)
    {
        await using var relay = await StartRelayAsync(o => o.MaxRequestBytes = 1024);
        var bytes = new byte[size];
        HttpContent content = chunked ? new StreamContent(new MemoryStream(bytes)) : new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue(RelayServer.RequestMediaType);
        using var message = new HttpRequestMessage(HttpMethod.Post, "/") { Content = content };
        if (chunked)
        {
            message.Headers.TransferEncodingChunked = true;
        }
        else
        {
            // The body follows the relay's "100 Continue" only: a body it refuses by its length is
            // then never written into a connection it has closed (a race against the 413).
            message.Headers.ExpectContinue = true;
        }

        using var response = await relay.Client().SendAsync(message, TestContext.Current.CancellationToken);

        await ProblemAssert.IsProblemAsync(response, 413, "payload-too-large");
        Assert.Empty(_gateway.Calls);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Relay_BodyAtLimit_ForwardedIntact(bool chunked)
    {
        await using var relay = await StartRelayAsync(o => o.MaxRequestBytes = 10_000);
        _gateway.Answer = _ => new GatewayAnswer(200, RelayServer.ResponseMediaType, [1, 2, 3]);
        var bytes = System.Security.Cryptography.RandomNumberGenerator.GetBytes(10_000);
        using var message = new HttpRequestMessage(HttpMethod.Post, "/") { Content = chunked ? new StreamContent(new MemoryStream(bytes)) : new ByteArrayContent(bytes) };
        message.Content.Headers.ContentType = new MediaTypeHeaderValue(RelayServer.RequestMediaType);
        message.Headers.TransferEncodingChunked = chunked;

        using var response = await relay.Client().SendAsync(message, TestContext.Current.CancellationToken);

        Assert.True(HttpStatusCode.OK == response.StatusCode, string.Join("\n", relay.Logs.Lines.Select(l => l.Text)));
        Assert.Equal(bytes, Assert.Single(_gateway.Calls).Body);
    }

    [Fact]
    public async Task Relay_GatewayAnswerOverLimit_BadGatewayProblem()
    {
        await using var relay = await StartRelayAsync();
        _gateway.Answer = _ => new GatewayAnswer(200, RelayServer.ResponseMediaType, new byte[OhttpClient.DefaultMaxResponseLength + 1]);

        using var response = await relay.Client().PostAsync("/", Body(Encapsulate(_gateway.Config, "q").EncapsulatedRequest.ToArray()), TestContext.Current.CancellationToken);

        await ProblemAssert.IsProblemAsync(response, 502, "gateway-unavailable");
    }

    [Fact]
    public async Task Relay_OverRateFromOneAddress_TooManyRequestsOthersUnaffected()
    {
        await using var relay = await StartRelayAsync(o => o.RequestsPerMinutePerClient = 3);
        var client = relay.Client("127.0.0.2");
        for (var i = 0; i < 3; i++)
        {
            using var ok = await client.PostAsync("/", Body(Encapsulate(_gateway.Config, "q").EncapsulatedRequest.ToArray()), TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        using var limited = await client.PostAsync("/", Body(Encapsulate(_gateway.Config, "q").EncapsulatedRequest.ToArray()), TestContext.Current.CancellationToken);
        using var other = await relay.Client("127.0.0.3").PostAsync("/", Body(Encapsulate(_gateway.Config, "q").EncapsulatedRequest.ToArray()), TestContext.Current.CancellationToken);

        await ProblemAssert.IsProblemAsync(limited, 429, "rate-limited");
        var retryAfter = limited.Headers.RetryAfter?.Delta;
        Assert.NotNull(retryAfter);
        Assert.InRange(retryAfter.Value, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1));
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        Assert.Equal(4, _gateway.Calls.Count);
    }

    [Fact]
    public async Task Relay_GatewayDown_BadGatewayProblem()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        await using var relay = await RelayHost.StartAsync(new Uri($"https://127.0.0.1:{port}/.well-known/ohttp-gateway"), _gateway.CaFile);

        using var response = await relay.Client().PostAsync("/", Body(Encapsulate(_gateway.Config, "q").EncapsulatedRequest.ToArray()), TestContext.Current.CancellationToken);

        await ProblemAssert.IsProblemAsync(response, 502, "gateway-unavailable");
    }

    [Fact]
    public async Task Relay_GatewayUntrustedCertificate_BadGatewayProblem()
    {
        await using var relay = await RelayHost.StartAsync(_gateway.Url, gatewayCaFile: null);

        using var response = await relay.Client().PostAsync("/", Body(Encapsulate(_gateway.Config, "q").EncapsulatedRequest.ToArray()), TestContext.Current.CancellationToken);

        await ProblemAssert.IsProblemAsync(response, 502, "gateway-unavailable");
        Assert.Empty(_gateway.Calls);
    }

    [Theory]
    [InlineData(500, "message/ohttp-res")]
    [InlineData(200, "text/html")]
    [InlineData(200, "application/problem+json")]
    [InlineData(201, "message/ohttp-res")]
    [InlineData(302, "message/ohttp-res")]
    public async Task Relay_GatewayWrongAnswer_BadGatewayWithoutItsBody(int status, string mediaType)
    {
        await using var relay = await StartRelayAsync();
        _gateway.Answer = _ => new GatewayAnswer(status, mediaType, "GATEWAY-BODY-MARKER"u8.ToArray());

        using var response = await relay.Client().PostAsync("/", Body(Encapsulate(_gateway.Config, "q").EncapsulatedRequest.ToArray()), TestContext.Current.CancellationToken);

        await ProblemAssert.IsProblemAsync(response, 502, "gateway-unavailable");
        Assert.DoesNotContain("GATEWAY-BODY-MARKER", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
        Assert.Single(_gateway.Calls);
    }

    [Fact]
    public async Task Relay_GatewaySlowerThanTimeout_BadGatewayProblem()
    {
        await using var relay = await StartRelayAsync(o => o.Timeout = TimeSpan.FromMilliseconds(300));
        // The gateway never answers, so only the relay's timeout can end the request: no wall-clock
        // bound to miss on a loaded machine.
        _gateway.Answer = _ => new GatewayAnswer(200, RelayServer.ResponseMediaType, [1], Timeout.InfiniteTimeSpan);

        using var response = await relay.Client().PostAsync("/", Body(Encapsulate(_gateway.Config, "q").EncapsulatedRequest.ToArray()), TestContext.Current.CancellationToken);

        await ProblemAssert.IsProblemAsync(response, 502, "gateway-unavailable");
        Assert.Null(_gateway.LastResponse);
    }

    [Fact]
    public async Task Relay_Logs_NeitherBodiesNorClientAddress()
    {
        await using var relay = await StartRelayAsync();
        var marker = "PLAINTEXT-MARKER-" + Guid.NewGuid().ToString("N");
        var plain = Encoding.ASCII.GetBytes(marker);
        var encapsulated = Encapsulate(_gateway.Config, marker).EncapsulatedRequest.ToArray();
        var client = relay.Client(Client);

        _gateway.Answer = _ => new GatewayAnswer(200, RelayServer.ResponseMediaType, plain);
        using (var relayed = await client.PostAsync("/", Body(plain), TestContext.Current.CancellationToken))
        {
            Assert.Equal(HttpStatusCode.OK, relayed.StatusCode);
        }

        _gateway.Answer = _ => new GatewayAnswer(500, "text/plain", plain);
        using (var failed = await client.PostAsync("/", Body(encapsulated), TestContext.Current.CancellationToken))
        {
            Assert.Equal(HttpStatusCode.BadGateway, failed.StatusCode);
        }

        using (var refused = await client.PostAsync("/", Body(plain, "text/plain"), TestContext.Current.CancellationToken))
        {
            Assert.Equal(HttpStatusCode.UnsupportedMediaType, refused.StatusCode);
        }

        var lines = relay.Logs.Lines;
        Assert.Equal(3, lines.Count(l => l.Id.Id is 600 or 601));
        Assert.Contains(lines, l => l.Id.Id == 600 && l.Text.Contains($"{plain.Length} bytes in", StringComparison.Ordinal));
        string[] forbidden =
        [
            marker, Client,
            Convert.ToHexString(plain), Convert.ToHexStringLower(plain), Convert.ToBase64String(plain),
            Convert.ToHexString(encapsulated), Convert.ToHexStringLower(encapsulated), Convert.ToBase64String(encapsulated),
        ];
        Assert.All(lines, l => Assert.DoesNotContain(forbidden, f => l.Text.Contains(f, StringComparison.OrdinalIgnoreCase)));
    }

    [Fact]
    public async Task Health_Get_Ok()
    {
        await using var relay = await StartRelayAsync();

        using var response = await relay.Client().GetAsync("/health", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("""{"status":"ok"}""", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Relay_OtherMethodsAndPaths_ProblemDetails()
    {
        await using var relay = await StartRelayAsync();
        var client = relay.Client();

        using var get = await client.GetAsync("/", TestContext.Current.CancellationToken);
        using var elsewhere = await client.PostAsync("/.well-known/ohttp-gateway", Body([1]), TestContext.Current.CancellationToken);

        await ProblemAssert.IsProblemAsync(get, 405, "method-not-allowed");
        await ProblemAssert.IsProblemAsync(elsewhere, 404, "not-found");
        Assert.Empty(_gateway.Calls);
    }

    [Theory]
    [InlineData("http://127.0.0.1:0", "https://127.0.0.1:1/", "only listens over HTTPS")]
    [InlineData("https://127.0.0.1:0", "http://127.0.0.1:1/", "forwards only over HTTPS")]
    [InlineData("https://127.0.0.1:0", null, "No gateway")]
    public async Task BuildAsync_PlainHttpOrNoGateway_Refused(string urls, string? gateway, string reason)
    {
        var data = Directory.CreateTempSubdirectory("mimi-relay-").FullName;
        try
        {
            var e = await Assert.ThrowsAsync<InvalidOperationException>(() => RelayServer.BuildAsync(["--urls", urls], o =>
            {
                o.Gateway = gateway is null ? null : new Uri(gateway);
                o.DataDirectory = data;
            }, TestContext.Current.CancellationToken));
            Assert.Contains(reason, e.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    [Theory]
    [InlineData("192.0.2.7", "192.0.2.7")]
    [InlineData("::ffff:192.0.2.7", "192.0.2.7")]
    [InlineData("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::")]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:2::")]
    public void ClientPartition_Address_GroupsIpv6By64(string address, string partition) =>
        Assert.Equal(IPAddress.Parse(partition), RelayServer.ClientPartition(IPAddress.Parse(address)));
}

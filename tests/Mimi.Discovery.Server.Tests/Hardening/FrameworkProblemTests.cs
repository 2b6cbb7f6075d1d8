using System.Net;
using System.Text.Json;
using Mimi.Discovery.Client;
using Mimi.Discovery.Privacy.Tokens;

namespace Mimi.Discovery.Server.Tests.Hardening;

/// <summary>
/// What the framework refuses on the DP's behalf (bodies over the limit, oversized headers, unknown
/// routes) answers problem+json with a stable code, over real HTTPS, on HTTP/1.1 and HTTP/2.
/// </summary>
public sealed class FrameworkProblemTests : IAsyncLifetime
{
    private DpHost _dp = null!;

    public async ValueTask InitializeAsync() => _dp = await DpHost.StartAsync(o => o.MaxRequestBytes = 64 << 10);

    public ValueTask DisposeAsync() => _dp.DisposeAsync();

    private HttpClient Client(Version version) =>
        new(TlsTrust.CreateHandler(TlsTrust.LoadRoots(Path.Combine(_dp.DataDirectory, "tls.crt"))))
        {
            BaseAddress = _dp.BaseAddress,
            DefaultRequestVersion = version,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };

    private string TlsFile => Path.Combine(_dp.DataDirectory, "tls.crt");

    public static TheoryData<string> Versions => ["1.1", "2.0"];

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task Tokens_ChunkedBodyOverTheServerLimit_Is413Problem(string version)
    {
        using var http = Client(Version.Parse(version));
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/tokens")
        {
            // No Content-Length: the body is streamed, so only reading it finds it too large.
            Content = new StreamContent(new MemoryStream(new byte[200 << 10])),
        };
        request.Content.Headers.ContentType = new(PrivacyPassMediaTypes.TokenRequest);
        request.Headers.Authorization = new("Bearer", "mdk_unknown");

        using var response = await http.SendAsync(request, TestContext.Current.CancellationToken);

        await ProblemAssert.IsProblemAsync(response, 413, "payload-too-large");
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task Lookup_ChunkedJsonOverTheServerLimit_Is413Problem(string version)
    {
        using var http = Client(Version.Parse(version));
        var json = "{\"csis\": [" + string.Join(',', Enumerable.Repeat("\"+33612345678\"", 10_000)) + "]}";
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/lookup")
        {
            Content = new StreamContent(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(json))),
        };
        request.Content.Headers.ContentType = new("application/json");

        using var response = await http.SendAsync(request, TestContext.Current.CancellationToken);

        await ProblemAssert.IsProblemAsync(response, 413, "payload-too-large");
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task AnyRoute_100KiBHeader_Is431Problem(string version)
    {
        using var http = Client(Version.Parse(version));
        using var request = new HttpRequestMessage(HttpMethod.Get, ".well-known/mimi-discovery");
        request.Headers.TryAddWithoutValidation("X-Padding", new string('a', 100 << 10));

        using var response = await http.SendAsync(request, TestContext.Current.CancellationToken);

        await ProblemAssert.IsProblemAsync(response, 431, "headers-too-large");
    }

    [Fact]
    public async Task AnyRoute_100KiBHeaderOverRawHttp11_Is431Problem()
    {
        var answer = await RawHttps.SendAsync(_dp.BaseAddress, TlsFile, "GET", "/health", [$"X-Padding: {new string('a', 100 << 10)}"]);

        AssertProblem(answer, 431, "headers-too-large");
    }

    [Fact]
    public async Task AnyRoute_ManyHeaderFields_Is431Problem()
    {
        var answer = await RawHttps.SendAsync(_dp.BaseAddress, TlsFile, "GET", "/health", Enumerable.Range(0, 150).Select(i => $"X-Field-{i}: {i}"));

        AssertProblem(answer, 431, "headers-too-large");
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task UnknownRouteAndWrongMethod_AreProblems(string version)
    {
        using var http = Client(Version.Parse(version));

        using var missing = await http.GetAsync("v1/nothing-here", TestContext.Current.CancellationToken);
        using var wrongMethod = await http.DeleteAsync("v1/tokens", TestContext.Current.CancellationToken);

        await ProblemAssert.IsProblemAsync(missing, 404, "not-found");
        await ProblemAssert.IsProblemAsync(wrongMethod, 405, "method-not-allowed");
    }

    [Fact]
    public async Task Proofs_MalformedJson_Is400Problem()
    {
        using var response = await _dp.PostJsonAsync("v1/proofs", "{\"csi\": ");

        await ProblemAssert.IsProblemAsync(response, 400, "invalid-request");
    }

    /// <summary>
    /// A NUL in the path is refused by Kestrel while it parses the request line, before any
    /// middleware runs: the one answer that cannot be problem+json (docs/protocol.md, "Problems").
    /// HTTP/1.1 gets a bare 400 and a closed connection, HTTP/2 a reset stream. Pinned here so a
    /// framework that starts passing it on is noticed (the DP must then refuse it itself).
    /// </summary>
    [Fact]
    public async Task PathWithNul_IsRefusedByKestrelBeforeThePipeline()
    {
        var answer = await RawHttps.SendAsync(_dp.BaseAddress, TlsFile, "GET", "/v1/lookup/%00");

        Assert.Equal(400, answer.Status);
        Assert.Equal(string.Empty, answer.Body);
        using var http = Client(HttpVersion.Version20);
        var reset = await Record.ExceptionAsync(async () =>
        {
            using var response = await http.GetAsync("v1/lookup/%00", TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        });
        Assert.True(reset is null or HttpRequestException, reset?.ToString());
    }

    private static void AssertProblem(RawHttps.Answer answer, int status, string code)
    {
        Assert.True(answer.Status == status, $"expected HTTP {status}, got {answer.Status}: {answer.Body}");
        Assert.Equal("application/problem+json", answer.ContentType?.Split(';')[0]);
        var problem = JsonDocument.Parse(answer.Body).RootElement;
        Assert.Equal(code, problem.GetProperty("code").GetString());
        Assert.Equal("urn:mimi-discovery:problem:" + code, problem.GetProperty("type").GetString());
    }
}

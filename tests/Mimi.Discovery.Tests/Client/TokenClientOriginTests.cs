using System.Net;
using System.Text;
using Mimi.Discovery.Client;

namespace Mimi.Discovery.Tests.Client;

/// <summary>The token client sends its API key to the DP it was configured with only, whatever origin the issuer directory names.</summary>
public sealed class TokenClientOriginTests
{
    [Theory]
    [InlineData("https://evil.example/v1/tokens")]
    [InlineData("https://dp.example:8443/v1/tokens")]
    [InlineData("http://dp.example/v1/tokens")]
    [InlineData("//evil.example/v1/tokens")]
    public async Task GetDirectoryAsync_IssuerRequestUriOnAnotherOrigin_KeepsTheDpsOrigin(string issuerRequestUri)
    {
        var dp = new RecordingDp(issuerRequestUri);
        using var http = new HttpClient(dp) { BaseAddress = new Uri("https://dp.example/") };

        var (_, issueUri) = await new TokenClient(http, "mdk_secret").GetDirectoryAsync(TestContext.Current.CancellationToken);

        Assert.Equal(new Uri("https://dp.example/v1/tokens"), issueUri);
        Assert.All(dp.Requests, r => Assert.Equal("dp.example", r.Host));
    }

    [Theory]
    [InlineData("https://dp.example/v1/tokens")]
    [InlineData("/v1/tokens")]
    [InlineData("tokens")]
    public async Task GetDirectoryAsync_IssuerRequestUriOnTheDp_IsUsed(string issuerRequestUri)
    {
        using var http = new HttpClient(new RecordingDp(issuerRequestUri)) { BaseAddress = new Uri("https://dp.example/") };

        var (_, issueUri) = await new TokenClient(http, "mdk_secret").GetDirectoryAsync(TestContext.Current.CancellationToken);

        Assert.Equal("https://dp.example", issueUri.GetLeftPart(UriPartial.Authority));
    }

    /// <summary>Answers the issuer directory with the given issuer-request-uri and records every request's URL.</summary>
    private sealed class RecordingDp(string issuerRequestUri) : HttpMessageHandler
    {
        public List<Uri> Requests { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Requests.Add(request.RequestUri!);
            var json = $$"""{"issuer-request-uri":"{{issuerRequestUri}}","token-keys":[]}""";
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK)
            {
                RequestMessage = request,
                Content = new StringContent(json, Encoding.UTF8, "application/private-token-issuer-directory"),
            });
        }
    }
}

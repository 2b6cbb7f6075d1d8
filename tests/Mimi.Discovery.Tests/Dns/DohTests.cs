using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;
using Mimi.Discovery.Client;
using Mimi.Discovery.Dns;
using Mimi.Discovery.Identifiers;

namespace Mimi.Discovery.Tests.Dns;

/// <summary>DNS over HTTPS through a forwarding RFC 8484 server on loopback, in front of Knot.</summary>
public sealed class DohTests(KnotServer knot) : IClassFixture<KnotServer>, IAsyncLifetime
{
    private WebApplication? _server;
    private X509Certificate2? _certificate;
    private Uri? _endpoint;

    public async ValueTask InitializeAsync()
    {
        if (knot.Unavailable is not null)
        {
            return;
        }

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=doh", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var withKey = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        _certificate = X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, o =>
        {
            o.Protocols = HttpProtocols.Http1AndHttp2;
            o.UseHttps(_certificate);
        }));
        _server = builder.Build();
        _server.MapPost("/dns-query", async (HttpContext context) =>
        {
            if (context.Request.ContentType != "application/dns-message")
            {
                return Results.StatusCode(415);
            }

            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            using var udp = new UdpClient();
            await udp.SendAsync(body.ToArray(), knot.EndPoint);
            var answer = await udp.ReceiveAsync().WaitAsync(TimeSpan.FromSeconds(30)); // bounds only a failure
            return Results.Bytes(answer.Buffer, "application/dns-message");
        });
        _server.MapPost("/broken", () => Results.StatusCode(500));
        await _server.StartAsync();
        _endpoint = new Uri(_server.Urls.Single() + "/dns-query");
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        _certificate?.Dispose();
    }

    private DnsDiscoveryResolver Resolver(Uri? endpoint = null)
    {
        Assert.SkipWhen(knot.Unavailable is not null, knot.Unavailable ?? "");
        var roots = new X509Certificate2Collection { X509CertificateLoader.LoadCertificate(_certificate!.RawData) };
        return new DnsDiscoveryResolver(endpoint ?? _endpoint!, new HttpClient(TlsTrust.CreateHandler(roots)), endpoint is null ? KnotServer.Patient() : null);
    }

    [Fact]
    public async Task ResolveOverDoh_FindsTheSameRecordsAsUdp()
    {
        using var resolver = Resolver();

        var mui = await resolver.ResolveMuiAsync("bob.example.net");
        var email = await resolver.ResolveAsync(CsiParser.ParseOrThrow("mailbox@example.com"));

        Assert.Equal(["telegram", "whatsapp", "matrix"], mui.Records.Select(r => r.Record.Service));
        Assert.Equal(DnsOutcome.Found, email.Outcome);
        Assert.Equal(DnsOutcome.NameNotFound, (await resolver.ResolveMuiAsync("nobody.example.net")).Outcome);
    }

    [Theory]
    [InlineData("carl.example.net")]
    [InlineData("dave.example.net")]
    [InlineData("erin.example.net")]
    public async Task ResolveOverDoh_AliasesAndUtf8_AnswerAsOverUdp(string mui)
    {
        using var doh = Resolver();
        using var udp = new DnsDiscoveryResolver(knot.EndPoint, KnotServer.Patient());

        var expected = await udp.ResolveMuiAsync(mui);
        var actual = await doh.ResolveMuiAsync(mui);

        Assert.Equal(DnsOutcome.Found, actual.Outcome);
        Assert.Equal(expected.Records, actual.Records);
    }

    [Fact]
    public async Task ResolveOverDoh_TruncatedAnswer_IsNoUsableAnswerNotNoRecords()
    {
        using var doh = Resolver();

        // This stand-in forwards over UDP only, so the 30-record answer comes back truncated.
        Assert.Equal(DnsOutcome.Timeout, (await doh.ResolveMuiAsync("many.example.net")).Outcome);
    }

    [Fact]
    public async Task ResolveOverDoh_AliasLoop_IsServerFailure()
    {
        using var doh = Resolver();

        Assert.Equal(DnsOutcome.ServerFailure, (await doh.ResolveMuiAsync("loop.example.net")).Outcome);
    }

    [Fact]
    public async Task DohServerError_IsNoAnswer()
    {
        using var resolver = Resolver(new Uri(_endpoint!, "/broken"));

        Assert.Equal(DnsOutcome.Timeout, (await resolver.ResolveMuiAsync("bob.example.net")).Outcome);
    }

    [Fact]
    public void Doh_RefusesPlainHttpAndDnssecAnchors()
    {
        using var http = new HttpClient();
        Assert.Throws<ArgumentException>(() => new DnsDiscoveryResolver(new Uri("http://127.0.0.1/dns-query"), http));
        Assert.Throws<ArgumentException>(() => new DnsDiscoveryResolver(new Uri("https://127.0.0.1/dns-query"), http, new DnsDiscoveryOptions { TrustAnchors = [DnsTrustAnchor.IanaRoot] }));
    }

    [Fact]
    public void EncodeQuery_IsTheRfc1035Wireform()
    {
        var query = DohTransport.EncodeQuery("bob.example.net", 16);

        Assert.Equal(Convert.FromHexString("000001000001000000000000" + "03626f62076578616d706c65036e657400" + "00100001"), query);
    }
}

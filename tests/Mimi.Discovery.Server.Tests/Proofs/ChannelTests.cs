using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;
using MailKit.Security;
using MimeKit;
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Server.Hosting;
using Mimi.Discovery.Server.Proofs;

namespace Mimi.Discovery.Server.Tests.Proofs;

/// <summary>A real SMTP server on loopback (aiosmtpd, Debian package python3-aiosmtpd) storing mail in a Maildir.</summary>
public sealed class SmtpServer : IAsyncLifetime
{
    private const string Python = "/usr/bin/python3";
    private Process? _process;

    public int Port { get; private set; }

    public string Maildir { get; } = Directory.CreateTempSubdirectory("mimi-mail-").FullName;

    public string? Unavailable { get; private set; }

    public async ValueTask InitializeAsync()
    {
        var probe = File.Exists(Python) ? Process.Start(new ProcessStartInfo(Python, "-c \"import aiosmtpd\"") { RedirectStandardError = true }) : null;
        if (probe is null || !probe.WaitForExit(10_000) || probe.ExitCode != 0)
        {
            Unavailable = "no SMTP server: install the Debian package python3-aiosmtpd (CI does)";
            return;
        }

        foreach (var sub in new[] { "tmp", "new", "cur" })
        {
            Directory.CreateDirectory(Path.Combine(Maildir, sub));
        }

        Port = FreePort();
        _process = Process.Start(new ProcessStartInfo(Python, ["-m", "aiosmtpd", "-n", "-l", $"127.0.0.1:{Port}", "-c", "aiosmtpd.handlers.Mailbox", Maildir])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        })!;
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(100);
            }
        }

        throw new InvalidOperationException("aiosmtpd did not start listening");
    }

    public IReadOnlyList<MimeMessage> Messages()
    {
        var folder = Path.Combine(Maildir, "new");
        return Directory.Exists(folder) ? Directory.GetFiles(folder).Select(f => MimeMessage.Load(f)).ToList() : [];
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        _process?.Dispose();
        return ValueTask.CompletedTask;
    }
}

public sealed class ChannelTests(SmtpServer smtp) : IClassFixture<SmtpServer>
{
    [Fact]
    public async Task Smtp_ProofForEmail_DeliversTheCodeByRealSmtp()
    {
        Assert.SkipWhen(smtp.Unavailable is not null, smtp.Unavailable ?? "");
        await using var dp = await DpHost.StartAsync(o =>
        {
            o.Dev = false;
            o.Smtp = new SmtpOptions { Host = "127.0.0.1", Port = smtp.Port, Security = SecureSocketOptions.None, From = "DP <no-reply@dp.example>" };
        });
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var before = smtp.Messages().Count;

        var proof = await dp.Client.StartProofAsync(CsiParser.ParseOrThrow("Carol@Example.com"), key);

        Assert.Equal("email", proof.Channel);
        var mail = smtp.Messages().Skip(before).Single(m => m.To.Mailboxes.Any(b => b.Address == "carol@example.com"));
        Assert.Equal("no-reply@dp.example", mail.From.Mailboxes.Single().Address);
        var code = System.Text.RegularExpressions.Regex.Match(mail.TextBody ?? "", @"\b\d{6}\b").Value;
        var issued = await dp.Client.AnswerProofAsync(proof.ProofId, code);
        Assert.Contains("BEGIN CERTIFICATE", issued.Credential, StringComparison.Ordinal);
        Assert.Equal("email", (await dp.Client.GetMetadataAsync()).Channels["mailto"]);
    }

    [Fact]
    public async Task Smtp_ServerDown_IsDeliveryFailed()
    {
        await using var dp = await DpHost.StartAsync(o =>
        {
            o.Dev = false;
            o.Smtp = new SmtpOptions { Host = "127.0.0.1", Port = SmtpServer.FreePort(), Security = SecureSocketOptions.None };
        });
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        await ProblemAssert.ThrowsAsync(502, "delivery-failed", () => dp.Client.StartProofAsync(CsiParser.ParseOrThrow("carol@example.com"), key));
    }

    [Fact]
    public async Task SmsGateway_ProofForPhone_PostsTheTemplatedBody()
    {
        await using var gateway = await SmsGateway.StartAsync(HttpStatusCode.Accepted);
        await using var dp = await DpHost.StartAsync(o =>
        {
            o.Dev = false;
            o.Sms = new SmsGatewayOptions { Url = gateway.Url, Authorization = "Bearer gateway-token" };
        });
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        var proof = await dp.Client.StartProofAsync(CsiParser.ParseOrThrow("+33 6 12 34 56 78"), key);

        var request = Assert.Single(gateway.Requests);
        Assert.Equal("Bearer gateway-token", request.Authorization);
        Assert.Equal("application/json", request.ContentType);
        var body = JsonDocument.Parse(request.Body).RootElement;
        Assert.Equal("+33612345678", body.GetProperty("to").GetString());
        var code = System.Text.RegularExpressions.Regex.Match(body.GetProperty("text").GetString()!, @"\b\d{6}\b").Value;
        Assert.Contains("BEGIN CERTIFICATE", (await dp.Client.AnswerProofAsync(proof.ProofId, code)).Credential, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SmsGateway_Error_IsDeliveryFailed()
    {
        await using var gateway = await SmsGateway.StartAsync(HttpStatusCode.InternalServerError);
        await using var dp = await DpHost.StartAsync(o =>
        {
            o.Dev = false;
            o.Sms = new SmsGatewayOptions { Url = gateway.Url };
        });
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        var e = await ProblemAssert.ThrowsAsync(502, "delivery-failed", () => dp.Client.StartProofAsync(CsiParser.ParseOrThrow("+33612345678"), key));
        Assert.Equal("the code could not be sent; try again later", e.Detail);
    }

    [Theory]
    [InlineData("application/json", """{"to":"{to}","text":"{text}"}""", """{"to":"\u002B33612345678","text":"say \u0022hi\u0022 \u0026 123456"}""")]
    [InlineData("application/x-www-form-urlencoded", "To={to}&Body={text}", "To=%2B33612345678&Body=say%20%22hi%22%20%26%20123456")]
    public void RenderBody_EscapesValuesForTheContentType(string contentType, string template, string expected)
    {
        var message = new ChallengeMessage(CsiParser.ParseOrThrow("+33612345678"), "123456", "say \"hi\" & 123456");

        Assert.Equal(expected, SmsGatewayChannel.RenderBody(new SmsGatewayOptions { ContentType = contentType, BodyTemplate = template }, message));
    }
}

/// <summary>A stand-in SMS carrier: an HTTP listener on loopback that records what the DP posts.</summary>
internal sealed class SmsGateway : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly HttpStatusCode _status;
    private readonly Task _loop;

    private SmsGateway(HttpStatusCode status)
    {
        _status = status;
        var port = SmtpServer.FreePort();
        Url = new Uri($"http://127.0.0.1:{port}/send");
        _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public Uri Url { get; }

    public List<(string Body, string? Authorization, string? ContentType)> Requests { get; } = [];

    public static Task<SmsGateway> StartAsync(HttpStatusCode status) => Task.FromResult(new SmsGateway(status));

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
            {
                return;
            }

            using var reader = new StreamReader(context.Request.InputStream);
            var body = await reader.ReadToEndAsync();
            lock (Requests)
            {
                Requests.Add((body, context.Request.Headers["Authorization"], context.Request.ContentType?.Split(';')[0]));
            }

            context.Response.StatusCode = (int)_status;
            context.Response.Close();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        await _loop;
    }
}

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

/// <summary>
/// A real SMTP server on loopback (aiosmtpd, Debian package python3-aiosmtpd) storing mail in a
/// Maildir. As a class fixture it is a plain relay (no TLS, no AUTH); <see cref="StartAsync"/> makes
/// one that offers AUTH (also before any TLS, as a careless server does) and, with a certificate,
/// STARTTLS. Every AUTH and DATA it sees is recorded with whether the connection had TLS.
/// </summary>
public sealed class SmtpServer : IAsyncLifetime
{
    private const string Python = "/usr/bin/python3";

    private const string Script = """
        import argparse, threading
        from aiosmtpd.controller import Controller
        from aiosmtpd.handlers import Mailbox
        from aiosmtpd.smtp import AuthResult

        p = argparse.ArgumentParser()
        for name in ("--port", "--maildir", "--log", "--auth", "--cert", "--key"):
            p.add_argument(name)
        a = p.parse_args()

        def record(line):
            with open(a.log, "a") as f:
                f.write(line + "\n")

        class Handler(Mailbox):
            async def handle_DATA(self, server, session, envelope):
                record("DATA tls=%s" % (session.ssl is not None))
                return await super().handle_DATA(server, session, envelope)

        def authenticator(server, session, envelope, mechanism, auth_data):
            record("AUTH %s tls=%s" % (mechanism, session.ssl is not None))
            user, password = a.auth.split(":", 1)
            return AuthResult(success=auth_data.login == user.encode() and auth_data.password == password.encode())

        options = {}
        if a.auth:
            options.update(authenticator=authenticator, auth_require_tls=False)
        if a.cert:
            import ssl
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(a.cert, a.key)
            options["tls_context"] = context
        controller = Controller(Handler(a.maildir), hostname="127.0.0.1", port=int(a.port), **options)
        controller.start()
        print("ready", flush=True)
        threading.Event().wait()
        """;

    private readonly string? _auth;
    private readonly bool _startTls;
    private Process? _process;

    public SmtpServer()
    {
    }

    private SmtpServer(string? auth, bool startTls)
    {
        _auth = auth;
        _startTls = startTls;
    }

    public int Port { get; private set; }

    public string Maildir { get; } = Directory.CreateTempSubdirectory("mimi-mail-").FullName;

    public string? Unavailable { get; private set; }

    private string LogPath => Path.Combine(Maildir, "commands.log");

    /// <summary>A server that accepts <paramref name="auth"/> (<c>user:password</c>) over plain connections too, and offers STARTTLS with a self-signed certificate when asked.</summary>
    public static async Task<SmtpServer> StartAsync(string? auth, bool startTls)
    {
        var server = new SmtpServer(auth, startTls);
        await server.InitializeAsync();
        return server;
    }

    /// <summary>The AUTH and DATA commands the server received, e.g. <c>AUTH PLAIN tls=False</c>.</summary>
    public IReadOnlyList<string> Commands() => File.Exists(LogPath) ? File.ReadAllLines(LogPath) : [];

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

        var script = Path.Combine(Maildir, "server.py");
        await File.WriteAllTextAsync(script, Script);
        Port = FreePort();
        var start = new ProcessStartInfo(Python, [script, "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--maildir", Maildir, "--log", LogPath])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        if (_auth is not null)
        {
            start.ArgumentList.Add("--auth");
            start.ArgumentList.Add(_auth);
        }

        if (_startTls)
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256);
            using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
            await File.WriteAllTextAsync(Path.Combine(Maildir, "tls.crt"), certificate.ExportCertificatePem());
            await File.WriteAllTextAsync(Path.Combine(Maildir, "tls.key"), key.ExportPkcs8PrivateKeyPem());
            start.ArgumentList.Add("--cert");
            start.ArgumentList.Add(Path.Combine(Maildir, "tls.crt"));
            start.ArgumentList.Add("--key");
            start.ArgumentList.Add(Path.Combine(Maildir, "tls.key"));
        }

        _process = Process.Start(start)!;
        var ready = await _process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
        if (ready != "ready")
        {
            throw new InvalidOperationException("aiosmtpd did not start: " + await _process.StandardError.ReadToEndAsync());
        }

        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, Port);
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

    [Fact]
    public async Task Smtp_ServerWithoutStartTls_DefaultSecurity_SendsNeitherPasswordNorCodeAndCountsNothing()
    {
        Assert.SkipWhen(smtp.Unavailable is not null, smtp.Unavailable ?? "");
        await using var careless = await SmtpServer.StartAsync(auth: "dp:secret", startTls: false);
        await using var dp = await DpHost.StartAsync(o =>
        {
            o.Dev = false;
            o.MaxSendsPerClientAndCsi = 1;
            o.Smtp = new SmtpOptions { Host = "127.0.0.1", Port = careless.Port, Username = "dp", Password = "secret" };
        });
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        // More failed starts than the limit allows sends: each is delivery-failed, none rate-limited.
        for (var i = 0; i < 3; i++)
        {
            var e = await ProblemAssert.ThrowsAsync(502, "delivery-failed", () => dp.Client.StartProofAsync(CsiParser.ParseOrThrow("carol@example.com"), key));
            Assert.Equal("the code could not be sent; try again later", e.Detail); // why is logged, not told the client
        }

        Assert.Empty(careless.Commands());
        Assert.Empty(careless.Messages());
    }

    [Fact]
    public async Task Smtp_ServerWithoutStartTls_AutoSecurity_SendsNoPassword()
    {
        Assert.SkipWhen(smtp.Unavailable is not null, smtp.Unavailable ?? "");
        await using var careless = await SmtpServer.StartAsync(auth: "dp:secret", startTls: false);
        await using var dp = await DpHost.StartAsync(o =>
        {
            o.Dev = false;
            o.Smtp = new SmtpOptions { Host = "127.0.0.1", Port = careless.Port, Security = SecureSocketOptions.Auto, Username = "dp", Password = "secret" };
        });
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        var e = await ProblemAssert.ThrowsAsync(502, "delivery-failed", () => dp.Client.StartProofAsync(CsiParser.ParseOrThrow("carol@example.com"), key));

        Assert.Equal("the code could not be sent; try again later", e.Detail); // why is logged, not told the client
        Assert.Empty(careless.Commands());
    }

    [Fact]
    public async Task Smtp_StartTlsWithUntrustedCertificate_IsDeliveryFailedAndSendsNoPassword()
    {
        Assert.SkipWhen(smtp.Unavailable is not null, smtp.Unavailable ?? "");
        await using var server = await SmtpServer.StartAsync(auth: "dp:secret", startTls: true);
        await using var dp = await DpHost.StartAsync(o =>
        {
            o.Dev = false;
            o.Smtp = new SmtpOptions { Host = "127.0.0.1", Port = server.Port, Security = SecureSocketOptions.StartTls, Username = "dp", Password = "secret" };
        });
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        await ProblemAssert.ThrowsAsync(502, "delivery-failed", () => dp.Client.StartProofAsync(CsiParser.ParseOrThrow("carol@example.com"), key));

        Assert.Empty(server.Commands());
        Assert.Empty(server.Messages());
    }

    [Fact]
    public async Task Smtp_PlaintextAuthAllowedExplicitly_AuthenticatesAndDelivers()
    {
        Assert.SkipWhen(smtp.Unavailable is not null, smtp.Unavailable ?? "");
        await using var relay = await SmtpServer.StartAsync(auth: "dp:secret", startTls: false);
        await using var dp = await DpHost.StartAsync(o =>
        {
            o.Dev = false;
            o.Smtp = new SmtpOptions { Host = "127.0.0.1", Port = relay.Port, Security = SecureSocketOptions.None, Username = "dp", Password = "secret", AllowPlaintextAuth = true };
        });
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        await dp.Client.StartProofAsync(CsiParser.ParseOrThrow("carol@example.com"), key);

        Assert.Contains(relay.Commands(), c => c.StartsWith("AUTH ", StringComparison.Ordinal) && c.EndsWith("tls=False", StringComparison.Ordinal));
        Assert.Single(relay.Messages());
    }

    [Theory]
    [InlineData("smtp-security-none-with-password", "Discovery:Smtp:Security=None")]
    [InlineData("smtp-from", "Discovery:Smtp:From")]
    [InlineData("sms-content-type-xml", "Discovery:Sms:ContentType")]
    [InlineData("sms-content-type-latin1", "charset 'iso-8859-1'")]
    [InlineData("sms-content-type-garbage", "Discovery:Sms:ContentType")]
    [InlineData("sms-url-plain-http", "would send codes in clear")]
    [InlineData("sms-template-without-code", "Discovery:Sms:BodyTemplate")]
    public async Task Start_UnusableChannelSettings_FailsAtStartNamingTheSetting(string setting, string expected)
    {
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => DpHost.StartAsync(o =>
        {
            o.Dev = false;
            switch (setting)
            {
                case "smtp-security-none-with-password":
                    o.Smtp = new SmtpOptions { Security = SecureSocketOptions.None, Username = "dp", Password = "secret" };
                    break;
                case "smtp-from":
                    o.Smtp = new SmtpOptions { From = "not an address <" };
                    break;
                case "sms-content-type-xml":
                    o.Sms = new SmsGatewayOptions { Url = new Uri("https://gateway.example/send"), ContentType = "text/xml" };
                    break;
                case "sms-content-type-latin1":
                    o.Sms = new SmsGatewayOptions { Url = new Uri("https://gateway.example/send"), ContentType = "application/json; charset=iso-8859-1" };
                    break;
                case "sms-content-type-garbage":
                    o.Sms = new SmsGatewayOptions { Url = new Uri("https://gateway.example/send"), ContentType = "json please" };
                    break;
                case "sms-url-plain-http":
                    o.Sms = new SmsGatewayOptions { Url = new Uri("http://gateway.example/send") };
                    break;
                default:
                    o.Sms = new SmsGatewayOptions { Url = new Uri("https://gateway.example/send"), BodyTemplate = """{"to":"{to}"}""" };
                    break;
            }
        }));

        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SmsGateway_ContentTypeWithParameters_DeliversUtf8Json()
    {
        await using var gateway = await SmsGateway.StartAsync(HttpStatusCode.OK);
        await using var dp = await DpHost.StartAsync(o =>
        {
            o.Dev = false;
            o.Sms = new SmsGatewayOptions { Url = gateway.Url, ContentType = "application/json; charset=utf-8" };
        });
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        var proof = await dp.Client.StartProofAsync(CsiParser.ParseOrThrow("+33612345678"), key);

        var request = Assert.Single(gateway.Requests);
        Assert.Equal("application/json; charset=utf-8", request.FullContentType);
        var code = System.Text.RegularExpressions.Regex.Match(JsonDocument.Parse(request.Body).RootElement.GetProperty("text").GetString()!, @"\b\d{6}\b").Value;
        Assert.Contains("BEGIN CERTIFICATE", (await dp.Client.AnswerProofAsync(proof.ProofId, code)).Credential, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SmsGateway_RequestFromATracedClient_CarriesNoTracingHeaders()
    {
        await using var gateway = await SmsGateway.StartAsync(HttpStatusCode.OK);
        await using var dp = await DpHost.StartAsync(o =>
        {
            o.Dev = false;
            o.Sms = new SmsGatewayOptions { Url = gateway.Url };
        });
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var q = key.ExportParameters(false).Q;
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/proofs")
        {
            Content = System.Net.Http.Json.JsonContent.Create(
                new Protocol.ProofRequest("+33612345678", new Protocol.EcPublicJwk("EC", "P-256", System.Buffers.Text.Base64Url.EncodeToString(q.X), System.Buffers.Text.Base64Url.EncodeToString(q.Y))),
                Protocol.ProtocolJson.Default.ProofRequest),
        };
        request.Headers.Add("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
        request.Headers.Add("tracestate", "dp=1");
        request.Headers.Add("baggage", "user=alice");

        using var response = await dp.Http.SendAsync(request);

        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        var headers = Assert.Single(gateway.Requests).Headers;
        Assert.DoesNotContain(headers.Keys, k => k is "traceparent" or "tracestate" or "baggage" or "Request-Id" or "Correlation-Context");
    }

    [Fact]
    public async Task SmsGateway_Failures_AreDeliveryFailedAndCountNothing()
    {
        await using var gateway = await SmsGateway.StartAsync(HttpStatusCode.ServiceUnavailable);
        await using var dp = await DpHost.StartAsync(o =>
        {
            o.Dev = false;
            o.MaxSendsPerClientAndCsi = 1;
            o.MaxOutstandingPerCsi = 2;
            o.Sms = new SmsGatewayOptions { Url = gateway.Url };
        });
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        for (var i = 0; i < 4; i++)
        {
            await ProblemAssert.ThrowsAsync(502, "delivery-failed", () => dp.Client.StartProofAsync(CsiParser.ParseOrThrow("+33612345678"), key));
        }

        Assert.Equal(4, gateway.Requests.Count);
    }

    [Theory]
    [InlineData("application/json", """{"to":"{to}","text":"{text}"}""", """{"to":"\u002B33612345678","text":"say \u0022hi\u0022 \u0026 123456"}""")]
    [InlineData("application/json; charset=utf-8", """{"to":"{to}","text":"{text}"}""", """{"to":"\u002B33612345678","text":"say \u0022hi\u0022 \u0026 123456"}""")]
    [InlineData("Application/Vnd.Gateway+JSON", """{"to":"{to}","code":"{code}"}""", """{"to":"\u002B33612345678","code":"123456"}""")]
    [InlineData("application/x-www-form-urlencoded", "To={to}&Body={text}", "To=%2B33612345678&Body=say%20%22hi%22%20%26%20123456")]
    [InlineData("application/x-www-form-urlencoded;charset=\"UTF-8\"", "To={to}&Body={text}", "To=%2B33612345678&Body=say%20%22hi%22%20%26%20123456")]
    public void RenderBody_EscapesValuesForTheContentType(string contentType, string template, string expected)
    {
        var message = new ChallengeMessage(CsiParser.ParseOrThrow("+33612345678"), "123456", "say \"hi\" & 123456");

        Assert.Equal(expected, SmsGatewayChannel.RenderBody(new SmsGatewayOptions { ContentType = contentType, BodyTemplate = template }, message));
    }
}

internal sealed record GatewayRequest(string Body, string? Authorization, string? ContentType, string? FullContentType, IReadOnlyDictionary<string, string> Headers);

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

    public List<GatewayRequest> Requests { get; } = [];

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
            var headers = context.Request.Headers.AllKeys.Where(k => k is not null).ToDictionary(k => k!, k => context.Request.Headers[k]!, StringComparer.OrdinalIgnoreCase);
            lock (Requests)
            {
                Requests.Add(new GatewayRequest(body, context.Request.Headers["Authorization"], context.Request.ContentType?.Split(';')[0], context.Request.ContentType, headers));
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

using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using MailKit.Security;
using Mimi.Discovery.Dns;
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Server.Hosting;
using Mimi.Discovery.Server.Tests.Proofs;
using Mimi.Discovery.Server.Tests.Relay;
using Mimi.Discovery.Statements;
using Mimi.Discovery.Tests.Dns;

namespace Mimi.Discovery.Server.Tests.Hardening;

/// <summary>
/// A real SMTP server (aiosmtpd) that refuses every recipient the way Postfix does, quoting the
/// address: <c>550 5.1.1 &lt;someone@example.org&gt;: Recipient address rejected</c>.
/// </summary>
public sealed class RejectingSmtpServer : IAsyncLifetime
{
    private const string Python = "/usr/bin/python3";
    private readonly string _module = Directory.CreateTempSubdirectory("mimi-smtp-reject-").FullName;
    private Process? _process;

    public int Port { get; private set; }

    public string? Unavailable { get; private set; }

    public async ValueTask InitializeAsync()
    {
        var probe = File.Exists(Python) ? Process.Start(new ProcessStartInfo(Python, "-c \"import aiosmtpd\"") { RedirectStandardError = true }) : null;
        if (probe is null || !probe.WaitForExit(10_000) || probe.ExitCode != 0)
        {
            Unavailable = "no SMTP server: install the Debian package python3-aiosmtpd (CI does)";
            return;
        }

        await File.WriteAllTextAsync(Path.Combine(_module, "mimi_reject.py"), """
            class RejectRecipients:
                async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
                    return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown in virtual mailbox table"
            """);
        Port = SmtpServer.FreePort();
        var start = new ProcessStartInfo(Python, ["-m", "aiosmtpd", "-n", "-l", $"127.0.0.1:{Port}", "-c", "mimi_reject.RejectRecipients"])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        start.Environment["PYTHONPATH"] = _module;
        _process = Process.Start(start)!;
        for (var attempt = 0; attempt < 150; attempt++)
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

    public ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        _process?.Dispose();
        Directory.Delete(_module, recursive: true);
        return ValueTask.CompletedTask;
    }
}

/// <summary>No log line and no problem detail carries a CSI, an ENUM name or a third party's own text.</summary>
public sealed class LogPrivacyTests(RejectingSmtpServer smtp) : IClassFixture<RejectingSmtpServer>
{
    [Fact]
    public async Task StartProof_RecipientRejectedBySmtp_NeitherDetailNorLogsQuoteTheServer()
    {
        Assert.SkipWhen(smtp.Unavailable is not null, smtp.Unavailable ?? "");
        var logs = new LogCapture();
        await using var dp = await DpHost.StartAsync(o =>
        {
            o.Dev = false;
            o.Smtp = new SmtpOptions { Host = "127.0.0.1", Port = smtp.Port, Security = SecureSocketOptions.None };
        }, logs: logs);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        var refused = await ProblemAssert.ThrowsAsync(502, "delivery-failed", () => dp.Client.StartProofAsync(CsiParser.ParseOrThrow("someone@example.org"), key));

        Assert.Contains("the code could not be sent; try again later", refused.Message, StringComparison.Ordinal);
        AssertNowhere(logs, refused.Message, "someone", "example.org", "Recipient address rejected", "virtual mailbox");

        // The failure itself is logged, by category and status code.
        Assert.Contains(logs.Lines, l => l.Text.Contains("SMTP 550", StringComparison.Ordinal) && l.Text.Contains("RecipientNotAccepted", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("someone-at-example.org")]
    [InlineData("+33 0 99 99 99 99 99")]
    [InlineData("\"someone\"@example.org")]
    public async Task StartProofAndHistory_InvalidCsi_DetailDoesNotRepeatTheInput(string csi)
    {
        var logs = new LogCapture();
        await using var dp = await DpHost.StartAsync(logs: logs);
        var jwk = """{"kty":"EC","crv":"P-256","x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","y":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}""";

        using var proof = await dp.PostJsonAsync("v1/proofs", $$"""{"csi": {{System.Text.Json.JsonSerializer.Serialize(csi)}}, "publicKey": {{jwk}}}""");
        using var history = await dp.Http.GetAsync("v1/transparency/history?csi=" + Uri.EscapeDataString(csi), TestContext.Current.CancellationToken);

        var detail = await ProblemAssert.IsProblemAsync(proof, 400, "invalid-csi");
        var historyBody = await history.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        var secret = csi.Contains('@', StringComparison.Ordinal) ? "someone" : "99 99";
        Assert.DoesNotContain(secret, detail, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, historyBody, StringComparison.Ordinal);
        AssertNowhere(logs, detail, secret);
    }

    [Fact]
    public void FailureLog_Describe_KeepsTypesAndStackWithoutMessages()
    {
        Exception thrown;
        try
        {
            throw new InvalidOperationException("outer", new IOException("550 5.1.1 <someone@example.org>: Recipient address rejected"));
        }
        catch (InvalidOperationException e)
        {
            thrown = e;
        }

        var text = FailureLog.Describe(thrown);

        Assert.Contains("System.InvalidOperationException", text, StringComparison.Ordinal);
        Assert.Contains("System.IO.IOException", text, StringComparison.Ordinal);
        Assert.Contains(nameof(FailureLog_Describe_KeepsTypesAndStackWithoutMessages), text, StringComparison.Ordinal);
        Assert.DoesNotContain("someone", text, StringComparison.Ordinal);
        Assert.DoesNotContain("outer", text, StringComparison.Ordinal);
    }

    internal static void AssertNowhere(LogCapture logs, string detail, params string[] secrets)
    {
        foreach (var secret in secrets)
        {
            Assert.DoesNotContain(secret, detail, StringComparison.OrdinalIgnoreCase);
            var line = logs.Lines.FirstOrDefault(l => l.Text.Contains(secret, StringComparison.OrdinalIgnoreCase) || l.Category.Contains(secret, StringComparison.OrdinalIgnoreCase));
            Assert.True(line == default, $"'{secret}' is in a log line: {line.Category} {line.Text}");
        }
    }
}

/// <summary>The DNS zone sync logs neither the ENUM name (a phone number's digits) nor the CSI, at any level but as a keyed hash prefix at Debug.</summary>
public sealed class DnsLogPrivacyTests(KnotServer knot) : IClassFixture<KnotServer>
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task PublishAndRemove_SyncedOrRefused_NoLogLineHoldsTheNumber(bool rightKey)
    {
        Assert.SkipWhen(knot.Unavailable is not null, knot.Unavailable ?? "");
        var logs = new LogCapture();
        await using var dp = await DpHost.StartAsync(o => o.Dns = new DnsSyncOptions
        {
            Server = $"127.0.0.1:{knot.Port}",
            Zone = "e164.test",
            EnumApex = "e164.test",
            TsigName = knot.Key.Name,
            TsigSecret = Convert.ToBase64String(rightKey ? knot.Key.Secret : new byte[32]),
        }, logs: logs);
        var phone = CsiParser.ParseOrThrow(rightKey ? "+33 6 12 34 56 71" : "+33 6 12 34 56 72");
        var enumName = DiscoveryNames.EnumName(phone, "e164.test");
        var bob = await dp.RegisterAsync(phone.Uri);

        await dp.Client.PublishAsync(bob.Sign(1, [new MspEntry("whatsapp") { Account = "a", Endpoint = new Uri("https://wa.example/") }]), TestContext.Current.CancellationToken);
        await dp.Client.RemoveAsync(bob.Signer.SignRemoval(new RemovalDraft(phone) { Version = 1 }), TestContext.Current.CancellationToken);

        var digits = phone.Uri["tel:+".Length..];
        LogPrivacyTests.AssertNowhere(logs, string.Empty, digits, enumName, string.Join('.', digits.Reverse()));
        Assert.Contains(logs.Lines, l => rightKey
            ? l.Text.StartsWith("DNS zone: a Phone CSI's name now holds 1 MIMI record(s)", StringComparison.Ordinal)
            : l.Text.StartsWith("DNS zone: updating a Phone CSI's name failed (", StringComparison.Ordinal));
        Assert.Contains(logs.Lines, l => l.Id.Id == 212 && l.Text.Contains("#" + Mimi.Discovery.Server.Mappings.DnsZoneSync.NameHash(enumName, dp.Service<DataFolder>().CodeSecret), StringComparison.Ordinal));
    }
}

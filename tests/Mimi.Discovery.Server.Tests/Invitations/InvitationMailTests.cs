using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using MailKit.Security;
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Server.Hosting;
using Mimi.Discovery.Server.Storage;
using Mimi.Discovery.Server.Tests.Hardening;
using Mimi.Discovery.Server.Tests.Proofs;
using Mimi.Discovery.Server.Tests.Relay;
using Mimi.Discovery.Statements;
using static Mimi.Discovery.Server.Tests.Invitations.InvitationKit;

namespace Mimi.Discovery.Server.Tests.Invitations;

/// <summary>Invitations by email over a real SMTP server (aiosmtpd): delivered with their link, and a refused recipient answered alike with nothing quoted in the logs.</summary>
public sealed class InvitationMailTests(SmtpServer smtp) : IClassFixture<SmtpServer>
{
    private static async Task<DpHost.Recipient> RegisterByMailAsync(DpHost dp, SmtpServer server, string address)
    {
        var csi = CsiParser.ParseOrThrow(address);
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var proof = await dp.Client.StartProofAsync(csi, key);
        var mail = server.Messages().Single(m => m.To.Mailboxes.Any(b => b.Address == address));
        var code = System.Text.RegularExpressions.Regex.Match(mail.TextBody ?? "", @"\b\d{6}\b").Value;
        var credential = X509Certificate2.CreateFromPem((await dp.Client.AnswerProofAsync(proof.ProofId, code)).Credential);
        return new DpHost.Recipient(csi, key, credential, new StatementSigner(key, credential, time: dp.Clock));
    }

    private static Task<DpHost> StartAsync(int port, LogCapture? logs = null) =>
        DpHost.StartAsync(o =>
        {
            o.Dev = false;
            o.RequireTokens = false;
            o.EpochInterval = TimeSpan.FromDays(1);
            o.Smtp = new SmtpOptions { Host = "127.0.0.1", Port = port, Security = SecureSocketOptions.None, From = "DP <no-reply@dp.example>" };
        }, logs: logs);

    [Fact]
    public async Task Invite_Email_ArrivesByRealSmtpWithItsLink_AndAPhoneHasNoChannel()
    {
        Assert.SkipWhen(smtp.Unavailable is not null, smtp.Unavailable ?? "");
        await using var dp = await StartAsync(smtp.Port);
        var alice = await RegisterByMailAsync(dp, smtp, "alice@example.com");

        await AcceptedAsync(dp, Sign(dp, alice, "Carol@Example.com"));

        // The Maildir lists files in no particular order: the message is picked by its recipient.
        var mail = smtp.Messages().Single(m => m.To.Mailboxes.Any(b => b.Address == "carol@example.com"));
        Assert.Equal("An invitation to get in touch", mail.Subject);
        var link = System.Text.RegularExpressions.Regex.Match(mail.TextBody ?? "", @"https://\S+/v1/invitations#[A-Za-z0-9_-]{22}").Value;
        Assert.True(Client.DiscoveryClient.TryParseInvitationLink(link, out _, out var code), mail.TextBody);
        var fetched = await dp.Client.GetInvitationAsync(code);
        Assert.True((await RecipientVerifierAsync(dp)).VerifyInvitation(fetched.Invitation, dp.Clock.GetUtcNow()).IsValid);

        using var toPhone = await PostAsync(dp, Sign(dp, alice, "+33612345678"));
        await ProblemAssert.IsProblemAsync(toPhone, 501, "channel-unavailable");
    }

    [Fact]
    public async Task Invite_RecipientRejectedBySmtp_AnsweredAlike_LinkDropped_LogsQuoteNothing()
    {
        Assert.SkipWhen(smtp.Unavailable is not null, smtp.Unavailable ?? "");
        await using var rejecting = new RejectingSmtpServer();
        await rejecting.InitializeAsync();
        var logs = new LogCapture();
        await using var dp = await StartAsync(rejecting.Port, logs);
        using var authority = dp.LoadAuthority();
        var invitation = Sign(dp, SignerFor(dp, authority, "alice@example.com"), "someone@example.org");

        var accepted = await AcceptedAsync(dp, invitation);

        Assert.Equal("accepted", accepted.GetProperty("status").GetString());
        var stored = await dp.Service<IInvitationStore>().GetInvitationAsync(accepted.GetProperty("id").GetString()!, default);
        Assert.NotNull(stored);
        Assert.Null(stored.Invitation);
        Assert.Null(stored.CodeHash);
        Assert.Contains(logs.Lines, l => l.Id.Id == 1411 && l.Text.Contains("SMTP 550", StringComparison.Ordinal));
        LogPrivacyTests.AssertNowhere(logs, string.Empty, "someone", "example.org", "alice", "Recipient address rejected", invitation.Split('.')[2]);
    }

    // A credential straight from the DP's CA: the rejecting server would refuse Alice's own proof mail too.
    private static DpHost.Recipient SignerFor(DpHost dp, Credentials.CredentialAuthority authority, string address)
    {
        var csi = CsiParser.ParseOrThrow(address);
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var credential = authority.IssueCredential(csi, key, TimeSpan.FromDays(30));
        return new DpHost.Recipient(csi, key, credential, new StatementSigner(key, credential, time: dp.Clock));
    }
}

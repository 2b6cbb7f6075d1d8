using System.CommandLine;
using Mimi.Discovery.Client;
using Mimi.Discovery.Credentials;
using Mimi.Discovery.Statements;
using Mimi.Discovery.Verification;

namespace Mimi.Discovery.Cli.Commands;

/// <summary>
/// <c>mimi-discovery invitation</c> (docs/protocol.md §14, README "Inviting someone"): <c>send</c> asks a
/// DP to invite an identifier whose lookup said <c>none</c>; <c>show</c> and <c>verify</c> check an
/// invitation a link points to; <c>answer</c> reads whether it was answered; <c>refuse</c> says "never invite me".
/// </summary>
internal static class InvitationCommand
{
    public static Command Create()
    {
        var command = new Command("invitation", "Invite someone whose lookup said none (send), check an invitation you received (show, verify), see whether yours was answered (answer), or refuse invitations (refuse).");
        command.Subcommands.Add(Send());
        command.Subcommands.Add(Show("show", "Fetch an invitation by its link, verify it (signature, credential chain, expiry) and print who invites you and where to reach them."));
        command.Subcommands.Add(Show("verify", "Fetch an invitation by its link and verify it (signature, credential chain, expiry); exit 0 only when valid."));
        command.Subcommands.Add(AnswerStatus());
        command.Subcommands.Add(Refuse());
        return command;
    }

    private static Command Send()
    {
        var to = new Argument<string>("csi") { Description = "The phone number or email address to invite." };
        var from = new Option<string>("--from") { Description = "Your CSI: the one your stored credential binds (register it first).", Required = true };
        var services = new Option<string[]>("--service") { Description = "Where you can be reached, as register's --service (repeatable). Default: the entries of your own published mapping." };
        var days = new Option<int>("--valid-days") { Description = "Days the invitation stays valid.", DefaultValueFactory = _ => (int)Invitation.DefaultLifetime.TotalDays };
        var noAnswer = new Option<bool>("--no-answer") { Description = "Name no callback: the recipient cannot tell you they registered." };
        var dp = Cli.DpOption();
        var ca = Cli.CaOption();
        var tokenAccount = TokensCommand.AccountOption();
        var home = RegisterCommand.KeysOption();
        var command = new Command("send", "Sign an invitation with your credential and ask the DP to deliver it (by SMS or email). The DP answers the same whether it delivers it or, honouring the recipient, does not.") { to, from, services, days, noAnswer, dp, ca, tokenAccount, home };
        command.SetAction((result, cancellationToken) => Cli.RunAsync(async () =>
        {
            var sender = RegisterCommand.ParseCsi(result.GetValue(from)!);
            var recipient = RegisterCommand.ParseCsi(result.GetValue(to)!);
            if (result.GetValue(days) is < 1 or > 30)
            {
                throw new UsageException("--valid-days is 1 to 30");
            }

            var store = new KeyStore(result.GetValue(home)!.FullName);
            using var key = store.LoadKey() ?? throw new UsageException($"no key in {store.Path}; register {sender} first");
            var credential = store.LoadCredential(sender) ?? throw new UsageException($"{store.Path} holds no credential for {sender}; register it first");
            if (!Credential.TryParse(credential, out var parsed, out var reason) || parsed.NotAfter <= TimeProvider.System.GetUtcNow())
            {
                throw new UsageException($"your credential for {sender} is not usable ({(reason.Length > 0 ? reason : "expired")}); register again");
            }

            using var wallet = result.GetValue(tokenAccount) is { } account ? Cli.WalletFor(result.GetValue(dp)!, result.GetValue(ca), account) : null;
            var client = await Cli.ConnectAsync(result.GetValue(dp)!, result.GetValue(ca), null, null, wallet, cancellationToken).ConfigureAwait(false);
            var metadata = await client.GetMetadataAsync(cancellationToken).ConfigureAwait(false);
            var reach = (result.GetValue(services) ?? []).Select(ServiceSpec.Parse).ToList();
            if (reach.Count == 0)
            {
                // The sender's own mapping: what a lookup of her CSI shows, verified.
                var anchors = TrustAnchors.FromPem(string.Join('\n', metadata.CredentialCas));
                var own = await client.LookupAsync([sender.Uri], new StatementVerifier(anchors), cancellationToken: cancellationToken).ConfigureAwait(false);
                reach = own[0].Mappings.SelectMany(m => m.Entries).Select(e => e with { Audience = null }).DistinctBy(e => (e.Service, e.Account)).Take(MappingDraft.MaxEntries).ToList();
                if (reach.Count == 0)
                {
                    throw new UsageException($"{sender} has no published mapping with services to put in the invitation; give --service");
                }
            }

            var id = Invitation.NewId();
            string invitation;
            try
            {
                invitation = new StatementSigner(key, credential).SignInvitation(new InvitationDraft(recipient, reach)
                {
                    Id = id,
                    Lifetime = TimeSpan.FromDays(result.GetValue(days)),
                    Callback = result.GetValue(noAnswer) ? null : Invitation.CallbackAt(metadata.Api, id),
                });
            }
            catch (ArgumentException e)
            {
                throw new UsageException(e.Message);
            }

            var accepted = await client.InviteAsync(invitation, cancellationToken).ConfigureAwait(false);
            Console.WriteLine($"Invitation {accepted.Id} to {recipient} accepted by the DP. It is delivered unless {recipient} was invited in the last period or does not want invitations; you are not told which.");
            if (accepted.Answer is not null)
            {
                Console.WriteLine($"See whether it was answered: mimi-discovery invitation answer {accepted.Id} --dp {result.GetValue(dp)}");
            }

            return 0;
        }));
        return command;
    }

    private static Command Show(string name, string description)
    {
        var link = new Argument<string>("link") { Description = "The link from the message (https://…/v1/invitations#<code>), or - to read it from standard input." };
        var recipient = new Option<string?>("--as") { Description = "Your CSI: the invitation must be for it." };
        var trust = Cli.TrustOption();
        var ca = Cli.CaOption();
        var command = new Command(name, description) { link, recipient, trust, ca };
        command.SetAction((result, cancellationToken) => Cli.RunAsync(async () =>
        {
            var me = result.GetValue(recipient) is { } r ? RegisterCommand.ParseCsi(r) : null;
            var text = result.GetValue(link)!;
            if (text == "-")
            {
                text = (await Console.In.ReadToEndAsync(cancellationToken).ConfigureAwait(false)).Trim();
            }

            var verdict = await FetchAsync(text, result.GetValue(trust), result.GetValue(ca), cancellationToken).ConfigureAwait(false);
            if (!verdict.IsValid)
            {
                return Cli.Fail($"not verified ({Cli.JsonValue(verdict.Status)}): {verdict.Reason}", Cli.NotVerified);
            }

            var invitation = verdict.Statement;
            if (me is not null && invitation.Recipient != me)
            {
                return Cli.Fail($"not verified ({Cli.JsonValue(VerificationStatus.NotForRecipient)}): the invitation is for {invitation.Recipient}, not {me}", Cli.NotVerified);
            }

            if (name == "verify")
            {
                Console.WriteLine($"valid: invitation from {invitation.Sender} to {invitation.Recipient}, until {invitation.ExpiresAt:u}, under a credential issued by {invitation.Credential.Certificate.Issuer}");
                return 0;
            }

            Console.WriteLine($"{invitation.Sender} invites {invitation.Recipient} to get in touch.");
            Console.WriteLine($"  verified: signature and credential (issued by {invitation.Credential.Certificate.Issuer}); valid until {invitation.ExpiresAt:u}");
            foreach (var entry in invitation.Reach.OrderBy(e => e.Priority))
            {
                Console.WriteLine($"  reach them on {entry.Service}{(entry.Account is null ? "" : " " + entry.Account)}{(entry.Endpoint is null ? "" : " at " + entry.Endpoint)}{(entry.Tags.Count == 0 ? "" : " [" + string.Join(", ", entry.Tags) + "]")} (priority {entry.Priority})");
            }

            Console.WriteLine(invitation.Callback is null
                ? "  the sender asked for no answer"
                : $"  to tell them you registered: mimi-discovery register --from-invitation {text} --dp <your DP> --service …");
            return 0;
        }));
        return command;
    }

    private static Command AnswerStatus()
    {
        var id = new Argument<string>("id") { Description = "The invitation id `invitation send` printed." };
        var dp = Cli.DpOption();
        var ca = Cli.CaOption();
        var trust = Cli.TrustOption();
        var command = new Command("answer", "Whether the recipient answered your invitation, with their caller assertion verified.") { id, dp, ca, trust };
        command.SetAction((result, cancellationToken) => Cli.RunAsync(async () =>
        {
            if (!Invitation.IsWellFormedId(result.GetValue(id)))
            {
                throw new UsageException("an invitation id is 22 base64url characters, as `invitation send` printed it");
            }

            var client = Cli.Connect(result.GetValue(dp)!, result.GetValue(ca));
            var status = await client.GetInvitationAnswerAsync(result.GetValue(id)!, cancellationToken).ConfigureAwait(false);
            if (!status.Answered || status.Assertion is null)
            {
                Console.WriteLine($"Invitation {status.Id}: no answer yet");
                return 0;
            }

            // Checked as of when the DP took it: an answer stays true after its 60 seconds of freshness.
            var anchors = await Cli.CredentialAnchorsAsync(client, result.GetValue(trust), cancellationToken).ConfigureAwait(false);
            var verdict = new StatementVerifier(anchors).VerifyCallerAssertion(status.Assertion, status.AnsweredAt ?? TimeProvider.System.GetUtcNow());
            if (!verdict.IsValid)
            {
                return Cli.Fail($"the answer does not verify ({Cli.JsonValue(verdict.Status)}): {verdict.Reason}", Cli.NotVerified);
            }

            Console.WriteLine($"Invitation {status.Id}: answered by {verdict.Statement.Originator} at {status.AnsweredAt:u} (verified); look them up now");
            return 0;
        }));
        return command;
    }

    private static Command Refuse()
    {
        var csiArgument = new Argument<string>("csi") { Description = "Your phone number or email address." };
        var accept = new Option<bool>("--accept") { Description = "Accept invitations again instead." };
        var dp = Cli.DpOption();
        var ca = Cli.CaOption();
        var home = RegisterCommand.KeysOption();
        var command = new Command("refuse", "Tell the DP never to deliver invitations to your identifier (proving control of it first if needed). Senders are not told.") { csiArgument, accept, dp, ca, home };
        command.SetAction((result, cancellationToken) => Cli.RunAsync(async () =>
        {
            var csi = RegisterCommand.ParseCsi(result.GetValue(csiArgument)!);
            var client = Cli.Connect(result.GetValue(dp)!, result.GetValue(ca));
            var store = new KeyStore(result.GetValue(home)!.FullName);
            using var key = store.GetOrCreateKey(out _);
            var credential = await new MappingPublisher(client, store, key).EnsureCredentialAsync(csi, RegisterCommand.ReadCodeAsync, cancellationToken).ConfigureAwait(false);
            var statement = new StatementSigner(key, credential.Certificate).SignInvitationPreference(refuse: !result.GetValue(accept));
            var receipt = await client.SetInvitationPreferenceAsync(statement, cancellationToken).ConfigureAwait(false);
            Console.WriteLine(receipt.Invitations == "refuse"
                ? $"{receipt.Csi}: this DP delivers no invitation to you any more"
                : $"{receipt.Csi}: this DP delivers invitations to you again");
            return 0;
        }));
        return command;
    }

    /// <summary>Fetches the invitation a link points to and verifies it against <paramref name="trust"/>, else the CAs that DP advertises.</summary>
    internal static async Task<VerificationResult<Invitation>> FetchAsync(string link, FileInfo[]? trust, FileInfo? ca, CancellationToken cancellationToken)
    {
        if (!DiscoveryClient.TryParseInvitationLink(link, out var dp, out var code))
        {
            throw new UsageException("the link is not an invitation link (https://…/v1/invitations#<22 characters>); copy it whole from the message");
        }

        var client = Cli.Connect(dp.AbsoluteUri, ca);
        var document = await client.GetInvitationAsync(code, cancellationToken).ConfigureAwait(false);
        var anchors = await Cli.CredentialAnchorsAsync(client, trust, cancellationToken).ConfigureAwait(false);
        return new StatementVerifier(anchors).VerifyInvitation(document.Invitation, TimeProvider.System.GetUtcNow());
    }
}

using System.CommandLine;
using Mimi.Discovery.Client;
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Statements;

namespace Mimi.Discovery.Cli.Commands;

/// <summary>
/// <c>mimi-discovery register</c>: proves control of a CSI (once per credential), then signs and
/// publishes a mapping of it to the given services. Running it again publishes version + 1.
/// </summary>
internal static class RegisterCommand
{
    public static Command Create()
    {
        var csiArgument = new Argument<string?>("csi") { Description = "Phone number (+…) or email address to register (with --from-invitation: the invited one, by default).", Arity = ArgumentArity.ZeroOrOne };
        var fromInvitation = new Option<string?>("--from-invitation") { Description = "The link of an invitation you received: it is verified, names the identifier to register, and after publishing the sender is told once (if the invitation asks for it)." };
        var dp = Cli.DpOption();
        var ca = Cli.CaOption();
        var services = new Option<string[]>("--service") { Description = "A service: name[,endpoint=URI][,account=ID][,priority=N][,tags=a+b][,pv=V][,audience=same-service|a+b][,sealed-for=ROUTE-KEY]. Repeat for several.", AllowMultipleArgumentsPerToken = false };
        var optOut = new Option<bool>("--opt-out") { Description = "Publish \"reachable nowhere\" instead of services." };
        var audience = new Option<string>("--audience") { Description = "Who may see it: any, same-service, or services joined by '+'.", DefaultValueFactory = _ => "any" };
        var supersede = new Option<bool>("--supersede") { Description = "You are the identifier's new owner: remove mappings under older credentials." };
        var renew = new Option<bool>("--renew") { Description = "Renew: prove control again for a new credential, and republish the mappings you last published for the CSI (same entries, version + 1)." };
        var home = KeysOption();
        var command = new Command("register", "Prove control of a CSI and publish its mapping to your services. The code the DP sends is asked for on the terminal, or read from the first line of standard input when it is piped.") { csiArgument, dp, services, optOut, audience, supersede, ca, home, fromInvitation, renew };
        command.SetAction((result, cancellationToken) => Cli.RunAsync(async () =>
        {
            if (result.GetValue(renew))
            {
                return await RenewAsync(result, csiArgument, dp, ca, home, (result.GetValue(services) ?? []).Length > 0 || result.GetValue(optOut) || result.GetValue(supersede) || result.GetValue(fromInvitation) is not null, cancellationToken).ConfigureAwait(false);
            }

            var invitation = result.GetValue(fromInvitation) is { } link ? await InvitedAsync(link, result.GetValue(ca), cancellationToken).ConfigureAwait(false) : null;
            var csi = result.GetValue(csiArgument) is { } given ? ParseCsi(given)
                : invitation?.Recipient ?? throw new UsageException("give the phone number or email address to register, or --from-invitation");
            if (invitation is not null && invitation.Recipient != csi)
            {
                throw new UsageException($"the invitation is for {invitation.Recipient}, not {csi}");
            }

            var specs = result.GetValue(services) ?? [];
            if (result.GetValue(optOut) == (specs.Length > 0))
            {
                throw new UsageException("give --service at least once, or --opt-out, but not both");
            }

            var (entries, sealedRoutes) = RouteKeysCommand.Split(specs, result.GetValue(home)!.FullName, csi);
            if (!Audience.TryParse(result.GetValue(audience), out var parsedAudience, out var audienceProblem))
            {
                throw new UsageException("--audience: " + audienceProblem);
            }

            var client = Cli.Connect(result.GetValue(dp)!, result.GetValue(ca));
            var store = new KeyStore(result.GetValue(home)!.FullName);
            using var key = store.GetOrCreateKey(out var created);
            if (created)
            {
                Console.Error.WriteLine($"Created your signing key in {store.Path}");
            }

            var publisher = new MappingPublisher(client, store, key);
            var credential = await publisher.EnsureCredentialAsync(csi, ReadCodeAsync, cancellationToken).ConfigureAwait(false);
            if (credential.Issued)
            {
                Console.Error.WriteLine($"Credential for {csi} stored in {store.Path}");
            }

            var draft = new MappingDraft(csi, publisher.NextVersion(csi, parsedAudience), entries) { Audience = parsedAudience, Supersede = result.GetValue(supersede), SealedRoutes = sealedRoutes };
            var receipt = await publisher.PublishAsync(draft, credential.Certificate, cancellationToken).ConfigureAwait(false);
            Console.WriteLine($"Published {csi} version {receipt.Version} ({RouteKeysCommand.Describe(entries, sealedRoutes)}); mapping {receipt.MappingId}"
                + (receipt.Epoch is { } epoch ? $"; due in transparency epoch {epoch} at the latest" : ""));
            if (receipt.Superseded.Count > 0)
            {
                Console.WriteLine($"Superseded {receipt.Superseded.Count} older mapping(s)");
            }

            if (invitation?.Callback is { } callback)
            {
                // The answer: a caller assertion from the invited identifier to the sender, taken once.
                var assertion = new StatementSigner(key, credential.Certificate).SignCallerAssertion([invitation.Sender]);
                try
                {
                    await Cli.Connect(callback.GetLeftPart(UriPartial.Authority), result.GetValue(ca)).AnswerInvitationAsync(callback, assertion, cancellationToken).ConfigureAwait(false);
                }
                catch (DiscoveryException e)
                {
                    return Cli.Fail($"published, but {invitation.Sender} could not be told: {Cli.Describe(e)}");
                }

                Console.WriteLine($"Told {invitation.Sender} (who invited you) that you registered");
            }

            return 0;
        }));
        return command;
    }

    /// <summary><c>register --renew</c>: a new credential, and the last published mappings again under it.</summary>
    private static async Task<int> RenewAsync(ParseResult result, Argument<string?> csiArgument, Option<string> dp, Option<FileInfo?> ca, Option<DirectoryInfo> home, bool mixed, CancellationToken cancellationToken)
    {
        if (mixed)
        {
            throw new UsageException("--renew republishes what you last published; give it without --service, --opt-out, --supersede or --from-invitation");
        }

        var csi = result.GetValue(csiArgument) is { } given ? ParseCsi(given) : throw new UsageException("give the phone number or email address to renew");
        var store = new KeyStore(result.GetValue(home)!.FullName);
        using var key = store.LoadKey() ?? throw new UsageException($"your key folder {store.Path} holds no key; register first");
        var publisher = new MappingPublisher(Cli.Connect(result.GetValue(dp)!, result.GetValue(ca)), store, key);
        var renewal = await publisher.RenewAsync(csi, ReadCodeAsync, cancellationToken).ConfigureAwait(false);
        Console.WriteLine($"Renewed {csi}: credential valid until {renewal.Credential.Certificate.NotAfter.ToUniversalTime():u}; republished {renewal.Receipts.Count} mapping(s)"
            + string.Concat(renewal.Receipts.Select(r => $"; {r.MappingId} version {r.Version}")));
        return 0;
    }

    /// <summary>The invitation behind <paramref name="link"/>, verified against the CAs its DP advertises; a one-line reason otherwise.</summary>
    private static async Task<Invitation> InvitedAsync(string link, FileInfo? ca, CancellationToken cancellationToken)
    {
        var verdict = await InvitationCommand.FetchAsync(link, null, ca, cancellationToken).ConfigureAwait(false);
        return verdict.IsValid ? verdict.Statement : throw new UsageException($"the invitation does not verify ({Cli.JsonValue(verdict.Status)}): {verdict.Reason}");
    }

    internal static Option<DirectoryInfo> KeysOption() =>
        new("--keys") { Description = "Your key folder (default: $MIMI_DISCOVERY_HOME, else $XDG_CONFIG_HOME/mimi-discovery, else ~/.config/mimi-discovery).", DefaultValueFactory = _ => new DirectoryInfo(KeyStore.DefaultPath) };

    internal static Csi ParseCsi(string input)
    {
        var parsed = CsiParser.Parse(input);
        return parsed.Success ? parsed.Csi : throw new UsageException($"'{input}' is not a CSI: {parsed.Reason}");
    }

    // The code prompt: the terminal shows it; piped, the code is the first line of standard input.
    internal static ValueTask<string> ReadCodeAsync(ProofStarted proof, Csi csi, CancellationToken cancellationToken)
    {
        if (!Console.IsInputRedirected)
        {
            Console.Error.Write($"Code sent by {proof.Channel} to {csi}: ");
        }

        var line = Console.In.ReadLine();
        return string.IsNullOrWhiteSpace(line)
            ? throw new UsageException("no code on standard input")
            : ValueTask.FromResult(line.Trim());
    }
}

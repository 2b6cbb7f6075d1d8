using System.CommandLine;
using Mimi.Discovery.Client;
using Mimi.Discovery.Credentials;
using Mimi.Discovery.Statements;
using Mimi.Discovery.Verification;

namespace Mimi.Discovery.Cli.Commands;

/// <summary>
/// <c>mimi-discovery assert</c>: signs a caller assertion (an RFC 8225 PASSporT carrying your
/// credential) saying you are calling or writing to someone; <c>assert verify</c> checks one as its
/// recipient. docs/protocol.md, "Caller assertions".
/// </summary>
internal static class AssertCommand
{
    public static Command Create()
    {
        var from = new Option<string>("--from") { Description = "Your CSI: the one your stored credential binds (register it first).", Required = true };
        var to = new Option<string[]>("--to") { Description = "The recipient's CSI (repeatable, or comma-separated).", Required = true, AllowMultipleArgumentsPerToken = true };
        var home = RegisterCommand.KeysOption();
        var command = new Command("assert", "Sign a caller assertion (RFC 8225 PASSporT) with your credential; prints it. 'assert verify' checks one.") { from, to, home };
        command.SetAction((result, _) => Cli.RunAsync(() =>
        {
            var originator = RegisterCommand.ParseCsi(result.GetValue(from)!);
            var destinations = result.GetValue(to)!.SelectMany(t => t.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                .Select(RegisterCommand.ParseCsi).Distinct().ToList();
            var store = new KeyStore(result.GetValue(home)!.FullName);
            using var key = store.LoadKey() ?? throw new UsageException($"no key in {store.Path}; register {originator} first");
            var credential = store.LoadCredential(originator) ?? throw new UsageException($"{store.Path} holds no credential for {originator}; register it first");
            if (!Credential.TryParse(credential, out var parsed, out var reason))
            {
                throw new UsageException($"the stored credential for {originator} is not usable: {reason}; register again");
            }

            if (parsed.NotAfter <= TimeProvider.System.GetUtcNow())
            {
                throw new UsageException($"your credential for {originator} expired at {parsed.NotAfter:u}; register again to renew it");
            }

            string assertion;
            try
            {
                assertion = new StatementSigner(key, credential).SignCallerAssertion(destinations);
            }
            catch (ArgumentException e)
            {
                throw new UsageException(e.Message);
            }

            Console.WriteLine(assertion);
            return Task.FromResult(0);
        }));
        command.Subcommands.Add(Verify());
        return command;
    }

    private static Command Verify()
    {
        var jws = new Argument<string>("assertion") { Description = "The assertion (compact JWS), or - to read it from standard input." };
        var recipient = new Option<string>("--as") { Description = "Your CSI: the recipient the assertion must name.", Required = true };
        var trust = Cli.TrustOption();
        var dp = new Option<string?>("--dp") { Description = "Trust the credential CAs this DP advertises (instead of --trust)." };
        var ca = Cli.CaOption();
        var freshness = new Option<int>("--max-age") { Description = "Seconds an assertion stays acceptable after it was signed.", DefaultValueFactory = _ => (int)CallerAssertion.DefaultFreshness.TotalSeconds };
        var command = new Command("verify", "Check a caller assertion addressed to you: signature, credential chain, caller, recipient, freshness.") { jws, recipient, trust, dp, ca, freshness };
        command.SetAction((result, cancellationToken) => Cli.RunAsync(async () =>
        {
            var me = RegisterCommand.ParseCsi(result.GetValue(recipient)!);
            var text = result.GetValue(jws)!;
            if (text == "-")
            {
                text = (await Console.In.ReadToEndAsync(cancellationToken).ConfigureAwait(false)).Trim();
            }

            if (result.GetValue(freshness) <= 0)
            {
                throw new UsageException("--max-age must be a positive number of seconds");
            }

            var anchors = await Cli.CredentialAnchorsAsync(result.GetValue(dp) is { } url ? Cli.Connect(url, result.GetValue(ca)) : null, result.GetValue(trust), cancellationToken).ConfigureAwait(false);
            var verifier = new CallerAssertionVerifier(new StatementVerifier(anchors), freshness: TimeSpan.FromSeconds(result.GetValue(freshness)));
            var verdict = verifier.Verify(text, me);
            if (!verdict.IsValid)
            {
                return Cli.Fail($"not verified ({Cli.JsonValue(verdict.Status)}): {verdict.Reason}", Cli.NotVerified);
            }

            var assertion = verdict.Statement;
            Console.WriteLine($"valid: {assertion.Originator} to {string.Join(", ", assertion.Destinations)}, signed {assertion.IssuedAt:u} under a credential issued by {assertion.Credential.Certificate.Issuer}");
            return 0;
        }));
        return command;
    }
}

using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Mimi.Discovery.Credentials;
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Server.Mappings;
using Mimi.Discovery.Server.Storage;
using Mimi.Discovery.Statements;
using Spectre.Console;

namespace Mimi.Discovery.Cli.Commands;

/// <summary>
/// <c>mimi-discovery csip</c>: CSIPs (telcos, email domains) that may remove and reassign their
/// identifiers on a DP (docs/operations.md, "CSIP onboarding"). <c>add</c>, <c>list</c> and
/// <c>revoke</c> run on the server like <c>accounts</c>; <c>feed</c> runs at the CSIP and sends a signed
/// reassignment feed (docs/protocol.md §16).
/// </summary>
internal static class CsipCommand
{
    public static Command Create() => new("csip", "Onboard the identifiers' operators (CSIPs) on a DP you operate, and send their reassignment feeds.")
    {
        Add(),
        List(),
        Revoke(),
        Feed(),
    };

    private static Command Add()
    {
        var name = new Option<string>("--name") { Description = "The CSIP's name, shown to monitors as the signer of its removals (1–64 characters, no spaces or commas).", Required = true };
        var scope = new Option<string>("--scope") { Description = "What it operates: number prefixes and email domains, comma-separated (e.g. +3361,+3362 or example.com).", Required = true };
        var key = new Option<FileInfo>("--key") { Description = "PEM file of the CSIP's P-256 public key (a private key file works too; only its public part is used).", Required = true };
        var lifetime = new Option<string>("--lifetime") { Description = "How long the credential is valid: e.g. 30d, 90d (at most 366d).", DefaultValueFactory = _ => "90d" };
        var output = new Option<FileInfo?>("--out") { Description = "Write the credential (PEM) to this file rather than to standard output." };
        var (data, database) = AccountsCommand.StoreOptions();
        var command = new Command("add", "Issue a CSIP credential limited to its scope with this DP's CA, keep it in the DP's store, and print it.") { name, scope, key, lifetime, output, data, database };
        command.SetAction((result, cancellationToken) => Cli.RunAsync(async () =>
        {
            var csipName = result.GetValue(name)!.Trim();
            if (!CsipOnboarding.IsValidName(csipName))
            {
                throw new UsageException("--name is 1–64 characters without spaces, commas or control characters");
            }

            var csipScope = ParseScope(result.GetValue(scope)!);
            var life = AccountsCommand.ParseWindow(result.GetValue(lifetime)!, "--lifetime");
            if (life > CsipOnboarding.MaxLifetime)
            {
                throw new UsageException($"--lifetime is at most {CsipOnboarding.MaxLifetime.TotalDays:0}d");
            }

            using var publicKey = LoadKey(result.GetValue(key)!, "--key");
            var folder = Path.GetFullPath(result.GetValue(data)!);
            var caCertificate = Path.Combine(folder, "ca.crt");
            var caKey = Path.Combine(folder, "ca.key");
            if (!File.Exists(caCertificate) || !File.Exists(caKey))
            {
                throw new UsageException($"{folder} holds no credential CA (ca.crt, ca.key): start the DP once with `serve --data {result.GetValue(data)}`");
            }

            using var authority = CredentialAuthority.FromPem(File.ReadAllText(caCertificate), File.ReadAllText(caKey));
            X509Certificate2 credential;
            StoredCsip row;
            try
            {
                (credential, row) = CsipOnboarding.Issue(authority, csipName, csipScope, publicKey, life, TimeProvider.System);
            }
            catch (ArgumentException e)
            {
                throw UsageException.From(e, "--key: ");
            }

            using (credential)
            {
                var store = await AccountsCommand.OpenAsync(result.GetValue(data)!, result.GetValue(database), cancellationToken).ConfigureAwait(false);
                try
                {
                    await ((ICsipStore)store).AddCsipAsync(row, cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    (store as IDisposable)?.Dispose();
                }

                Console.Error.WriteLine($"Onboarded CSIP '{csipName}' for {csipScope} until {credential.NotAfter.ToUniversalTime():u}; its removals and reassignment feeds are accepted from now on.");
                if (result.GetValue(output) is { } file)
                {
                    await File.WriteAllTextAsync(file.FullName, row.Credential, cancellationToken).ConfigureAwait(false);
                    Console.Error.WriteLine($"Credential written to {file.FullName}");
                }
                else
                {
                    Console.Write(row.Credential);
                }
            }

            return 0;
        }));
        return command;
    }

    private static Command List()
    {
        var (data, database) = AccountsCommand.StoreOptions();
        var command = new Command("list", "List the onboarded CSIPs, their scopes and credentials.") { data, database };
        command.SetAction((result, cancellationToken) => Cli.RunAsync(async () =>
        {
            var store = await AccountsCommand.OpenAsync(result.GetValue(data)!, result.GetValue(database), cancellationToken).ConfigureAwait(false);
            IReadOnlyList<StoredCsip> csips;
            try
            {
                csips = await ((ICsipStore)store).ListCsipsAsync(cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                (store as IDisposable)?.Dispose();
            }

            if (csips.Count == 0)
            {
                Console.WriteLine("No CSIPs.");
                return 0;
            }

            var table = new Table().AddColumns("name", "scope", "status", "expires", "onboarded", "credential (SHA-256)");
            foreach (var c in csips)
            {
                table.AddRow(Markup.Escape(c.Name), Markup.Escape(c.Scope.Replace(",", ", ", StringComparison.Ordinal)),
                    c.RevokedAt is { } revoked ? "revoked " + Time(revoked) : "active", Time(c.NotAfter), Time(c.CreatedAt), c.Thumbprint[..16]);
            }

            Cli.WriteTable(table);
            return 0;
        }));
        return command;
    }

    private static Command Revoke()
    {
        var name = new Argument<string>("name") { Description = "The CSIP whose credentials stop working at once." };
        var (data, database) = AccountsCommand.StoreOptions();
        var command = new Command("revoke", "Revoke a CSIP: its removals and feeds are refused from now on (csip-revoked).") { name, data, database };
        command.SetAction((result, cancellationToken) => Cli.RunAsync(async () =>
        {
            var store = await AccountsCommand.OpenAsync(result.GetValue(data)!, result.GetValue(database), cancellationToken).ConfigureAwait(false);
            try
            {
                var revoked = await ((ICsipStore)store).RevokeCsipAsync(result.GetValue(name)!, TimeProvider.System.GetUtcNow().ToUnixTimeSeconds(), cancellationToken).ConfigureAwait(false);
                if (revoked == 0)
                {
                    return Cli.Fail($"no active CSIP named '{result.GetValue(name)}' (see `csip list`)");
                }

                Console.WriteLine($"Revoked CSIP '{result.GetValue(name)}' ({revoked} credential(s))");
                return 0;
            }
            finally
            {
                (store as IDisposable)?.Dispose();
            }
        }));
        return command;
    }

    private static Command Feed()
    {
        var file = new Argument<FileInfo>("file") { Description = "The numbers that changed hands: one per line, 'NUMBER TIME' (e.g. +33612345678 2026-12-01T09:30:00Z; TIME also as Unix seconds); # starts a comment." };
        var (key, credential) = CsipSigningOptions();
        var dp = Cli.DpOption();
        var ca = Cli.CaOption();
        var id = new Option<string?>("--id") { Description = "The feed's id (jti); a random one when omitted. A DP applies an id once." };
        var command = new Command("feed", "Sign a reassignment feed as the CSIP and send it; prints what the DP did for each number, and exits 1 if it refused any.") { file, key, credential, dp, ca, id };
        command.SetAction((result, cancellationToken) => Cli.RunAsync(async () =>
        {
            var reassignments = ReadFeedFile(result.GetValue(file)!);
            var signer = Signer(result.GetValue(key)!, result.GetValue(credential)!);

            if (reassignments.Count > ReassignmentFeed.MaxReassignments)
            {
                throw new UsageException($"{result.GetValue(file)!.Name} lists {reassignments.Count} numbers; a feed holds at most {ReassignmentFeed.MaxReassignments}: split the file");
            }

            string feed;
            try
            {
                feed = signer.SignReassignmentFeed(reassignments, result.GetValue(id));
            }
            catch (ArgumentException e)
            {
                throw UsageException.From(e, result.GetValue(file)!.Name + ": ");
            }

            var client = Cli.Connect(result.GetValue(dp)!, result.GetValue(ca));
            var receipt = await client.SubmitReassignmentFeedAsync(feed, cancellationToken).ConfigureAwait(false);
            foreach (var r in receipt.Results)
            {
                Console.WriteLine($"{r.Csi} {r.Result}" + (r.Removed.Count > 0 ? $" ({r.Removed.Count} mapping(s) removed)" : ""));
            }

            var refused = receipt.Results.Count(r => r.Result == ReassignmentResults.NotInScope);
            Console.Error.WriteLine($"Feed {receipt.Feed} applied as CSIP '{receipt.Csip}': {receipt.Results.Count(r => r.Result == ReassignmentResults.Applied)} number(s) with mappings removed, "
                                    + $"{receipt.Results.Count(r => r.Result == ReassignmentResults.NothingToRemove)} with none" + (receipt.Epoch is { } epoch ? $"; due in transparency epoch {epoch} at the latest" : ""));
            return refused > 0 ? Cli.Fail($"{refused} number(s) refused: outside the CSIP's scope ({signer.Credential.Scope})") : 0;
        }));
        return command;
    }

    /// <summary>The CSIP's private key (<paramref name="keyOption"/>) and its CSIP credential (<c>--credential</c>).</summary>
    internal static (Option<FileInfo> Key, Option<FileInfo> Credential) CsipSigningOptions(string keyOption = "--key", bool required = true) =>
        (new Option<FileInfo>(keyOption) { Description = "PEM file of the CSIP's private key.", Required = required },
         new Option<FileInfo>("--credential") { Description = "PEM file of the CSIP credential the DP's operator issued (`csip add`).", Required = required });

    /// <summary>A signer for the CSIP's key and credential files, acting for <paramref name="csi"/>: refused in one line when the credential's scope does not cover it.</summary>
    internal static StatementSigner Signer(FileInfo keyFile, FileInfo credentialFile, Csi csi)
    {
        var signer = Signer(keyFile, credentialFile);
        return signer.Credential.Scope!.Covers(csi) ? signer
            : throw new UsageException($"your CSIP credential's scope ({signer.Credential.Scope}) does not cover {csi}");
    }

    /// <summary>A signer for the CSIP's key and credential files; refused in one line unless the credential is a CSIP credential for the key.</summary>
    internal static StatementSigner Signer(FileInfo keyFile, FileInfo credentialFile)
    {
        var key = LoadKey(keyFile, "--key");
        X509Certificate2 certificate;
        try
        {
            certificate = X509Certificate2.CreateFromPem(File.ReadAllText(credentialFile.FullName));
        }
        catch (CryptographicException e)
        {
            throw new UsageException($"--credential {credentialFile.Name} is not a PEM certificate: {e.Message}");
        }

        StatementSigner signer;
        try
        {
            signer = new StatementSigner(key, certificate);
        }
        catch (ArgumentException e)
        {
            throw UsageException.From(e, "--credential: ");
        }

        return signer.Credential.Kind == CredentialKind.Csip ? signer
            : throw new UsageException("--credential is not a CSIP credential (issued with `csip add`)");
    }

    /// <summary>The feed file: 'NUMBER TIME' per line; any bad line is refused with its number, and nothing is sent.</summary>
    internal static List<Reassignment> ReadFeedFile(FileInfo file)
    {
        if (!file.Exists)
        {
            throw new UsageException($"{file.FullName} does not exist");
        }

        var list = new List<Reassignment>();
        var number = 0;
        foreach (var raw in File.ReadLines(file.FullName))
        {
            number++;
            var line = raw.Split('#', 2)[0].Trim();
            if (line.Length == 0)
            {
                continue;
            }

            var fields = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length != 2)
            {
                throw new UsageException($"{file.Name}:{number}: expected 'NUMBER TIME', e.g. +33612345678 2026-12-01T09:30:00Z");
            }

            var parsed = CsiParser.Parse(fields[0]);
            if (!parsed.Success)
            {
                throw new UsageException($"{file.Name}:{number}: {parsed.Reason}");
            }

            if (!TryParseTime(fields[1], out var at))
            {
                throw new UsageException($"{file.Name}:{number}: '{fields[1]}' is not a UTC time such as 2026-12-01T09:30:00Z or Unix seconds");
            }

            list.Add(new Reassignment(parsed.Csi!, at));
        }

        return list.Count > 0 ? list : throw new UsageException($"{file.Name} lists no number");
    }

    private static bool TryParseTime(string text, out DateTimeOffset at)
    {
        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds <= 253402300799)
        {
            at = DateTimeOffset.FromUnixTimeSeconds(seconds);
            return true;
        }

        // A time without an offset is UTC.
        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out at);
    }

    private static ECDsa LoadKey(FileInfo file, string option)
    {
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(File.ReadAllText(file.FullName));
            return key;
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException)
        {
            key.Dispose();
            throw new UsageException($"{option} {file.Name} is not a PEM file of a P-256 key (make one with `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`)");
        }
    }

    private static CsipScope ParseScope(string text) =>
        CsipScope.TryParse(text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), out var scope, out var reason)
            ? scope!
            : throw new UsageException($"--scope: {reason}");

    private static string Time(long seconds) => DateTimeOffset.FromUnixTimeSeconds(seconds).ToString("u", CultureInfo.InvariantCulture);
}

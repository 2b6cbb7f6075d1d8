using System.CommandLine;
using System.Security.Cryptography.X509Certificates;
using Mimi.Discovery.Credentials;
using Mimi.Discovery.Federation;
using Mimi.Discovery.Server.Federation;
using Mimi.Discovery.Server.Hosting;
using Spectre.Console;

namespace Mimi.Discovery.Cli.Commands;

/// <summary>
/// <c>mimi-discovery delegations</c>: the delegation table of a DP you operate (docs/operations.md,
/// "Delegation"), managed on the server machine in the DP's database like <c>accounts</c>. A
/// delegation is signed with the DP's log key and sealed into its transparency log; from the epoch
/// that seals it, lookups of the delegated identifiers are answered with a referral.
/// </summary>
internal static class DelegationsCommand
{
    public static Command Create() => new("delegations", "Delegate number prefixes and email domains to other Discovery Providers (run on the server, like serve).")
    {
        Add(),
        List(),
        Remove(),
    };

    private static Command Add()
    {
        var origin = new Option<string>("--origin") { Description = "This DP's public https:// origin, as senders reach it (the delegation's issuer).", Required = true };
        var scope = new Option<string>("--scope") { Description = "What to delegate: number prefixes and email domains, comma-separated (e.g. +3361,+3362 or example.com).", Required = true };
        var dp = new Option<string>("--to") { Description = "The delegate DP's https:// origin.", Required = true };
        var dpCa = new Option<FileInfo?>("--to-ca") { Description = "PEM certificate to trust for the delegate's TLS; it is written into the delegation for senders too. Default: the system's trust store." };
        var lifetime = new Option<string>("--lifetime") { Description = "How long the delegation is valid: e.g. 12h, 30d (at most 366d). Re-add with --renew before it ends.", DefaultValueFactory = _ => "30d" };
        var renew = new Option<string?>("--renew") { Description = "The id of a delegation to replace with a new version (a new delegate, scope or lifetime)." };
        var (data, database) = AccountsCommand.StoreOptions();
        var command = new Command("add", "Sign a delegation with this DP's log key and store it; the next epoch logs it.") { origin, scope, dp, dpCa, lifetime, renew, data, database };
        command.SetAction((result, cancellationToken) => Cli.RunAsync(async () =>
        {
            var issuer = HttpsOrigin(result.GetValue(origin)!, "--origin");
            var delegated = ParseScope(result.GetValue(scope)!);
            var to = HttpsOrigin(result.GetValue(dp)!, "--to");
            if (Mimi.Discovery.Identifiers.HttpsOrigin.Of(to) == Mimi.Discovery.Identifiers.HttpsOrigin.Of(issuer))
            {
                throw new UsageException("--to names this DP itself; a DP does not delegate to itself");
            }

            var life = AccountsCommand.ParseWindow(result.GetValue(lifetime)!, "--lifetime");
            if (life > Delegation.MaxLifetime)
            {
                throw new UsageException($"--lifetime is at most {Delegation.MaxLifetime.TotalDays:0}d");
            }

            var folder = Path.GetFullPath(result.GetValue(data)!);
            if (!File.Exists(Path.Combine(folder, "log.key")))
            {
                throw new UsageException($"{folder} holds no transparency log key: start the DP once with `serve --data {result.GetValue(data)}` (delegations are logged, so the DP keeps a log)");
            }

            // The delegate's CAs and log keys come from its metadata, over TLS trusted as given.
            var tlsCa = result.GetValue(dpCa);
            var client = Cli.Connect(to.ToString(), tlsCa);
            var metadata = await client.GetMetadataAsync(cancellationToken).ConfigureAwait(false);
            if (metadata.Transparency is null)
            {
                return Cli.Fail($"{to} keeps no transparency log; a delegate must, so senders can check its answers are complete");
            }

            var cas = metadata.CredentialCas.Select(pem => X509Certificate2.CreateFromPem(pem)).ToList();
            List<X509Certificate2> tls = tlsCa is null ? [] : [.. Client.TlsTrust.LoadRoots(tlsCa.FullName)];

            var store = await AccountsCommand.OpenAsync(result.GetValue(data)!, result.GetValue(database), cancellationToken).ConfigureAwait(false);
            try
            {
                var (id, version) = (result.GetValue(renew), 1L);
                if (id is not null)
                {
                    var held = (await DelegationTable.ListAsync(store, cancellationToken).ConfigureAwait(false)).FirstOrDefault(h => h.Id == id)
                               ?? throw new UsageException($"--renew {id}: no such delegation (see `delegations list`)");
                    version = held.Version + 1;
                }

                var (_, logKey) = DataFolder.Open(folder, "Mimi Discovery", TimeProvider.System).LoadTransparencyKeys();
                string token;
                using (logKey)
                {
                    token = Delegation.Sign(logKey, new DelegationDraft(issuer, delegated, to, cas, metadata.Transparency, tls, life, version, id));
                    var signed = Delegation.Verify(token, logKey, issuer, TimeProvider.System.GetUtcNow(), TimeSpan.Zero);
                    if (!signed.IsValid)
                    {
                        return Cli.Fail("the delegation just signed does not verify: " + signed.Reason);
                    }

                    var (due, problem) = await DelegationTable.AddAsync(store, signed.Statement, TimeProvider.System, cancellationToken).ConfigureAwait(false);
                    if (problem is not null)
                    {
                        return Cli.Fail(problem);
                    }

                    Console.Error.WriteLine($"Delegated {delegated} to {Mimi.Discovery.Identifiers.HttpsOrigin.Of(to)} until {signed.Statement.ExpiresAt:u} (version {version}); lookups refer from epoch {due}.");
                    Console.Error.WriteLine($"Its credential CAs: {string.Join("; ", cas.Select(c => $"{c.Subject} (SHA-256 {c.GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256)})"))}");
                    Console.WriteLine(signed.Statement.Id);
                }
            }
            finally
            {
                (store as IDisposable)?.Dispose();
            }

            return 0;
        }));
        return command;
    }

    private static Command List()
    {
        var (data, database) = AccountsCommand.StoreOptions();
        var command = new Command("list", "List the delegations this DP holds.") { data, database };
        command.SetAction((result, cancellationToken) => Cli.RunAsync(async () =>
        {
            var store = await AccountsCommand.OpenAsync(result.GetValue(data)!, result.GetValue(database), cancellationToken).ConfigureAwait(false);
            IReadOnlyList<HeldDelegation> held;
            try
            {
                held = await DelegationTable.ListAsync(store, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                (store as IDisposable)?.Dispose();
            }

            if (held.Count == 0)
            {
                Console.WriteLine("No delegations.");
                return 0;
            }

            var table = new Table().AddColumns("id", "version", "scope", "delegate", "expires");
            foreach (var d in held)
            {
                table.AddRow(d.Id, d.Version.ToString(System.Globalization.CultureInfo.InvariantCulture), Markup.Escape(string.Join(", ", d.Subjects.Select(Delegation.ElementOf))), Markup.Escape(d.Dp),
                    d.ExpiresAt <= TimeProvider.System.GetUtcNow() ? $"[red]{d.ExpiresAt:u} (expired)[/]" : $"{d.ExpiresAt:u}");
            }

            Cli.WriteTable(table);
            return 0;
        }));
        return command;
    }

    private static Command Remove()
    {
        var id = new Option<string>("--id") { Description = "The delegation's id (see `delegations list`).", Required = true };
        var (data, database) = AccountsCommand.StoreOptions();
        var command = new Command("remove", "Remove a delegation; the next epoch logs the removal and lookups stop referring.") { id, data, database };
        command.SetAction((result, cancellationToken) => Cli.RunAsync(async () =>
        {
            var store = await AccountsCommand.OpenAsync(result.GetValue(data)!, result.GetValue(database), cancellationToken).ConfigureAwait(false);
            try
            {
                var due = await DelegationTable.RemoveAsync(store, result.GetValue(id)!, TimeProvider.System, cancellationToken).ConfigureAwait(false);
                if (due is null)
                {
                    return Cli.Fail($"no delegation with id '{result.GetValue(id)}' (see `delegations list`)");
                }

                Console.WriteLine($"Removed delegation {result.GetValue(id)}; lookups stop referring from epoch {due}.");
                return 0;
            }
            finally
            {
                (store as IDisposable)?.Dispose();
            }
        }));
        return command;
    }

    private static Uri HttpsOrigin(string text, string option) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri) && Mimi.Discovery.Identifiers.HttpsOrigin.Is(uri)
            ? new Uri(Mimi.Discovery.Identifiers.HttpsOrigin.Of(uri))
            : throw new UsageException($"{option} '{text}' is not an https:// origin (scheme, host and port only)");

    private static CsipScope ParseScope(string text)
    {
        return CsipScope.TryParse(text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), out var scope, out var reason)
            ? scope!
            : throw new UsageException($"--scope: {reason}");
    }
}

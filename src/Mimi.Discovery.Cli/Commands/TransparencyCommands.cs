using System.CommandLine;
using System.Security.Cryptography;
using Mimi.Discovery.Client;
using Mimi.Discovery.Crypto;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Transparency;
using Mimi.Discovery.Verification;
using Spectre.Console;

namespace Mimi.Discovery.Cli.Commands;

/// <summary>
/// <c>mimi-discovery monitor</c> (an owner watches their own CSI) and <c>mimi-discovery audit</c>
/// (anyone checks that the DP's log only ever grew and that its roots follow from its changes).
/// Both exit 3 on any violation.
/// </summary>
internal static class TransparencyCommands
{
    public static Command Monitor()
    {
        var csiArgument = new Argument<string>("csi") { Description = "Your phone number or email address." };
        var dp = Cli.DpOption();
        var ca = Cli.CaOption();
        var trust = Cli.TrustOption();
        var scopes = new Option<string[]>("--scope") { Description = "Labels to watch beside 'any': svc:<service> (repeatable)." };
        var keyFiles = new Option<FileInfo[]>("--key") { Description = "PEM public or private key you hold (repeatable); default: the key in your key folder." };
        var home = RegisterCommand.KeysOption();
        var tokenAccount = TokensCommand.AccountOption();
        var warnDays = new Option<int?>("--warn-days") { Description = "Warn (on standard error) when your credential for the CSI ends within this many days; renew with `register --renew`." };
        var command = new Command("monitor", "List every version of your CSI's mappings the DP sealed, and who signed each; exit 3 if a key you do not hold signed one.")
        {
            csiArgument, dp, scopes, keyFiles, home, trust, ca, tokenAccount, warnDays,
        };
        command.SetAction((result, cancellationToken) => Cli.RunAsync(async () =>
        {
            var csi = RegisterCommand.ParseCsi(result.GetValue(csiArgument)!);
            if (result.GetValue(warnDays) is { } days)
            {
                if (days is < 0 or > 3650)
                {
                    throw new UsageException("--warn-days is 0 to 3650");
                }

                WarnOfExpiry(new KeyStore(result.GetValue(home)!.FullName), csi, days);
            }

            var owner = OwnerKeys(result.GetValue(keyFiles), result.GetValue(home)!);
            using var tokens = result.GetValue(tokenAccount) is { } account ? Cli.WalletFor(result.GetValue(dp)!, result.GetValue(ca), account) : null;
            var client = await Cli.ConnectAsync(result.GetValue(dp)!, result.GetValue(ca), relay: null, relayCa: null, tokens, cancellationToken).ConfigureAwait(false);
            var transparency = await Cli.TransparencyAsync(client, cancellationToken).ConfigureAwait(false)
                               ?? throw new DiscoveryException("this DP keeps no transparency log");
            var verifier = new StatementVerifier(await Cli.CredentialAnchorsAsync(client, result.GetValue(trust), cancellationToken).ConfigureAwait(false));

            var problems = 0;
            // A label's version counts changes to its set of statements; each statement's own mapping
            // version (what register and lookup print) is shown beside its signer.
            var table = new Table().AddColumns("label", "label version", "epoch", "sealed", "mappings (version, signed by)", "check");
            var acknowledged = new KeyStore(result.GetValue(home)!.FullName).LoadAcknowledged(csi).Values.ToList();
            var histories = new Dictionary<string, (LabelHistory History, SignedTreeHead? Head)>(StringComparer.Ordinal);
            foreach (var scope in new[] { Labels.AnyScope }.Concat(result.GetValue(scopes) ?? []).Concat(acknowledged.SelectMany(a => a.Scopes)).Distinct(StringComparer.Ordinal))
            {
                var history = await client.GetHistoryAsync(csi, scope, cancellationToken).ConfigureAwait(false);
                var report = LabelMonitor.Check(history, csi, transparency.Keys, owner, verifier);
                histories[scope] = (history, report.Problems.Count == 0 ? report.Head : null);
                problems += report.Problems.Count;
                foreach (var problem in report.Problems.Where(_ => report.Versions.Count == 0))
                {
                    table.AddRow(Markup.Escape(scope), "", "", "", "", $"[red]{Markup.Escape(problem)}[/]");
                }

                foreach (var v in report.Versions)
                {
                    table.AddRow(Markup.Escape(scope), v.Version.ToString(System.Globalization.CultureInfo.InvariantCulture), v.Epoch.ToString(System.Globalization.CultureInfo.InvariantCulture),
                        v.SealedAt.ToString("u", System.Globalization.CultureInfo.InvariantCulture),
                        Markup.Escape(v.Erased ? "(erased)" : v.Signers.Count == 0 ? "(no mappings)"
                            : string.Join(", ", v.Signers.Select((s, i) => $"v{v.MappingVersions?[i]} by {(owner.Contains(s) ? "you" : s)}"))),
                        v.Problem is null ? "[green]ok[/]" : $"[red]{Markup.Escape(v.Problem)}[/]");
                }
            }

            // Each change the DP acknowledged to this key folder must be sealed by the epoch its receipt named.
            var receipts = new Table().AddColumns("your change", "mapping", "label", "due by epoch", "check");
            var unverifiable = 0;
            foreach (var change in acknowledged)
            {
                foreach (var scope in change.Scopes)
                {
                    if (histories[scope] is not (var history, { } head))
                    {
                        continue;
                    }

                    var verdict = LabelMonitor.CheckAcknowledged(history, head, change, verifier);
                    problems += verdict.Status == ReceiptStatus.Broken ? 1 : 0;
                    unverifiable += verdict.Status == ReceiptStatus.Unverifiable ? 1 : 0;
                    receipts.AddRow((change.Removal ? "removal of version " : "publish of version ") + change.Version.ToString(System.Globalization.CultureInfo.InvariantCulture),
                        Markup.Escape(change.MappingId), Markup.Escape(scope), change.Epoch.ToString(System.Globalization.CultureInfo.InvariantCulture),
                        verdict.Status switch
                        {
                            ReceiptStatus.Honoured => $"[green]{Markup.Escape(verdict.Reason)}[/]",
                            ReceiptStatus.Broken => $"[red]{Markup.Escape(verdict.Reason)}[/]",
                            ReceiptStatus.Unverifiable => $"[yellow]{Markup.Escape(verdict.Reason)}[/]",
                            _ => Markup.Escape(verdict.Reason),
                        });
                }
            }

            Cli.WriteTable(table);
            if (receipts.Rows.Count > 0)
            {
                Cli.WriteTable(receipts);
            }

            // The log shows a mapping leaving the set; the DP's records say which CSIP removed it (R10).
            var csipRemovals = histories.Values.SelectMany(h => h.History.CsipRemovals ?? []).Distinct().OrderBy(r => r.RemovedAt).ToList();
            if (csipRemovals.Count > 0)
            {
                var removals = new Table().AddColumns("removed mapping", "by the identifier's operator (CSIP)", "at", "feed");
                foreach (var r in csipRemovals)
                {
                    var yours = Statements.MappingId.TryParse(r.MappingId, out var id) && owner.Contains(id.KeyThumbprint);
                    removals.AddRow(Markup.Escape(r.MappingId + (yours ? " (yours)" : "")), Markup.Escape(r.Csip),
                        DateTimeOffset.FromUnixTimeSeconds(r.RemovedAt).ToString("u", System.Globalization.CultureInfo.InvariantCulture), Markup.Escape(r.Feed ?? "(a removal)"));
                }

                Cli.WriteTable(removals);
                Console.Error.WriteLine($"mimi-discovery: {csipRemovals.Count} mapping(s) removed by the identifier's operator, as the DP reports (the log commits the removal, not who made it)");
            }

            if (unverifiable > 0)
            {
                Console.Error.WriteLine($"mimi-discovery: {unverifiable} receipt(s) cannot be checked: a later removal erased the versions that would show them");
            }

            return problems > 0 ? Cli.Fail($"{problems} violation(s): the DP sealed something you did not sign, hid or misproved a version, or did not seal a change it acknowledged", Cli.NotVerified) : 0;
        }));
        return command;
    }

    /// <summary>The <c>--warn-days</c> warning: the credential for <paramref name="csi"/> in the key folder ends within <paramref name="days"/> days, has ended, or is missing.</summary>
    private static void WarnOfExpiry(KeyStore store, Identifiers.Csi csi, int days)
    {
        using var credential = store.LoadCredential(csi);
        var now = TimeProvider.System.GetUtcNow();
        if (credential is null)
        {
            Console.Error.WriteLine($"mimi-discovery: warning: your key folder holds no credential for {csi}; register it");
            return;
        }

        var notAfter = new DateTimeOffset(credential.NotAfter.ToUniversalTime(), TimeSpan.Zero);
        if (notAfter <= now)
        {
            Console.Error.WriteLine($"mimi-discovery: warning: your credential for {csi} expired at {notAfter:u}, and your mappings with it; renew with `register {csi} --renew`");
        }
        else if (notAfter - now <= TimeSpan.FromDays(days))
        {
            Console.Error.WriteLine($"mimi-discovery: warning: your credential for {csi} expires at {notAfter:u} ({RevocationCommands.DaysLeft(notAfter, now)} day(s) left), and your mappings with it; renew with `register {csi} --renew`");
        }
    }

    public static Command Audit()
    {
        var dp = Cli.DpOption();
        var ca = Cli.CaOption();
        var state = new Option<FileInfo?>("--state") { Description = "File the auditor keeps between runs (every leaf and epoch seen); without it every run starts from epoch 1." };
        var command = new Command("audit", "Check every epoch since the last run: the log only grew and each epoch's root follows from its published changes; exit 3 on a violation.")
        {
            dp, state, ca,
        };
        command.SetAction((result, cancellationToken) => Cli.RunAsync(async () =>
        {
            var client = Cli.Connect(result.GetValue(dp)!, result.GetValue(ca));
            var transparency = await Cli.TransparencyAsync(client, cancellationToken).ConfigureAwait(false)
                               ?? throw new DiscoveryException("this DP keeps no transparency log");
            var path = result.GetValue(state)?.FullName;
            var audit = AuditState.Load(path);
            var report = await LogAuditor.AuditAsync(client, transparency.Keys, audit, cancellationToken).ConfigureAwait(false);
            foreach (var violation in report.Violations)
            {
                Console.WriteLine("violation: " + violation);
            }

            if (report.Violations.Count > 0)
            {
                return Cli.Fail($"the log failed the audit between sizes {report.FromSize} and {report.ToSize}", Cli.NotVerified);
            }

            if (path is not null)
            {
                audit.Save(path);
            }

            Console.WriteLine(report.ToSize > report.FromSize
                ? FormattableString.Invariant($"audited epochs {report.FromSize + 1}..{report.ToSize}: the log only grew and every root follows from its changes")
                : report.ToSize == 0
                    ? "nothing to audit: the log has no epoch yet"
                    : FormattableString.Invariant($"nothing new to audit: the log is still at epoch {report.ToSize}, audited before"));
            return 0;
        }));
        return command;
    }

    private static HashSet<string> OwnerKeys(FileInfo[]? files, DirectoryInfo home)
    {
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in files ?? [])
        {
            using var key = ECDsa.Create();
            try
            {
                key.ImportFromPem(File.ReadAllText(file.FullName));
                keys.Add(JwkThumbprint.Compute(key));
            }
            catch (Exception e) when (e is ArgumentException or CryptographicException or IOException)
            {
                throw new UsageException($"--key {file.Name}: not a P-256 PEM key ({e.Message})");
            }
        }

        if (keys.Count == 0)
        {
            using var key = new KeyStore(home.FullName).LoadKey() ?? throw new UsageException($"no key in {home.FullName}; pass --key with the public key you publish under");
            keys.Add(JwkThumbprint.Compute(key));
        }

        return keys;
    }
}

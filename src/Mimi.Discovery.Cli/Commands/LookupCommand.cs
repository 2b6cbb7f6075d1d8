using System.CommandLine;
using System.Text.Json;
using Mimi.Discovery.Client;
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Verification;
using Spectre.Console;

namespace Mimi.Discovery.Cli.Commands;

/// <summary>
/// <c>mimi-discovery lookup</c>: asks a DP about CSIs — a few, or a whole address book — and
/// verifies every answer (signatures, credential chains to the chosen CAs, CSI binding, audience,
/// completeness) before printing it.
/// </summary>
internal static class LookupCommand
{
    public static Command Create()
    {
        var csis = new Argument<string[]>("csi") { Description = "Phone numbers or email addresses to look up.", Arity = ArgumentArity.ZeroOrMore };
        var file = new Option<FileInfo?>("--file") { Description = "An address book: a .csv or .tsv file with a header row (identifiers in the first column, or in --column), or a text file with one identifier per line. Verified answers are kept in lookups.json in the key folder while the DP allows (delete it to ask again)." };
        var column = new Option<string?>("--column") { Description = "With a .csv or .tsv --file: the header of the column holding the identifiers." };
        var region = new Option<string?>("--region") { Description = "Read national phone numbers as of this region (ISO 3166 code, e.g. FR); without it numbers need their +country code." };
        var dp = Cli.DpOption();
        var ca = Cli.CaOption();
        var asService = new Option<string?>("--as-service") { Description = "Look up on behalf of this querying service (audiences are matched against it)." };
        var json = new Option<bool>("--json") { Description = "Print JSON instead of a table (with --file: one JSON object per line)." };
        var trust = Cli.TrustOption();
        var relay = new Option<string?>("--relay") { Description = "Send the lookup through this Oblivious HTTP relay (https:// URL): the DP does not learn who asks." };
        var relayCa = new Option<FileInfo?>("--relay-ca") { Description = "PEM certificate to trust for the relay's TLS." };
        var tokenAccount = TokensCommand.AccountOption();
        var command = new Command("lookup", "Look CSIs up — a few, or a whole address book with --file — and verify the answers.")
        {
            csis, file, column, region, dp, asService, json, trust, ca, relay, relayCa, tokenAccount, PickOutput.Pick, PickOutput.Context, PickOutput.Can,
        };
        command.SetAction((result, cancellationToken) => Cli.RunAsync(async () =>
        {
            var given = result.GetValue(csis) ?? [];
            var book = result.GetValue(file);
            if ((given.Length > 0) == (book is not null))
            {
                throw new UsageException(book is null ? "give the identifiers to look up, or --file with an address book" : "give identifiers, or --file with an address book, not both");
            }

            var preferences = PickOutput.Preferences(result);
            // Sealed routes open with the route keys handed to this person (route-keys import).
            var routeKeys = new RouteKeyStore(KeyStore.DefaultPath).Current();
            if (result.GetValue(region) is { } regionCode && !CsiParser.IsKnownRegion(regionCode))
            {
                throw new UsageException($"--region '{regionCode}' is not an ISO 3166 region code a phone number can belong to (e.g. FR, GB, US)");
            }

            var contacts = book is null ? given.ToList() : AddressBookFile.Read(book, result.GetValue(column));
            var parsed = contacts.Select(c => (Contact: c, Parsed: CsiParser.Parse(c, result.GetValue(region)))).ToList();
            if (parsed.Count > 0 && parsed.All(p => !p.Parsed.Success))
            {
                // Nothing to ask: no DP contacted, no token obtained.
                throw new UsageException($"no identifier given is a phone number or email address ('{parsed[0].Contact}': {parsed[0].Parsed.Reason})");
            }

            // Tokens come from a wallet refilled from the DP directly (per account); lookups spend them
            // through the relay when one is named, so the DP cannot tie a lookup to the account.
            using var wallet = result.GetValue(tokenAccount) is { } account ? Cli.WalletFor(result.GetValue(dp)!, result.GetValue(ca), account) : null;
            var client = await Cli.ConnectAsync(result.GetValue(dp)!, result.GetValue(ca), result.GetValue(relay), result.GetValue(relayCa), wallet, cancellationToken).ConfigureAwait(false);
            var anchors = await Cli.CredentialAnchorsAsync(client, result.GetValue(trust), cancellationToken).ConfigureAwait(false);
            var verifier = new StatementVerifier(anchors);
            var transparency = await Cli.TransparencyAsync(client, cancellationToken).ConfigureAwait(false);
            var service = result.GetValue(asService) ?? (wallet is null || await wallet.CsisPerTokenAsync(cancellationToken).ConfigureAwait(false) == 0 ? null : await wallet.ServiceAsync(cancellationToken).ConfigureAwait(false));

            // An address book keeps verified answers in the key folder, so a re-sync asks only for what is new or expired.
            if (book is not null)
            {
                Mimi.Discovery.Crypto.PrivateFile.CreateDirectory(KeyStore.DefaultPath);
            }

            var cache = book is null ? null : new LookupCache(Path.Combine(KeyStore.DefaultPath, "lookups.json"), verifier);
            // Referrals are followed to the DP authoritative for the identifier, verified with this DP's log.
            var sync = new AddressBookSync(client, verifier, transparency, cache, wallet, new AddressBookOptions { DefaultRegion = result.GetValue(region) })
            {
                Referrals = transparency is null ? null
                    : result.GetValue(relay) is null ? new ReferralFollower(new ProviderEndpoint(client.BaseAddress!, client, verifier, transparency))
                    // A relay forwards to one DP's gateway only: reaching a delegate directly would show it the sender's address.
                    : new ReferralFollower(new ProviderEndpoint(client.BaseAddress!, client, verifier, transparency), (d, _) => throw new DiscoveryException(
                        $"not followed through the relay, which reaches only {client.BaseAddress}; to ask {d.Dp} privately, look it up there with its own relay")),
            };
            AddressBookResult synced;
            if (book is null)
            {
                synced = await sync.SyncAsync(contacts, service, null, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                synced = await SyncWithProgressAsync(sync, contacts, service, result.GetValue(json), cancellationToken).ConfigureAwait(false);
            }

            if (book is null && synced.Failures.Count > 0)
            {
                throw synced.Failures[0].Error;
            }

            if (result.GetValue(PickOutput.Pick))
            {
                PickOutput.Print(synced.Entries, preferences, a => a.Routes(routeKeys), result.GetValue(json));
            }
            else if (result.GetValue(json))
            {
                if (book is null)
                {
                    Console.WriteLine(JsonSerializer.Serialize(synced.Entries.Select(e => ToJson(e, routeKeys)), Cli.Indented));
                }
                else
                {
                    foreach (var entry in synced.Entries)
                    {
                        var line = JsonSerializer.SerializeToNode(ToJson(entry, routeKeys), Cli.Lines)!.AsObject();
                        line["fromCache"] = entry.FromCache;
                        Console.WriteLine(line.ToJsonString(Cli.Lines));
                    }
                }
            }
            else
            {
                // An address book's table shows who is reachable (and what could not be read); the
                // contacts found nowhere are counted in the summary only.
                PrintTable(book is null ? synced.Entries : synced.Entries.Where(e => e.Answer.Outcome != LookupOutcome.None).ToList(), routeKeys);
            }

            if (book is not null)
            {
                var summary = FormattableString.Invariant(
                    $"{synced.Entries.Count} contacts: {synced.Count(LookupOutcome.Found)} found, {synced.Count(LookupOutcome.OptedOut)} opted out, {synced.Count(LookupOutcome.None)} none, {synced.Count(LookupOutcome.Invalid)} invalid; {synced.Looked} asked in {synced.Requests} request(s), {synced.FromCache} from the cache");
                Console.Error.WriteLine(summary + (wallet is null ? "" : FormattableString.Invariant($"; {wallet.Available} token(s) left in the wallet")));
                if (synced.Failures.Count > 0)
                {
                    // What was answered is shown and kept in the cache; a rerun asks only for the rest.
                    foreach (var failure in synced.Failures.GroupBy(f => Cli.Describe(f.Error)))
                    {
                        Cli.Fail(FormattableString.Invariant($"{failure.Sum(f => f.Csis.Count)} contact(s) not answered: {failure.Key}"));
                    }

                    return Cli.Failure;
                }
            }

            if (synced.Unverified > 0)
            {
                return Cli.NotVerified;
            }

            if (synced.Entries.FirstOrDefault(e => e.ReferralFailure is not null) is { } stopped)
            {
                return Cli.Fail($"{stopped.Contact}: the referral could not be followed: {stopped.ReferralFailure}");
            }

            return 0;
        }));
        return command;
    }

    /// <summary>A sync with a progress bar on standard error (unless JSON lines go to a terminal there).</summary>
    private static async Task<AddressBookResult> SyncWithProgressAsync(AddressBookSync sync, IReadOnlyList<string> contacts, string? service, bool json, CancellationToken cancellationToken)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        if (json || Console.IsErrorRedirected)
        {
            return await sync.SyncAsync(contacts, service, null, cancellationToken).ConfigureAwait(false);
        }

        AddressBookResult? synced = null;
        await console.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask("looking up", maxValue: 1);
                var progress = new Progress<SyncProgress>(p =>
                {
                    task.MaxValue = Math.Max(1, p.Total);
                    task.Value = p.Done;
                });
                synced = await sync.SyncAsync(contacts, service, progress, cancellationToken).ConfigureAwait(false);
                task.Value = task.MaxValue;
            }).ConfigureAwait(false);
        return synced!;
    }

    private static void PrintTable(IReadOnlyList<AddressBookEntry> entries, IReadOnlyList<Statements.RouteKey> routeKeys)
    {
        var table = new Table().AddColumns("CSI", "result", "service", "account / endpoint", "priority", "tags", "verified", "transparency");
        foreach (var (r, chain, stopped) in entries.Select(e => (e.Answer, e.Chain, e.ReferralFailure)))
        {
            var name = Markup.Escape(r.Csi?.Uri ?? r.Query);
            var outcome = Markup.Escape(VerifiedLookup.OutcomeName(r.Outcome));
            if (r.Outcome == LookupOutcome.Invalid)
            {
                table.AddRow(name, outcome, "", Markup.Escape(r.Reason ?? ""), "", "", "", "");
                continue;
            }

            var rows = 0;
            foreach (var route in r.Routes(routeKeys))
            {
                var (mapping, entry) = (route.Mapping, route.Entry);
                table.AddRow(rows++ == 0 ? name : "", rows == 1 ? outcome : "", Markup.Escape(entry.Service),
                    Markup.Escape(entry.Account ?? entry.Endpoint?.ToString() ?? ""), entry.Priority.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    Markup.Escape(string.Join(", ", entry.Tags) + (route.SealedWith is { } key ? $" (sealed: {key})" : "")), $"[green]yes[/] (v{mapping.Version})", rows == 1 ? Completeness(r) : "");
            }

            if (rows == 0)
            {
                table.AddRow(name, outcome, "", r.Referral is { } d ? Markup.Escape($"{d.Dp} ({d.Scope})") : "", "", "",
                    r.Mappings.Count > 0 ? $"[green]yes[/] ({r.Mappings.Count} mapping(s))" : r.Referral is not null ? "[green]yes[/] (delegation)" : "", Completeness(r));
            }

            if (chain is not null)
            {
                table.AddRow("", "", "", Markup.Escape("via " + string.Join(" → ", chain)), "", "", stopped is null ? "" : $"[red]stopped[/]: {Markup.Escape(stopped)}", "");
            }

            foreach (var rejected in r.Rejected)
            {
                table.AddRow("", "", "", "", "", "", $"[red]no[/]: {Markup.Escape(rejected.Status + ": " + rejected.Reason)}", "");
            }

            if (r.Inconsistent && r.Rejected.Count == 0)
            {
                table.AddRow("", "", "", "", "", "", $"[red]DP claimed '{Markup.Escape(r.ClaimedResult)}'[/]", "");
            }
        }

        Cli.WriteTable(table);
    }

    private static string Completeness(VerifiedLookup r) => r.Proof switch
    {
        null => "not checked (the DP keeps no log)",
        { IsComplete: true } p => $"[green]complete[/] (epoch {p.Epoch})",
        var p => $"[red]{Markup.Escape(p.Status.ToString())}[/]: {Markup.Escape(p.Reason)}",
    };

    private static object ToJson(AddressBookEntry entry, IReadOnlyList<Statements.RouteKey> routeKeys) => ToJson(entry.Answer, entry.Chain, entry.ReferralFailure, routeKeys);

    private static object ToJson(VerifiedLookup r, IReadOnlyList<Uri>? chain, string? referralFailure, IReadOnlyList<Statements.RouteKey> routeKeys) => new
    {
        query = r.Query,
        csi = r.Csi?.Uri,
        result = VerifiedLookup.OutcomeName(r.Outcome),
        claimed = r.ClaimedResult,
        consistent = !r.Inconsistent,
        reason = r.Reason,
        mappings = r.Mappings.Select(m => new
        {
            id = m.Id.ToString(),
            version = m.Version,
            audience = m.Audience.Token,
            issuedAt = m.IssuedAt,
            expiresAt = m.ExpiresAt,
            entries = m.EntriesByPreference.Where(e => e.Admits(r.QueryingService)).Select(e => new { service = e.Service, endpoint = e.Endpoint?.ToString(), account = e.Account, priority = e.Priority, tags = e.Tags, pv = e.ProtocolVersion }),
            sealedBoxes = m.SealedRoutes.Count,
        }),
        sealedRoutes = r.Routes(routeKeys).Where(x => x.SealedWith is not null).Select(x => new
        {
            mappingId = x.Mapping.Id.ToString(),
            sealedWith = x.SealedWith,
            service = x.Entry.Service,
            endpoint = x.Entry.Endpoint?.ToString(),
            account = x.Entry.Account,
            priority = x.Entry.Priority,
            tags = x.Entry.Tags,
            pv = x.Entry.ProtocolVersion,
        }),
        rejected = r.Rejected.Select(x => new { status = Cli.JsonValue(x.Status), reason = x.Reason }),
        transparency = r.Proof is null ? null : new { complete = r.Proof.IsComplete, status = Cli.JsonValue(r.Proof.Status), reason = r.Proof.Reason, epoch = r.Proof.Epoch },
        referral = r.Referral is { } d ? new { dp = d.Dp.ToString(), scope = d.Scope.ToString(), id = d.Id, version = d.Version, expiresAt = d.ExpiresAt } : null,
        chain = chain?.Select(u => u.ToString()),
        referralFailure,
    };
}

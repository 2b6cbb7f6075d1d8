using System.CommandLine;
using System.Text.Json;
using Mimi.Discovery.Client;
using Mimi.Discovery.Verification;
using Spectre.Console;

namespace Mimi.Discovery.Cli.Commands;

/// <summary>
/// <c>mimi-discovery lookup</c>: asks a DP about CSIs and verifies every answer — signatures,
/// credential chains to the chosen CAs, CSI binding, audience — before printing it.
/// </summary>
internal static class LookupCommand
{
    public static Command Create()
    {
        var csis = new Argument<string[]>("csi") { Description = "Phone numbers or email addresses to look up.", Arity = ArgumentArity.OneOrMore };
        var dp = Cli.DpOption();
        var ca = Cli.CaOption();
        var asService = new Option<string?>("--as-service") { Description = "Look up on behalf of this querying service (audiences are matched against it)." };
        var json = new Option<bool>("--json") { Description = "Print JSON instead of a table." };
        var trust = Cli.TrustOption();
        var relay = new Option<string?>("--relay") { Description = "Send the lookup through this Oblivious HTTP relay (https:// URL): the DP does not learn who asks." };
        var relayCa = new Option<FileInfo?>("--relay-ca") { Description = "PEM certificate to trust for the relay's TLS." };
        var tokenAccount = TokensCommand.AccountOption();
        var command = new Command("lookup", "Look CSIs up and verify the answers.") { csis, dp, asService, json, trust, ca, relay, relayCa, tokenAccount };
        command.SetAction((result, cancellationToken) => Cli.RunAsync(async () =>
        {
            // Tokens are obtained from the DP directly (per account); lookups then pay with them,
            // through the relay when one is named, so the DP cannot tie a lookup to the account.
            using var tokens = result.GetValue(tokenAccount) is { } account ? TokensCommand.TokenClientFor(result.GetValue(dp)!, result.GetValue(ca), account) : null;
            var tokenService = tokens is null ? null : (await tokens.GetBalanceAsync(cancellationToken).ConfigureAwait(false)).Service;
            var client = await Cli.ConnectAsync(result.GetValue(dp)!, result.GetValue(ca), result.GetValue(relay), result.GetValue(relayCa), tokens, cancellationToken).ConfigureAwait(false);
            var anchors = await Cli.CredentialAnchorsAsync(client, result.GetValue(trust), cancellationToken).ConfigureAwait(false);

            var transparency = await Cli.TransparencyAsync(client, cancellationToken).ConfigureAwait(false);
            var results = await client.LookupAsync(result.GetValue(csis)!, new StatementVerifier(anchors), result.GetValue(asService) ?? tokenService, transparency, cancellationToken).ConfigureAwait(false);
            if (result.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(results.Select(ToJson), Cli.Indented));
            }
            else
            {
                PrintTable(results);
            }

            return results.Any(r => r.Inconsistent || r.Proof is { IsComplete: false }) ? Cli.NotVerified : 0;
        }));
        return command;
    }

    private static void PrintTable(IReadOnlyList<VerifiedLookup> results)
    {
        var table = new Table().AddColumns("CSI", "result", "service", "account / endpoint", "priority", "tags", "verified", "transparency");
        foreach (var r in results)
        {
            var name = Markup.Escape(r.Csi?.Uri ?? r.Query);
            var outcome = Markup.Escape(VerifiedLookup.OutcomeName(r.Outcome));
            if (r.Outcome == LookupOutcome.Invalid)
            {
                table.AddRow(name, outcome, "", Markup.Escape(r.Reason ?? ""), "", "", "", "");
                continue;
            }

            var rows = 0;
            foreach (var (mapping, entry) in r.EntriesByPreference)
            {
                table.AddRow(rows++ == 0 ? name : "", rows == 1 ? outcome : "", Markup.Escape(entry.Service),
                    Markup.Escape(entry.Account ?? entry.Endpoint?.ToString() ?? ""), entry.Priority.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    Markup.Escape(string.Join(' ', entry.Tags)), $"[green]yes[/] (v{mapping.Version})", rows == 1 ? Completeness(r) : "");
            }

            if (rows == 0)
            {
                table.AddRow(name, outcome, "", "", "", "", r.Mappings.Count > 0 ? $"[green]yes[/] ({r.Mappings.Count} mapping(s))" : "", Completeness(r));
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

    private static object ToJson(VerifiedLookup r) => new
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
            entries = m.EntriesByPreference.Select(e => new { service = e.Service, endpoint = e.Endpoint?.ToString(), account = e.Account, priority = e.Priority, tags = e.Tags, pv = e.ProtocolVersion }),
        }),
        rejected = r.Rejected.Select(x => new { status = x.Status.ToString(), reason = x.Reason }),
        transparency = r.Proof is null ? null : new { complete = r.Proof.IsComplete, status = r.Proof.Status.ToString(), reason = r.Proof.Reason, epoch = r.Proof.Epoch },
    };
}

using System.CommandLine;
using Mimi.Discovery.Dns;
using Mimi.Discovery.Identifiers;

namespace Mimi.Discovery.Cli.Commands;

/// <summary>
/// <c>mimi-discovery dns publish|zone</c>: MIMI and MIMIX records for a name, pushed to an
/// authoritative server by TSIG-signed dynamic update, or printed as zone-file lines.
/// </summary>
internal static class DnsCommand
{
    public static Command Create()
    {
        var command = new Command("dns", "Publish MIMI/MIMIX records in the DNS, or print them as zone-file lines.");
        command.Subcommands.Add(Publish());
        command.Subcommands.Add(Zone());
        return command;
    }

    private sealed record RecordOptions(
        Argument<string> Name, Option<string[]> Records, Option<string?> Mimix, Option<string> Encoding,
        Option<int> Ttl, Option<string> EnumApex, Option<string?> ResolutionDomain);

    private static RecordOptions AddRecordOptions(Command command)
    {
        var options = new RecordOptions(
            new Argument<string>("name") { Description = "A MUI, a phone number (ENUM name) or an email address (with --resolution-domain); with --mimix, the email domain." },
            new Option<string[]>("--record") { Description = "A MIMI record, e.g. 'a=bob; e=chat.example; p=1; s=wire' (v=MIMI1 is added). Repeatable." },
            new Option<string?>("--mimix") { Description = "Publish a MIMIX record naming this resolution domain instead." },
            new Option<string>("--encoding") { Description = "both, txt or private.", DefaultValueFactory = _ => "both" },
            new Option<int>("--ttl") { Description = "TTL in seconds.", DefaultValueFactory = _ => 300 },
            new Option<string>("--enum-apex") { Description = "ENUM apex for phone numbers.", DefaultValueFactory = _ => DiscoveryNames.PublicEnumApex },
            new Option<string?>("--resolution-domain") { Description = "For an email address: the resolution domain its MIMIX names." });
        command.Arguments.Add(options.Name);
        foreach (Option option in new Option[] { options.Records, options.Mimix, options.Encoding, options.Ttl, options.EnumApex, options.ResolutionDomain })
        {
            command.Options.Add(option);
        }

        return options;
    }

    private static Command Zone()
    {
        var command = new Command("zone", "Print the records as zone-file lines.");
        var options = AddRecordOptions(command);
        command.SetAction(result => Cli.RunAsync(() =>
        {
            var (owner, records, mimix, encodings, ttl) = Read(result, options);
            var lines = mimix is null
                ? DnsPublisher.MimiZoneLines(owner, records, encodings, ttl)
                : DnsPublisher.MimixZoneLines(owner, mimix, encodings, ttl);
            foreach (var line in lines)
            {
                Console.WriteLine(line);
            }

            return Task.FromResult(0);
        }));
        return command;
    }

    private static Command Publish()
    {
        var command = new Command("publish", "Replace the records of a name on an authoritative server (RFC 2136 + TSIG); no --record deletes them.");
        var options = AddRecordOptions(command);
        var server = new Option<string>("--server") { Description = "The authoritative server, HOST:PORT.", Required = true };
        var zone = new Option<string>("--zone") { Description = "The zone to update.", Required = true };
        var keyName = new Option<string>("--tsig-name") { Description = "TSIG key name.", Required = true };
        var secretFile = new Option<FileInfo?>("--tsig-secret-file") { Description = "File holding the base64 TSIG secret (or set MIMI_DNS_TSIG_SECRET)." };
        var algorithm = new Option<string>("--tsig-algorithm") { Description = "hmac-sha256 or hmac-sha512 (hmac-sha384 is refused: the DNS library computes it wrongly).", DefaultValueFactory = _ => "hmac-sha256" };
        foreach (Option option in new Option[] { server, zone, keyName, secretFile, algorithm })
        {
            command.Options.Add(option);
        }

        command.SetAction((result, cancellationToken) => Cli.RunAsync(async () =>
        {
            var (owner, records, mimix, encodings, ttl) = Read(result, options);
            var secretText = result.GetValue(secretFile) is { } file ? File.ReadAllText(file.FullName) : Environment.GetEnvironmentVariable("MIMI_DNS_TSIG_SECRET");
            byte[] secret;
            try
            {
                secret = Convert.FromBase64String(secretText?.Trim() ?? throw new UsageException("give --tsig-secret-file or set MIMI_DNS_TSIG_SECRET"));
            }
            catch (FormatException)
            {
                throw new UsageException("the TSIG secret is not base64");
            }

            DnsPublisher publisher;
            try
            {
                publisher = new DnsPublisher(Cli.ParseDnsServer(result.GetValue(server), "--server"), new TsigKey(result.GetValue(keyName)!, secret, result.GetValue(algorithm)!));
            }
            catch (ArgumentException e)
            {
                throw new UsageException(e.Message);
            }

            using (publisher)
            {
                var outcome = mimix is null
                    ? await publisher.ReplaceMimiAsync(result.GetValue(zone)!, owner, records, encodings, ttl, cancellationToken).ConfigureAwait(false)
                    : await publisher.ReplaceMimixAsync(result.GetValue(zone)!, owner, mimix, encodings, ttl, cancellationToken).ConfigureAwait(false);
                if (!outcome.Succeeded)
                {
                    return Cli.Fail($"the server refused the update: {outcome.Detail}");
                }
            }

            Console.WriteLine(mimix is not null ? $"{owner}: MIMIX → {mimix}" : records.Count == 0 ? $"{owner}: MIMI records deleted" : $"{owner}: {records.Count} MIMI record(s) published");
            return 0;
        }));
        return command;
    }

    private static (string Owner, List<MimiRecord> Records, string? Mimix, DnsEncodings Encodings, int Ttl) Read(ParseResult result, RecordOptions o)
    {
        var encodings = result.GetValue(o.Encoding) switch
        {
            "both" => DnsEncodings.Txt | DnsEncodings.PrivateType,
            "txt" => DnsEncodings.Txt,
            "private" => DnsEncodings.PrivateType,
            var other => throw new UsageException($"--encoding '{other}' is not both, txt or private"),
        };
        var ttl = result.GetValue(o.Ttl);
        if (ttl is < 0 or > 604800)
        {
            throw new UsageException("--ttl must be 0–604800 seconds");
        }

        var records = new List<MimiRecord>();
        foreach (var text in result.GetValue(o.Records) ?? [])
        {
            var full = text.TrimStart().StartsWith("v=", StringComparison.Ordinal) ? text : "v=MIMI1; " + text;
            if (!MimiRecord.TryParse(full, out var record, out var reason))
            {
                throw new UsageException($"--record '{text}': {reason}");
            }

            records.Add(record);
        }

        var mimix = result.GetValue(o.Mimix);
        if (mimix is not null)
        {
            if (records.Count > 0)
            {
                throw new UsageException("give --record or --mimix, not both");
            }

            mimix = Mui.TryParse(mimix, out var target, out var reason) ? target.Name : throw new UsageException($"--mimix '{mimix}': {reason}");
        }

        var name = result.GetValue(o.Name)!;
        string owner;
        var csi = CsiParser.Parse(name);
        if (mimix is not null || !csi.Success)
        {
            owner = Mui.TryParse(name, out var mui, out var reason) ? mui.Name : throw new UsageException($"'{name}' is not a name: {reason}");
        }
        else if (csi.Csi.Kind == CsiKind.Phone)
        {
            owner = DiscoveryNames.EnumName(csi.Csi, result.GetValue(o.EnumApex)!);
        }
        else
        {
            var domain = result.GetValue(o.ResolutionDomain) ?? throw new UsageException("an email address needs --resolution-domain (the domain its MIMIX record names)");
            owner = DiscoveryNames.EmailMui(csi.Csi, domain) ?? throw new UsageException($"{csi.Csi} does not fit in a DNS name under {domain}");
        }

        return (owner, records, mimix, encodings, ttl);
    }
}

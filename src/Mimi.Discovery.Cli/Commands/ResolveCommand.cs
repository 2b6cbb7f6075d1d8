using System.CommandLine;
using System.Text.Json;
using Mimi.Discovery.Client;
using Mimi.Discovery.Dns;
using Mimi.Discovery.Verification;
using Spectre.Console;

namespace Mimi.Discovery.Cli.Commands;

/// <summary>
/// <c>mimi-discovery resolve</c>: the DNS first (MUI, MIMIX, ENUM), then each <c>--dp</c> in
/// turn; says where the answer came from and how it was authenticated.
/// </summary>
internal static class ResolveCommand
{
    public static Command Create()
    {
        var identifier = new Argument<string>("id") { Description = "A phone number, an email address or a MUI (domain name)." };
        var dnsServer = new Option<string?>("--dns") { Description = "DNS server as HOST:PORT or HOST (port 53). Default: the system's first name server." };
        var dnsTimeout = new Option<int>("--dns-timeout") { Description = "Seconds to wait for each DNS answer (1–120).", DefaultValueFactory = _ => 3 };
        var enumApex = new Option<string>("--enum-apex") { Description = "ENUM apex for phone numbers.", DefaultValueFactory = _ => DiscoveryNames.PublicEnumApex };
        var dps = new Option<string[]>("--dp") { Description = "A Discovery Provider to ask when the DNS has nothing (repeatable, asked in order)." };
        var ca = Cli.CaOption();
        var trust = Cli.TrustOption();
        var asService = new Option<string?>("--as-service") { Description = "Resolve on behalf of this querying service." };
        var json = new Option<bool>("--json") { Description = "Print JSON." };
        var dnssec = new Option<bool>("--dnssec") { Description = "Validate DNS answers with DNSSEC from the IANA root anchor (or --trust-anchor); bogus answers are discarded." };
        var trustAnchors = new Option<string[]>("--trust-anchor") { Description = "A DS record to validate from, e.g. '. DS 20326 8 2 E06D…' (repeatable; implies --dnssec)." };
        var doh = new Option<string?>("--doh") { Description = "Ask this DNS-over-HTTPS server (RFC 8484) instead of --dns, e.g. https://dns.example/dns-query." };
        var dohCa = new Option<FileInfo?>("--doh-ca") { Description = "PEM certificate to trust for the DoH server's TLS." };
        var relay = new Option<string?>("--relay") { Description = "Ask the Discovery Providers through this Oblivious HTTP relay (https:// URL)." };
        var relayCa = new Option<FileInfo?>("--relay-ca") { Description = "PEM certificate to trust for the relay's TLS." };
        var tokenAccount = TokensCommand.AccountOption();
        var command = new Command("resolve", "Resolve an identifier: DNS first, then Discovery Providers.")
        {
            identifier, dnsServer, dnsTimeout, doh, dohCa, enumApex, dps, ca, trust, asService, json, dnssec, trustAnchors, relay, relayCa, tokenAccount,
        };
        command.SetAction((result, cancellationToken) => Cli.RunAsync(async () =>
        {
            List<DnsTrustAnchor>? anchors = null;
            try
            {
                var given = (result.GetValue(trustAnchors) ?? []).Select(DnsTrustAnchor.Parse).ToList();
                if (given.FirstOrDefault(a => !a.IsRoot) is { } below)
                {
                    throw new UsageException($"--trust-anchor: '{below.Zone}' is below the root; validation starts at the root zone, so give the DS record of your (private) root, '. DS …'");
                }

                anchors = given.Count > 0 ? given : result.GetValue(dnssec) ? [DnsTrustAnchor.IanaRoot] : null;
            }
            catch (FormatException e)
            {
                throw new UsageException("--trust-anchor: " + e.Message);
            }

            if (result.GetValue(dnsTimeout) is < 1 or > 120)
            {
                throw new UsageException("--dns-timeout is a number of seconds from 1 to 120");
            }

            var dnsOptions = new DnsDiscoveryOptions { EnumApex = result.GetValue(enumApex)!, TrustAnchors = anchors, Timeout = TimeSpan.FromSeconds(result.GetValue(dnsTimeout)) };
            using var dns = result.GetValue(doh) is { } dohUrl ? DohResolver(dohUrl, result.GetValue(dohCa), dnsOptions, result.GetValue(dnsServer) is not null)
                : new DnsDiscoveryResolver(Cli.ParseDnsServer(result.GetValue(dnsServer), "--dns"), dnsOptions);
            // The DPs are asked as lookup asks them: through the relay, paying with the wallet's tokens, proofs checked.
            var providers = new List<ProviderEndpoint>();
            var wallets = new List<TokenWallet>();
            string? service = result.GetValue(asService);
            try
            {
                foreach (var url in result.GetValue(dps) ?? [])
                {
                    var wallet = result.GetValue(tokenAccount) is { } account ? Cli.WalletFor(url, result.GetValue(ca), account) : null;
                    if (wallet is not null)
                    {
                        wallets.Add(wallet);
                        if (await wallet.CsisPerTokenAsync(cancellationToken).ConfigureAwait(false) > 0)
                        {
                            service ??= await wallet.ServiceAsync(cancellationToken).ConfigureAwait(false);
                        }
                    }

                    var client = await Cli.ConnectAsync(url, result.GetValue(ca), result.GetValue(relay), result.GetValue(relayCa), wallet, cancellationToken).ConfigureAwait(false);
                    var credentialCas = await Cli.CredentialAnchorsAsync(client, result.GetValue(trust), cancellationToken).ConfigureAwait(false);
                    providers.Add(new ProviderEndpoint(new Uri(url), client, new StatementVerifier(credentialCas), await Cli.TransparencyAsync(client, cancellationToken).ConfigureAwait(false))
                    {
                        Peers = (await client.GetMetadataAsync(cancellationToken).ConfigureAwait(false)).Peers,
                    });
                }

                // A DP the DNS names is reached with the same TLS trust as --dp (a development DP's certificate).
                var tlsRoots = result.GetValue(ca) is { } caFile ? Client.TlsTrust.LoadRoots(caFile.FullName) : null;
                var resolver = new DiscoveryResolver(dns, providers, (url, ct) =>
                    DiscoveryResolver.ConnectAsync(url, tlsRoots, new TreeHeadMemory(Path.Combine(KeyStore.DefaultPath, "trees.json")), ct));
                return await ResolveAsync(resolver, result.GetValue(identifier)!, service, result.GetValue(json), cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                wallets.ForEach(w => w.Dispose());
            }
        }));
        return command;
    }

    private static async Task<int> ResolveAsync(DiscoveryResolver resolver, string identifier, string? service, bool json, CancellationToken cancellationToken)
    {
        var resolution = await resolver.ResolveAsync(identifier, service, cancellationToken).ConfigureAwait(false);
        if (resolution.Outcome == LookupOutcome.Invalid)
        {
            throw new UsageException($"'{resolution.Identifier}' is neither a CSI nor a MUI: {(resolution.Notes.Count > 0 ? resolution.Notes[0] : "")}");
        }

        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                identifier = resolution.Identifier,
                kind = resolution.Kind,
                result = VerifiedLookup.OutcomeName(resolution.Outcome),
                source = resolution.Source is { } source ? Cli.JsonValue(source) : null,
                sourceName = resolution.SourceName,
                authentication = resolution.Authentication is { } authentication ? Cli.JsonValue(authentication) : null,
                services = resolution.Services,
                partial = resolution.Partial,
                sources = resolution.Sources.Select(x => new { kind = Cli.JsonValue(x.Kind), name = x.Name, status = Cli.JsonValue(x.Status), detail = x.Detail, chain = x.Chain?.Select(u => u.ToString()) }),
                notes = resolution.Notes,
            }, Cli.Indented));
            return 0;
        }

        Print(resolution);
        return 0;
    }

    private static DnsDiscoveryResolver DohResolver(string url, FileInfo? ca, DnsDiscoveryOptions options, bool dnsGiven)
    {
        if (dnsGiven)
        {
            throw new UsageException("give --dns or --doh, not both");
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttps)
        {
            throw new UsageException($"--doh '{url}' is not an https:// URL");
        }

        if (options.TrustAnchors is not null)
        {
            throw new UsageException("DNSSEC validation (--dnssec, --trust-anchor) needs --dns, not --doh");
        }

        var handler = Client.TlsTrust.CreateHandler(ca is null ? null : Client.TlsTrust.LoadRoots(ca.FullName));
        return new DnsDiscoveryResolver(uri, new HttpClient(handler), options);
    }

    private static void Print(Resolution r)
    {
        var how = r.Authentication switch
        {
            AnswerAuthentication.SignedMapping => "signed mapping, verified",
            AnswerAuthentication.DnsNotValidated => "DNS, not DNSSEC-validated",
            AnswerAuthentication.DnsValidated => "DNS, DNSSEC-validated",
            AnswerAuthentication.DnsInsecure => "DNS, unsigned zone (DNSSEC-insecure)",
            _ => "",
        };
        Console.WriteLine(r.Source is null
            ? $"{r.Identifier}: {VerifiedLookup.OutcomeName(r.Outcome)} (no source has it)"
            : $"{r.Identifier}: {VerifiedLookup.OutcomeName(r.Outcome)} via {(r.Source == AnswerSource.Dns ? "DNS" : "DP")} {r.SourceName} ({how})");
        if (r.Services.Count > 0)
        {
            var table = new Table().AddColumns("service", "account", "endpoint", "priority", "tags", "from");
            foreach (var s in r.Services)
            {
                table.AddRow(Markup.Escape(s.Service ?? ""), Markup.Escape(s.Account ?? ""), Markup.Escape(s.Endpoint ?? ""),
                    s.Priority?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "", Markup.Escape(string.Join(' ', s.Tags)), Markup.Escape(s.From ?? ""));
            }

            if (Console.IsOutputRedirected)
            {
                AnsiConsole.Profile.Width = 200;
            }

            AnsiConsole.Write(table);
        }

        foreach (var source in r.Sources)
        {
            var via = source.Chain is null ? "" : " (via " + string.Join(" → ", source.Chain) + ")";
            Console.WriteLine($"  {(source.Kind == AnswerSource.Dns ? "DNS" : "DP")} {source.Name}: {source.Status.ToString().ToLowerInvariant()}, {source.Detail}{via}");
        }

        foreach (var note in r.Notes)
        {
            Console.Error.WriteLine("  note: " + note);
        }
    }
}

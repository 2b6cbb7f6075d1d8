using System.Net;
using ARSoft.Tools.Net;
using ARSoft.Tools.Net.Dns;
using Mimi.Discovery.Identifiers;

namespace Mimi.Discovery.Dns;

/// <summary>How MIMI and MIMIX records are published in the DNS (no RR type is registered yet).</summary>
[Flags]
public enum DnsEncodings
{
    /// <summary>TXT at <c>_mimi.&lt;name&gt;</c> / <c>_mimix.&lt;domain&gt;</c>.</summary>
    Txt = 1,

    /// <summary>A private-use type at the name itself whose RDATA is the TXT wire form.</summary>
    PrivateType = 2,
}

/// <summary>Settings of DNS discovery.</summary>
public sealed record DnsDiscoveryOptions
{
    /// <summary>Private-use type for MIMI records (default 65280).</summary>
    public ushort MimiType { get; init; } = 65280;

    /// <summary>Private-use type for MIMIX records (default 65281).</summary>
    public ushort MimixType { get; init; } = 65281;

    /// <summary>ENUM apex for phone numbers; <c>e164.arpa</c> unless a private ENUM tree is used.</summary>
    public string EnumApex { get; init; } = DiscoveryNames.PublicEnumApex;

    /// <summary>Per-query timeout.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// DNSSEC trust anchors (e.g. <see cref="DnsTrustAnchor.IanaRoot"/>). When set, every answer is
    /// validated from them and reported as validated, unsigned or bogus; bogus answers are discarded.
    /// Anchors are DS records of the root zone <c>.</c> (the IANA root, or a private tree's root);
    /// an anchor below the root is refused by the resolver's constructor.
    /// </summary>
    public IReadOnlyList<DnsTrustAnchor>? TrustAnchors { get; init; }
}

/// <summary>What DNSSEC says about an answer.</summary>
public enum DnssecStatus
{
    /// <summary>No validation was asked for.</summary>
    NotChecked,

    /// <summary>Validated from a trust anchor: a secure answer.</summary>
    Validated,

    /// <summary>Provably unsigned (an insecure delegation): the answer is as good as plain DNS.</summary>
    Insecure,

    /// <summary>Signed but failed validation: the answer was discarded.</summary>
    Bogus,
}

/// <summary>A DNSSEC trust anchor: a DS record (RFC 4034 §5) for a zone, usually the root.</summary>
public sealed record DnsTrustAnchor(string Zone, ushort KeyTag, byte Algorithm, byte DigestType, byte[] Digest)
{
    /// <summary>The IANA root zone KSK-2017 (key tag 20326), the anchor of the public DNS.</summary>
    public static DnsTrustAnchor IanaRoot { get; } = Parse(". DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D");

    /// <summary>Parses <c>zone DS keytag algorithm digesttype hexdigest</c> (the <c>DS</c> and a TTL/class are optional).</summary>
    /// <exception cref="FormatException">The text is not a DS record.</exception>
    public static DnsTrustAnchor Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var tokens = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        var ds = Array.FindIndex(tokens, t => string.Equals(t, "DS", StringComparison.OrdinalIgnoreCase));
        if (tokens.Length == 0 || ds < 1 || tokens.Length - ds < 5)
        {
            throw new FormatException($"'{text}' is not a DS record: expected zone DS keytag algorithm digesttype digest");
        }

        try
        {
            var culture = System.Globalization.CultureInfo.InvariantCulture;
            return new DnsTrustAnchor(tokens[0], ushort.Parse(tokens[ds + 1], culture), byte.Parse(tokens[ds + 2], culture),
                byte.Parse(tokens[ds + 3], culture), Convert.FromHexString(string.Concat(tokens[(ds + 4)..])));
        }
        catch (Exception e) when (e is OverflowException or FormatException)
        {
            throw new FormatException($"'{text}' is not a DS record: {e.Message}", e);
        }
    }

    /// <summary>Whether this is an anchor for the root zone <c>.</c>.</summary>
    public bool IsRoot => Zone.Trim() is "." or "";

    internal DsRecord ToArSoft() =>
        new(DomainName.Parse(Zone), RecordClass.INet, 0, KeyTag, (DnsSecAlgorithm)Algorithm, (DnsSecDigestType)DigestType, Digest);
}

/// <summary>What a DNS lookup ended with.</summary>
public enum DnsOutcome
{
    /// <summary>At least one valid MIMI record.</summary>
    Found,

    /// <summary>The name exists but holds no valid MIMI record.</summary>
    NoRecords,

    /// <summary>The name does not exist.</summary>
    NameNotFound,

    /// <summary>An email domain has no MIMIX record, so DNS cannot resolve the address.</summary>
    NoMimix,

    /// <summary>The server answered SERVFAIL (or another error code).</summary>
    ServerFailure,

    /// <summary>The server refused the query.</summary>
    Refused,

    /// <summary>No answer within the timeout.</summary>
    Timeout,

    /// <summary>The identifier has no DNS name (e.g. an email local part too long for a label).</summary>
    NotResolvable,
}

/// <summary>One MIMI record found in the DNS, how it was published, and what DNSSEC said of it.</summary>
public sealed record DnsMimiRecord(MimiRecord Record, DnsEncodings Encodings, DnssecStatus Dnssec = DnssecStatus.NotChecked);

/// <summary>The result of resolving one identifier in the DNS.</summary>
/// <param name="Name">The MUI whose records were queried (for email, under the MIMIX domain; for phones, the ENUM name).</param>
/// <param name="Outcome">How it ended.</param>
/// <param name="Records">Valid records, deduplicated across encodings, ordered by priority.</param>
/// <param name="Diagnostics">Why records were ignored, and other notes the caller may show.</param>
/// <param name="Dnssec">The weakest DNSSEC status among the records (or the answers, when none): Bogus, then Insecure, then Validated.</param>
public sealed record DnsDiscoveryResult(string Name, DnsOutcome Outcome, IReadOnlyList<DnsMimiRecord> Records, IReadOnlyList<string> Diagnostics, DnssecStatus Dnssec = DnssecStatus.NotChecked);

/// <summary>The DP the DNS names for an identifier (<see cref="DnsDiscoveryResolver.ResolveDpAsync"/>).</summary>
/// <param name="Name">The name that held the record, or the most specific name asked when none did.</param>
/// <param name="Outcome"><see cref="DnsOutcome.Found"/>, or why not.</param>
/// <param name="Dp">The DP's origin, when found.</param>
/// <param name="Diagnostics">Records ignored, answers discarded.</param>
/// <param name="Dnssec">What DNSSEC said of the answer used.</param>
public sealed record DnsDpResult(string Name, DnsOutcome Outcome, Uri? Dp, IReadOnlyList<string> Diagnostics, DnssecStatus Dnssec = DnssecStatus.NotChecked);

/// <summary>
/// Resolves MUIs, email addresses (through MIMIX) and phone numbers (through ENUM) to MIMI
/// records by querying one DNS server over UDP, falling back to TCP when an answer is truncated.
/// Every outcome is a value; nothing throws for a DNS failure.
/// </summary>
public sealed class DnsDiscoveryResolver : IDisposable
{
    private const int MaxAliases = 8;

    private readonly ARSoft.Tools.Net.Dns.DnsClient? _client;
    private readonly global::DnsClient.LookupClient? _plain;
    private readonly DohTransport? _doh;
    private readonly DnsDiscoveryOptions _options;
    private readonly SelfValidatingInternalDnsSecStubResolver? _validator;

    /// <summary>
    /// A resolver that asks the server at <paramref name="server"/> (UDP, then TCP on truncation),
    /// following CNAME chains; with trust anchors, through a validating stub resolver.
    /// </summary>
    /// <exception cref="ArgumentException">A trust anchor is for a zone below the root.</exception>
    public DnsDiscoveryResolver(IPEndPoint server, DnsDiscoveryOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(server);
        _options = options ?? new DnsDiscoveryOptions();
        if (_options.TrustAnchors is { Count: > 0 } anchors)
        {
            // ARSoft's validator starts every chain at the root zone: an anchor for any other zone
            // would never match and ends in its resolve-loop exception, so it is refused here.
            if (anchors.FirstOrDefault(a => !a.IsRoot) is { } below)
            {
                throw new ArgumentException($"The trust anchor for '{below.Zone}' is below the root: DNSSEC validation here starts at the root zone, so give the DS record of your (private) root, '. DS …'.", nameof(options));
            }

            _client = new ARSoft.Tools.Net.Dns.DnsClient([server.Address], [new UdpClientTransport(server.Port), new TcpClientTransport(server.Port)], false, (int)_options.Timeout.TotalMilliseconds);
            _validator = new SelfValidatingInternalDnsSecStubResolver(_client, new AnchorHints([.. anchors.Select(a => a.ToArSoft())], server.Address));
        }

        // Plain queries go through DnsClient.NET, whose TXT strings are the record's UTF-8
        // octets (ARSoft reads them as ASCII, turning every other octet into '?').
        _plain = new global::DnsClient.LookupClient(new global::DnsClient.LookupClientOptions(new global::DnsClient.NameServer(server))
        {
            UseCache = false,
            Recursion = true,
            Retries = 0,
            Timeout = _options.Timeout,
            UseTcpFallback = true,
            ThrowDnsErrors = false,
            ContinueOnDnsError = false,
            ContinueOnEmptyResponse = false,
        });
    }

    /// <summary>
    /// A resolver that asks a DNS-over-HTTPS server (RFC 8484, POST <c>application/dns-message</c>),
    /// so the network path sees only HTTPS to that server. DNSSEC validation is not offered over
    /// DoH here: a <see cref="DnsDiscoveryOptions.TrustAnchors"/> setting is refused.
    /// </summary>
    /// <param name="dohEndpoint">The DoH URI, e.g. <c>https://dns.example/dns-query</c>.</param>
    /// <param name="httpClient">The client to send with (its handler decides TLS trust).</param>
    /// <param name="options">Settings.</param>
    /// <exception cref="ArgumentException">The URI is not https, or trust anchors were given.</exception>
    public DnsDiscoveryResolver(Uri dohEndpoint, HttpClient httpClient, DnsDiscoveryOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(dohEndpoint);
        ArgumentNullException.ThrowIfNull(httpClient);
        if (dohEndpoint.Scheme != Uri.UriSchemeHttps)
        {
            throw new ArgumentException("DNS over HTTPS needs an https:// URI.", nameof(dohEndpoint));
        }

        _options = options ?? new DnsDiscoveryOptions();
        if (_options.TrustAnchors is { Count: > 0 })
        {
            throw new ArgumentException("DNSSEC validation is available over UDP/TCP only.", nameof(options));
        }

        _doh = new DohTransport(dohEndpoint, httpClient, _options.Timeout);
    }

    private sealed class AnchorHints(IReadOnlyList<DsRecord> keys, IPAddress server) : IResolverHintStore
    {
        public IReadOnlyList<IPAddress> RootServers { get; } = [server];

        public IReadOnlyList<DsRecord> RootKeys => keys;
    }

    /// <inheritdoc/>
    public void Dispose() => ((IDisposable?)_client)?.Dispose();

    /// <summary>Resolves a CSI: email through its domain's MIMIX record, phone through its ENUM name.</summary>
    public Task<DnsDiscoveryResult> ResolveAsync(Csi csi, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(csi);

        // Each resolution validates from fresh answers, so a record just updated is never judged on stale keys.
        _validator?.ClearCache();
        return csi.Kind == CsiKind.Phone
            ? QueryMuiAsync(DiscoveryNames.EnumName(csi, _options.EnumApex), cancellationToken)
            : ResolveEmailAsync(csi, cancellationToken);
    }

    /// <summary>
    /// Finds the DP the DNS names for <paramref name="csi"/>: the most specific of
    /// <see cref="DiscoveryNames.DpTxtNames"/> holding a valid <see cref="DpRecord"/> (all asked at once).
    /// Outcome <see cref="DnsOutcome.Found"/> with <see cref="DnsDpResult.Dp"/> set, or why not; a name
    /// with several different DPs is ignored with a diagnostic. Nothing throws for a DNS failure.
    /// </summary>
    public async Task<DnsDpResult> ResolveDpAsync(Csi csi, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(csi);
        _validator?.ClearCache();
        var names = DiscoveryNames.DpTxtNames(csi, _options.EnumApex);
        var answers = await Task.WhenAll(names.Select(n => QueryAsync(n, RecordType.Txt, cancellationToken))).ConfigureAwait(false);
        var diagnostics = new List<string>();
        for (var i = 0; i < names.Count; i++)
        {
            if (answers[i].Dnssec == DnssecStatus.Bogus)
            {
                diagnostics.Add($"{names[i]}: the answer failed DNSSEC validation and was discarded");
                continue;
            }

            var named = new List<Uri>();
            foreach (var text in answers[i].Texts)
            {
                if (DpRecord.TryParse(text, out var dp, out var reason))
                {
                    named.Add(dp!);
                }
                else if (text.StartsWith("v=" + DpRecord.Version, StringComparison.Ordinal))
                {
                    diagnostics.Add($"{names[i]}: record ignored ({reason})");
                }
            }

            if (named.Select(Identifiers.HttpsOrigin.Of).Distinct(StringComparer.Ordinal).Count() > 1)
            {
                diagnostics.Add($"{names[i]}: names several DPs ({string.Join(", ", named)}); ignored");
                continue;
            }

            if (named.Count > 0)
            {
                return new DnsDpResult(names[i], DnsOutcome.Found, named[0], diagnostics, answers[i].Dnssec);
            }
        }

        // A failure outranks "nothing", so a caller never mistakes "could not ask" for "no DP named".
        var outcome = answers.Select(a => a.Outcome).Aggregate(DnsOutcome.NameNotFound, Combine);
        return new DnsDpResult(names[0], outcome, null, diagnostics, Weakest(answers.Select(a => a.Dnssec)));
    }

    /// <summary>Queries the MIMI records of a MUI in both encodings.</summary>
    public Task<DnsDiscoveryResult> ResolveMuiAsync(string mui, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(mui);
        _validator?.ClearCache();
        return QueryMuiAsync(mui, cancellationToken);
    }

    private async Task<DnsDiscoveryResult> QueryMuiAsync(string mui, CancellationToken cancellationToken)
    {
        var diagnostics = new List<string>();
        var (txt, typed) = await QueryBothAsync(DiscoveryNames.MimiTxtName(mui), mui, _options.MimiType, cancellationToken).ConfigureAwait(false);
        var records = new Dictionary<MimiRecord, DnsEncodings>();
        var security = new Dictionary<MimiRecord, DnssecStatus>();
        foreach (var (answer, encoding) in new[] { (txt, DnsEncodings.Txt), (typed, DnsEncodings.PrivateType) })
        {
            if (answer.Note is not null)
            {
                diagnostics.Add($"{mui}: {answer.Note}");
            }
            else if (answer.Dnssec == DnssecStatus.Bogus)
            {
                diagnostics.Add($"{mui}: the {(encoding == DnsEncodings.Txt ? "TXT" : "private-type")} answer failed DNSSEC validation and was discarded");
            }

            foreach (var text in answer.Texts)
            {
                if (MimiRecord.TryParse(text, out var record, out var diagnostic))
                {
                    records[record] = records.GetValueOrDefault(record) | encoding;
                    // Validated in either encoding authenticates the record.
                    security[record] = security.TryGetValue(record, out var seen) && seen == DnssecStatus.Validated ? seen : answer.Dnssec;
                    if (diagnostic.Length > 0)
                    {
                        diagnostics.Add($"{mui}: {diagnostic}");
                    }
                }
                else
                {
                    diagnostics.Add($"{mui}: record ignored ({diagnostic}): \"{text}\"");
                }
            }
        }

        var ordered = MimiRecord.ByPreference(records.Keys).Select(r => new DnsMimiRecord(r, records[r], security[r])).ToList();
        var dnssec = ordered.Count > 0 ? Weakest(ordered.Select(r => r.Dnssec)) : Weakest([txt.Dnssec, typed.Dnssec]);
        return new DnsDiscoveryResult(mui, ordered.Count > 0 ? DnsOutcome.Found : Combine(txt.Outcome, typed.Outcome), ordered, diagnostics, dnssec);
    }

    private async Task<DnsDiscoveryResult> ResolveEmailAsync(Csi email, CancellationToken cancellationToken)
    {
        var domain = email.EmailDomain!;
        var (txt, typed) = await QueryBothAsync(DiscoveryNames.MimixTxtName(domain), domain, _options.MimixType, cancellationToken).ConfigureAwait(false);
        var diagnostics = new List<string>();
        var targets = new List<string>();
        foreach (var text in txt.Texts.Concat(typed.Texts))
        {
            if (Mui.TryParse(text, out var target, out var reason))
            {
                if (!targets.Contains(target.Name, StringComparer.Ordinal))
                {
                    targets.Add(target.Name);
                }
            }
            else
            {
                diagnostics.Add($"{domain}: MIMIX record ignored ({reason}): \"{text}\"");
            }
        }

        if (targets.Count == 0)
        {
            var outcome = Combine(txt.Outcome, typed.Outcome);
            return new DnsDiscoveryResult(domain, outcome is DnsOutcome.NoRecords or DnsOutcome.NameNotFound ? DnsOutcome.NoMimix : outcome, [], diagnostics, Weakest([txt.Dnssec, typed.Dnssec]));
        }

        if (targets.Count > 1)
        {
            diagnostics.Add($"{domain}: several MIMIX targets ({string.Join(", ", targets)}); using {targets[0]}");
        }

        var mui = DiscoveryNames.EmailMui(email, targets[0]);
        if (mui is null)
        {
            diagnostics.Add($"{email}: the local part does not fit in a DNS label under {targets[0]}");
            return new DnsDiscoveryResult(targets[0], DnsOutcome.NotResolvable, [], diagnostics);
        }

        var result = await QueryMuiAsync(mui, cancellationToken).ConfigureAwait(false);

        // The MUI is only as trustworthy as the MIMIX answer that named it.
        var mimixSecurity = Weakest(new[] { txt, typed }.Where(a => a.Texts.Count > 0).Select(a => a.Dnssec));
        return result with { Diagnostics = [.. diagnostics, .. result.Diagnostics], Dnssec = Weakest([result.Dnssec, mimixSecurity]) };
    }

    private readonly record struct Answer(DnsOutcome Outcome, IReadOnlyList<string> Texts, DnssecStatus Dnssec = DnssecStatus.NotChecked, string? Note = null);

    private static DnssecStatus Weakest(IEnumerable<DnssecStatus> statuses)
    {
        var list = statuses.ToList();
        return list.Contains(DnssecStatus.Bogus) ? DnssecStatus.Bogus
            : list.Contains(DnssecStatus.NotChecked) ? DnssecStatus.NotChecked
            : list.Contains(DnssecStatus.Insecure) ? DnssecStatus.Insecure
            : list.Count > 0 ? DnssecStatus.Validated : DnssecStatus.NotChecked;
    }

    private async Task<Answer> QueryValidatedAsync(DomainName domain, RecordType type, CancellationToken cancellationToken)
    {
        try
        {
            List<string> texts;
            DnsSecValidationResult validation;
            if (type == RecordType.Txt)
            {
                DnsSecResult<TxtRecord>? result = null;
                try
                {
                    result = await _validator!.ResolveSecureAsync<TxtRecord>(domain, type, RecordClass.INet, cancellationToken).ConfigureAwait(false);
                }
                catch (DnsSecValidationException)
                {
                    // fall through: below, a bogus answer is told apart from unreadable UTF-8
                }

                // ARSoft.Tools.Net reads TXT strings as ASCII: each octet above 0x7F becomes '?',
                // and a signed RRset re-encoded that way no longer matches its RRSIG. Such an
                // answer is read again as octets; a signed one cannot be checked and says so.
                if (result is null || result.Records.Any(r => r.TextParts.Any(t => t.Contains('?', StringComparison.Ordinal))))
                {
                    var plain = await QueryPlainChainAsync(domain, type, cancellationToken).ConfigureAwait(false);
                    var utf8 = plain.Texts.Where(t => !System.Text.Ascii.IsValid(t)).ToList();
                    if (result is null)
                    {
                        return utf8.Count > 0
                            ? new Answer(DnsOutcome.NoRecords, [], DnssecStatus.Bogus, "the TXT answer holds UTF-8 text, which the DNSSEC validator here cannot check, so it was set aside; the private-type encoding carries the same records and is validated")
                            : new Answer(DnsOutcome.NoRecords, [], DnssecStatus.Bogus);
                    }

                    var lossy = result.Records.Select(r => string.Concat(r.TextParts)).ToHashSet(StringComparer.Ordinal);
                    texts = plain.Texts.Where(t => lossy.Contains(AsArSoftReadsIt(t))).ToList();
                }
                else
                {
                    texts = result.Records.Select(r => string.Concat(r.TextParts)).ToList();
                }

                // Octets re-read from an unvalidated answer are not what the validator checked (it saw
                // '?' for each of them): such texts are no more than insecure.
                validation = texts.Any(t => !System.Text.Ascii.IsValid(t)) && result.ValidationResult == DnsSecValidationResult.Signed
                    ? DnsSecValidationResult.Unsigned
                    : result.ValidationResult;
            }
            else
            {
                var result = await _validator!.ResolveSecureAsync<UnknownRecord>(domain, type, RecordClass.INet, cancellationToken).ConfigureAwait(false);
                texts = [];
                foreach (var record in result.Records)
                {
                    if (TxtWire.TryDecode(record.RecordData, out var text))
                    {
                        texts.Add(text);
                    }
                }

                validation = result.ValidationResult;
            }

            var status = validation switch
            {
                DnsSecValidationResult.Signed => DnssecStatus.Validated,
                DnsSecValidationResult.Bogus => DnssecStatus.Bogus,
                _ => DnssecStatus.Insecure,
            };
            return status == DnssecStatus.Bogus
                ? new Answer(DnsOutcome.NoRecords, [], status)
                : new Answer(texts.Count > 0 ? DnsOutcome.Found : DnsOutcome.NoRecords, texts, status);
        }
        catch (DnsSecValidationException)
        {
            return new Answer(DnsOutcome.NoRecords, [], DnssecStatus.Bogus);
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException or TimeoutException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return new Answer(DnsOutcome.Timeout, []);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // ARSoft's validator throws plain exceptions for a failed query ("DNS request failed",
            // SERVFAIL/REFUSED) and for an alias loop; every outcome here is a value.
            return new Answer(DnsOutcome.ServerFailure, []);
        }
    }

    private async Task<(Answer Txt, Answer Typed)> QueryBothAsync(string txtName, string typedName, ushort type, CancellationToken cancellationToken)
    {
        var txt = QueryAsync(txtName, RecordType.Txt, cancellationToken);
        var typed = QueryAsync(typedName, (RecordType)type, cancellationToken);
        return (await txt.ConfigureAwait(false), await typed.ConfigureAwait(false));
    }

    private async Task<Answer> QueryAsync(string name, RecordType type, CancellationToken cancellationToken)
    {
        DomainName domain;
        try
        {
            domain = DomainName.Parse(name);
        }
        catch (ArgumentException)
        {
            return new Answer(DnsOutcome.NotResolvable, []);
        }

        if (_validator is not null)
        {
            return await QueryValidatedAsync(domain, type, cancellationToken).ConfigureAwait(false);
        }

        return await QueryPlainChainAsync(domain, type, cancellationToken).ConfigureAwait(false);
    }

    // What ARSoft makes of a TXT string: ASCII decoding, one '?' per octet above 0x7F.
    private static string AsArSoftReadsIt(string text) =>
        string.Concat(System.Text.Encoding.UTF8.GetBytes(text).Select(b => b < 0x80 ? (char)b : '?'));

    private async Task<Answer> QueryPlainChainAsync(DomainName domain, RecordType type, CancellationToken cancellationToken)
    {
        // RFC 1034 §3.6.2, §4.3.2: follow the CNAME chain the answer holds; when it leaves the
        // data the server gave, ask again for its last target. RFC 6604: the RCODE is the last name's.
        var chain = new HashSet<string>(StringComparer.Ordinal);
        var current = DnsAnswer.Canonical(domain.ToString());
        while (true)
        {
            var asked = current;
            if (!chain.Add(asked) || chain.Count > MaxAliases + 1)
            {
                return new Answer(DnsOutcome.ServerFailure, []); // an alias loop, or a chain too long
            }

            var response = await QueryPlainAsync(asked, (ushort)type, cancellationToken).ConfigureAwait(false);
            if (response is null)
            {
                return new Answer(DnsOutcome.Timeout, []);
            }

            while (!response.Records.Any(r => r.Owner == current && r.Type == (ushort)type)
                   && response.Records.FirstOrDefault(r => r.Type == DnsAnswer.CName && r.Owner == current) is { Target: { } target })
            {
                current = target;
                if (!chain.Add(current) || chain.Count > MaxAliases + 1)
                {
                    return new Answer(DnsOutcome.ServerFailure, []);
                }
            }

            switch (response.ReturnCode)
            {
                case 3: // NXDOMAIN
                    return new Answer(DnsOutcome.NameNotFound, []);
                case 5: // REFUSED
                    return new Answer(DnsOutcome.Refused, []);
                case not 0:
                    return new Answer(DnsOutcome.ServerFailure, []);
            }

            var texts = new List<string>();
            foreach (var record in response.Records.Where(r => r.Owner == current && r.Type == (ushort)type))
            {
                if (TxtWire.TryDecode(record.Data, out var text))
                {
                    texts.Add(text);
                }
            }

            if (texts.Count > 0 || current == asked)
            {
                return new Answer(texts.Count > 0 ? DnsOutcome.Found : DnsOutcome.NoRecords, texts);
            }

            // The chain ends at a name this answer holds nothing for: ask for it.
            chain.Remove(current);
        }
    }

    private async Task<DnsAnswer?> QueryPlainAsync(string name, ushort type, CancellationToken cancellationToken)
    {
        if (_doh is not null)
        {
            return await _doh.QueryAsync(DomainName.Parse(name), (RecordType)type, cancellationToken).ConfigureAwait(false);
        }

        global::DnsClient.IDnsQueryResponse response;
        try
        {
            response = await _plain!.QueryAsync(new global::DnsClient.DnsQuestion(name, (global::DnsClient.QueryType)type), cancellationToken).ConfigureAwait(false);
        }
        catch (global::DnsClient.DnsResponseException)
        {
            return null; // no answer within the timeout, or none that parsed
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException)
        {
            return null;
        }

        var records = new List<DnsAnswerRecord>();
        foreach (var record in response.Answers)
        {
            var owner = DnsAnswer.Canonical(record.DomainName.Value);
            switch (record)
            {
                case global::DnsClient.Protocol.TxtRecord txt:
                    records.Add(new DnsAnswerRecord(owner, DnsAnswer.Txt, TxtWire.Encode(string.Concat(txt.Text))));
                    break;
                case global::DnsClient.Protocol.CNameRecord cname:
                    records.Add(new DnsAnswerRecord(owner, DnsAnswer.CName, [], DnsAnswer.Canonical(cname.CanonicalName.Value)));
                    break;
                case global::DnsClient.Protocol.UnknownRecord unknown:
                    records.Add(new DnsAnswerRecord(owner, (ushort)unknown.RecordType, [.. unknown.Data]));
                    break;
            }
        }

        return new DnsAnswer((int)response.Header.ResponseCode, records);
    }

    // A record found in either encoding wins; otherwise a failure outranks an empty answer, so a
    // caller never mistakes "could not ask" for "nothing there".
    private static DnsOutcome Combine(DnsOutcome a, DnsOutcome b)
    {
        DnsOutcome[] failures = [DnsOutcome.ServerFailure, DnsOutcome.Timeout, DnsOutcome.Refused, DnsOutcome.NotResolvable];
        if (failures.Contains(a))
        {
            return a;
        }

        if (failures.Contains(b))
        {
            return b;
        }

        return a == DnsOutcome.NameNotFound && b == DnsOutcome.NameNotFound ? DnsOutcome.NameNotFound : DnsOutcome.NoRecords;
    }
}

/// <summary>The TXT RDATA wire form (RFC 1035 §3.3.14): one or more length-prefixed character-strings, joined.</summary>
internal static class TxtWire
{
    /// <summary>Encodes text as TXT RDATA, split into character-strings of at most 255 octets.</summary>
    public static byte[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var bytes = System.Text.Encoding.UTF8.GetBytes(text);
        var output = new List<byte>(bytes.Length + (bytes.Length / 255) + 1);
        var offset = 0;
        do
        {
            var length = Math.Min(255, bytes.Length - offset);
            output.Add((byte)length);
            output.AddRange(bytes.AsSpan(offset, length).ToArray());
            offset += length;
        }
        while (offset < bytes.Length);
        return [.. output];
    }

    /// <summary>Decodes TXT RDATA; false when a length prefix runs past the end or the text is not UTF-8.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> data, out string text)
    {
        text = string.Empty;
        var joined = new List<byte>(data.Length);
        var offset = 0;
        while (offset < data.Length)
        {
            var length = data[offset++];
            if (offset + length > data.Length)
            {
                return false;
            }

            joined.AddRange(data.Slice(offset, length).ToArray());
            offset += length;
        }

        if (data.Length == 0)
        {
            return false;
        }

        try
        {
            text = new System.Text.UTF8Encoding(false, true).GetString([.. joined]);
            return true;
        }
        catch (System.Text.DecoderFallbackException)
        {
            return false;
        }
    }
}

using Mimi.Discovery.Dns;
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Transparency;
using Mimi.Discovery.Verification;

namespace Mimi.Discovery.Client;

/// <summary>Where an answer came from.</summary>
public enum AnswerSource
{
    /// <summary>MIMI records in the DNS.</summary>
    Dns,

    /// <summary>A Discovery Provider (an "oracle" in draft-bertola-mimi-discovery).</summary>
    DiscoveryProvider,
}

/// <summary>How an answer was authenticated.</summary>
public enum AnswerAuthentication
{
    /// <summary>DNS records taken as the server sent them, without DNSSEC validation.</summary>
    DnsNotValidated,

    /// <summary>DNS records validated by DNSSEC from the caller's trust anchors.</summary>
    DnsValidated,

    /// <summary>DNS records under a provably unsigned delegation: as good as plain DNS.</summary>
    DnsInsecure,

    /// <summary>Signed mapping statements that verified against the caller's trust anchors.</summary>
    SignedMapping,
}

/// <summary>One way to reach the identifier's owner.</summary>
/// <param name="Service">Service id or brand, when the source names one.</param>
/// <param name="Account">The account on that service.</param>
/// <param name="Endpoint">The service endpoint, when given.</param>
/// <param name="Priority">Lower is preferred; null when the source gives none.</param>
/// <param name="Tags">Preference tags (DP answers only).</param>
/// <param name="ProtocolVersion">Protocol version, when given.</param>
/// <param name="From">The source it came from: the DNS name queried, or the URL of the DP that answered.</param>
public sealed record ReachableAt(string? Service, string? Account, string? Endpoint, int? Priority, IReadOnlyList<string> Tags, string? ProtocolVersion, string? From = null);

/// <summary>What one source said.</summary>
public enum SourceStatus
{
    /// <summary>It has mappings or records for the identifier (found or opted out).</summary>
    Answered,

    /// <summary>It says it has nothing (no record, no name, no mapping).</summary>
    Nothing,

    /// <summary>It could not be asked or did not answer (timeout, SERVFAIL, an unreachable DP, a referral not followed to the end).</summary>
    Failed,

    /// <summary>It answered, and the answer was refused: a statement or transparency proof that did not verify.</summary>
    Refused,
}

/// <summary>One source's part in a resolution.</summary>
/// <param name="Kind">The DNS or a DP.</param>
/// <param name="Name">The DNS name queried, or the DP's URL (the first DP asked, when it referred).</param>
/// <param name="Status">What it said.</param>
/// <param name="Detail">A sentence: the DNS outcome, the DP's result, or why it failed or was refused.</param>
/// <param name="Chain">For a DP that referred: the DPs asked, from it to the one that answered.</param>
public sealed record SourceReport(AnswerSource Kind, string Name, SourceStatus Status, string Detail, IReadOnlyList<Uri>? Chain = null);

/// <summary>The answer of <see cref="DiscoveryResolver.ResolveAsync"/>.</summary>
/// <param name="Identifier">As asked.</param>
/// <param name="Kind">What the identifier is: a CSI (phone, email) or a MUI.</param>
/// <param name="Outcome">Found, opted out, none, or invalid, over every source.</param>
/// <param name="Source">The first source that answered (the DNS before DPs); null when none did.</param>
/// <param name="SourceName">The DNS name queried or the DP's URL of <paramref name="Source"/>.</param>
/// <param name="Authentication">How <paramref name="Source"/>'s answer was authenticated; null when none.</param>
/// <param name="Services">Where the owner can be reached, merged from every source in the order to try: the DNS's records, then the DPs' verified entries by preference.</param>
/// <param name="Notes">What each source said on the way, and ignored records.</param>
public sealed record Resolution(
    string Identifier,
    string Kind,
    LookupOutcome Outcome,
    AnswerSource? Source,
    string? SourceName,
    AnswerAuthentication? Authentication,
    IReadOnlyList<ReachableAt> Services,
    IReadOnlyList<string> Notes)
{
    /// <summary>Every source asked and what it said, the DNS first.</summary>
    public IReadOnlyList<SourceReport> Sources { get; init; } = [];

    /// <summary>Whether a source failed or was refused, so the answer may lack what it holds.</summary>
    public bool Partial => Sources.Any(s => s.Status is SourceStatus.Failed or SourceStatus.Refused);
}

/// <summary>A Discovery Provider the resolver may ask, with the verifier for its answers and, when it keeps a log, the check of its completeness proofs.</summary>
/// <param name="Url">The DP.</param>
/// <param name="Client">A client whose stack decides how lookups travel and pay (relay, tokens).</param>
/// <param name="Verifier">Verifies statements against the CAs the sender trusts.</param>
/// <param name="Transparency">Checks the DP's completeness proofs; an answer that fails them is not used. With it, the DP's referrals are followed (<see cref="ReferralFollower"/>).</param>
public sealed record ProviderEndpoint(Uri Url, DiscoveryClient Client, StatementVerifier Verifier, TransparencyCheck? Transparency = null)
{
    /// <summary>The DP's peers as its metadata names them: when set, its lookups are federated (docs/protocol.md §12) and each peer is a source of its own.</summary>
    public IReadOnlyList<Protocol.PeerInfo>? Peers { get; init; }
}

/// <summary>
/// One resolution across every source the sender has (R3 across sources; docs/architecture.md, "Every source, merged"):
/// the DNS (MUI records; MIMIX for email; ENUM for phone numbers, draft-bertola-mimi-discovery §5.1)
/// and every configured Discovery Provider, asked together, each DP's referrals followed. Verified
/// mappings from all DPs are merged by mapping id — the highest version wins, so a DP serving an older
/// copy cannot hold a change back — and the DNS's records come first. Every source's status is
/// reported; a source that failed or whose answer did not verify makes the answer
/// <see cref="Resolution.Partial"/> but never hides what the others said.
/// </summary>
/// <remarks>
/// draft-bertola-mimi-discovery asks Discovery Providers only when the DNS has nothing. Here they are
/// asked together and merged: a recipient registered with a DP and also published in the DNS is
/// reachable on both sets of services (R3), and a DNS failure no longer leaves the DPs unasked.
/// </remarks>
/// <param name="dns">The DNS resolver; null asks DPs only.</param>
/// <param name="providers">The DPs the sender configured.</param>
/// <param name="connectNamed">
/// How to reach a DP the DNS names for the identifier (<see cref="DnsDiscoveryResolver.ResolveDpAsync"/>,
/// the draft's "oracle" named by the domain or number range): null uses <see cref="ConnectAsync"/> with
/// the system's TLS trust. A named DP is asked like a configured one, for that identifier only.
/// </param>
public sealed class DiscoveryResolver(DnsDiscoveryResolver? dns, IReadOnlyList<ProviderEndpoint> providers, Func<Uri, CancellationToken, Task<ProviderEndpoint>>? connectNamed = null)
{
    // One follower per provider for the resolver's life, so delegates' endpoints are reused across resolutions.
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<ProviderEndpoint, ReferralFollower> _followers = [];

    /// <summary>
    /// A DP endpoint from its metadata: reached over HTTPS trusting <paramref name="tlsRoots"/> (null:
    /// the system's store), statements verified against the credential CAs it advertises, its
    /// completeness proofs checked against the log keys it advertises (when it keeps a log).
    /// </summary>
    /// <exception cref="DiscoveryException">The DP could not be reached or its metadata is malformed.</exception>
    public static async Task<ProviderEndpoint> ConnectAsync(Uri dp, System.Security.Cryptography.X509Certificates.X509Certificate2Collection? tlsRoots, TreeHeadMemory memory, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(dp);
        ArgumentNullException.ThrowIfNull(memory);
        var client = new DiscoveryClient(new HttpClient(TlsTrust.CreateHandler(tlsRoots)) { BaseAddress = new Uri(Identifiers.HttpsOrigin.Of(dp)), Timeout = TimeSpan.FromSeconds(10) });
        var metadata = await client.GetMetadataAsync(cancellationToken).ConfigureAwait(false);
        TrustAnchors anchors;
        try
        {
            anchors = new TrustAnchors(metadata.CredentialCas.Select(pem => System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(pem)));
        }
        catch (Exception e) when (e is ArgumentException or System.Security.Cryptography.CryptographicException)
        {
            throw new DiscoveryException($"the metadata of {dp} names no usable credential CA: {e.Message}", e);
        }

        var check = metadata.Transparency is null ? null
            : new TransparencyCheck(TransparencyKeyset.FromWire(metadata.Transparency) ?? throw new DiscoveryException($"the transparency keys in the metadata of {dp} are malformed"), memory);
        return new ProviderEndpoint(client.BaseAddress!, client, new StatementVerifier(anchors), check) { Peers = metadata.Peers };
    }

    /// <summary>Resolves a phone number, an email address or a MUI.</summary>
    /// <param name="identifier">Any accepted CSI form, or a domain name (MUI).</param>
    /// <param name="service">The querying service, for DP audiences.</param>
    /// <param name="cancellationToken">Cancels the queries.</param>
    public async Task<Resolution> ResolveAsync(string identifier, string? service = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(identifier);
        ArgumentNullException.ThrowIfNull(providers);
        var csi = CsiParser.Parse(identifier);
        Mui? mui = null;
        if (!csi.Success && (identifier.Contains('@', StringComparison.Ordinal) || !Mui.TryParse(identifier, out mui, out _)))
        {
            return new Resolution(identifier, "invalid", LookupOutcome.Invalid, null, null, null, [], [csi.Reason]);
        }

        var kind = csi.Success ? (csi.Csi.Kind == CsiKind.Phone ? "phone" : "email") : "mui";
        var dnsTask = dns is null ? Task.FromResult<DnsDiscoveryResult?>(null)
            : csi.Success ? Nullable(dns.ResolveAsync(csi.Csi, cancellationToken)) : Nullable(dns.ResolveMuiAsync(mui!.Name, cancellationToken));
        var namedTask = dns is not null && csi.Success ? dns.ResolveDpAsync(csi.Csi, cancellationToken) : null;
        var dpTasks = csi.Success ? providers.Select(p => AskAsync(p, csi.Csi, service, cancellationToken)).ToList() : [];
        var answer = await dnsTask.ConfigureAwait(false);
        var asked = (await Task.WhenAll(dpTasks).ConfigureAwait(false)).SelectMany(a => a).ToList();
        var notes = new List<string>();
        if (namedTask is not null)
        {
            var namedDp = await namedTask.ConfigureAwait(false);
            notes.AddRange(namedDp.Diagnostics);
            asked.AddRange(await AskNamedAsync(namedDp, csi.Csi!, service, cancellationToken).ConfigureAwait(false));
        }

        var sources = new List<SourceReport>();
        var services = new List<ReachableAt>();
        (AnswerSource Source, string Name, AnswerAuthentication How)? first = null;
        if (answer is not null)
        {
            notes.AddRange(answer.Diagnostics);
            if (answer.Outcome == DnsOutcome.Found)
            {
                services.AddRange(answer.Records.Select(r => new ReachableAt(r.Record.Service, r.Record.Account, r.Record.Endpoint, r.Record.Priority, [], r.Record.ProtocolVersion, answer.Name)));
                first = (AnswerSource.Dns, answer.Name, answer.Dnssec switch
                {
                    DnssecStatus.Validated => AnswerAuthentication.DnsValidated,
                    DnssecStatus.Insecure => AnswerAuthentication.DnsInsecure,
                    _ => AnswerAuthentication.DnsNotValidated,
                });
            }

            var failed = answer.Outcome is DnsOutcome.ServerFailure or DnsOutcome.Refused or DnsOutcome.Timeout;
            sources.Add(new SourceReport(AnswerSource.Dns, answer.Name, answer.Outcome == DnsOutcome.Found ? SourceStatus.Answered : failed ? SourceStatus.Failed : SourceStatus.Nothing, answer.Outcome.ToString()));
        }

        // Mappings from every DP, by mapping id: the highest version wins.
        var merged = new Dictionary<string, (Statements.MappingStatement Mapping, Uri From)>(StringComparer.Ordinal);
        foreach (var (report, mappings, from) in asked)
        {
            sources.Add(report);
            if (report.Status is SourceStatus.Failed or SourceStatus.Refused)
            {
                notes.Add($"{report.Name}: {report.Detail}");
            }

            foreach (var m in mappings)
            {
                var id = m.Id.ToString();
                if (!merged.TryGetValue(id, out var held) || held.Mapping.Version < m.Version)
                {
                    merged[id] = (m, from!);
                }
            }
        }

        if (merged.Count > 0)
        {
            var by = merged.Values.ToList();
            services.AddRange(by.SelectMany(p => p.Mapping.EntriesFor(service).Select(e => (p.Mapping, p.From, Entry: e)))
                .OrderByDescending(x => x.Entry.IsDefault).ThenBy(x => x.Entry.Priority)
                .Select(x => new ReachableAt(x.Entry.Service, x.Entry.Account, x.Entry.Endpoint?.ToString(), x.Entry.Priority, x.Entry.Tags, x.Entry.ProtocolVersion, x.From.ToString())));
            first ??= (AnswerSource.DiscoveryProvider, by[0].From.ToString(), AnswerAuthentication.SignedMapping);
        }

        var outcome = services.Count > 0 ? LookupOutcome.Found
            : merged.Count > 0 ? LookupOutcome.OptedOut
            : LookupOutcome.None;
        return new Resolution(identifier, kind, outcome, first?.Source, first?.Name, first?.How, services, notes) { Sources = sources };
    }

    /// <summary>Asks the DP the DNS names, unless it is one of the configured ones (asked already) or none is named.</summary>
    private async Task<IReadOnlyList<SourceAnswer>> AskNamedAsync(DnsDpResult named, Csi csi, string? service, CancellationToken cancellationToken)
    {
        if (named.Dp is not { } dp || providers.Any(p => Identifiers.HttpsOrigin.Of(p.Url) == Identifiers.HttpsOrigin.Of(dp)))
        {
            return [];
        }

        var how = $"named in the DNS at {named.Name} ({named.Dnssec switch
        {
            DnssecStatus.Validated => "DNSSEC-validated",
            DnssecStatus.Insecure => "unsigned zone",
            _ => "not DNSSEC-validated",
        }})";
        ProviderEndpoint endpoint;
        try
        {
            endpoint = connectNamed is null
                ? await ConnectAsync(dp, null, new TreeHeadMemory(), cancellationToken).ConfigureAwait(false)
                : await connectNamed(dp, cancellationToken).ConfigureAwait(false);
        }
        catch (DiscoveryException e)
        {
            return [new SourceAnswer(new SourceReport(AnswerSource.DiscoveryProvider, dp.ToString(), SourceStatus.Failed, $"{how}; {e.Message}"), [], null)];
        }

        var answers = await AskAsync(endpoint, csi, service, cancellationToken).ConfigureAwait(false);
        return [answers[0] with { Report = answers[0].Report with { Detail = $"{how}; {answers[0].Report.Detail}" } }, .. answers.Skip(1)];
    }

    private static async Task<DnsDiscoveryResult?> Nullable(Task<DnsDiscoveryResult> task) => await task.ConfigureAwait(false);

    /// <summary>
    /// Asks one DP — following its referrals when its log is checked, or with its peers when it
    /// federates (one source per peer) — and never throws for what a DP does.
    /// </summary>
    private async Task<IReadOnlyList<SourceAnswer>> AskAsync(ProviderEndpoint provider, Csi csi, string? service, CancellationToken cancellationToken)
    {
        var name = provider.Url.ToString();
        FollowedLookup followed;
        FederatedAnswer? federated = null;
        try
        {
            if (provider.Peers is { Count: > 0 } peers)
            {
                federated = await provider.Client.LookupFederatedAsync([csi.Uri], provider.Verifier, service, provider.Transparency, peers, cancellationToken).ConfigureAwait(false);
                followed = new FollowedLookup(federated.Own[0], [provider.Url]);
            }
            else
            {
                followed = provider.Transparency is null
                    ? new FollowedLookup((await provider.Client.LookupAsync([csi.Uri], provider.Verifier, service, null, cancellationToken).ConfigureAwait(false))[0], [provider.Url])
                    : (await _followers.GetValue(provider, p => new ReferralFollower(p)).LookupAsync([csi.Uri], service, cancellationToken).ConfigureAwait(false))[0];
            }
        }
        catch (DiscoveryException e)
        {
            return [new SourceAnswer(new SourceReport(AnswerSource.DiscoveryProvider, name, SourceStatus.Failed, e.Message), [], null)];
        }

        var own = Report(name, followed);
        return federated is null ? [own] : [own, .. federated.Peers.Select(p => PeerSource(p, csi, provider.Url))];
    }

    private static SourceAnswer PeerSource(PeerResult peer, Csi csi, Uri via)
    {
        var mappings = peer.Answers.Where(a => a.Csi == csi).SelectMany(a => a.Mappings).ToList();
        var status = peer.Status switch
        {
            Protocol.PeerStatuses.Answered => mappings.Count > 0 ? SourceStatus.Answered : SourceStatus.Nothing,
            Protocol.PeerStatuses.Refused => SourceStatus.Refused,
            _ => SourceStatus.Failed,
        };
        var detail = $"peer of {via}: {peer.Status}" + (peer.Detail is null ? "" : $" ({peer.Detail})");
        return new SourceAnswer(new SourceReport(AnswerSource.DiscoveryProvider, peer.Dp.ToString(), status, detail), mappings, peer.Dp);
    }

    private static SourceAnswer Report(string name, FollowedLookup followed)
    {
        var result = followed.Answer;
        var chain = followed.Chain.Count > 1 ? followed.Chain : null;
        var answeredBy = followed.Chain[^1];
        if (followed.Failure is not null)
        {
            return new SourceAnswer(new SourceReport(AnswerSource.DiscoveryProvider, name, SourceStatus.Failed, "referral not followed: " + followed.Failure, chain), [], null);
        }

        if (result.Proof is { IsComplete: false } proof)
        {
            return new SourceAnswer(new SourceReport(AnswerSource.DiscoveryProvider, name, SourceStatus.Refused, $"answer refused: its transparency proof failed ({proof.Status}: {proof.Reason})", chain), [], null);
        }

        var refused = string.Join("; ", result.Rejected.Select(r => $"statement refused: {r.Status}: {r.Reason}"));
        var status = result.Mappings.Count > 0 ? SourceStatus.Answered : result.Rejected.Count > 0 ? SourceStatus.Refused : SourceStatus.Nothing;
        var detail = VerifiedLookup.OutcomeName(result.Outcome) + (refused.Length > 0 ? "; " + refused : "");
        return new SourceAnswer(new SourceReport(AnswerSource.DiscoveryProvider, name, status, detail, chain), result.Mappings, answeredBy);
    }

    /// <summary>A source's report, the mappings it contributed, and the DP they came from.</summary>
    private sealed record SourceAnswer(SourceReport Report, IReadOnlyList<Statements.MappingStatement> Mappings, Uri? From);
}

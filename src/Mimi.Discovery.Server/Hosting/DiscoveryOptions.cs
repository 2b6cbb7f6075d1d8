using MailKit.Security;

namespace Mimi.Discovery.Server.Hosting;

/// <summary>The DP's settings: configuration section <c>Discovery</c> (appsettings, <c>Discovery__…</c> environment variables) and the <c>serve</c> options.</summary>
public sealed class DiscoveryOptions
{
    /// <summary>Data folder: database, CA key, TLS certificate, code secret, outbox. Created on first run.</summary>
    public string DataDirectory { get; set; } = "mimi-data";

    /// <summary>Database: empty for SQLite in the data folder; a PostgreSQL connection string or URI otherwise.</summary>
    public string? Database { get; set; }

    /// <summary>
    /// A PostgreSQL streaming replica (hot standby) of <see cref="Database"/>, as a connection string
    /// or URI, that this process serves lookups, the transparency read API and mirroring from. Writes
    /// (publishes, removals, proofs of control, tokens, limits) still go to <see cref="Database"/>, and
    /// this process never seals: run at least one DP process without a replica to seal. A replica
    /// behind the primary answers from the last epoch it has, proven, and says so
    /// (<c>latestEpoch</c>, docs/protocol.md §8 "Read replicas"). Empty: everything on <see cref="Database"/>.
    /// </summary>
    public string? ReadReplica { get; set; }

    /// <summary>Development mode: codes go to the outbox folder instead of SMTP/SMS.</summary>
    public bool Dev { get; set; }

    /// <summary>Name used in code messages and the CA's subject.</summary>
    public string Name { get; set; } = "Mimi Discovery";

    /// <summary>PEM certificate (chain) for HTTPS; the generated localhost certificate when empty.</summary>
    public string? TlsCertificate { get; set; }

    /// <summary>PEM private key for <see cref="TlsCertificate"/>.</summary>
    public string? TlsKey { get; set; }

    /// <summary>PEM files of further credential CAs whose credentials this DP accepts in statements.</summary>
    public IList<string> AcceptedCaFiles { get; } = [];

    /// <summary>Most CSIs in one lookup.</summary>
    public int MaxLookupBatch { get; set; } = 1000;

    /// <summary>Largest request body, in bytes.</summary>
    public int MaxRequestBytes { get; set; } = 256 * 1024;

    /// <summary>How long a proof-of-control code is valid.</summary>
    public TimeSpan CodeLifetime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Answers a proof accepts before it is void.</summary>
    public int MaxCodeAttempts { get; set; } = 5;

    /// <summary>The window the per-client and global send limits count over.</summary>
    public TimeSpan SendWindow { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Codes outstanding for one CSI: sent to it, from every client together, per <see cref="CodeLifetime"/>
    /// window. A short window rather than a cap on starts per hour, so a CSI is never locked for longer
    /// than one code lifetime; keep it above <see cref="MaxSendsPerClientAndCsi"/>, so that no single
    /// client can take every slot from the owner (docs/operations.md, "Proof-of-control limits").
    /// </summary>
    public int MaxOutstandingPerCsi { get; set; } = 5;

    /// <summary>Codes one client address may ask for one CSI per <see cref="SendWindow"/>.</summary>
    public int MaxSendsPerClientAndCsi { get; set; } = 3;

    /// <summary>Codes requested by one client address per <see cref="SendWindow"/>, for any CSIs.</summary>
    public int MaxSendsPerClient { get; set; } = 20;

    /// <summary>Codes sent in total per window (the SMS-pumping backstop).</summary>
    public int MaxSendsGlobal { get; set; } = 1000;

    /// <summary>
    /// Lifetime of issued credentials (1 minute to 10 years, default 30 days): a mapping lives no
    /// longer than its credential, so recipients renew within it (<c>register --renew</c>, docs/operations.md "Renewal and revocation").
    /// </summary>
    public TimeSpan CredentialLifetime { get; set; } = TimeSpan.FromDays(30);

    /// <summary>Oldest revocation (its <c>iat</c>) the DP takes (1 minute to 1 day, default 15 minutes): its <c>jti</c> is remembered that long, so none is taken twice (docs/protocol.md §15).</summary>
    public TimeSpan RevocationMaxAge { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>How long a served CRL is current (1 minute to 7 days, default 1 hour): its nextUpdate and the response's <c>Cache-Control: max-age</c>, so how long a client may miss a revocation.</summary>
    public TimeSpan RevocationListLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Email delivery of codes; required for email CSIs outside development mode.</summary>
    public SmtpOptions? Smtp { get; set; }

    /// <summary>How long a generation of Oblivious HTTP gateway keys is advertised before the next one starts.</summary>
    public TimeSpan OhttpKeyLifetime { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How long a superseded generation keeps decrypting, for clients holding its configuration.</summary>
    public TimeSpan OhttpKeyGrace { get; set; } = TimeSpan.FromDays(1);

    /// <summary>Sizes (bytes, ascending) encapsulated responses are padded up to, so their length does not reveal the answer.</summary>
    public IList<int> ResponseBuckets { get; } = [4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 2 << 20, 4 << 20];

    /// <summary>Whether lookups are answered from the transparency log with proofs (the default); false answers from the live table without proofs.</summary>
    public bool Transparency { get; set; } = true;

    /// <summary>How often pending changes are sealed into a transparency epoch; zero seals at every change. Unset: 2 s, or zero with <c>--dev</c>.</summary>
    public TimeSpan? EpochInterval { get; set; }

    /// <summary>The interval in force.</summary>
    internal TimeSpan SealInterval => EpochInterval ?? (Dev ? TimeSpan.Zero : TimeSpan.FromSeconds(2));

    /// <summary>
    /// How long a DP process answers from the last epoch it knows before asking the database again
    /// whether another process (sharing the database) sealed a later one: such an epoch reaches this
    /// process's answers at most this long after it was committed. Its own seals are visible at once,
    /// and a lookup naming a later tree head (<c>knownTreeSize</c>) always asks. Zero asks before
    /// every lookup. Default 100 ms.
    /// </summary>
    public TimeSpan EpochCheckInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Most CSIs one epoch takes; the rest wait for the next.</summary>
    public int EpochMaxBatch { get; set; } = 10_000;

    /// <summary>
    /// Bytes of label proofs kept between lookups (an estimate of their managed size): a sealed epoch
    /// is immutable, so each (label, epoch) proof is built once and reused until the next epoch. Zero
    /// keeps none. Default 64 MiB.
    /// </summary>
    public long ProofCacheBytes { get; set; } = 64L << 20;

    /// <summary>
    /// Bytes of whole lookup answers kept (<see cref="Mappings.AnswerCache"/>; their JSON and an estimate
    /// of their objects' managed size, label proofs included): a lookup of at most <see cref="Mappings.AnswerCache.MaxCsis"/> CSIs asked again at
    /// the same epoch is answered with the same bytes while its statements' currency and maxAge are
    /// unchanged. Zero keeps none. Default 128 MiB (about 14,000 single-CSI answers of about 9 KB).
    /// </summary>
    public long AnswerCacheBytes { get; set; } = 128L << 20;

    /// <summary>Whether a lookup must redeem Privacy Pass tokens, one per distinct valid CSI. Unset: true, or false with <c>--dev</c>.</summary>
    public bool? RequireTokens { get; set; }

    /// <summary>Whether tokens are required, as in force.</summary>
    internal bool TokensRequired => RequireTokens ?? !Dev;

    /// <summary>
    /// The price of a lookup: one token per this many distinct valid CSIs, rounded up
    /// (<see cref="Protocol.LookupPrice"/>). An account with a quota of Q tokens per window can look up
    /// at most Q × this many CSIs per window (docs/privacy.md, "The price of a lookup, and what it costs to enumerate").
    /// </summary>
    public int CsisPerToken { get; set; } = 10;

    /// <summary>Most token requests one batched issuance request may carry.</summary>
    public int MaxTokensPerIssuance { get; set; } = 256;

    /// <summary>The longest a client may reuse a verified lookup answer; a found answer is reusable until its first statement expires, never longer.</summary>
    public TimeSpan LookupMaxAge { get; set; } = TimeSpan.FromDays(1);

    /// <summary>How long one issuer key signs tokens before the next epoch's key takes over.</summary>
    public TimeSpan TokenKeyEpoch { get; set; } = TimeSpan.FromDays(1);

    /// <summary>Epochs after its own during which a key's tokens still redeem.</summary>
    public int TokenKeyGraceEpochs { get; set; } = 1;

    /// <summary>
    /// The issuer and origin name in this DP's TokenChallenge; every DP process behind one name must
    /// agree on it. Unset: the host of the first listening URL (<c>localhost</c> for a wildcard).
    /// </summary>
    public string? TokenIssuerName { get; set; }

    /// <summary>
    /// The https:// origin (scheme, host, port; no path) clients reach this DP at, e.g.
    /// <c>https://dp.example</c>. Every absolute URL the DP publishes (metadata's <c>api</c>,
    /// gateway and token directory, the issuer directory's <c>issuer-request-uri</c>) is built from
    /// it, never from a request's <c>Host</c> header. Unset: the first address the DP is bound to
    /// (<c>localhost</c> for a wildcard address, which only <c>--dev</c> accepts unset).
    /// </summary>
    public Uri? PublicOrigin { get; set; }

    /// <summary>SMS delivery of codes through an HTTP gateway; required for phone CSIs outside development mode.</summary>
    public SmsGatewayOptions? Sms { get; set; }

    /// <summary>A DNS zone to keep in step with the mappings, if any.</summary>
    public DnsSyncOptions? Dns { get; set; }

    /// <summary>Peer DPs asked with every lookup (docs/operations.md, "Federation"); none by default.</summary>
    public IList<PeerOptions> Peers { get; } = [];

    /// <summary>How long a lookup waits for its peers; a slower peer is reported <c>timed-out</c> and the answer is sent without it.</summary>
    public TimeSpan PeerTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// SHA-256 (hex) of the API keys that may read the mirroring API (<c>/v1/mirror</c>): the keys
    /// this DP's operator gave the DPs that mirror it (<c>mimi-discovery peers mirror-key</c>). None by default: nobody mirrors.
    /// </summary>
    public IList<string> MirrorKeyHashes { get; } = [];

    /// <summary>How often this DP pulls the peers it mirrors (<see cref="PeerOptions.MirrorKey"/>).</summary>
    public TimeSpan MirrorInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The Prometheus scrape endpoint (docs/operations.md, "Metrics and traces"); none by default.</summary>
    public Observability.MetricsOptions Metrics { get; set; } = new();

    /// <summary>Trace export; none by default.</summary>
    public Observability.TracesOptions Traces { get; set; } = new();

    /// <summary>Thresholds of the readiness checks.</summary>
    public Observability.HealthOptions Health { get; set; } = new();

    /// <summary>Invitation limits (docs/operations.md, "Invitations").</summary>
    public Invitations.InvitationOptions Invitations { get; set; } = new();

    /// <summary>Most identifiers one reassignment feed may list (docs/protocol.md §16); 1 to 10,000.</summary>
    public int MaxReassignments { get; set; } = Mimi.Discovery.Statements.ReassignmentFeed.MaxReassignments;

    /// <summary>
    /// Oldest reassignment feed accepted: the time between its <c>iat</c> and its arrival. A feed is
    /// applied once (its id is kept), and this bounds how long a captured one could be replayed to
    /// another DP; 1 minute to 1 day.
    /// </summary>
    public TimeSpan ReassignmentFeedMaxAge { get; set; } = TimeSpan.FromMinutes(10);
}

/// <summary>
/// A peer DP (docs/protocol.md §12): where it is, how to trust its TLS, and — pinned here, not
/// taken from the peer — the CAs its credentials chain to and its transparency keys, against which
/// every answer it gives is verified.
/// </summary>
public sealed class PeerOptions
{
    /// <summary>The peer's https origin.</summary>
    public Uri? Url { get; set; }

    /// <summary>A PEM file of CA certificates for the peer's TLS; unset: the system's trust store.</summary>
    public string? TlsCa { get; set; }

    /// <summary>A PEM file of the peer's credential CA certificates (its metadata's <c>credentialCas</c>).</summary>
    public string? CredentialCas { get; set; }

    /// <summary>The peer's VRF public key (its metadata's <c>transparency.vrfKey</c>).</summary>
    public string? VrfKey { get; set; }

    /// <summary>The peer's log key (its metadata's <c>transparency.logKey</c>).</summary>
    public string? LogKey { get; set; }

    /// <summary>This DP's token account API key at the peer, when the peer requires tokens: this DP pays for what it asks.</summary>
    public string? ApiKey { get; set; }

    /// <summary>The mirror key the peer's operator gave this DP: with it, this DP mirrors the peer's mappings (docs/protocol.md §12, "Mirroring") instead of asking it with each lookup.</summary>
    public string? MirrorKey { get; set; }

    /// <summary>The peer's origin (after validation).</summary>
    internal Uri Origin => new(Mimi.Discovery.Identifiers.HttpsOrigin.Of(Url!));

    /// <summary>An HTTPS handler trusting <see cref="TlsCa"/>, or the system's store.</summary>
    internal SocketsHttpHandler TlsHandler() => Mimi.Discovery.Client.TlsTrust.CreateHandler(TlsCa is null ? null : Mimi.Discovery.Client.TlsTrust.LoadRoots(TlsCa));

    /// <summary>The pinned credential CAs.</summary>
    internal Mimi.Discovery.Verification.TrustAnchors CredentialAnchors() => Mimi.Discovery.Verification.TrustAnchors.FromPem(File.ReadAllText(CredentialCas!));

    /// <summary>The pinned transparency keys.</summary>
    internal Protocol.TransparencyKeys TransparencyKeys => new(VrfKey!, LogKey!, 0);
}

/// <summary>
/// SMTP submission settings (MailKit). Secure by default: TLS is required (STARTTLS, or TLS on
/// connect on port 465), and credentials are only ever sent over TLS unless
/// <see cref="AllowPlaintextAuth"/> says otherwise.
/// </summary>
public sealed class SmtpOptions
{
    /// <summary>Server host.</summary>
    public string Host { get; set; } = "localhost";

    /// <summary>Server port: 587 submission with STARTTLS, 465 implicit TLS, 25 relay.</summary>
    public int Port { get; set; } = 587;

    /// <summary>
    /// TLS mode: <c>StartTls</c> (TLS required after connecting), <c>SslOnConnect</c> (implicit TLS),
    /// or, only for a relay that cannot do TLS (a loopback relay), <c>StartTlsWhenAvailable</c>,
    /// <c>Auto</c> or <c>None</c>, which may send the code in clear. Unset: <c>SslOnConnect</c> on
    /// port 465, <c>StartTls</c> otherwise.
    /// </summary>
    public SecureSocketOptions? Security { get; set; }

    /// <summary>Envelope and header sender, e.g. <c>Mimi Discovery &lt;no-reply@dp.example&gt;</c>.</summary>
    public string From { get; set; } = "no-reply@localhost";

    /// <summary>User name, when the server requires authentication; sent only over TLS unless <see cref="AllowPlaintextAuth"/>.</summary>
    public string? Username { get; set; }

    /// <summary>Password for <see cref="Username"/>.</summary>
    public string? Password { get; set; }

    /// <summary>Whether <see cref="Username"/> and <see cref="Password"/> may go to a server over a connection without TLS. Off: such a send fails as <c>delivery-failed</c> before any credential is sent.</summary>
    public bool AllowPlaintextAuth { get; set; }

    /// <summary>The TLS mode in force.</summary>
    internal SecureSocketOptions EffectiveSecurity => Security ?? (Port == 465 ? SecureSocketOptions.SslOnConnect : SecureSocketOptions.StartTls);

    /// <summary>Every unusable setting, one sentence each naming it (the start-up validation of all options reports them).</summary>
    internal List<string> Problems()
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(Host))
        {
            problems.Add("Discovery:Smtp:Host is empty");
        }

        if (Port is < 1 or > 65535)
        {
            problems.Add($"Discovery:Smtp:Port {Port} is not a TCP port (1–65535)");
        }

        if (Security is { } security && !Enum.IsDefined(security))
        {
            problems.Add($"Discovery:Smtp:Security {(int)security} is not one of StartTls, SslOnConnect, StartTlsWhenAvailable, Auto, None");
        }

        if (!MimeKit.MailboxAddress.TryParse(From, out _))
        {
            problems.Add($"Discovery:Smtp:From '{From}' is not a mail address such as 'Example DP <no-reply@dp.example>'");
        }

        if (Username is null && Password is not null)
        {
            problems.Add("Discovery:Smtp:Password is set without Discovery:Smtp:Username");
        }

        if (Username is not null && EffectiveSecurity == SecureSocketOptions.None && !AllowPlaintextAuth)
        {
            problems.Add("Discovery:Smtp:Security=None would send Discovery:Smtp:Username and its password in clear; use StartTls or SslOnConnect, or set Discovery:Smtp:AllowPlaintextAuth=true for a relay on a trusted network");
        }

        // Codes would cross the network in clear text: only a server on this machine may take them so.
        if (EffectiveSecurity == SecureSocketOptions.None && !IsLoopback(Host))
        {
            problems.Add($"Discovery:Smtp:Security=None would send codes in clear to '{Host}', which is not on loopback; use StartTls or SslOnConnect");
        }

        return problems;
    }

    private static bool IsLoopback(string? host) =>
        string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase) || (System.Net.IPAddress.TryParse(host?.Trim('[', ']'), out var address) && System.Net.IPAddress.IsLoopback(address));
}

/// <summary>An HTTP SMS gateway: the DP POSTs a templated body to <see cref="Url"/>.</summary>
public sealed class SmsGatewayOptions
{
    /// <summary>Gateway endpoint: an https URL (http only to a loopback address).</summary>
    public Uri? Url { get; set; }

    /// <summary>Body with placeholders <c>{to}</c> (E.164), <c>{text}</c> and <c>{code}</c>, escaped for <see cref="ContentType"/>; it must hold <c>{to}</c> and <c>{text}</c> or <c>{code}</c>.</summary>
    public string BodyTemplate { get; set; } = """{"to":"{to}","text":"{text}"}""";

    /// <summary>
    /// The body's media type (RFC 9110 §8.3.1), parameters allowed: <c>application/json</c> or any
    /// <c>+json</c> type (values JSON-escaped), <c>application/x-www-form-urlencoded</c> (values
    /// URL-encoded) or <c>text/plain</c> (values as they are). The body is UTF-8: a <c>charset</c>
    /// parameter, if given, must be <c>utf-8</c>.
    /// </summary>
    public string ContentType { get; set; } = "application/json";

    /// <summary>Value of the Authorization header, e.g. <c>Bearer …</c>.</summary>
    public string? Authorization { get; set; }

    /// <summary>How the body's values are escaped, by media type.</summary>
    internal enum BodyEscaping
    {
        Json,
        Form,
        None,
    }

    /// <summary>Parses <see cref="ContentType"/>; false with a reason when it is not one the gateway channel can write.</summary>
    internal static bool TryParseContentType(string? contentType, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out System.Net.Http.Headers.MediaTypeHeaderValue? mediaType, out BodyEscaping escaping, out string reason)
    {
        escaping = BodyEscaping.None;
        reason = string.Empty;
        if (!System.Net.Http.Headers.MediaTypeHeaderValue.TryParse(contentType, out mediaType) || mediaType.MediaType is null)
        {
            reason = $"'{contentType}' is not a media type such as 'application/json; charset=utf-8'";
            mediaType = null;
            return false;
        }

        var type = mediaType.MediaType;
        if (type.Equals("application/json", StringComparison.OrdinalIgnoreCase) || (type.StartsWith("application/", StringComparison.OrdinalIgnoreCase) && type.EndsWith("+json", StringComparison.OrdinalIgnoreCase)))
        {
            escaping = BodyEscaping.Json;
        }
        else if (type.Equals("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase))
        {
            escaping = BodyEscaping.Form;
        }
        else if (!type.Equals("text/plain", StringComparison.OrdinalIgnoreCase))
        {
            reason = $"'{type}' is not a body the SMS channel can escape values for; use application/json (or a +json type), application/x-www-form-urlencoded or text/plain";
            mediaType = null;
            return false;
        }

        var charset = mediaType.CharSet?.Trim('"');
        if (charset is not null && !charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase) && !charset.Equals("utf8", StringComparison.OrdinalIgnoreCase))
        {
            reason = $"charset '{charset}' is not supported: the body is sent as UTF-8 (charset=utf-8, or no charset)";
            mediaType = null;
            return false;
        }

        return true;
    }

    /// <summary>Checks the settings at start-up.</summary>
    /// <exception cref="InvalidOperationException">A setting is unusable; the message names it and says what to set.</exception>
    public void Validate()
    {
        if (Problems() is { Count: > 0 } problems)
        {
            throw new InvalidOperationException("The SMS gateway settings are unusable: " + string.Join("; ", problems) + ".");
        }
    }

    /// <summary>Every unusable setting, one sentence each naming it (the start-up validation of all options reports them).</summary>
    internal List<string> Problems()
    {
        var problems = new List<string>();
        if (Url is null)
        {
            problems.Add("Discovery:Sms:Url is not set");
        }
        else if (!Url.IsAbsoluteUri || (Url.Scheme != Uri.UriSchemeHttps && Url.Scheme != Uri.UriSchemeHttp))
        {
            problems.Add($"Discovery:Sms:Url '{Url}' is not an absolute https:// URL");
        }
        else if (Url.Scheme == Uri.UriSchemeHttp && !Url.IsLoopback)
        {
            problems.Add($"Discovery:Sms:Url '{Url}' would send codes in clear; use https:// (http:// only to a loopback address)");
        }

        if (!TryParseContentType(ContentType, out _, out _, out var reason))
        {
            problems.Add("Discovery:Sms:ContentType " + reason);
        }

        if (string.IsNullOrEmpty(BodyTemplate) || !BodyTemplate.Contains("{to}", StringComparison.Ordinal)
            || !(BodyTemplate.Contains("{text}", StringComparison.Ordinal) || BodyTemplate.Contains("{code}", StringComparison.Ordinal)))
        {
            problems.Add("Discovery:Sms:BodyTemplate must hold {to} and {text} or {code}");
        }

        if (Authorization is not null && (Authorization.Length == 0 || Authorization.Any(char.IsControl)))
        {
            problems.Add("Discovery:Sms:Authorization must be a non-empty header value without control characters");
        }

        return problems;
    }
}

/// <summary>
/// Keeps a DNS zone the operator is authoritative for (e.g. a private ENUM tree) in step with the
/// DP: every publish and removal becomes a TSIG-signed dynamic update of the CSI's MIMI records.
/// Only statements visible to everyone (audience <c>any</c>) are put in the DNS.
/// </summary>
public sealed class DnsSyncOptions
{
    /// <summary>The authoritative server, <c>HOST:PORT</c>.</summary>
    public string Server { get; set; } = string.Empty;

    /// <summary>The zone to update; CSIs whose DNS name falls outside it are not synced.</summary>
    public string Zone { get; set; } = string.Empty;

    /// <summary>TSIG key name.</summary>
    public string TsigName { get; set; } = string.Empty;

    /// <summary>TSIG secret, base64.</summary>
    public string TsigSecret { get; set; } = string.Empty;

    /// <summary>TSIG algorithm.</summary>
    public string TsigAlgorithm { get; set; } = "hmac-sha256";

    /// <summary>ENUM apex under which phone numbers are published.</summary>
    public string EnumApex { get; set; } = Mimi.Discovery.Dns.DiscoveryNames.PublicEnumApex;

    /// <summary>Resolution domain for email CSIs (what the email domain's MIMIX names); emails are not synced without it.</summary>
    public string? EmailResolutionDomain { get; set; }

    /// <summary>TTL of the records.</summary>
    public int Ttl { get; set; } = 300;
}

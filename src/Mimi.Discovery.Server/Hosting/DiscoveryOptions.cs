using MailKit.Security;

namespace Mimi.Discovery.Server.Hosting;

/// <summary>The DP's settings: configuration section <c>Discovery</c> (appsettings, <c>Discovery__…</c> environment variables) and the <c>serve</c> options.</summary>
public sealed class DiscoveryOptions
{
    /// <summary>Data folder: database, CA key, TLS certificate, code secret, outbox. Created on first run.</summary>
    public string DataDirectory { get; set; } = "mimi-data";

    /// <summary>Database: empty for SQLite in the data folder; a PostgreSQL connection string or URI otherwise.</summary>
    public string? Database { get; set; }

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

    /// <summary>The window the send limits count over.</summary>
    public TimeSpan SendWindow { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Codes sent to one CSI per window.</summary>
    public int MaxSendsPerCsi { get; set; } = 5;

    /// <summary>Codes requested by one client address per window.</summary>
    public int MaxSendsPerClient { get; set; } = 20;

    /// <summary>Codes sent in total per window (the SMS-pumping backstop).</summary>
    public int MaxSendsGlobal { get; set; } = 1000;

    /// <summary>Lifetime of issued credentials.</summary>
    public TimeSpan CredentialLifetime { get; set; } = TimeSpan.FromDays(30);

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

    /// <summary>Most CSIs one epoch takes; the rest wait for the next.</summary>
    public int EpochMaxBatch { get; set; } = 10_000;

    /// <summary>Whether a lookup must redeem Privacy Pass tokens, one per distinct valid CSI. Unset: true, or false with <c>--dev</c>.</summary>
    public bool? RequireTokens { get; set; }

    /// <summary>Whether tokens are required, as in force.</summary>
    internal bool TokensRequired => RequireTokens ?? !Dev;

    /// <summary>
    /// The price of a lookup: one token per this many distinct valid CSIs, rounded up
    /// (<see cref="Protocol.LookupPrice"/>). An account with a quota of Q tokens per window can look up
    /// at most Q × this many CSIs per window (docs/privacy.md, "What a token buys").
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
}

/// <summary>SMTP submission settings (MailKit).</summary>
public sealed class SmtpOptions
{
    /// <summary>Server host.</summary>
    public string Host { get; set; } = "localhost";

    /// <summary>Server port: 587 submission with STARTTLS, 465 implicit TLS, 25 relay.</summary>
    public int Port { get; set; } = 587;

    /// <summary>TLS mode: <c>Auto</c>, <c>StartTls</c>, <c>SslOnConnect</c> or <c>None</c> (loopback relays only).</summary>
    public SecureSocketOptions Security { get; set; } = SecureSocketOptions.Auto;

    /// <summary>Envelope and header sender, e.g. <c>Mimi Discovery &lt;no-reply@dp.example&gt;</c>.</summary>
    public string From { get; set; } = "no-reply@localhost";

    /// <summary>User name, when the server requires authentication.</summary>
    public string? Username { get; set; }

    /// <summary>Password for <see cref="Username"/>.</summary>
    public string? Password { get; set; }
}

/// <summary>An HTTP SMS gateway: the DP POSTs a templated body to <see cref="Url"/>.</summary>
public sealed class SmsGatewayOptions
{
    /// <summary>Gateway endpoint.</summary>
    public Uri? Url { get; set; }

    /// <summary>Body with placeholders <c>{to}</c> (E.164), <c>{text}</c> and <c>{code}</c>, escaped for <see cref="ContentType"/>.</summary>
    public string BodyTemplate { get; set; } = """{"to":"{to}","text":"{text}"}""";

    /// <summary><c>application/json</c> (values JSON-escaped) or <c>application/x-www-form-urlencoded</c> (values URL-encoded).</summary>
    public string ContentType { get; set; } = "application/json";

    /// <summary>Value of the Authorization header, e.g. <c>Bearer …</c>.</summary>
    public string? Authorization { get; set; }
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

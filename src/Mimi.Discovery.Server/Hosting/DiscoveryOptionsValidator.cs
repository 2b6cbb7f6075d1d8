using System.Net;
using Microsoft.Extensions.Options;

namespace Mimi.Discovery.Server.Hosting;

/// <summary>
/// Checks every <see cref="DiscoveryOptions"/> setting against a sane range before anything starts,
/// so a value that would weaken the DP or fail its requests later (a 5-second token key epoch, a
/// zero send window, a plaintext SMTP server across the network) stops start-up with a sentence
/// naming the setting (<c>Discovery:…</c>) instead. The ranges are listed in docs/operations.md.
/// </summary>
internal sealed class DiscoveryOptionsValidator : IValidateOptions<DiscoveryOptions>
{
    /// <summary>Every failure of <paramref name="options"/>, each naming its setting; none when valid.</summary>
    public ValidateOptionsResult Validate(string? name, DiscoveryOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        var check = new OptionChecks("Discovery", failures);

        check.NotEmpty(nameof(options.DataDirectory), options.DataDirectory);
        check.Text(nameof(options.Name), options.Name, 1, 100);
        if (options.ReadReplica is { Length: > 0 } replica)
        {
            if (!Storage.StoreFactory.IsPostgres(options.Database))
            {
                check.Fail(nameof(options.ReadReplica), "needs Discovery:Database set to the PostgreSQL primary it replicates; without one the DP uses SQLite, which has no replicas");
            }
            else if (!Storage.StoreFactory.IsPostgres(replica))
            {
                check.Fail(nameof(options.ReadReplica), "is not a PostgreSQL 'Host=…' string or postgresql:// URI");
            }
        }

        check.FilePair(nameof(options.TlsCertificate), options.TlsCertificate, nameof(options.TlsKey), options.TlsKey);
        for (var i = 0; i < options.AcceptedCaFiles.Count; i++)
        {
            check.FileExists($"{nameof(options.AcceptedCaFiles)}:{i}", options.AcceptedCaFiles[i]);
        }

        check.Range(nameof(options.MaxLookupBatch), options.MaxLookupBatch, 1, 100_000);
        check.Range(nameof(options.MaxRequestBytes), options.MaxRequestBytes, 1024, 64 << 20);
        check.Range(nameof(options.CodeLifetime), options.CodeLifetime, TimeSpan.FromMinutes(1), TimeSpan.FromDays(1));
        check.Range(nameof(options.MaxCodeAttempts), options.MaxCodeAttempts, 1, 100);
        check.Range(nameof(options.SendWindow), options.SendWindow, TimeSpan.FromSeconds(1), TimeSpan.FromDays(7));
        check.Range(nameof(options.MaxOutstandingPerCsi), options.MaxOutstandingPerCsi, 1, 1_000_000);
        check.Range(nameof(options.MaxSendsPerClientAndCsi), options.MaxSendsPerClientAndCsi, 1, 1_000_000);
        check.Range(nameof(options.MaxSendsPerClient), options.MaxSendsPerClient, 1, 1_000_000);
        check.Range(nameof(options.MaxSendsGlobal), options.MaxSendsGlobal, 1, 100_000_000);
        check.Range(nameof(options.CredentialLifetime), options.CredentialLifetime, TimeSpan.FromMinutes(1), TimeSpan.FromDays(3650));
        check.Range(nameof(options.RevocationMaxAge), options.RevocationMaxAge, TimeSpan.FromMinutes(1), TimeSpan.FromDays(1));
        check.Range(nameof(options.RevocationListLifetime), options.RevocationListLifetime, TimeSpan.FromMinutes(1), TimeSpan.FromDays(7));
        check.Range(nameof(options.OhttpKeyLifetime), options.OhttpKeyLifetime, TimeSpan.FromMinutes(1), TimeSpan.FromDays(365));
        check.Range(nameof(options.OhttpKeyGrace), options.OhttpKeyGrace, TimeSpan.Zero, TimeSpan.FromDays(365));
        CheckBuckets(check, options.ResponseBuckets);
        if (options.EpochInterval is { } interval)
        {
            check.Range(nameof(options.EpochInterval), interval, TimeSpan.Zero, TimeSpan.FromDays(1));
        }

        check.Range(nameof(options.EpochCheckInterval), options.EpochCheckInterval, TimeSpan.Zero, TimeSpan.FromMinutes(1));
        check.Range(nameof(options.EpochMaxBatch), options.EpochMaxBatch, 1, 1_000_000);
        check.Range(nameof(options.ProofCacheBytes), options.ProofCacheBytes, 0, 16L << 30);
        check.Range(nameof(options.AnswerCacheBytes), options.AnswerCacheBytes, 0, 16L << 30);
        check.Range(nameof(options.CsisPerToken), options.CsisPerToken, 1, 1000);
        check.Range(nameof(options.MaxTokensPerIssuance), options.MaxTokensPerIssuance, 1, 1024);
        check.Range(nameof(options.LookupMaxAge), options.LookupMaxAge, TimeSpan.Zero, TimeSpan.FromDays(30));
        check.Range("Invitations:Period", options.Invitations.Period, TimeSpan.FromMinutes(1), TimeSpan.FromDays(366));
        check.Range("Invitations:MaxPerSender", options.Invitations.MaxPerSender, 1, 1_000_000);
        check.Range("Invitations:MaxLifetime", options.Invitations.MaxLifetime, TimeSpan.FromMinutes(1), Mimi.Discovery.Statements.Invitation.MaxLifetime);
        check.Range(nameof(options.MaxReassignments), options.MaxReassignments, 1, Mimi.Discovery.Statements.ReassignmentFeed.MaxReassignments);
        check.Range(nameof(options.ReassignmentFeedMaxAge), options.ReassignmentFeedMaxAge, TimeSpan.FromMinutes(1), TimeSpan.FromDays(1));

        // A key epoch shorter than a minute rotates the issuer key under the clients' feet (every
        // lookup's tokens would be for a key already gone); longer than a year keeps one key for ever.
        check.Range(nameof(options.TokenKeyEpoch), options.TokenKeyEpoch, TimeSpan.FromMinutes(1), TimeSpan.FromDays(366));
        check.Range(nameof(options.TokenKeyGraceEpochs), options.TokenKeyGraceEpochs, 0, 30);
        if (options.TokenIssuerName is { } issuer && Uri.CheckHostName(issuer) is not (UriHostNameType.Dns or UriHostNameType.IPv4))
        {
            check.Fail(nameof(options.TokenIssuerName), $"'{issuer}' is not a host name");
        }

        if (options.PublicOrigin is { } origin && !Mimi.Discovery.Identifiers.HttpsOrigin.Is(origin))
        {
            check.Fail(nameof(options.PublicOrigin), $"'{origin}' is not an https:// origin (scheme, host and port only, no path)");
        }

        // The channels' own rules (SmtpOptions, SmsGatewayOptions), reported with the rest.
        failures.AddRange((options.Smtp?.Problems() ?? []).Concat(options.Sms?.Problems() ?? []).Select(p => p + "."));

        if (options.Dns is { } dns)
        {
            CheckDns(new OptionChecks("Discovery:Dns", failures), dns);
        }

        check.Range(nameof(options.PeerTimeout), options.PeerTimeout, TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(30));
        check.Range(nameof(options.MirrorInterval), options.MirrorInterval, TimeSpan.FromSeconds(1), TimeSpan.FromDays(1));
        for (var i = 0; i < options.MirrorKeyHashes.Count; i++)
        {
            if (options.MirrorKeyHashes[i] is not { Length: 64 } hash || !hash.All(char.IsAsciiHexDigitLower))
            {
                check.Fail($"{nameof(options.MirrorKeyHashes)}:{i}", "is not the SHA-256 hex of a mirror key, as `mimi-discovery peers mirror-key` prints it");
            }
        }

        for (var i = 0; i < options.Peers.Count; i++)
        {
            CheckPeer(new OptionChecks($"Discovery:Peers:{i}", failures), options.Peers[i], options);
        }

        Observability.ObservabilityChecks.Check(failures, options);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void CheckPeer(OptionChecks check, PeerOptions peer, DiscoveryOptions options)
    {
        if (peer.Url is not { } url || !Mimi.Discovery.Identifiers.HttpsOrigin.Is(url))
        {
            check.Fail(nameof(peer.Url), $"'{peer.Url}' is not an https:// origin (scheme, host and port only, no path)");
        }
        else if (options.PublicOrigin is { } self && Mimi.Discovery.Identifiers.HttpsOrigin.Of(self) == Mimi.Discovery.Identifiers.HttpsOrigin.Of(url))
        {
            check.Fail(nameof(peer.Url), "names this DP itself");
        }

        if (peer.TlsCa is not null)
        {
            check.FileExists(nameof(peer.TlsCa), peer.TlsCa);
        }

        if (peer.MirrorKey is not null && Tokens.ApiKeys.Hash(peer.MirrorKey) is null)
        {
            check.Fail(nameof(peer.MirrorKey), "is not a key of the form mdk_… as the peer's `mimi-discovery peers mirror-key` printed it");
        }

        if (peer.CredentialCas is null)
        {
            check.Fail(nameof(peer.CredentialCas), "is required: a PEM file of the peer's credential CAs (its metadata's credentialCas)");
        }
        else
        {
            check.FileExists(nameof(peer.CredentialCas), peer.CredentialCas);
        }

        if (peer.VrfKey is null || peer.LogKey is null || Mimi.Discovery.Transparency.TransparencyKeyset.FromWire(new Protocol.TransparencyKeys(peer.VrfKey, peer.LogKey, 0)) is not { } keys)
        {
            check.Fail(nameof(peer.LogKey), "VrfKey and LogKey are required and must be the peer's transparency keys as its metadata gives them (base64url)");
        }
        else
        {
            keys.Dispose();
        }
    }

    /// <summary>Validates <paramref name="options"/> and throws when any setting is out of range.</summary>
    /// <exception cref="InvalidOperationException">A setting is invalid; the message names every one (the inner exception is the <see cref="OptionsValidationException"/>).</exception>
    public static void ThrowIfInvalid(DiscoveryOptions options) => OptionChecks.ThrowIfFailed(new DiscoveryOptionsValidator().Validate(null, options), typeof(DiscoveryOptions));

    private static void CheckBuckets(OptionChecks check, IList<int> buckets)
    {
        if (buckets.Count == 0)
        {
            check.Fail(nameof(DiscoveryOptions.ResponseBuckets), "needs at least one size");
            return;
        }

        for (var i = 0; i < buckets.Count; i++)
        {
            if (buckets[i] is < 1024 or > 64 << 20 || (i > 0 && buckets[i] <= buckets[i - 1]))
            {
                check.Fail($"{nameof(DiscoveryOptions.ResponseBuckets)}:{i}", $"is {buckets[i]}; sizes run from 1024 to {64 << 20} bytes, strictly ascending");
            }
        }
    }

    private static void CheckDns(OptionChecks check, DnsSyncOptions dns)
    {
        if (!IPEndPoint.TryParse(dns.Server, out var server) || server.Port == 0)
        {
            check.Fail(nameof(dns.Server), "is not IP:PORT");
        }

        check.NotEmpty(nameof(dns.Zone), dns.Zone);
        check.NotEmpty(nameof(dns.TsigName), dns.TsigName);
        check.NotEmpty(nameof(dns.EnumApex), dns.EnumApex);
        byte[] secret;
        try
        {
            secret = Convert.FromBase64String(dns.TsigSecret ?? "");
        }
        catch (FormatException)
        {
            secret = [];
        }

        if (secret.Length < 16)
        {
            check.Fail(nameof(dns.TsigSecret), "is not a base64 secret of at least 16 bytes");
        }

        // The key's algorithm and name as the DNS updates will use them, so a bad one stops the start,
        // not the first publish.
        var key = new Discovery.Dns.TsigKey(dns.TsigName ?? "", secret, dns.TsigAlgorithm);
        foreach (var (setting, use) in new (string, Action)[] { (nameof(dns.TsigAlgorithm), () => key.ToArSoft()), (nameof(dns.TsigName), () => key.ArSoftName()) })
        {
            try
            {
                use();
            }
            catch (ArgumentException e)
            {
                check.Fail(setting, "is unusable: " + e.Message.Split(" (Parameter")[0].TrimEnd('.'));
            }
        }

        check.Range(nameof(dns.Ttl), dns.Ttl, 0, 86_400);
    }

}

/// <summary>Range checks that name the failing setting as <c>Section:Property</c>.</summary>
internal sealed class OptionChecks(string section, List<string> failures)
{
    public void Fail(string setting, string reason) => failures.Add($"{section}:{setting} {reason}.");

    public void NotEmpty(string setting, string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            Fail(setting, "is empty");
        }
    }

    public void Text(string setting, string? value, int min, int max)
    {
        if (value is null || value.Length < min || value.Length > max || value.Any(char.IsControl))
        {
            Fail(setting, $"must be {min}–{max} characters without control characters");
        }
    }

    public void Range(string setting, long value, long min, long max)
    {
        if (value < min || value > max)
        {
            Fail(setting, $"is {value}; it must be from {min} to {max}");
        }
    }

    public void Range(string setting, TimeSpan value, TimeSpan min, TimeSpan max)
    {
        if (value < min || value > max)
        {
            Fail(setting, $"is {value}; it must be from {min} to {max} (d.hh:mm:ss)");
        }
    }

    public void FileExists(string setting, string? path)
    {
        if (path is not null && !File.Exists(path))
        {
            Fail(setting, $"names '{path}', which does not exist");
        }
    }

    /// <summary>A certificate file and its key file: the key only with a certificate, both existing.</summary>
    public void FilePair(string certificateSetting, string? certificate, string keySetting, string? key)
    {
        FileExists(certificateSetting, certificate);
        FileExists(keySetting, key);
        if (key is not null && certificate is null)
        {
            Fail(keySetting, $"is set without {section}:{certificateSetting}");
        }
    }

    public static void ThrowIfFailed(ValidateOptionsResult result, Type options)
    {
        if (result.Failed)
        {
            var failures = result.Failures?.ToList() ?? [result.FailureMessage];
            throw new InvalidOperationException(string.Join(" ", failures), new OptionsValidationException(options.Name, options, failures));
        }
    }
}

using System.Net;
using Microsoft.Extensions.Options;
using Mimi.Discovery.Dns;
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Server.Hosting;
using Mimi.Discovery.Server.Storage;
using Mimi.Discovery.Statements;
using Mimi.Discovery.Verification;

namespace Mimi.Discovery.Server.Mappings;

/// <summary>
/// Mirrors a CSI's public mappings into the operator's DNS zone after every change: the MIMI
/// records of its DNS name (ENUM for phones, the resolution domain for email) are replaced with
/// one record per entry of each live audience-<c>any</c> statement. The DNS is a second copy, so a
/// failed update is logged and does not fail the publish.
/// </summary>
internal sealed partial class DnsZoneSync : IDisposable
{
    private readonly DnsSyncOptions? _options;
    private readonly DnsPublisher? _publisher;
    private readonly IDiscoveryStore _store;
    private readonly StatementVerifier _verifier;
    private readonly TimeProvider _time;
    private readonly ILogger<DnsZoneSync> _logger;
    private readonly byte[] _logKey;

    public DnsZoneSync(IOptions<DiscoveryOptions> options, IDiscoveryStore store, StatementVerifier verifier, TimeProvider time, DataFolder folder, ILogger<DnsZoneSync> logger)
    {
        _logKey = folder.CodeSecret;
        _options = options.Value.Dns;
        _store = store;
        _verifier = verifier;
        _time = time;
        _logger = logger;
        if (_options is not null)
        {
            if (!IPEndPoint.TryParse(_options.Server, out var server) || server.Port == 0)
            {
                throw new InvalidOperationException($"Discovery:Dns:Server '{_options.Server}' is not IP:PORT.");
            }

            _publisher = new DnsPublisher(server, new TsigKey(_options.TsigName, Convert.FromBase64String(_options.TsigSecret), _options.TsigAlgorithm), time: time);
        }
    }

    /// <summary>The DNS name the CSI's records live at, or null when it falls outside the zone.</summary>
    public string? NameFor(Csi csi)
    {
        if (_options is null)
        {
            return null;
        }

        var name = csi.Kind == CsiKind.Phone ? DiscoveryNames.EnumName(csi, _options.EnumApex)
            : _options.EmailResolutionDomain is { } domain ? DiscoveryNames.EmailMui(csi, domain)
            : null;
        var zone = _options.Zone.TrimEnd('.');
        return name is not null && (name == zone || name.EndsWith("." + zone, StringComparison.Ordinal)) ? name : null;
    }

    public async Task SyncAsync(Csi csi, CancellationToken cancellationToken)
    {
        if (_publisher is null || NameFor(csi) is not { } name)
        {
            return;
        }

        var rows = (await _store.LookupAsync([csi.Uri], _time.GetUtcNow().ToUnixTimeSeconds(), cancellationToken).ConfigureAwait(false))[csi.Uri];
        var records = new List<MimiRecord>();
        foreach (var row in rows.Where(r => r.Audience == Audience.Any.Token))
        {
            var statement = _verifier.VerifyMapping(row.Statement);
            if (statement.IsValid)
            {
                records.AddRange(statement.Statement.EntriesFor(null).Where(e => e.Account is not null && e.Endpoint is not null)
                    .Select(e => new MimiRecord(e.Account!, e.Endpoint!.IsAbsoluteUri && e.Endpoint.IdnHost.Length > 0 ? e.Endpoint.IdnHost : e.Endpoint.OriginalString, e.Priority, e.Service, e.ProtocolVersion)));
            }
        }

        var result = await _publisher.ReplaceMimiAsync(_options!.Zone, name, records.Distinct().ToList(), ttl: _options.Ttl, cancellationToken: cancellationToken).ConfigureAwait(false);

        // An ENUM name spells a phone number and an email name hashes an address: the name is
        // logged as a keyed hash prefix, at Debug only, and the server's reply as its return code only.
        if (result.Succeeded)
        {
            LogSynced(_logger, csi.Kind, records.Count);
        }
        else
        {
            var reason = Enum.TryParse<ARSoft.Tools.Net.Dns.ReturnCode>(result.Detail, out var code) ? code.ToString() : "no answer or unreachable";
            LogSyncFailed(_logger, csi.Kind, reason);
        }

        if (_logger.IsEnabled(LogLevel.Debug))
        {
            var hash = NameHash(name, _logKey);
            LogSyncedName(_logger, hash, result.Succeeded);
        }
    }

    /// <summary>
    /// The first 8 hex digits of HMAC-SHA256 of the name under the DP's secret: enough to match log
    /// lines, while a plain hash of a phone number's name could be reversed by trying every number.
    /// </summary>
    internal static string NameHash(string name, byte[] key) =>
        Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData(key, System.Text.Encoding.UTF8.GetBytes(name)))[..8];

    public void Dispose() => _publisher?.Dispose();

    [LoggerMessage(EventId = 210, Level = LogLevel.Information, Message = "DNS zone: a {Kind} CSI's name now holds {Count} MIMI record(s)")]
    private static partial void LogSynced(ILogger logger, CsiKind kind, int count);

    [LoggerMessage(EventId = 211, Level = LogLevel.Warning, Message = "DNS zone: updating a {Kind} CSI's name failed ({Reason})")]
    private static partial void LogSyncFailed(ILogger logger, CsiKind kind, string reason);

    [LoggerMessage(EventId = 212, Level = LogLevel.Debug, Message = "DNS zone: name #{NameHash} updated: {Succeeded}")]
    private static partial void LogSyncedName(ILogger logger, string nameHash, bool succeeded);
}

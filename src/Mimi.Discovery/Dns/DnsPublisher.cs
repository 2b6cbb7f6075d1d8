// RFC 2136 dynamic update, authenticated with TSIG (RFC 8945).
using System.Globalization;
using System.Net;
using System.Text;
using ARSoft.Tools.Net;
using ARSoft.Tools.Net.Dns;
using ARSoft.Tools.Net.Dns.DynamicUpdate;

namespace Mimi.Discovery.Dns;

/// <summary>A TSIG key shared with the authoritative server.</summary>
/// <param name="Name">Key name, e.g. <c>mimi-update</c>.</param>
/// <param name="Secret">The shared secret.</param>
/// <param name="Algorithm"><c>hmac-sha256</c> (default), <c>hmac-sha384</c> or <c>hmac-sha512</c>.</param>
public sealed record TsigKey(string Name, byte[] Secret, string Algorithm = "hmac-sha256")
{
    internal TSigAlgorithm ToArSoft() => Algorithm.ToUpperInvariant() switch
    {
        "HMAC-SHA256" => TSigAlgorithm.Sha256,
        "HMAC-SHA384" => TSigAlgorithm.Sha384,
        "HMAC-SHA512" => TSigAlgorithm.Sha512,
        _ => throw new ArgumentException($"TSIG algorithm '{Algorithm}' is not supported; use hmac-sha256, hmac-sha384 or hmac-sha512.", nameof(Algorithm)),
    };
}

/// <summary>The result of one dynamic update.</summary>
/// <param name="Succeeded">Whether the server applied it.</param>
/// <param name="Detail">The server's return code, or why nothing was sent.</param>
public sealed record DnsUpdateResult(bool Succeeded, string Detail);

/// <summary>
/// Publishes MIMI and MIMIX records to an authoritative server with TSIG-signed dynamic updates,
/// in the TXT and/or private-type encodings, and renders the same records as zone-file lines.
/// Each update replaces the whole record set of a name, so publishing is idempotent.
/// </summary>
public sealed class DnsPublisher : IDisposable
{
    private readonly DnsClient _client;
    private readonly TsigKey _key;
    private readonly DnsDiscoveryOptions _options;

    /// <summary>A publisher that sends updates to <paramref name="server"/> (TCP) signed with <paramref name="key"/>.</summary>
    public DnsPublisher(IPEndPoint server, TsigKey key, DnsDiscoveryOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(key);
        _ = key.ToArSoft();
        _key = key;
        _options = options ?? new DnsDiscoveryOptions();
        _client = new DnsClient([server.Address], [new TcpClientTransport(server.Port)], true, (int)_options.Timeout.TotalMilliseconds);
    }

    /// <summary>Replaces the MIMI records of <paramref name="mui"/> in <paramref name="zone"/>; an empty list deletes them.</summary>
    public Task<DnsUpdateResult> ReplaceMimiAsync(string zone, string mui, IReadOnlyList<MimiRecord> records, DnsEncodings encodings = DnsEncodings.Txt | DnsEncodings.PrivateType, int ttl = 300, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        return SendAsync(zone, Changes(DiscoveryNames.MimiTxtName(mui), mui, _options.MimiType, records.Select(r => r.ToString()).ToList(), encodings, ttl), cancellationToken);
    }

    /// <summary>Replaces the MIMIX record of <paramref name="domain"/>; <see langword="null"/> deletes it.</summary>
    public Task<DnsUpdateResult> ReplaceMimixAsync(string zone, string domain, string? resolutionDomain, DnsEncodings encodings = DnsEncodings.Txt | DnsEncodings.PrivateType, int ttl = 300, CancellationToken cancellationToken = default) =>
        SendAsync(zone, Changes(DiscoveryNames.MimixTxtName(domain), domain, _options.MimixType, resolutionDomain is null ? [] : [resolutionDomain], encodings, ttl), cancellationToken);

    /// <summary>Zone-file lines (RFC 1035 master format; RFC 3597 generic form for the private type) for MIMI records.</summary>
    public static IEnumerable<string> MimiZoneLines(string mui, IEnumerable<MimiRecord> records, DnsEncodings encodings = DnsEncodings.Txt | DnsEncodings.PrivateType, int ttl = 300, DnsDiscoveryOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(records);
        return ZoneLines(DiscoveryNames.MimiTxtName(mui), mui, (options ?? new DnsDiscoveryOptions()).MimiType, records.Select(r => r.ToString()), encodings, ttl);
    }

    /// <summary>Zone-file lines for a MIMIX record.</summary>
    public static IEnumerable<string> MimixZoneLines(string domain, string resolutionDomain, DnsEncodings encodings = DnsEncodings.Txt | DnsEncodings.PrivateType, int ttl = 300, DnsDiscoveryOptions? options = null) =>
        ZoneLines(DiscoveryNames.MimixTxtName(domain), domain, (options ?? new DnsDiscoveryOptions()).MimixType, [resolutionDomain], encodings, ttl);

    private static IEnumerable<string> ZoneLines(string txtName, string typedName, ushort type, IEnumerable<string> texts, DnsEncodings encodings, int ttl)
    {
        foreach (var text in texts)
        {
            if (encodings.HasFlag(DnsEncodings.Txt))
            {
                var quoted = SplitTxt(text).Select(part => "\"" + part.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"");
                yield return $"{txtName}. {ttl} IN TXT {string.Join(' ', quoted)}";
            }

            if (encodings.HasFlag(DnsEncodings.PrivateType))
            {
                var data = TxtWire.Encode(text);
                yield return string.Create(CultureInfo.InvariantCulture, $"{typedName}. {ttl} IN TYPE{type} \\# {data.Length} {Convert.ToHexString(data)}");
            }
        }
    }

    private static List<UpdateBase> Changes(string txtName, string typedName, ushort type, IReadOnlyList<string> texts, DnsEncodings encodings, int ttl)
    {
        var txtOwner = DomainName.Parse(txtName);
        var typedOwner = DomainName.Parse(typedName);
        var changes = new List<UpdateBase>
        {
            new DeleteAllRecordsUpdate(txtOwner, RecordType.Txt),
            new DeleteAllRecordsUpdate(typedOwner, (RecordType)type),
        };
        foreach (var text in texts)
        {
            if (encodings.HasFlag(DnsEncodings.Txt))
            {
                changes.Add(new AddRecordUpdate(new TxtRecord(txtOwner, ttl, SplitTxt(text))));
            }

            if (encodings.HasFlag(DnsEncodings.PrivateType))
            {
                changes.Add(new AddRecordUpdate(new UnknownRecord(typedOwner, (RecordType)type, RecordClass.INet, ttl, TxtWire.Encode(text))));
            }
        }

        return changes;
    }

    private async Task<DnsUpdateResult> SendAsync(string zone, List<UpdateBase> changes, CancellationToken cancellationToken)
    {
        var message = new DnsUpdateMessage { ZoneName = DomainName.Parse(zone) };
        message.Updates.AddRange(changes);
        message.TSigOptions = new TSigRecord(DomainName.Parse(_key.Name), _key.ToArSoft(), DateTime.UtcNow, TimeSpan.FromMinutes(5), message.TransactionID, ReturnCode.NoError, null, _key.Secret);
        DnsUpdateMessage? response;
        try
        {
            response = await _client.SendUpdateAsync(message, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException)
        {
            return new DnsUpdateResult(false, "the server could not be reached: " + e.Message);
        }

        return response is null
            ? new DnsUpdateResult(false, "no answer from the server")
            : new DnsUpdateResult(response.ReturnCode == ReturnCode.NoError, response.ReturnCode.ToString());
    }

    // A TXT character-string holds at most 255 octets: split on UTF-8 boundaries.
    private static List<string> SplitTxt(string text)
    {
        var parts = new List<string>();
        var current = new StringBuilder();
        var octets = 0;
        foreach (var rune in text.EnumerateRunes())
        {
            if (octets + rune.Utf8SequenceLength > 255)
            {
                parts.Add(current.ToString());
                current.Clear();
                octets = 0;
            }

            current.Append(rune.ToString());
            octets += rune.Utf8SequenceLength;
        }

        parts.Add(current.ToString());
        return parts;
    }

    /// <inheritdoc/>
    public void Dispose() => ((IDisposable)_client).Dispose();
}

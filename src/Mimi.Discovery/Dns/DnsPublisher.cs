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
/// <param name="Algorithm"><c>hmac-sha256</c> (default) or <c>hmac-sha512</c> (RFC 8945 §6).</param>
/// <remarks>
/// <c>hmac-sha384</c> is refused: ARSoft.Tools.Net 3.6.1 computes it with SHA-256, so the update
/// carries a 32-byte MAC that every server rejects (BADSIG). The other algorithms of RFC 8945 §6
/// (MD5, SHA-1, SHA-224, truncated MACs) are weak or unused and not offered.
/// </remarks>
internal sealed record TsigKey(string Name, byte[] Secret, string Algorithm = "hmac-sha256")
{
    internal TSigAlgorithm ToArSoft() => Algorithm.ToUpperInvariant() switch
    {
        "HMAC-SHA256" => TSigAlgorithm.Sha256,
        "HMAC-SHA512" => TSigAlgorithm.Sha512,
        "HMAC-SHA384" => throw new ArgumentException("TSIG algorithm hmac-sha384 is not supported (the DNS library computes it with SHA-256, which servers reject); use hmac-sha256 or hmac-sha512.", nameof(Algorithm)),
        _ => throw new ArgumentException($"TSIG algorithm '{Algorithm}' is not supported; use hmac-sha256 or hmac-sha512.", nameof(Algorithm)),
    };

    // RFC 8945 §4.2: the key name is a domain name; the MAC covers it in canonical (lower-case) form.
    internal DomainName ArSoftName() =>
        !string.IsNullOrWhiteSpace(Name) && DomainName.TryParse(Name.TrimEnd('.').ToLowerInvariant(), out var name) && name is not null
            ? name
            : throw new ArgumentException($"TSIG key name '{Name}' is not a domain name.", nameof(Name));
}

/// <summary>The result of one dynamic update.</summary>
/// <param name="Succeeded">Whether the server applied it.</param>
/// <param name="Detail">The server's return code, or why nothing was sent.</param>
internal sealed record DnsUpdateResult(bool Succeeded, string Detail);

/// <summary>
/// Publishes MIMI and MIMIX records to an authoritative server with TSIG-signed dynamic updates,
/// in the TXT and/or private-type encodings, and renders the same records as zone-file lines.
/// Each update replaces the whole record set of a name, so publishing is idempotent.
/// </summary>
internal sealed class DnsPublisher : IDisposable
{
    private readonly ARSoft.Tools.Net.Dns.DnsClient _client;
    private readonly TsigKey _key;
    private readonly DnsDiscoveryOptions _options;
    private readonly TimeProvider _time;

    /// <summary>A publisher that sends updates to <paramref name="server"/> (TCP) signed with <paramref name="key"/>; the TSIG signing time (RFC 8945 §4.3) comes from <paramref name="time"/> (the system clock when null).</summary>
    public DnsPublisher(IPEndPoint server, TsigKey key, DnsDiscoveryOptions? options = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(key);
        _ = key.ToArSoft();
        _ = key.ArSoftName();
        if (key.Secret is not { Length: > 0 })
        {
            throw new ArgumentException("The TSIG secret is empty.", nameof(key));
        }

        _key = key;
        _options = options ?? new DnsDiscoveryOptions();
        _time = time ?? TimeProvider.System;
        _client = new ARSoft.Tools.Net.Dns.DnsClient([server.Address], [new TcpClientTransport(server.Port)], true, (int)_options.Timeout.TotalMilliseconds);
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

    /// <summary>
    /// Names <paramref name="dp"/> as the DP for <paramref name="owner"/> — an email domain, or the ENUM
    /// name of a number prefix (<c>1.6.3.3.e164.arpa</c>) — with a <see cref="DpRecord"/> TXT at
    /// <c>_mimi-dp.&lt;owner&gt;</c>; <see langword="null"/> deletes it.
    /// </summary>
    public Task<DnsUpdateResult> ReplaceDpAsync(string zone, string owner, Uri? dp, int ttl = 300, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(owner);
        var name = DomainName.Parse("_mimi-dp." + owner);
        var changes = new List<UpdateBase> { new DeleteAllRecordsUpdate(name, RecordType.Txt) };
        if (dp is not null)
        {
            changes.Add(new AddRecordUpdate(new UnknownRecord(name, RecordType.Txt, RecordClass.INet, ttl, TxtWire.Encode(DpRecord.Format(dp)))));
        }

        return SendAsync(zone, changes, cancellationToken);
    }

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
                var quoted = SplitTxt(text).Select(Quote);
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
                // The RDATA is written as UTF-8 octets (RFC 1035 §3.3.14 character-strings are
                // octets); ARSoft's TxtRecord would write each non-ASCII character as '?'.
                changes.Add(new AddRecordUpdate(new UnknownRecord(txtOwner, RecordType.Txt, RecordClass.INet, ttl, TxtWire.Encode(text))));
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
        message.TSigOptions = new TSigRecord(_key.ArSoftName(), _key.ToArSoft(), _time.GetUtcNow().UtcDateTime, TimeSpan.FromMinutes(5), message.TransactionID, ReturnCode.NoError, null, _key.Secret);
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

    // RFC 1035 §5.1 master-file character-string: printable ASCII as is, '"' and '\' escaped, every
    // other octet (the UTF-8 of non-ASCII text, controls) as \DDD, so the file is ASCII and the
    // server loads exactly the UTF-8 octets.
    private static string Quote(string part)
    {
        var quoted = new StringBuilder("\"");
        foreach (var octet in Encoding.UTF8.GetBytes(part))
        {
            if (octet is (byte)'"' or (byte)'\\')
            {
                quoted.Append('\\').Append((char)octet);
            }
            else if (octet is >= 0x20 and < 0x7F)
            {
                quoted.Append((char)octet);
            }
            else
            {
                quoted.Append('\\').Append(octet.ToString("D3", CultureInfo.InvariantCulture));
            }
        }

        return quoted.Append('"').ToString();
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

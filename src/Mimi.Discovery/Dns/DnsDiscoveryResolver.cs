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

/// <summary>One MIMI record found in the DNS, and how it was published.</summary>
public sealed record DnsMimiRecord(MimiRecord Record, DnsEncodings Encodings);

/// <summary>The result of resolving one identifier in the DNS.</summary>
/// <param name="Name">The MUI whose records were queried (for email, under the MIMIX domain; for phones, the ENUM name).</param>
/// <param name="Outcome">How it ended.</param>
/// <param name="Records">Valid records, deduplicated across encodings, ordered by priority.</param>
/// <param name="Diagnostics">Why records were ignored, and other notes the caller may show.</param>
public sealed record DnsDiscoveryResult(string Name, DnsOutcome Outcome, IReadOnlyList<DnsMimiRecord> Records, IReadOnlyList<string> Diagnostics);

/// <summary>
/// Resolves MUIs, email addresses (through MIMIX) and phone numbers (through ENUM) to MIMI
/// records by querying one DNS server over UDP, falling back to TCP when an answer is truncated.
/// Every outcome is a value; nothing throws for a DNS failure.
/// </summary>
public sealed class DnsDiscoveryResolver : IDisposable
{
    private readonly DnsClient _client;
    private readonly DnsDiscoveryOptions _options;

    /// <summary>A resolver that asks the server at <paramref name="server"/> (UDP, then TCP on truncation).</summary>
    public DnsDiscoveryResolver(IPEndPoint server, DnsDiscoveryOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(server);
        _options = options ?? new DnsDiscoveryOptions();
        _client = new DnsClient([server.Address], [new UdpClientTransport(server.Port), new TcpClientTransport(server.Port)], false, (int)_options.Timeout.TotalMilliseconds);
    }

    /// <inheritdoc/>
    public void Dispose() => ((IDisposable)_client).Dispose();

    /// <summary>Resolves a CSI: email through its domain's MIMIX record, phone through its ENUM name.</summary>
    public Task<DnsDiscoveryResult> ResolveAsync(Csi csi, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(csi);
        return csi.Kind == CsiKind.Phone
            ? ResolveMuiAsync(DiscoveryNames.EnumName(csi, _options.EnumApex), cancellationToken)
            : ResolveEmailAsync(csi, cancellationToken);
    }

    /// <summary>Queries the MIMI records of a MUI in both encodings.</summary>
    public async Task<DnsDiscoveryResult> ResolveMuiAsync(string mui, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(mui);
        var diagnostics = new List<string>();
        var (txt, typed) = await QueryBothAsync(DiscoveryNames.MimiTxtName(mui), mui, _options.MimiType, cancellationToken).ConfigureAwait(false);
        var records = new Dictionary<MimiRecord, DnsEncodings>();
        foreach (var (answer, encoding) in new[] { (txt, DnsEncodings.Txt), (typed, DnsEncodings.PrivateType) })
        {
            foreach (var text in answer.Texts)
            {
                if (MimiRecord.TryParse(text, out var record, out var diagnostic))
                {
                    records[record] = records.GetValueOrDefault(record) | encoding;
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

        var ordered = MimiRecord.ByPreference(records.Keys).Select(r => new DnsMimiRecord(r, records[r])).ToList();
        return new DnsDiscoveryResult(mui, ordered.Count > 0 ? DnsOutcome.Found : Combine(txt.Outcome, typed.Outcome), ordered, diagnostics);
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
            return new DnsDiscoveryResult(domain, outcome is DnsOutcome.NoRecords or DnsOutcome.NameNotFound ? DnsOutcome.NoMimix : outcome, [], diagnostics);
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

        var result = await ResolveMuiAsync(mui, cancellationToken).ConfigureAwait(false);
        return result with { Diagnostics = [.. diagnostics, .. result.Diagnostics] };
    }

    private readonly record struct Answer(DnsOutcome Outcome, IReadOnlyList<string> Texts);

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

        DnsMessage? response;
        try
        {
            response = await _client.ResolveAsync(domain, type, RecordClass.INet, null, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException)
        {
            return new Answer(DnsOutcome.Timeout, []);
        }

        if (response is null)
        {
            return new Answer(DnsOutcome.Timeout, []);
        }

        switch (response.ReturnCode)
        {
            case ReturnCode.NxDomain:
                return new Answer(DnsOutcome.NameNotFound, []);
            case ReturnCode.Refused:
                return new Answer(DnsOutcome.Refused, []);
            case not ReturnCode.NoError:
                return new Answer(DnsOutcome.ServerFailure, []);
        }

        var texts = new List<string>();
        foreach (var record in response.AnswerRecords.Where(r => r.Name.Equals(domain) && r.RecordType == type))
        {
            switch (record)
            {
                case TxtRecord txt:
                    texts.Add(string.Concat(txt.TextParts));
                    break;
                case UnknownRecord unknown when TxtWire.TryDecode(unknown.RecordData, out var text):
                    texts.Add(text);
                    break;
            }
        }

        return new Answer(texts.Count > 0 ? DnsOutcome.Found : DnsOutcome.NoRecords, texts);
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
public static class TxtWire
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

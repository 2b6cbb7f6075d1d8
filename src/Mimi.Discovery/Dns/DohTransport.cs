// RFC 8484: DNS queries over HTTPS, POST with media type application/dns-message; the query id
// is 0 (§4.1) so identical queries are cache-friendly. The query is built and the answer read
// here (RFC 1035 §4.1), so TXT RDATA reaches TxtWire as octets.
using System.Buffers.Binary;
using System.Net.Http.Headers;
using ARSoft.Tools.Net;
using ARSoft.Tools.Net.Dns;

namespace Mimi.Discovery.Dns;

internal sealed class DohTransport(Uri endpoint, HttpClient http, TimeSpan timeout)
{
    private const string MediaType = "application/dns-message";

    public async Task<DnsAnswer?> QueryAsync(DomainName name, RecordType type, CancellationToken cancellationToken)
    {
        using var content = new ByteArrayContent(EncodeQuery(name.ToString(), (ushort)type));
        content.Headers.ContentType = new MediaTypeHeaderValue(MediaType);
        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint) { Content = content };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(MediaType));
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            using var response = await http.SendAsync(request, deadline.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode || response.Content.Headers.ContentType?.MediaType != MediaType)
            {
                return null;
            }

            var body = await response.Content.ReadAsByteArrayAsync(deadline.Token).ConfigureAwait(false);
            return body.Length is >= 12 and <= ushort.MaxValue ? DnsAnswer.Parse(body) : null;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    internal static byte[] EncodeQuery(string name, ushort type)
    {
        var labels = name.TrimEnd('.').Split('.', StringSplitOptions.RemoveEmptyEntries);
        var length = 12 + labels.Sum(l => 1 + System.Text.Encoding.ASCII.GetByteCount(l)) + 1 + 4;
        var message = new byte[length];
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(2), 0x0100); // RD
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(4), 1); // QDCOUNT
        var offset = 12;
        foreach (var label in labels)
        {
            var bytes = System.Text.Encoding.ASCII.GetBytes(label);
            message[offset++] = (byte)bytes.Length;
            bytes.CopyTo(message, offset);
            offset += bytes.Length;
        }

        message[offset++] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(offset), type);
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(offset + 2), 1); // IN
        return message;
    }
}

// RFC 1035 §4.1: a response's header, question and answer sections, read only as far as
// discovery needs: the RCODE and each answer RR's owner, type and RDATA (CNAME targets decoded,
// §4.1.4 compression followed). TXT RDATA stays octets, decoded as UTF-8 by TxtWire.
using System.Buffers.Binary;
using System.Text;

namespace Mimi.Discovery.Dns;

/// <summary>One answer RR: its owner (lower-case, no trailing dot), type and RDATA; <paramref name="Target"/> for a CNAME.</summary>
internal sealed record DnsAnswerRecord(string Owner, ushort Type, byte[] Data, string? Target = null);

/// <summary>The parts of a DNS response that discovery reads.</summary>
internal sealed record DnsAnswer(int ReturnCode, IReadOnlyList<DnsAnswerRecord> Records)
{
    /// <summary>RR type CNAME (RFC 1035 §3.2.2).</summary>
    public const ushort CName = 5;

    /// <summary>RR type TXT (RFC 1035 §3.2.2).</summary>
    public const ushort Txt = 16;

    /// <summary>Reads a response message; null when it is not one (truncated, bad pointers, loops).</summary>
    public static DnsAnswer? Parse(ReadOnlySpan<byte> message)
    {
        try
        {
            // Not a response, or truncated (TC, RFC 1035 §4.1.1): a DoH answer must be whole
            // (RFC 8484 §5.2), and a partial RRset is not an answer.
            if (message.Length < 12 || (message[2] & 0x80) == 0 || (message[2] & 0x02) != 0)
            {
                return null;
            }

            var rcode = message[3] & 0x0F;
            var questions = BinaryPrimitives.ReadUInt16BigEndian(message[4..]);
            var answers = BinaryPrimitives.ReadUInt16BigEndian(message[6..]);
            var offset = 12;
            for (var i = 0; i < questions; i++)
            {
                _ = ReadName(message, ref offset);
                offset += 4;
            }

            var records = new List<DnsAnswerRecord>(answers);
            for (var i = 0; i < answers; i++)
            {
                var owner = ReadName(message, ref offset);
                var type = BinaryPrimitives.ReadUInt16BigEndian(message[offset..]);
                var length = BinaryPrimitives.ReadUInt16BigEndian(message[(offset + 8)..]);
                offset += 10;
                var rdataStart = offset;
                var data = message.Slice(offset, length).ToArray();
                offset += length;
                string? target = null;
                if (type == CName)
                {
                    var at = rdataStart;
                    target = ReadName(message, ref at);
                }

                records.Add(new DnsAnswerRecord(owner, type, data, target));
            }

            return new DnsAnswer(rcode, records);
        }
        catch (Exception e) when (e is ArgumentOutOfRangeException or IndexOutOfRangeException or FormatException)
        {
            return null;
        }
    }

    /// <summary>Lower-case, no trailing dot, so names compare with ordinal equality.</summary>
    public static string Canonical(string name) => name.TrimEnd('.').ToLowerInvariant();

    private static string ReadName(ReadOnlySpan<byte> message, ref int offset)
    {
        var labels = new List<string>();
        var position = offset;
        var jumped = false;
        for (var hops = 0; hops < 128; hops++)
        {
            var length = message[position];
            if (length == 0)
            {
                if (!jumped)
                {
                    offset = position + 1;
                }

                return Canonical(string.Join('.', labels));
            }

            if ((length & 0xC0) == 0xC0)
            {
                var pointer = BinaryPrimitives.ReadUInt16BigEndian(message[position..]) & 0x3FFF;
                if (!jumped)
                {
                    offset = position + 2;
                }

                jumped = true;
                position = pointer;
                continue;
            }

            if ((length & 0xC0) != 0)
            {
                throw new FormatException("unknown label type");
            }

            labels.Add(Encoding.ASCII.GetString(message.Slice(position + 1, length)));
            position += 1 + length;
        }

        throw new FormatException("compression loop");
    }
}

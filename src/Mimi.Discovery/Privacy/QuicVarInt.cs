// RFC 9000 §16: QUIC variable-length integers — the two most significant bits of the first byte
// give the length (1, 2, 4 or 8 bytes), the rest is the value, big-endian. Binary HTTP (RFC 9292 §3)
// and the Privacy Pass batched-token vectors (draft-ietf-privacypass-batched-tokens §4.2) use them.
using System.Buffers.Binary;

namespace Mimi.Discovery.Privacy;

/// <summary>Reading and writing QUIC variable-length integers.</summary>
internal static class QuicVarInt
{
    /// <summary>The largest value: 2^62 − 1.</summary>
    public const ulong MaxValue = (1UL << 62) - 1;

    /// <summary>The bytes the shortest encoding of <paramref name="value"/> takes.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Above <see cref="MaxValue"/>.</exception>
    public static int EncodedLength(ulong value)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(value, MaxValue);
        return value < 1UL << 6 ? 1 : value < 1UL << 14 ? 2 : value < 1UL << 30 ? 4 : 8;
    }

    /// <summary>Writes the shortest encoding of <paramref name="value"/>; returns the bytes written.</summary>
    /// <exception cref="ArgumentException">The destination is too short, or the value above <see cref="MaxValue"/>.</exception>
    public static int Write(Span<byte> destination, ulong value)
    {
        var length = EncodedLength(value);
        if (destination.Length < length)
        {
            throw new ArgumentException("The destination is too short for the integer.", nameof(destination));
        }

        switch (length)
        {
            case 1:
                destination[0] = (byte)value;
                break;
            case 2:
                BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)(value | 0x4000));
                break;
            case 4:
                BinaryPrimitives.WriteUInt32BigEndian(destination, (uint)(value | 0x8000_0000));
                break;
            default:
                BinaryPrimitives.WriteUInt64BigEndian(destination, value | 0xc000_0000_0000_0000);
                break;
        }

        return length;
    }

    /// <summary>Reads an integer from the start of <paramref name="source"/>; false when it is truncated.</summary>
    public static bool TryRead(ReadOnlySpan<byte> source, out ulong value, out int length)
    {
        value = 0;
        length = 0;
        if (source.IsEmpty)
        {
            return false;
        }

        var size = 1 << (source[0] >> 6);
        if (source.Length < size)
        {
            return false;
        }

        length = size;
        value = size switch
        {
            1 => (ulong)(source[0] & 0x3f),
            2 => BinaryPrimitives.ReadUInt16BigEndian(source) & 0x3fffUL,
            4 => BinaryPrimitives.ReadUInt32BigEndian(source) & 0x3fffffffUL,
            _ => BinaryPrimitives.ReadUInt64BigEndian(source) & MaxValue,
        };
        return true;
    }
}

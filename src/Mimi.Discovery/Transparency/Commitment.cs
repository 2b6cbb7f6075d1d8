// The hiding commitment of the key-transparency protocol (draft-ietf-keytrans-protocol §11.6,
// suite KT_128_SHA256_P256): commitment = HMAC-SHA256(Kc, opening || label<0..255> ||
// version (u32) || value<0..2^32-1>), where Kc is a fixed public key and the 16-byte random
// opening is what keeps the committed value hidden until the DP reveals it.
using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Mimi.Discovery.Transparency;

/// <summary>Hiding commitments to a label's value at a version.</summary>
internal static class Commitment
{
    /// <summary>Length of an opening in bytes (Nc).</summary>
    public const int OpeningSize = 16;

    /// <summary>The fixed commitment key Kc of the KT_128_SHA256 suites (16 bytes).</summary>
    private static readonly byte[] FixedKey = Convert.FromHexString("d821f8790d97709796b4d7903357c3f5");

    /// <summary>A fresh random opening.</summary>
    public static byte[] NewOpening() => RandomNumberGenerator.GetBytes(OpeningSize);

    /// <summary>The serialised CommitmentValue that is MACed.</summary>
    /// <exception cref="ArgumentException">The opening is not 16 bytes or the label exceeds 255 bytes.</exception>
    public static byte[] Encode(ReadOnlySpan<byte> opening, ReadOnlySpan<byte> label, uint version, ReadOnlySpan<byte> value)
    {
        if (opening.Length != OpeningSize)
        {
            throw new ArgumentException("An opening is 16 bytes.", nameof(opening));
        }

        if (label.Length > byte.MaxValue)
        {
            throw new ArgumentException("A label is at most 255 bytes.", nameof(label));
        }

        var buffer = new byte[OpeningSize + 1 + label.Length + 4 + 4 + value.Length];
        var span = buffer.AsSpan();
        opening.CopyTo(span);
        span[OpeningSize] = (byte)label.Length;
        label.CopyTo(span[(OpeningSize + 1)..]);
        var at = OpeningSize + 1 + label.Length;
        BinaryPrimitives.WriteUInt32BigEndian(span[at..], version);
        BinaryPrimitives.WriteUInt32BigEndian(span[(at + 4)..], (uint)value.Length);
        value.CopyTo(span[(at + 8)..]);
        return buffer;
    }

    /// <summary>commitment = HMAC-SHA256(Kc, CommitmentValue) (32 bytes).</summary>
    /// <exception cref="ArgumentException">As <see cref="Encode"/>.</exception>
    public static byte[] Compute(ReadOnlySpan<byte> opening, ReadOnlySpan<byte> label, uint version, ReadOnlySpan<byte> value) =>
        HMACSHA256.HashData(FixedKey, Encode(opening, label, version, value));

    /// <summary>Whether <paramref name="commitment"/> opens to the given label, version and value. Never throws for bad input.</summary>
    public static bool Verify(ReadOnlySpan<byte> commitment, ReadOnlySpan<byte> opening, ReadOnlySpan<byte> label, uint version, ReadOnlySpan<byte> value) =>
        opening.Length == OpeningSize && label.Length <= byte.MaxValue && commitment.Length == 32
        && CryptographicOperations.FixedTimeEquals(commitment, Compute(opening, label, version, value));
}

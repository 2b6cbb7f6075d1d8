// Signed tree heads of the epoch log and the log's leaves. The log holds one leaf per epoch,
// in epoch order (epoch n is leaf n-1):
//   leaf data = epoch (u64) || timestamp in ms since the Unix epoch (u64) || prefix-tree root (32)
// A tree head names the log size (= the latest epoch), its timestamp and the RFC 9162 root, and
// is signed with ECDSA P-256 / SHA-256 (IEEE P1363 r||s) over
//   "mimi-discovery tree head v1" || 0x00 || size (u64) || timestamp (u64) || root (32).
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Mimi.Discovery.Transparency;

/// <summary>One epoch's entry in the log: which prefix-tree root was current from when.</summary>
/// <param name="Epoch">Epoch number, from 1.</param>
/// <param name="Timestamp">When the epoch was sealed, in milliseconds since the Unix epoch.</param>
/// <param name="PrefixRoot">The prefix tree's root after the epoch's changes.</param>
public sealed record EpochLeaf(long Epoch, long Timestamp, byte[] PrefixRoot)
{
    /// <summary>The leaf data as hashed into the log.</summary>
    public byte[] Encode()
    {
        var data = new byte[16 + PrefixTree.HashSize];
        BinaryPrimitives.WriteInt64BigEndian(data, Epoch);
        BinaryPrimitives.WriteInt64BigEndian(data.AsSpan(8), Timestamp);
        PrefixRoot.CopyTo(data, 16);
        return data;
    }

    /// <summary>The RFC 9162 leaf hash.</summary>
    public byte[] Hash() => MerkleHash.Leaf(Encode());
}

/// <summary>A signed statement of the log's size and root at a time.</summary>
/// <param name="Size">Number of epochs in the log (the latest epoch's number).</param>
/// <param name="Timestamp">Seal time of the latest epoch, milliseconds since the Unix epoch.</param>
/// <param name="Root">RFC 9162 root of the log at <paramref name="Size"/>.</param>
/// <param name="Signature">ECDSA P-256 signature, IEEE P1363 (64 bytes).</param>
public sealed record SignedTreeHead(long Size, long Timestamp, byte[] Root, byte[] Signature)
{
    private static readonly byte[] Context = Encoding.ASCII.GetBytes("mimi-discovery tree head v1\0");

    /// <summary>Signs a tree head with the log key.</summary>
    public static SignedTreeHead Sign(ECDsa key, long size, long timestamp, byte[] root)
    {
        ArgumentNullException.ThrowIfNull(key);
        var signature = key.SignData(ToBeSigned(size, timestamp, root), HashAlgorithmName.SHA256);
        Crypto.Es256LowS.Normalize(signature); // one encoding per head, as for statements
        return new SignedTreeHead(size, timestamp, root, signature);
    }

    /// <summary>Whether the signature is the log key's. Never throws for bad input.</summary>
    public bool VerifySignature(ECDsa logKey)
    {
        ArgumentNullException.ThrowIfNull(logKey);
        return Root is { Length: MerkleHash.Size } && Signature is { Length: 64 } && Size >= 0
               && logKey.VerifyData(ToBeSigned(Size, Timestamp, Root), Signature, HashAlgorithmName.SHA256);
    }

    /// <summary>Whether two heads are the same (size, timestamp, root).</summary>
    public bool SameAs(SignedTreeHead other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return Size == other.Size && Timestamp == other.Timestamp && Root.AsSpan().SequenceEqual(other.Root);
    }

    private static byte[] ToBeSigned(long size, long timestamp, byte[] root)
    {
        var data = new byte[Context.Length + 16 + MerkleHash.Size];
        Context.CopyTo(data, 0);
        BinaryPrimitives.WriteInt64BigEndian(data.AsSpan(Context.Length), size);
        BinaryPrimitives.WriteInt64BigEndian(data.AsSpan(Context.Length + 8), timestamp);
        root.CopyTo(data, Context.Length + 16);
        return data;
    }
}

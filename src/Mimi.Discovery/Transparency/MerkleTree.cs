// RFC 9162 §2.1 (the hashing of RFC 6962 §2.1): Merkle Tree Hash with SHA-256, leaf prefix 0x00,
// interior prefix 0x01; inclusion proofs (§2.1.3) and consistency proofs (§2.1.4), generated
// and verified.
using System.Security.Cryptography;

namespace Mimi.Discovery.Transparency;

/// <summary>RFC 9162 §2.1.1 hashing.</summary>
internal static class MerkleHash
{
    /// <summary>Hash length in bytes (SHA-256).</summary>
    public const int Size = 32;

    /// <summary>MTH({}) = SHA-256 of the empty string.</summary>
    public static byte[] EmptyRoot { get; } = SHA256.HashData([]);

    /// <summary>MTH({d}) = SHA-256(0x00 || d).</summary>
    public static byte[] Leaf(ReadOnlySpan<byte> data)
    {
        var buffer = new byte[1 + data.Length];
        data.CopyTo(buffer.AsSpan(1));
        return SHA256.HashData(buffer);
    }

    /// <summary>SHA-256(0x01 || left || right).</summary>
    public static byte[] Node(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right)
    {
        Span<byte> buffer = stackalloc byte[1 + (2 * Size)];
        buffer[0] = 1;
        left.CopyTo(buffer[1..]);
        right.CopyTo(buffer[(1 + Size)..]);
        return SHA256.HashData(buffer);
    }
}

/// <summary>
/// An append-only Merkle tree over leaf hashes, kept in memory: the root of any prefix, and
/// inclusion and consistency proofs between sizes. Storage-backed logs feed it their leaf hashes.
/// </summary>
internal sealed class MerkleTree
{
    private readonly List<byte[]> _leaves = [];

    /// <summary>Number of leaves.</summary>
    public long Size => _leaves.Count;

    /// <summary>Appends a leaf hash (see <see cref="MerkleHash.Leaf"/>).</summary>
    /// <exception cref="ArgumentException">Not a 32-byte hash.</exception>
    public void Append(byte[] leafHash)
    {
        ArgumentNullException.ThrowIfNull(leafHash);
        if (leafHash.Length != MerkleHash.Size)
        {
            throw new ArgumentException("A leaf hash is 32 bytes.", nameof(leafHash));
        }

        _leaves.Add(leafHash);
    }

    /// <summary>A new tree holding the first <paramref name="size"/> leaves of this one (a candidate to append to).</summary>
    internal MerkleTree Copy(long size)
    {
        CheckSize(size);
        var copy = new MerkleTree();
        copy._leaves.AddRange(_leaves.Take((int)size));
        return copy;
    }

    /// <summary>The root of the first <paramref name="size"/> leaves (MTH of RFC 9162 §2.1.1).</summary>
    public byte[] Root(long size)
    {
        CheckSize(size);
        return size == 0 ? MerkleHash.EmptyRoot : Hash(0, (int)size);
    }

    /// <summary>PATH(m, D[n]) of RFC 9162 §2.1.3.1: the inclusion proof of leaf <paramref name="index"/> in the tree of <paramref name="size"/>.</summary>
    public IReadOnlyList<byte[]> InclusionProof(long index, long size)
    {
        CheckSize(size);
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, size);
        var proof = new List<byte[]>();
        Path((int)index, 0, (int)size, proof);
        return proof;
    }

    /// <summary>PROOF(m, D[n]) of RFC 9162 §2.1.4.1: the consistency proof from size <paramref name="size1"/> to <paramref name="size2"/>.</summary>
    public IReadOnlyList<byte[]> ConsistencyProof(long size1, long size2)
    {
        CheckSize(size2);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(size1, size2);
        var proof = new List<byte[]>();
        SubProof((int)size1, 0, (int)size2, true, proof);
        return proof;
    }

    private void CheckSize(long size)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(size, Size);
    }

    // Hash of leaves [start, start + count).
    private byte[] Hash(int start, int count)
    {
        if (count == 1)
        {
            return _leaves[start];
        }

        var k = LargestPowerOfTwoBelow(count);
        return MerkleHash.Node(Hash(start, k), Hash(start + k, count - k));
    }

    private void Path(int m, int start, int count, List<byte[]> proof)
    {
        if (count == 1)
        {
            return;
        }

        var k = LargestPowerOfTwoBelow(count);
        if (m < k)
        {
            Path(m, start, k, proof);
            proof.Add(Hash(start + k, count - k));
        }
        else
        {
            Path(m - k, start + k, count - k, proof);
            proof.Add(Hash(start, k));
        }
    }

    private void SubProof(int m, int start, int count, bool whole, List<byte[]> proof)
    {
        if (m == count)
        {
            if (!whole)
            {
                proof.Add(Hash(start, count));
            }

            return;
        }

        var k = LargestPowerOfTwoBelow(count);
        if (m <= k)
        {
            SubProof(m, start, k, whole, proof);
            proof.Add(Hash(start + k, count - k));
        }
        else
        {
            SubProof(m - k, start + k, count - k, false, proof);
            proof.Add(Hash(start, k));
        }
    }

    // The largest power of two strictly smaller than n (n > 1).
    private static int LargestPowerOfTwoBelow(int n) => 1 << (31 - int.LeadingZeroCount(n - 1));
}

/// <summary>Verification of RFC 9162 proofs; never throws for bad input, returns false.</summary>
internal static class MerkleProof
{
    /// <summary>RFC 9162 §2.1.3.2: whether <paramref name="proof"/> shows leaf <paramref name="leafIndex"/> with <paramref name="leafHash"/> in the tree of <paramref name="treeSize"/> with <paramref name="root"/>.</summary>
    public static bool VerifyInclusion(long leafIndex, long treeSize, ReadOnlySpan<byte> leafHash, IReadOnlyList<byte[]>? proof, ReadOnlySpan<byte> root)
    {
        if (leafIndex < 0 || leafIndex >= treeSize || leafHash.Length != MerkleHash.Size || root.Length != MerkleHash.Size)
        {
            return false;
        }

        proof ??= [];
        long fn = leafIndex, sn = treeSize - 1;
        var r = leafHash.ToArray();
        foreach (var p in proof)
        {
            if (p is null || p.Length != MerkleHash.Size || sn == 0)
            {
                return false;
            }

            if ((fn & 1) == 1 || fn == sn)
            {
                r = MerkleHash.Node(p, r);
                if ((fn & 1) == 0)
                {
                    do
                    {
                        fn >>= 1;
                        sn >>= 1;
                    }
                    while ((fn & 1) == 0 && fn != 0);
                }
            }
            else
            {
                r = MerkleHash.Node(r, p);
            }

            fn >>= 1;
            sn >>= 1;
        }

        return sn == 0 && CryptographicOperations.FixedTimeEquals(r, root);
    }

    /// <summary>
    /// RFC 9162 §2.1.4.2: whether <paramref name="proof"/> shows the tree of <paramref name="size2"/>
    /// (<paramref name="root2"/>) extends the tree of <paramref name="size1"/> (<paramref name="root1"/>).
    /// A first size of 0 is refused: an empty tree is consistent with everything, which proves nothing.
    /// </summary>
    public static bool VerifyConsistency(long size1, long size2, ReadOnlySpan<byte> root1, ReadOnlySpan<byte> root2, IReadOnlyList<byte[]>? proof)
    {
        if (size1 <= 0 || size2 < size1)
        {
            return false;
        }

        proof ??= [];
        if (size1 == size2)
        {
            // Same tree: nothing to prove beyond equal roots.
            return proof.Count == 0 && CryptographicOperations.FixedTimeEquals(root1, root2);
        }

        if (root1.Length != MerkleHash.Size || root2.Length != MerkleHash.Size || proof.Count == 0 || proof.Any(p => p is null || p.Length != MerkleHash.Size))
        {
            return false;
        }

        // If size1 is an exact power of two, root1 itself starts the path.
        var path = (size1 & (size1 - 1)) == 0 ? [root1.ToArray(), .. proof] : proof.ToList();
        long fn = size1 - 1, sn = size2 - 1;
        while ((fn & 1) == 1)
        {
            fn >>= 1;
            sn >>= 1;
        }

        byte[] fr = path[0], sr = path[0];
        foreach (var c in path.Skip(1))
        {
            if (sn == 0)
            {
                return false;
            }

            if ((fn & 1) == 1 || fn == sn)
            {
                fr = MerkleHash.Node(c, fr);
                sr = MerkleHash.Node(c, sr);
                if ((fn & 1) == 0)
                {
                    do
                    {
                        fn >>= 1;
                        sn >>= 1;
                    }
                    while ((fn & 1) == 0 && fn != 0);
                }
            }
            else
            {
                sr = MerkleHash.Node(sr, c);
            }

            fn >>= 1;
            sn >>= 1;
        }

        return sn == 0 && CryptographicOperations.FixedTimeEquals(fr, root1) && CryptographicOperations.FixedTimeEquals(sr, root2);
    }
}

// A binary prefix tree (compressed Merkle trie) over 256-bit search keys, the VRF outputs of
// labels. A leaf sits at the shallowest depth where its key prefix is unique; interior nodes
// on a shared prefix may have one empty child. Hashes:
//   leaf     = SHA-256(0x00 || key (32) || commitment (32))
//   interior = SHA-256(0x01 || left || right), an empty child hashing as 32 zero bytes
//   the empty tree's root is 32 zero bytes.
// Leaves are never deleted: an erased label keeps its leaf with a "removed" commitment, so an
// epoch can only add or update leaves.
using System.Runtime.CompilerServices;
using System.Security.Cryptography;

namespace Mimi.Discovery.Transparency;

/// <summary>How a prefix-tree search ended.</summary>
internal enum PrefixTerminal
{
    /// <summary>The searched key's own leaf: the key is in the tree.</summary>
    Leaf,

    /// <summary>A leaf of another key that shares the path: the key is not in the tree.</summary>
    OtherLeaf,

    /// <summary>An empty slot: the key is not in the tree.</summary>
    Empty,
}

/// <summary>
/// A (non-)membership proof: the sibling hashes from the root down (one per depth) and how the
/// search ended. For <see cref="PrefixTerminal.Leaf"/> the commitment is the key's own; for
/// <see cref="PrefixTerminal.OtherLeaf"/> key and commitment are the other leaf's.
/// </summary>
internal sealed record PrefixProof(IReadOnlyList<byte[]> Siblings, PrefixTerminal Terminal, byte[]? LeafKey, byte[]? LeafCommitment)
{
    /// <summary>Recomputes the root this proof implies for <paramref name="key"/>; null if the proof is malformed or contradicts the key.</summary>
    public byte[]? ImpliedRoot(ReadOnlySpan<byte> key)
    {
        if (key.Length != PrefixTree.KeySize || Siblings is null || Siblings.Count > PrefixTree.KeySize * 8 || Siblings.Any(s => s is not { Length: PrefixTree.HashSize }))
        {
            return null;
        }

        var depth = Siblings.Count;
        byte[] hash;
        switch (Terminal)
        {
            case PrefixTerminal.Empty when LeafKey is null && LeafCommitment is null:
                hash = new byte[PrefixTree.HashSize];
                break;
            case PrefixTerminal.Leaf when LeafCommitment is { Length: PrefixTree.HashSize } && (LeafKey is null || key.SequenceEqual(LeafKey)):
                hash = PrefixTree.LeafHash(key, LeafCommitment);
                break;
            case PrefixTerminal.OtherLeaf when LeafKey is { Length: PrefixTree.KeySize } other && LeafCommitment is { Length: PrefixTree.HashSize }
                                               && !key.SequenceEqual(other) && PrefixTree.CommonPrefix(key, other) >= depth:
                hash = PrefixTree.LeafHash(other, LeafCommitment);
                break;
            default:
                return null;
        }

        if (depth == 0 && Terminal == PrefixTerminal.Empty)
        {
            return hash;
        }

        for (var d = depth - 1; d >= 0; d--)
        {
            hash = PrefixTree.Bit(key, d) == 0 ? PrefixTree.InteriorHash(hash, Siblings[d]) : PrefixTree.InteriorHash(Siblings[d], hash);
        }

        return hash;
    }

    /// <summary>Whether the proof shows, under <paramref name="root"/>, that <paramref name="key"/> holds <paramref name="commitment"/> (or is absent when null).</summary>
    public bool Proves(ReadOnlySpan<byte> root, ReadOnlySpan<byte> key, ReadOnlySpan<byte> commitment)
    {
        var implied = ImpliedRoot(key);
        if (implied is null || !implied.AsSpan().SequenceEqual(root))
        {
            return false;
        }

        return commitment.IsEmpty ? Terminal != PrefixTerminal.Leaf : Terminal == PrefixTerminal.Leaf && commitment.SequenceEqual(LeafCommitment);
    }
}

/// <summary>
/// An in-memory prefix tree mapping 32-byte search keys to 32-byte commitments, with the interior
/// nodes' hashes cached (a leaf's is one SHA-256 of its 65 bytes, computed when asked: at 10^6 labels
/// a cached copy would cost 40 MB for hashes read only along changed paths and proofs). <see cref="Set"/> changes the tree in place (for building); <see cref="With"/> returns
/// a new tree that shares every unchanged node, leaving this one intact for concurrent readers.
/// </summary>
internal sealed class PrefixTree
{
    /// <summary>Search key length (a VRF output).</summary>
    public const int KeySize = 32;

    /// <summary>Hash and commitment length.</summary>
    public const int HashSize = 32;

    private readonly object _owner = new();
    private Node? _root;

    /// <summary>An empty tree.</summary>
    public PrefixTree()
    {
    }

    private PrefixTree(Node? root, int count)
    {
        _root = root;
        Count = count;
    }

    /// <summary>Number of leaves.</summary>
    public int Count { get; private set; }

    /// <summary>The root hash (32 zero bytes for the empty tree).</summary>
    public byte[] Root => HashOf(_root);

    /// <summary>Sets (adds or updates) the commitment under <paramref name="key"/>.</summary>
    /// <exception cref="ArgumentException">Wrong key or commitment length.</exception>
    public void Set(ReadOnlySpan<byte> key, ReadOnlySpan<byte> commitment)
    {
        if (key.Length != KeySize || commitment.Length != HashSize)
        {
            throw new ArgumentException("Keys and commitments are 32 bytes.", nameof(key));
        }

        var leaf = new Leaf(key, commitment);
        if (_root is null)
        {
            _root = leaf;
            Count = 1;
            return;
        }

        _root = Insert(_root, leaf, 0, copy: false);
    }

    /// <summary>A new tree with the given (key, commitment) pairs set; this tree is unchanged. Hashes are computed before it returns.</summary>
    /// <exception cref="ArgumentException">Wrong key or commitment length.</exception>
    public PrefixTree With(IEnumerable<(byte[] Key, byte[] Commitment)> changes)
    {
        ArgumentNullException.ThrowIfNull(changes);
        var next = new PrefixTree(_root, Count);
        foreach (var (key, commitment) in changes)
        {
            if (key is not { Length: KeySize } || commitment is not { Length: HashSize })
            {
                throw new ArgumentException("Keys and commitments are 32 bytes.", nameof(changes));
            }

            var leaf = new Leaf(key, commitment);
            if (next._root is null)
            {
                next._root = leaf;
                next.Count = 1;
            }
            else
            {
                next._root = next.Insert(next._root, leaf, 0, copy: true);
            }
        }

        _ = next.Root;
        return next;
    }

    /// <summary>The commitment under <paramref name="key"/>, or null.</summary>
    public byte[]? Get(ReadOnlySpan<byte> key)
    {
        var node = _root;
        for (var depth = 0; node is Interior interior; depth++)
        {
            node = Bit(key, depth) == 0 ? interior.Left : interior.Right;
        }

        return node is Leaf leaf && leaf.Key[..].SequenceEqual(key) ? leaf.Commitment[..].ToArray() : null;
    }

    /// <summary>A membership or non-membership proof for <paramref name="key"/> against <see cref="Root"/>.</summary>
    public PrefixProof Prove(ReadOnlySpan<byte> key)
    {
        if (key.Length != KeySize)
        {
            throw new ArgumentException("Keys are 32 bytes.", nameof(key));
        }

        var siblings = new List<byte[]>();
        var node = _root;
        for (var depth = 0; node is Interior interior; depth++)
        {
            var right = Bit(key, depth) == 1;
            var sibling = right ? interior.Left : interior.Right;
            siblings.Add(HashOf(sibling));
            node = right ? interior.Right : interior.Left;
        }

        return node switch
        {
            null => new PrefixProof(siblings, PrefixTerminal.Empty, null, null),
            Leaf leaf when leaf.Key[..].SequenceEqual(key) => new PrefixProof(siblings, PrefixTerminal.Leaf, null, leaf.Commitment[..].ToArray()),
            Leaf leaf => new PrefixProof(siblings, PrefixTerminal.OtherLeaf, leaf.Key[..].ToArray(), leaf.Commitment[..].ToArray()),
            _ => throw new InvalidOperationException("unreachable"),
        };
    }

    /// <summary>A node's hash as a new array; 32 zero bytes for an empty subtree.</summary>
    private static byte[] HashOf(Node? node)
    {
        var hash = new byte[HashSize];
        node?.WriteHash(hash);
        return hash;
    }

    internal static int Bit(ReadOnlySpan<byte> key, int depth) => (key[depth >> 3] >> (7 - (depth & 7))) & 1;

    internal static int CommonPrefix(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        var bytes = a.CommonPrefixLength(b);
        return bytes == a.Length ? bytes * 8 : (bytes * 8) + System.Numerics.BitOperations.LeadingZeroCount((uint)(a[bytes] ^ b[bytes])) - 24;
    }

    internal static byte[] LeafHash(ReadOnlySpan<byte> key, ReadOnlySpan<byte> commitment)
    {
        var hash = new byte[HashSize];
        LeafHash(key, commitment, hash);
        return hash;
    }

    /// <summary>SHA-256(0x00 || key || commitment) into <paramref name="destination"/>.</summary>
    private static void LeafHash(ReadOnlySpan<byte> key, ReadOnlySpan<byte> commitment, Span<byte> destination)
    {
        Span<byte> buffer = stackalloc byte[1 + KeySize + HashSize];
        buffer[0] = 0;
        key.CopyTo(buffer[1..]);
        commitment.CopyTo(buffer[(1 + KeySize)..]);
        SHA256.HashData(buffer, destination);
    }

    internal static byte[] InteriorHash(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right)
    {
        var hash = new byte[HashSize];
        InteriorHash(left, right, hash);
        return hash;
    }

    /// <summary>SHA-256(0x01 || left || right) into <paramref name="destination"/>.</summary>
    private static void InteriorHash(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right, Span<byte> destination)
    {
        Span<byte> buffer = stackalloc byte[1 + (2 * HashSize)];
        buffer[0] = 1;
        left.CopyTo(buffer[1..]);
        right.CopyTo(buffer[(1 + HashSize)..]);
        SHA256.HashData(buffer, destination);
    }

    private Node Insert(Node node, Leaf leaf, int depth, bool copy)
    {
        switch (node)
        {
            case Interior original:
                // Copying: a node may be shared with an older tree; only nodes this tree created
                // are changed in place.
                var interior = copy && original.Owner != _owner ? new Interior { Left = original.Left, Right = original.Right, Owner = _owner } : original;
                if (Bit(leaf.Key, depth) == 0)
                {
                    interior.Left = interior.Left is null ? Added(leaf) : Insert(interior.Left, leaf, depth + 1, copy);
                }
                else
                {
                    interior.Right = interior.Right is null ? Added(leaf) : Insert(interior.Right, leaf, depth + 1, copy);
                }

                interior.Invalidate();
                return interior;
            case Leaf existing when existing.Key[..].SequenceEqual(leaf.Key):
                return leaf;
            case Leaf existing:
                Count++;
                return Split(existing, leaf, depth, _owner);
            default:
                throw new InvalidOperationException("unreachable");
        }
    }

    private Leaf Added(Leaf leaf)
    {
        Count++;
        return leaf;
    }

    private static Interior Split(Leaf a, Leaf b, int depth, object owner)
    {
        var bitA = Bit(a.Key, depth);
        if (bitA != Bit(b.Key, depth))
        {
            return bitA == 0 ? new Interior { Left = a, Right = b, Owner = owner } : new Interior { Left = b, Right = a, Owner = owner };
        }

        var child = Split(a, b, depth + 1, owner);
        return bitA == 0 ? new Interior { Left = child, Owner = owner } : new Interior { Right = child, Owner = owner };
    }

    [InlineArray(32)]
    private struct Bytes32
    {
        private byte _element;
    }

    private abstract class Node
    {
        /// <summary>Writes the node's 32-byte hash into <paramref name="destination"/>.</summary>
        public abstract void WriteHash(Span<byte> destination);
    }

    private sealed class Leaf : Node
    {
        public Leaf(ReadOnlySpan<byte> key, ReadOnlySpan<byte> commitment)
        {
            key.CopyTo(Key);
            commitment.CopyTo(Commitment);
        }

#pragma warning disable IDE0044 // inline arrays are filled through spans
        public Bytes32 Key;
        public Bytes32 Commitment;
#pragma warning restore IDE0044

        public override void WriteHash(Span<byte> destination) => LeafHash(Key, Commitment, destination);
    }

    private sealed class Interior : Node
    {
        private Bytes32 _hash;
        private bool _valid;

        public Node? Left { get; set; }

        public Node? Right { get; set; }

        /// <summary>The tree that created this node and may change it in place.</summary>
        public object? Owner { get; init; }

        public void Invalidate() => _valid = false;

        // Computed once and kept until the node changes; an empty side hashes as 32 zero bytes.
        public override void WriteHash(Span<byte> destination)
        {
            if (!_valid)
            {
                Span<byte> left = stackalloc byte[HashSize];
                Span<byte> right = stackalloc byte[HashSize];
                Left?.WriteHash(left);
                Right?.WriteHash(right);
                InteriorHash(left, right, _hash);
                _valid = true;
            }

            ((ReadOnlySpan<byte>)_hash).CopyTo(destination);
        }
    }
}

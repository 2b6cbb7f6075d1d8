using System.Text.Json;
using CsCheck;
using Mimi.Discovery.Transparency;

namespace Mimi.Discovery.Tests.Transparency;

/// <summary>
/// RFC 9162 §2.1 against the transparency-dev/merkle test data (Vectors/Merkle, copied from
/// shared/testvectors; every inclusion and consistency file, including the must-fail ones) and
/// the RFC 6962 reference tree.
/// </summary>
public class MerkleTreeTests
{
    private static readonly string VectorRoot = Path.Combine(AppContext.BaseDirectory, "Vectors", "Merkle");

    private static TheoryData<string> Files(string kind) =>
        new(Directory.GetFiles(Path.Combine(VectorRoot, "testdata", kind), "*.json", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(VectorRoot, f)).Order(StringComparer.Ordinal));

    public static TheoryData<string> InclusionFiles => Files("inclusion");

    public static TheoryData<string> ConsistencyFiles => Files("consistency");

    private static byte[] B64(JsonElement e) => e.ValueKind == JsonValueKind.String ? Convert.FromBase64String(e.GetString()!) : [];

    private static List<byte[]>? Proof(JsonElement file) =>
        file.TryGetProperty("proof", out var p) && p.ValueKind == JsonValueKind.Array ? p.EnumerateArray().Select(B64).ToList() : null;

    [Theory]
    [MemberData(nameof(InclusionFiles))]
    public void VerifyInclusion_TransparencyDevVectors(string file)
    {
        var v = JsonDocument.Parse(File.ReadAllText(Path.Combine(VectorRoot, file))).RootElement;

        // Some must-fail files hold indices that wrapped below zero as unsigned 64-bit values.
        var ok = v.GetProperty("leafIdx").TryGetInt64(out var index) && v.GetProperty("treeSize").TryGetInt64(out var size)
                 && MerkleProof.VerifyInclusion(index, size, B64(v.GetProperty("leafHash")), Proof(v), B64(v.GetProperty("root")));

        Assert.Equal(!v.GetProperty("wantErr").GetBoolean(), ok);
    }

    [Theory]
    [MemberData(nameof(ConsistencyFiles))]
    public void VerifyConsistency_TransparencyDevVectors(string file)
    {
        var v = JsonDocument.Parse(File.ReadAllText(Path.Combine(VectorRoot, file))).RootElement;

        var ok = v.GetProperty("size1").TryGetInt64(out var size1) && v.GetProperty("size2").TryGetInt64(out var size2)
                 && MerkleProof.VerifyConsistency(size1, size2, B64(v.GetProperty("root1")), B64(v.GetProperty("root2")), Proof(v));

        Assert.Equal(!v.GetProperty("wantErr").GetBoolean(), ok);
    }

    private static (MerkleTree Tree, JsonElement Reference) ReferenceTree()
    {
        var reference = JsonDocument.Parse(File.ReadAllText(Path.Combine(VectorRoot, "rfc6962-reference-tree.json"))).RootElement;
        var tree = new MerkleTree();
        foreach (var input in reference.GetProperty("leaf_inputs").EnumerateArray())
        {
            tree.Append(MerkleHash.Leaf(Convert.FromHexString(input.GetString()!)));
        }

        return (tree, reference);
    }

    [Fact]
    public void Root_EveryPrefixOfTheRfc6962ReferenceTree()
    {
        var (tree, reference) = ReferenceTree();
        var roots = reference.GetProperty("root_hashes").EnumerateArray().Select(r => r.GetProperty("root").GetString()).ToList();

        for (var size = 0; size <= 8; size++)
        {
            Assert.Equal(roots[size], Convert.ToHexStringLower(tree.Root(size)));
        }

        Assert.Equal(reference.GetProperty("node_hashes").GetProperty("levels")[0][5].GetString(), Convert.ToHexStringLower(MerkleHash.Leaf(Convert.FromHexString("40414243"))));
    }

    [Fact]
    public void GeneratedProofs_MatchTheVectorsHappyPaths()
    {
        var (tree, _) = ReferenceTree();
        var happy = JsonDocument.Parse(File.ReadAllText(Path.Combine(VectorRoot, "testdata", "inclusion", "2", "happy-path.json"))).RootElement;
        Assert.Equal(Proof(happy)!.Select(Convert.ToBase64String), tree.InclusionProof(5, 8).Select(Convert.ToBase64String));

        var consistency = JsonDocument.Parse(File.ReadAllText(Path.Combine(VectorRoot, "testdata", "consistency", "2", "happy-path.json"))).RootElement;
        Assert.Equal(Proof(consistency)!.Select(Convert.ToBase64String), tree.ConsistencyProof(6, 8).Select(Convert.ToBase64String));
    }

    [Fact]
    public void GeneratedProofs_VerifyForTreesOfEverySizeUpTo64()
    {
        var tree = new MerkleTree();
        for (var n = 1; n <= 64; n++)
        {
            tree.Append(MerkleHash.Leaf(BitConverter.GetBytes(n)));
            var root = tree.Root(n);
            for (var i = 0; i < n; i++)
            {
                Assert.True(MerkleProof.VerifyInclusion(i, n, MerkleHash.Leaf(BitConverter.GetBytes(i + 1)), tree.InclusionProof(i, n), root), $"inclusion {i} of {n}");
            }

            for (var m = 1; m <= n; m++)
            {
                Assert.True(MerkleProof.VerifyConsistency(m, n, tree.Root(m), root, tree.ConsistencyProof(m, n)), $"consistency {m}→{n}");
            }
        }
    }

    [Fact]
    public void Proofs_AnyFlippedBitFails()
    {
        Gen.Select(Gen.Int[2, 40], Gen.Int[0, 1000], Gen.Int[0, 255]).Sample((n, seed, bit) =>
        {
            var tree = new MerkleTree();
            for (var i = 0; i < n; i++)
            {
                tree.Append(MerkleHash.Leaf(BitConverter.GetBytes(seed + i)));
            }

            var index = seed % n;
            var proof = tree.InclusionProof(index, n).Select(p => p.ToArray()).ToList();
            if (proof.Count == 0)
            {
                return;
            }

            proof[bit % proof.Count][bit % 32] ^= (byte)(1 << (bit % 8));
            Assert.False(MerkleProof.VerifyInclusion(index, n, MerkleHash.Leaf(BitConverter.GetBytes(seed + index)), proof, tree.Root(n)));
        }, iter: 500);
    }

    [Fact]
    public void BadArguments_AreRejected()
    {
        var tree = new MerkleTree();
        Assert.Throws<ArgumentException>(() => tree.Append(new byte[31]));
        tree.Append(MerkleHash.Leaf([1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => tree.Root(2));
        Assert.Throws<ArgumentOutOfRangeException>(() => tree.InclusionProof(1, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => tree.ConsistencyProof(0, 1));
        Assert.False(MerkleProof.VerifyInclusion(0, 1, new byte[5], [], tree.Root(1)));
        Assert.False(MerkleProof.VerifyConsistency(1, 1, tree.Root(1), tree.Root(1), [new byte[32]]));
    }
}

using System.Security.Cryptography;
using System.Text.Json;
using CsCheck;
using Mimi.Discovery.Transparency;

namespace Mimi.Discovery.Tests.Transparency;

public class PrefixTreeTests
{
    private static byte[] Key(int seed) => SHA256.HashData(BitConverter.GetBytes(seed));

    private static byte[] Value(int seed) => SHA256.HashData(BitConverter.GetBytes(~seed));

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(200)]
    public void EveryKeyProvesItsValue_AndOtherKeysProveAbsence(int count)
    {
        var tree = new PrefixTree();
        for (var i = 0; i < count; i++)
        {
            tree.Set(Key(i), Value(i));
        }

        var root = tree.Root;
        Assert.Equal(count, tree.Count);
        for (var i = 0; i < count; i++)
        {
            var proof = tree.Prove(Key(i));
            Assert.Equal(PrefixTerminal.Leaf, proof.Terminal);
            Assert.True(proof.Proves(root, Key(i), Value(i)));
            Assert.False(proof.Proves(root, Key(i), Value(i + 1)));
            Assert.False(proof.Proves(root, Key(i), []));
        }

        for (var i = count; i < count + 20; i++)
        {
            var proof = tree.Prove(Key(i));
            Assert.NotEqual(PrefixTerminal.Leaf, proof.Terminal);
            Assert.True(proof.Proves(root, Key(i), []));
            Assert.False(proof.Proves(root, Key(i), Value(i)));
        }
    }

    [Fact]
    public void EmptyTree_RootIsZeros_AndProvesAbsence()
    {
        var tree = new PrefixTree();
        Assert.Equal(new byte[32], tree.Root);
        var proof = tree.Prove(Key(1));
        Assert.Equal(PrefixTerminal.Empty, proof.Terminal);
        Assert.Empty(proof.Siblings);
        Assert.True(proof.Proves(new byte[32], Key(1), []));
        Assert.False(proof.Proves(Key(9), Key(1), []));
    }

    [Fact]
    public void With_LeavesTheOldTreeUntouched_AndMatchesInPlaceUpdates()
    {
        var tree = new PrefixTree();
        for (var i = 0; i < 50; i++)
        {
            tree.Set(Key(i), Value(i));
        }

        var before = tree.Root;
        var oldProof = tree.Prove(Key(7));
        var next = tree.With([(Key(7), Value(1000)), (Key(500), Value(500))]);

        Assert.Equal(before, tree.Root);
        Assert.True(oldProof.Proves(tree.Root, Key(7), Value(7)));
        Assert.Equal(51, next.Count);
        Assert.True(next.Prove(Key(7)).Proves(next.Root, Key(7), Value(1000)));
        Assert.True(next.Prove(Key(500)).Proves(next.Root, Key(500), Value(500)));

        tree.Set(Key(7), Value(1000));
        tree.Set(Key(500), Value(500));
        Assert.Equal(next.Root, tree.Root);
    }

    [Fact]
    public void TamperedProofs_DoNotVerify()
    {
        var tree = new PrefixTree();
        for (var i = 0; i < 30; i++)
        {
            tree.Set(Key(i), Value(i));
        }

        var root = tree.Root;
        var proof = tree.Prove(Key(3));
        var siblings = proof.Siblings.Select(s => (byte[])s.Clone()).ToList();
        siblings[0][0] ^= 1;
        Assert.False((proof with { Siblings = siblings }).Proves(root, Key(3), Value(3)));
        Assert.False((proof with { Siblings = proof.Siblings.Skip(1).ToList() }).Proves(root, Key(3), Value(3)));

        // Claiming absence with another key's leaf that does not share the path fails.
        var absent = tree.Prove(Key(999));
        if (absent.Terminal == PrefixTerminal.OtherLeaf)
        {
            Assert.False((absent with { LeafKey = Key(998) }).Proves(root, Key(999), []));
        }

        Assert.False(new PrefixProof(proof.Siblings, PrefixTerminal.Empty, null, null).Proves(root, Key(3), []));
    }

    [Fact]
    public void Property_BuildOrderDoesNotMatter_AndProofsHold()
    {
        Gen.Int[0, 10_000].HashSet[0, 60].Sample(seeds =>
        {
            var keys = seeds.ToList();
            var forward = new PrefixTree();
            var backward = new PrefixTree();
            foreach (var k in keys)
            {
                forward.Set(Key(k), Value(k));
            }

            foreach (var k in Enumerable.Reverse(keys))
            {
                backward.Set(Key(k), Value(k));
            }

            Assert.Equal(forward.Root, backward.Root);
            Assert.All(keys, k => Assert.True(forward.Prove(Key(k)).Proves(forward.Root, Key(k), Value(k))));
            Assert.True(forward.Prove(Key(-1)).Proves(forward.Root, Key(-1), []));
        }, iter: 200);
    }
}

/// <summary>The keytrans commitment (draft-ietf-keytrans-protocol-05 §11.6); Vectors/KeyTrans/commitment.json is copied from shared/testvectors/keytrans.</summary>
public class CommitmentTests
{
    private static readonly JsonElement Cases = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Vectors", "KeyTrans", "commitment.json"))).RootElement.GetProperty("cases");

    public static TheoryData<string> Names => new(Cases.EnumerateArray().Select(c => c.GetProperty("name").GetString()!));

    [Theory]
    [MemberData(nameof(Names))]
    public void Vector(string name)
    {
        var c = Cases.EnumerateArray().Single(e => e.GetProperty("name").GetString() == name);
        var input = c.GetProperty("input");
        var expect = c.GetProperty("expect");
        byte[] Hex(JsonElement e, string p) => Convert.FromHexString(e.GetProperty(p).GetString()!);
        var opening = Hex(input, "opening");
        var label = Hex(input, "label");
        var version = input.GetProperty("version").GetUInt32();
        var value = Hex(input.GetProperty("update"), "value");
        if (expect.TryGetProperty("error", out _))
        {
            Assert.False(Commitment.Verify(Hex(input, "commitment"), opening, label, version, value));
            return;
        }

        Assert.Equal(Hex(expect, "commitment_value"), Commitment.Encode(opening, label, version, value));
        Assert.Equal(Hex(expect, "commitment"), Commitment.Compute(opening, label, version, value));
        Assert.True(Commitment.Verify(Hex(expect, "commitment"), opening, label, version, value));
    }
}

public class TreeHeadTests
{
    [Fact]
    public void Signature_CoversSizeTimestampAndRoot()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var head = SignedTreeHead.Sign(key, 5, 1_700_000_000_000, SHA256.HashData([1]));

        Assert.True(head.VerifySignature(key));
        Assert.False(head.VerifySignature(other));
        Assert.False((head with { Size = 6 }).VerifySignature(key));
        Assert.False((head with { Timestamp = 1 }).VerifySignature(key));
        Assert.False((head with { Root = SHA256.HashData([2]) }).VerifySignature(key));
        Assert.False((head with { Signature = new byte[3] }).VerifySignature(key));
    }
}

using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Transparency;

namespace Mimi.Discovery.Benchmarks;

/// <summary>
/// Transparency costs side by side: sealing a batch of changes into a prefix tree of N labels,
/// the sender's check of one label proof (VRF verify + prefix path + commitment) at N labels, and
/// the primitives beneath (VRF prove/verify on OpenSSL where available and on the BouncyCastle
/// fallback, one ECDSA P-256 verify). Proof sizes are printed
/// at set-up (label proof bytes on the wire, before base64url).
/// </summary>
[MemoryDiagnoser]
public class TransparencyBenchmarks
{
    private const int Batch = 1000;

    private PrefixTree _tree = null!;
    private (byte[] Key, byte[] Commitment)[] _changes = null!;
    private byte[] _vrfSecret = null!;
    private EcVrfSecretKey _vrfKey = null!;
    private byte[] _vrfPublic = null!;
    private byte[] _alpha = null!;
    private byte[] _vrfProof = null!;
    private byte[] _searchKey = null!;
    private PrefixProof _proof = null!;
    private byte[] _root = null!;
    private byte[] _opening = null!;
    private string[] _statements = null!;
    private ECDsa _ecdsa = null!;
    private byte[] _signature = null!;

    /// <summary>Labels in the tree.</summary>
    [Params(1_000, 1_000_000)]
    public int Labels { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _tree = new PrefixTree();
        for (var i = 0; i < Labels; i++)
        {
            _tree.Set(SHA256.HashData(BitConverter.GetBytes(i)), SHA256.HashData(BitConverter.GetBytes(~i)));
        }

        _changes = Enumerable.Range(0, Batch).Select(i => (SHA256.HashData(BitConverter.GetBytes(i * 7919)), SHA256.HashData(BitConverter.GetBytes(i)))).ToArray();

        _vrfSecret = SHA256.HashData("benchmark vrf key"u8);
        _vrfPublic = EcVrf.PublicKey(_vrfSecret);
        _vrfKey = new EcVrfSecretKey(_vrfSecret);
        var csi = CsiParser.ParseOrThrow("+33612345678");
        _alpha = Discovery.Transparency.Labels.Alpha(csi, Discovery.Transparency.Labels.AnyScope);
        _vrfProof = EcVrf.Prove(_vrfSecret, _alpha);
        _searchKey = EcVrf.ProofToHash(_vrfProof)!;
        _statements = [new string('s', 900), new string('t', 900)];
        _opening = Commitment.NewOpening();
        _tree.Set(_searchKey, Discovery.Transparency.Labels.Commit(_opening, _searchKey, 1, _statements));
        _root = _tree.Root;
        _proof = _tree.Prove(_searchKey);

        _ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        _signature = _ecdsa.SignData(_alpha, HashAlgorithmName.SHA256);

        var absent = _tree.Prove(SHA256.HashData("absent"u8));
        Console.WriteLine($"// proof size at {Labels} labels: present label {EcVrf.ProofSize + (_proof.Siblings.Count * 32) + Commitment.OpeningSize + 8} bytes " +
                          $"({_proof.Siblings.Count} siblings), absent label {EcVrf.ProofSize + (absent.Siblings.Count * 32) + (absent.LeafKey is null ? 0 : 64)} bytes ({absent.Siblings.Count} siblings)");
    }

    [Benchmark(Description = "seal 1000 changes (new tree version)")]
    public object Seal() => _tree.With(_changes);

    [Benchmark(Description = "verify one label proof")]
    public bool VerifyLabel()
    {
        var key = EcVrf.Verify(_vrfPublic, _alpha, _vrfProof);
        var commitment = Discovery.Transparency.Labels.Commit(_opening, key!, 1, _statements);
        return (_proof with { LeafCommitment = commitment }).Proves(_root, key, commitment);
    }

    [Benchmark(Description = "VRF verify")]
    public byte[]? VrfVerify() => EcVrf.Verify(_vrfPublic, _alpha, _vrfProof);

    [Benchmark(Description = "VRF prove")]
    public byte[] VrfProve() => EcVrf.Prove(_vrfSecret, _alpha);

    [Benchmark(Description = "VRF prove, key kept (as the log proves labels)")]
    public byte[] VrfProveKeyKept() => _vrfKey.Prove(_alpha);

    [Benchmark(Description = "VRF verify on BouncyCastle (the fallback)")]
    public byte[]? VrfVerifyManaged() => EcVrf.VerifyManaged(_vrfPublic, _alpha, _vrfProof);

    [Benchmark(Description = "VRF prove, key kept, on BouncyCastle (the fallback)")]
    public byte[] VrfProveKeyKeptManaged() => EcVrf.ProveManaged(EcVrf.Scalar(_vrfSecret), _vrfPublic, _alpha);

    [Benchmark(Baseline = true, Description = "ECDSA P-256 verify")]
    public bool EcdsaVerify() => _ecdsa.VerifyData(_alpha, _signature, HashAlgorithmName.SHA256);

    [GlobalCleanup]
    public void Cleanup() => _ecdsa.Dispose();
}

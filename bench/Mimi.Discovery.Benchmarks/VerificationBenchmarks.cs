using System.Security.Cryptography;
using System.Text;
using BenchmarkDotNet.Attributes;
using Mimi.Discovery.Credentials;
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Statements;
using Mimi.Discovery.Verification;

namespace Mimi.Discovery.Benchmarks;

/// <summary>
/// What a sender pays to verify one mapping statement, beside the floor it cannot go below:
/// one bare ECDSA P-256 verification of the same signing input.
/// </summary>
[MemoryDiagnoser]
public class VerificationBenchmarks
{
    private StatementVerifier _verifier = null!;
    private StatementVerifier _coldVerifier = null!;
    private string _statement = null!;
    private ECDsa _key = null!;
    private byte[] _signingInput = null!;
    private byte[] _signature = null!;
    private CredentialAuthority _authority = null!;

    [GlobalSetup]
    public void Setup()
    {
        _authority = CredentialAuthority.Create("Benchmark CA", TimeSpan.FromDays(365));
        _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var csi = CsiParser.ParseOrThrow("+33612345678");
        var signer = new StatementSigner(_key, _authority.IssueCredential(csi, _key));
        _statement = signer.SignMapping(new MappingDraft(csi, 1,
        [
            new MspEntry("wire") { Account = "@bob", Priority = 10, Tags = ["default"] },
            new MspEntry("matrix.org") { Account = "@bob:matrix.example", Priority = 20 },
        ]));
        _verifier = new StatementVerifier(new TrustAnchors([_authority.Certificate]));
        _coldVerifier = new StatementVerifier(new TrustAnchors([_authority.Certificate]), options: new VerificationOptions { CredentialCacheSize = 0 });
        var lastDot = _statement.LastIndexOf('.');
        _signingInput = Encoding.ASCII.GetBytes(_statement[..lastDot]);
        _signature = System.Buffers.Text.Base64Url.DecodeFromChars(_statement.AsSpan(lastDot + 1));
        if (!VerifyStatement() || !VerifyStatementCold() || !BareEcdsaVerify())
        {
            throw new InvalidOperationException("benchmark inputs do not verify");
        }
    }

    [Benchmark(Baseline = true, Description = "bare ECDSA P-256 verify")]
    public bool BareEcdsaVerify() => _key.VerifyData(_signingInput, _signature, HashAlgorithmName.SHA256);

    [Benchmark(Description = "verify statement, credential seen before")]
    public bool VerifyStatement() => _verifier.VerifyMapping(_statement).IsValid;

    [Benchmark(Description = "verify statement, new credential (parse + chain)")]
    public bool VerifyStatementCold() => _coldVerifier.VerifyMapping(_statement).IsValid;

    [GlobalCleanup]
    public void Cleanup()
    {
        _key.Dispose();
        _authority.Dispose();
    }
}

using BenchmarkDotNet.Attributes;
using Mimi.Discovery.Client;
using Mimi.Discovery.Credentials;
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Statements;
using Mimi.Discovery.Verification;

namespace Mimi.Discovery.Benchmarks;

/// <summary>
/// What a sender pays to open sealed routes (docs/protocol.md §2, "Sealed routes") holding 0, 1 or 10 route keys
/// for the identifier, beside plain verification of the same statement: a statement with a public entry and three
/// groups sealed (four boxes of 512 bytes), of which the sender's keys open one (or none).
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class SealedRouteBenchmarks
{
    private StatementVerifier _verifier = null!;
    private string _statement = null!;
    private MappingStatement _verified = null!;
    private RouteKey[] _keys = [];
    private CredentialAuthority _authority = null!;

    [Params(0, 1, 10)]
    public int KeysHeld { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _authority = CredentialAuthority.Create("Benchmark CA", TimeSpan.FromDays(365));
        using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var csi = CsiParser.ParseOrThrow("+33612345678");
        var signer = new StatementSigner(key, _authority.IssueCredential(csi, key));
        var parents = RouteKey.Create("soccer-parents", csi);
        _statement = signer.SignMapping(new MappingDraft(csi, 1, [new MspEntry("wire") { Account = "@bob", Priority = 20, Tags = ["Business"] }])
        {
            SealedRoutes =
            [
                new SealedRouteDraft(parents, [new MspEntry("whatsapp") { Account = "+33612345678", Priority = 10 }]),
                new SealedRouteDraft(RouteKey.Create("alice", csi), [new MspEntry("signal") { Account = "+33612345678" }]),
                new SealedRouteDraft(RouteKey.Create("carol", csi), [new MspEntry("threema") { Account = "BOB" }]),
            ],
        });
        _verifier = new StatementVerifier(new TrustAnchors([_authority.Certificate]));
        _verified = _verifier.VerifyMapping(_statement).Statement!;
        // The key that opens is the last one tried: the worst case for the keys held.
        _keys = [.. Enumerable.Range(0, Math.Max(0, KeysHeld - 1)).Select(i => RouteKey.Create("other" + i, csi)), .. KeysHeld > 0 ? new[] { parents } : []];
        if (!VerifyOnly() || VerifyAndOpen() != Math.Min(KeysHeld, 1) + 1)
        {
            throw new InvalidOperationException("benchmark inputs do not verify or open");
        }
    }

    [Benchmark(Baseline = true, Description = "verify statement")]
    public bool VerifyOnly() => _verifier.VerifyMapping(_statement).IsValid;

    [Benchmark(Description = "verify statement + open sealed routes")]
    public int VerifyAndOpen() => new VerifiedLookup("+33612345678", _verified.Csi, LookupOutcome.Found, [_verifier.VerifyMapping(_statement).Statement!], [], "found", null).Routes(_keys).Count;

    [Benchmark(Description = "open sealed routes only")]
    public int OpenOnly() => SealedRoutes.Open([_verified], _keys).Count;

    [GlobalCleanup]
    public void Cleanup() => _authority.Dispose();
}

using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Mimi.Discovery.Privacy.Tokens;
using Org.BouncyCastle.Crypto.Engines;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Security;

namespace Mimi.Discovery.Benchmarks;

/// <summary>
/// What issuing one Privacy Pass token (type 0x0002) costs the issuer, against the floor of one raw
/// RSA-2048 private-key operation on the same machine (OpenSSL's RSASP1, which BlindSign is built on;
/// beside it the BCL's PSS signature of a SHA-384 digest and BouncyCastle's managed fallback); what
/// the origin's verification costs against one raw public-key operation (RSAVP1); and the client's
/// request and finalize (finalize includes the signature check).
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class TokenBenchmarks
{
    private RSA _rsa = null!;
    private TokenIssuer _issuer = null!;
    private byte[] _challenge = null!;
    private byte[] _request = null!;
    private TokenRequest _decodedRequest = null!;
    private PendingTokenRequest _pending = null!;
    private TokenResponse _response = null!;
    private Token _token = null!;
    private TokenVerifier _verifier = null!;
    private byte[] _digest = null!;
    private RsaPrivateCrtKeyParameters _bcKey = null!;
    private byte[] _blinded = null!;
    private NativeRsa _native = null!;
    private byte[] _authenticator = null!;
    private readonly SecureRandom _random = new();

    [GlobalSetup]
    public void Setup()
    {
        _rsa = RSA.Create(2048);
        var key = BlindRsaPrivateKey.FromRsa(_rsa);
        _issuer = new TokenIssuer(key);
        _challenge = new TokenChallenge(PrivateTokenTypes.BlindRsa2048, "issuer.example", RandomNumberGenerator.GetBytes(32), ["mimi.example"]).Encode();
        _pending = PendingTokenRequest.Create(_challenge, _issuer.PublicKey);
        _request = _pending.Request.Encode();
        _decodedRequest = _pending.Request;
        _blinded = _decodedRequest.BlindedMessage.ToArray();
        _response = _issuer.Issue(_decodedRequest);
        _token = _pending.Finalize(_response);
        _verifier = new TokenVerifier([_issuer.PublicKey]);
        _digest = SHA384.HashData(_token.AuthenticatorInput());
        _bcKey = (RsaPrivateCrtKeyParameters)DotNetUtilities.GetRsaKeyPair(_rsa).Private;
        _authenticator = _token.Authenticator.ToArray();
        _native = NativeRsa.TryCreate(_rsa.ExportParameters(true)) ?? throw new PlatformNotSupportedException("The raw RSA floor needs the BCL on OpenSSL 3.");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _native.Dispose();
        _rsa.Dispose();
    }

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("issuer")]
    public byte[]? OpenSslRawPrivateOp() => _native.PrivateOperation(_blinded);

    [Benchmark]
    [BenchmarkCategory("issuer")]
    public byte[] BclRsaPssSignHash() => _rsa.SignHash(_digest, HashAlgorithmName.SHA384, RSASignaturePadding.Pss);

    [Benchmark]
    [BenchmarkCategory("issuer")]
    public byte[] BouncyCastleRawPrivateOp()
    {
        var engine = new RsaBlindedEngine();
        engine.Init(true, new ParametersWithRandom(_bcKey, _random));
        return engine.ProcessBlock(_blinded, 0, _blinded.Length);
    }

    [Benchmark]
    [BenchmarkCategory("issuer")]
    public byte[] IssueToken() => _issuer.Issue(_request);

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("client")]
    public PendingTokenRequest ClientCreateRequest() => PendingTokenRequest.Create(_challenge, _issuer.PublicKey);

    [Benchmark]
    [BenchmarkCategory("client")]
    public Token ClientFinalize() => _pending.Finalize(_response);

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("origin")]
    public byte[]? OpenSslRawPublicOp() => _native.PublicOperation(_authenticator);

    [Benchmark]
    [BenchmarkCategory("origin")]
    public bool OriginVerify() => _verifier.TryVerify(_token, _challenge, out _);
}

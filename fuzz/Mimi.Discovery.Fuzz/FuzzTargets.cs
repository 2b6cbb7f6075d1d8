using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Mimi.Discovery.Credentials;
using Mimi.Discovery.Dns;
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Privacy;
using Mimi.Discovery.Privacy.Hpke;
using Mimi.Discovery.Privacy.Ohttp;
using Mimi.Discovery.Privacy.Tokens;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Statements;
using Mimi.Discovery.Transparency;
using Mimi.Discovery.Verification;

namespace Mimi.Discovery.Fuzz;

/// <summary>
/// One fuzz target per parser of attacker-controlled input. A target feeds the bytes to the parser and
/// lets through only the refusal the parser documents (its own exception type, or a false/result
/// value); any other exception escapes and is a finding. The same targets run under AFL++ (Program.cs)
/// and over the checked-in corpus in the test suite.
/// </summary>
public static class FuzzTargets
{
    /// <summary>The targets by name (the corpus folder of each is <c>fuzz/corpus/&lt;name&gt;</c>).</summary>
    public static IReadOnlyDictionary<string, Action<byte[]>> All { get; } = new Dictionary<string, Action<byte[]>>(StringComparer.Ordinal)
    {
        ["csi"] = input =>
        {
            var text = Text(input);
            _ = CsiParser.Parse(text);
            _ = CsiParser.Parse(text, "FR");
            _ = Mui.TryParse(text, out _, out _);
            _ = MappingId.TryParse(text, out _);
            _ = Audience.TryParse(text, out _, out _);
        },
        ["mimi-record"] = input =>
        {
            _ = MimiRecord.TryParse(Text(input), out _, out _);
            if (TxtWire.TryDecode(input, out var txt))
            {
                _ = MimiRecord.TryParse(txt, out _, out _);
            }
        },
        ["statement"] = input =>
        {
            var text = Text(input);
            _ = Fixtures.Verifier.VerifyMapping(text);
            _ = Fixtures.Verifier.VerifyRemoval(text);
        },
        ["credential"] = input =>
        {
            X509Certificate2 certificate;
            try
            {
                certificate = X509CertificateLoader.LoadCertificate(input);
            }
            catch (CryptographicException)
            {
                return; // the platform's DER parser refused it before our code saw it
            }

            using (certificate)
            {
                _ = Credential.TryParse(certificate, out _, out _);
            }
        },
        ["bhttp-request"] = input => Refuses<ProtocolException<BinaryHttpError>>(() => BinaryHttpRequest.Decode(input)),
        ["bhttp-response"] = input => Refuses<ProtocolException<BinaryHttpError>>(() => BinaryHttpResponse.Decode(input)),
        ["ohttp-keys"] = input => Refuses<ProtocolException<OhttpError>>(() => OhttpKeyConfig.DecodeList(input)),
        ["ohttp-request"] = input => Refuses<ProtocolException<OhttpError>>(() => Fixtures.Gateway.DecapsulateRequest(input)),
        ["ohttp-response"] = input => Refuses<ProtocolException<OhttpError>>(() => Fixtures.OhttpRequest().DecapsulateResponse(input)),
        ["token"] = input => Refuses<ProtocolException<PrivacyPassError>>(() => Token.Decode(input)),
        ["token-request"] = input =>
        {
            Refuses<ProtocolException<PrivacyPassError>>(() => TokenRequest.Decode(input));
            Refuses<ProtocolException<PrivacyPassError>>(() => TokenResponse.Decode(input));
            Refuses<ProtocolException<PrivacyPassError>>(() => TokenChallenge.Decode(input));
            Refuses<ProtocolException<PrivacyPassError>>(() => TokenPublicKey.Decode(input));
        },
        ["batched-issuance"] = input =>
        {
            Refuses<ProtocolException<PrivacyPassError>>(() => GenericBatchTokenRequest.Decode(input, 1000));
            Refuses<ProtocolException<PrivacyPassError>>(() => GenericBatchTokenResponse.Decode(input));
        },
        ["private-token-header"] = input =>
        {
            var text = Text(input);
            Refuses<ProtocolException<PrivacyPassError>>(() => PrivateTokenHeaders.ParseChallenges(text));
            Refuses<ProtocolException<PrivacyPassError>>(() => PrivateTokenHeaders.ParseAuthorization(text));
            Refuses<ProtocolException<PrivacyPassError>>(() => IssuerDirectory.Parse(text));
        },
        ["lookup-response"] = input =>
        {
            LookupResponse? response;
            try
            {
                response = JsonSerializer.Deserialize(input, ProtocolJson.Default.LookupResponse);
            }
            catch (JsonException)
            {
                return;
            }

            if (response?.Results is null)
            {
                return;
            }

            var (verdict, _) = ProofVerifier.VerifyEpoch(response.Transparency, Fixtures.Keys, null, Fixtures.Now, TimeSpan.FromDays(1));
            foreach (var result in response.Results)
            {
                if (result?.Csi is { } csi && CsiParser.Parse(csi).Csi is { } parsed && response.Transparency is { } epoch)
                {
                    _ = ProofVerifier.VerifyResult(result, parsed, "wire", epoch, Fixtures.Keys);
                }

                foreach (var statement in result?.Statements ?? [])
                {
                    _ = Fixtures.Verifier.VerifyMapping(statement);
                }
            }

            _ = verdict;
        },
    };

    /// <summary>Runs <paramref name="parse"/>, treating <typeparamref name="TRefusal"/> as the parser's documented refusal.</summary>
    private static void Refuses<TRefusal>(Func<object?> parse)
        where TRefusal : Exception
    {
        try
        {
            _ = parse();
        }
        catch (TRefusal)
        {
            // a clean refusal
        }
    }

    private static string Text(byte[] input) => Encoding.UTF8.GetString(input);

    /// <summary>Fixed keys, so a seed made by <see cref="Seeds"/> reaches past the parsers into verification.</summary>
    internal static class Fixtures
    {
        public static readonly DateTimeOffset Now = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

        public static readonly CredentialAuthority Authority = CredentialAuthority.Create("Fuzz credential CA", TimeSpan.FromDays(36500), new FixedTime(Now.AddDays(-1)));

        public static readonly StatementVerifier Verifier = new(new TrustAnchors([Authority.Certificate]), new FixedTime(Now));

        public static readonly HpkeKeyPair GatewayKeyPair = HpkeKeyPair.Derive(HpkeKem.X25519HkdfSha256, new byte[32]);

        public static readonly OhttpKeyConfig GatewayConfig = new(1, HpkeKem.X25519HkdfSha256, GatewayKeyPair.PublicKey.Span, [new OhttpSymmetricSuite(HpkeKdf.HkdfSha256, HpkeAead.Aes128Gcm)]);

        public static readonly OhttpGateway Gateway = new([new OhttpGatewayKey(GatewayConfig, GatewayKeyPair)]);

        public static readonly byte[] VrfSecret = SHA256.HashData("fuzz vrf key"u8);

        public static readonly TransparencyKeyset Keys = MakeKeys();

        public static OhttpClientRequest OhttpRequest() => new OhttpClient(GatewayConfig).EncapsulateRequest([0x00]);

        private static TransparencyKeyset MakeKeys()
        {
            using var log = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            return TransparencyKeyset.FromWire(new TransparencyKeys(ProofWire.Encode(EcVrf.PublicKey(VrfSecret)), ProofWire.Encode(log.ExportSubjectPublicKeyInfo()), 0))!;
        }
    }

    /// <summary>A clock that stands still, so verification gives the same verdict on every run.</summary>
    internal sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}

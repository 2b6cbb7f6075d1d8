using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Mimi.Discovery.Credentials;
using Mimi.Discovery.Federation;
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Transparency;
using Mimi.Discovery.Verification;

namespace Mimi.Discovery.Tests.Federation;

/// <summary>Signing and verifying delegations: each malformed, forged or stale one refused with its reason.</summary>
public sealed class DelegationTests : IDisposable
{
    private static readonly Uri Root = new("https://root.example/");
    private static readonly Uri Operator = new("https://dp.operator.example:8443/");

    private readonly TestPki _pki = new("Operator credential CA");
    private readonly ECDsa _rootKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly TransparencyKeys _operatorKeys;

    public DelegationTests()
    {
        using var log = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var vrf = new EcVrfSecretKey(RandomScalar());
        _operatorKeys = new TransparencyKeys(ProofWire.Encode(vrf.PublicKey), ProofWire.Encode(log.ExportSubjectPublicKeyInfo()), 1);
    }

    public void Dispose()
    {
        _pki.Dispose();
        _rootKey.Dispose();
    }

    [Fact]
    public void Signed_Verifies_WithEverythingItNames()
    {
        var token = Sign(TimeSpan.FromDays(30), "+3361", "example.org");

        var result = Verify(token);

        Assert.True(result.IsValid, result.Reason);
        var d = result.Statement;
        Assert.Equal(Root, d.Issuer);
        Assert.Equal(Operator, d.Dp);
        Assert.Equal("+3361, example.org", d.Scope.ToString());
        Assert.Equal(_pki.Authority.Certificate.Thumbprint, Assert.Single(d.CredentialCas).Thumbprint);
        Assert.Empty(d.TlsTrust);
        Assert.Equal(_operatorKeys.LogKey, d.Transparency.LogKey);
        Assert.Equal(TestPki.Start.AddDays(30), d.ExpiresAt);
        Assert.Equal(["tel:+3361", "mailto:example.org"], Delegation.Subjects(d.Scope));
    }

    [Fact]
    public void CoveringSubjects_RunFromTheWholeNumberToTheCountryDigit_AndAreTheDomainForEmail()
    {
        var subjects = Delegation.CoveringSubjects(CsiParser.ParseOrThrow("+33612345678"));
        Assert.Equal("tel:+33612345678", subjects[0]);
        Assert.Equal("tel:+3", subjects[^1]);
        Assert.Equal(11, subjects.Count);
        Assert.Equal(["tel:+33612", "tel:+3361", "tel:+336", "tel:+33", "tel:+3"], subjects.TakeLast(5));
        Assert.Equal(["mailto:example.org"], Delegation.CoveringSubjects(CsiParser.ParseOrThrow("dave@Example.ORG")));
    }

    [Fact]
    public void Forged_Stale_OrMalformed_IsRefused_WithItsReason()
    {
        var good = Sign(TimeSpan.FromDays(30), "+3361");
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var cases = new (string Name, string? Token, Uri Issuer, DateTimeOffset At, VerificationStatus Status)[]
        {
            ("empty", "", Root, TestPki.Start, VerificationStatus.Malformed),
            ("two parts", "a.b", Root, TestPki.Start, VerificationStatus.Malformed),
            ("another key", Resign(good, other), Root, TestPki.Start, VerificationStatus.BadSignature),
            ("tampered payload", Tamper(good, p => p["dp"] = "https://evil.example/"), Root, TestPki.Start, VerificationStatus.BadSignature),
            ("another referrer", good, new Uri("https://other-root.example/"), TestPki.Start, VerificationStatus.InvalidContent),
            ("expired", good, Root, TestPki.Start.AddDays(31), VerificationStatus.Expired),
            ("signed in the future", good, Root, TestPki.Start.AddMinutes(-10), VerificationStatus.NotYetValid),
            ("alg none", Crafted.Encode("""{"alg":"none","typ":"mimi-delegation+jwt"}""") + "." + good.Split('.')[1] + ".AAAA", Root, TestPki.Start, VerificationStatus.UnsupportedAlgorithm),
            ("a mapping's typ", Crafted.Jws("""{"alg":"ES256","typ":"mimi-mapping+jwt"}""", Crafted.Decode(good.Split('.')[1]), _rootKey), Root, TestPki.Start, VerificationStatus.WrongType),
            ("crit", Crafted.Jws("""{"alg":"ES256","typ":"mimi-delegation+jwt","crit":["x"]}""", Crafted.Decode(good.Split('.')[1]), _rootKey), Root, TestPki.Start, VerificationStatus.UnsupportedCriticalHeader),
            ("unknown member", Resign(Tamper(good, p => p["extra"] = 1), _rootKey), Root, TestPki.Start, VerificationStatus.Malformed),
            ("bad scope", Resign(Tamper(good, p => p["scope"] = new JsonArray("33", "example.org")), _rootKey), Root, TestPki.Start, VerificationStatus.InvalidContent),
            ("plain http delegate", Resign(Tamper(good, p => p["dp"] = "http://dp.operator.example/"), _rootKey), Root, TestPki.Start, VerificationStatus.InvalidContent),
            ("delegate with a path", Resign(Tamper(good, p => p["dp"] = "https://dp.operator.example/v1/"), _rootKey), Root, TestPki.Start, VerificationStatus.InvalidContent),
            ("leaf as CA", Resign(Tamper(good, p => p["cas"] = new JsonArray(Convert.ToBase64String(_pki.NewRecipient("+33611111111").Credential.RawData))), _rootKey), Root, TestPki.Start, VerificationStatus.InvalidContent),
            ("no CA", Resign(Tamper(good, p => p["cas"] = new JsonArray()), _rootKey), Root, TestPki.Start, VerificationStatus.InvalidContent),
            ("bad log key", Resign(Tamper(good, p => p["logKey"] = "AAAA"), _rootKey), Root, TestPki.Start, VerificationStatus.InvalidContent),
            ("a lifetime over a year", Resign(Tamper(good, p => p["exp"] = TestPki.Start.AddDays(400).ToUnixTimeSeconds()), _rootKey), Root, TestPki.Start, VerificationStatus.Expired),
            ("version 0", Resign(Tamper(good, p => p["ver"] = 0), _rootKey), Root, TestPki.Start, VerificationStatus.Expired),
            ("too long", good + new string('A', Delegation.MaxLength), Root, TestPki.Start, VerificationStatus.Malformed),
            ("a signature spelled with its unused bits set", good[..^1] + (char)(good[^1] == 'A' ? 'B' : good[^1] + 1), Root, TestPki.Start, VerificationStatus.Malformed),
        };

        foreach (var (name, token, issuer, at, status) in cases)
        {
            var result = Delegation.Verify(token, _rootKey, issuer, at, TimeSpan.FromMinutes(5));
            Assert.False(result.IsValid, name);
            Assert.True(status == result.Status, $"{name}: {result}");
            Assert.False(string.IsNullOrWhiteSpace(result.Reason), name);
        }
    }

    [Fact]
    public void Sign_RefusesWhatCouldNotVerify()
    {
        Assert.Throws<ArgumentException>(() => Sign(TimeSpan.FromDays(400), "+3361"));
        Assert.Throws<ArgumentException>(() => Sign(TimeSpan.Zero, "+3361"));
        Assert.Throws<ArgumentException>(() => Delegation.Sign(_rootKey, Draft(TimeSpan.FromDays(1), "+3361") with { CredentialCas = [] }, _pki.Time));
        Assert.Throws<ArgumentException>(() => Delegation.Sign(_rootKey, Draft(TimeSpan.FromDays(1), "+3361") with { Transparency = _operatorKeys with { VrfKey = "AA" } }, _pki.Time));
    }

    private VerificationResult<Delegation> Verify(string token) => Delegation.Verify(token, _rootKey, Root, _pki.Time.GetUtcNow(), TimeSpan.FromMinutes(5));

    private string Sign(TimeSpan lifetime, params string[] scope) => Delegation.Sign(_rootKey, Draft(lifetime, scope), _pki.Time);

    private DelegationDraft Draft(TimeSpan lifetime, params string[] scope) =>
        new(Root, Scope(scope), Operator, [_pki.Authority.Certificate], _operatorKeys, [], lifetime);

    private static CsipScope Scope(string[] elements) => CsipScope.TryParse(elements, out var scope, out var reason) ? scope! : throw new ArgumentException(reason);

    private static string Tamper(string token, Action<JsonObject> change)
    {
        var parts = token.Split('.');
        var payload = JsonNode.Parse(Crafted.Decode(parts[1]))!.AsObject();
        change(payload);
        return parts[0] + "." + Crafted.Encode(payload.ToJsonString()) + "." + parts[2];
    }

    private static string Resign(string token, ECDsa key)
    {
        var parts = token.Split('.');
        return Crafted.Jws(Crafted.Decode(parts[0]), Crafted.Decode(parts[1]), key);
    }

    private static byte[] RandomScalar()
    {
        var scalar = RandomNumberGenerator.GetBytes(32);
        scalar[0] &= 0x7f;
        return scalar;
    }
}

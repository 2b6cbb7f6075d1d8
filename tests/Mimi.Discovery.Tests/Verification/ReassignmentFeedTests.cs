using System.Security.Cryptography;
using System.Text;
using Jose;
using Mimi.Discovery.Credentials;
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Statements;
using Mimi.Discovery.Verification;

namespace Mimi.Discovery.Tests.Verification;

public sealed class ReassignmentFeedTests : IDisposable
{
    private readonly TestPki _pki = new();
    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly StatementSigner _csip;

    public ReassignmentFeedTests()
    {
        _csip = new StatementSigner(_key, _pki.Authority.IssueCsipCredential("Example Telecom", CsipScope.Create(["+3361"], []), _key, TimeSpan.FromDays(365)), time: _pki.Time);
    }

    public void Dispose()
    {
        _key.Dispose();
        _pki.Dispose();
    }

    private static Csi Number(int i) => CsiParser.ParseOrThrow(FormattableString.Invariant($"+336{i % 2 + 1}{i:D7}"));

    private List<Reassignment> Numbers(int count) => Enumerable.Range(0, count).Select(i => new Reassignment(Number(i), _pki.Time.GetUtcNow().AddHours(-1))).ToList();

    [Fact]
    public void SignReassignmentFeed_Verifies_WithEveryNumberAndTime()
    {
        var numbers = Numbers(3);

        var result = _pki.Verifier().VerifyReassignmentFeed(_csip.SignReassignmentFeed(numbers, "feed-1"));

        Assert.True(result.IsValid, result.ToString());
        Assert.Equal("feed-1", result.Statement.Id);
        Assert.Equal(_pki.Time.GetUtcNow().ToUnixTimeSeconds(), result.Statement.IssuedAt.ToUnixTimeSeconds());
        Assert.Equal(numbers.Select(n => (n.Csi.Uri, n.At.ToUnixTimeSeconds())), result.Statement.Reassignments.Select(r => (r.Csi.Uri, r.At.ToUnixTimeSeconds())));
        Assert.Equal(CredentialKind.Csip, result.Statement.Credential.Kind);
    }

    [Fact]
    public void SignReassignmentFeed_HeaderAndPayloadHaveTheDocumentedShape()
    {
        var jws = _csip.SignReassignmentFeed(Numbers(1), "f");

        var header = JWT.Headers(jws);
        var payload = JWT.Payload(jws);

        Assert.Equal(ReassignmentFeed.MediaType, header["typ"]);
        Assert.Equal("ES256", header["alg"]);
        Assert.True(header.ContainsKey("x5c"));
        Assert.Matches("""^\{"jti":"f","iat":\d+,"reassigned":\[\{"at":\d+,"csi":"tel:\+33610000000"\}\]\}$""", payload);
    }

    [Fact]
    public void SignReassignmentFeed_TenThousandNumbers_VerifiesWithinTheLengthLimit()
    {
        var jws = _csip.SignReassignmentFeed(Numbers(ReassignmentFeed.MaxReassignments));

        var result = _pki.Verifier().VerifyReassignmentFeed(jws);

        Assert.True(result.IsValid, result.ToString());
        Assert.Equal(ReassignmentFeed.MaxReassignments, result.Statement.Reassignments.Count);
        Assert.True(jws.Length <= ReassignmentFeed.MaxLength);
    }

    [Fact]
    public void SignReassignmentFeed_MisuseIsArgumentException()
    {
        var bob = _pki.NewRecipient("+33612345678");
        Assert.Throws<ArgumentException>(() => bob.Signer.SignReassignmentFeed(Numbers(1)));
        Assert.Throws<ArgumentException>(() => _csip.SignReassignmentFeed([]));
        Assert.Throws<ArgumentException>(() => _csip.SignReassignmentFeed(Numbers(ReassignmentFeed.MaxReassignments + 1)));
        Assert.Throws<ArgumentException>(() => _csip.SignReassignmentFeed([.. Numbers(1), .. Numbers(1)]));
        Assert.Throws<ArgumentException>(() => _csip.SignReassignmentFeed([new Reassignment(Number(0), _pki.Time.GetUtcNow().AddMinutes(1))]));
        Assert.Throws<ArgumentException>(() => _csip.SignReassignmentFeed(Numbers(1), "no spaces"));
    }

    [Fact]
    public void VerifyReassignmentFeed_Forged_IsBadSignature()
    {
        var parts = _csip.SignReassignmentFeed(Numbers(2)).Split('.');
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var forgedSignature = JWT.EncodeBytes(Encoding.UTF8.GetBytes("{}"), other, JwsAlgorithm.ES256).Split('.')[2];

        var result = _pki.Verifier().VerifyReassignmentFeed($"{parts[0]}.{parts[1]}.{forgedSignature}");

        Assert.Equal(VerificationStatus.BadSignature, result.Status);
    }

    [Fact]
    public void VerifyReassignmentFeed_SignedUnderASingleCsiCredential_IsNotACredential()
    {
        var bob = _pki.NewRecipient("+33612345678");
        var jws = JWT.EncodeBytes(Encoding.UTF8.GetBytes("""{"jti":"a","iat":1,"reassigned":[]}"""), bob.Key, JwsAlgorithm.ES256,
            new Dictionary<string, object> { ["typ"] = ReassignmentFeed.MediaType, ["x5c"] = new[] { Convert.ToBase64String(bob.Credential.RawData) } });

        Assert.Equal(VerificationStatus.NotACredential, _pki.Verifier().VerifyReassignmentFeed(jws).Status);
    }

    [Fact]
    public void VerifyReassignmentFeed_UntrustedCa_IsUntrustedIssuer()
    {
        using var rogue = new TestPki("Rogue CA");
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var signer = new StatementSigner(key, rogue.Authority.IssueCsipCredential("Rogue", CsipScope.Create(["+3361"], []), key, TimeSpan.FromDays(365)), time: _pki.Time);

        Assert.Equal(VerificationStatus.UntrustedIssuer, _pki.Verifier().VerifyReassignmentFeed(signer.SignReassignmentFeed(Numbers(1))).Status);
    }

    [Fact]
    public void VerifyReassignmentFeed_TooLong_IsTooLarge()
    {
        Assert.Equal(VerificationStatus.TooLarge, _pki.Verifier().VerifyReassignmentFeed(new string('a', ReassignmentFeed.MaxLength + 1)).Status);
    }

    [Theory]
    [InlineData("""{"jti":"a","iat":IAT,"reassigned":[]}""", VerificationStatus.InvalidContent)]
    [InlineData("""{"jti":"a b","iat":IAT,"reassigned":[{"at":1,"csi":"tel:+33610000000"}]}""", VerificationStatus.InvalidContent)]
    [InlineData("""{"jti":"a","iat":IAT,"reassigned":[{"at":1,"csi":"+33610000000"}]}""", VerificationStatus.InvalidContent)]
    [InlineData("""{"jti":"a","iat":IAT,"reassigned":[{"at":1,"csi":"tel:+33610000000"},{"at":2,"csi":"tel:+33610000000"}]}""", VerificationStatus.InvalidContent)]
    [InlineData("""{"jti":"a","iat":IAT,"reassigned":[{"at":99999999999,"csi":"tel:+33610000000"}]}""", VerificationStatus.InvalidContent)]
    [InlineData("""{"jti":"a","iat":IAT,"reassigned":[{"at":1,"csi":"tel:+33610000000"}],"extra":1}""", VerificationStatus.Malformed)]
    [InlineData("""{"jti":"a","iat":IAT}""", VerificationStatus.Malformed)]
    public void VerifyReassignmentFeed_MalformedPayload_IsRefused(string payload, VerificationStatus expected)
    {
        var json = payload.Replace("IAT", _pki.Time.GetUtcNow().ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
        var jws = JWT.EncodeBytes(Encoding.UTF8.GetBytes(json), _key, JwsAlgorithm.ES256,
            new Dictionary<string, object> { ["typ"] = ReassignmentFeed.MediaType, ["x5c"] = new[] { Convert.ToBase64String(_csip.Credential.Certificate.RawData) } });

        Assert.Equal(expected, _pki.Verifier().VerifyReassignmentFeed(jws).Status);
    }

    [Fact]
    public void VerifyReassignmentFeed_AMappingStatement_IsWrongType()
    {
        var bob = _pki.NewRecipient("+33612345678");

        Assert.Equal(VerificationStatus.WrongType, _pki.Verifier().VerifyReassignmentFeed(bob.Publish()).Status);
    }
}

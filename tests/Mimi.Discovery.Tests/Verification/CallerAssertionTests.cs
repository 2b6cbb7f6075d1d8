using System.Numerics;
using System.Security.Cryptography;
using System.Text.Json;
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Statements;
using Mimi.Discovery.Verification;

namespace Mimi.Discovery.Tests.Verification;

/// <summary>Caller assertions (RFC 8225 PASSporT with the credential in x5c): signing, and each refusal.</summary>
public sealed class CallerAssertionTests : IDisposable
{
    private readonly TestPki _pki = new();
    private readonly TestPki.Recipient _alice;
    private readonly Csi _bob = CsiParser.ParseOrThrow("+33612345678");

    public CallerAssertionTests() => _alice = _pki.NewRecipient("alice@example.com");

    public void Dispose() => _pki.Dispose();

    private CallerAssertionVerifier Verifier(TimeSpan? freshness = null) => new(_pki.Verifier(), _pki.Time, freshness);

    private void AssertFails(VerificationStatus expected, string? jws, Csi? recipient = null, CallerAssertionVerifier? verifier = null)
    {
        var result = (verifier ?? Verifier()).Verify(jws, recipient ?? _bob);
        Assert.Equal(expected, result.Status);
        Assert.Null(result.Statement);
        Assert.NotEmpty(result.Reason);
    }

    [Fact]
    public void Honest_IsValid_AndSaysWhoCalledWhom()
    {
        var carol = CsiParser.ParseOrThrow("carol@example.org");
        var jws = _alice.Signer.SignCallerAssertion([_bob, carol]);

        var result = Verifier().Verify(jws, _bob);

        Assert.True(result.IsValid, result.ToString());
        Assert.Equal(_alice.Csi, result.Statement.Originator);
        Assert.Equal([_bob, carol], result.Statement.Destinations);
        Assert.Equal(TestPki.Start, result.Statement.IssuedAt);
        Assert.Equal("passport", JsonDocument.Parse(Crafted.Decode(jws.Split('.')[0])).RootElement.GetProperty("typ").GetString());
    }

    [Fact]
    public void Claims_AreRfc8225Shaped_InLexicographicOrderWithoutWhitespace()
    {
        var payload = Crafted.Decode(_pki.NewRecipient("+33600000001").Signer.SignCallerAssertion([_bob, _alice.Csi]).Split('.')[1]);

        Assert.Equal($$$"""{"dest":{"tn":["33612345678"],"uri":["mailto:alice@example.com"]},"iat":{{{TestPki.Start.ToUnixTimeSeconds()}}},"orig":{"tn":"33600000001"}}""", payload);
    }

    [Fact]
    public void Replayed_IsRefusedTheSecondTime_EvenWithTheOtherSignatureForm()
    {
        var verifier = Verifier();
        var jws = _alice.Signer.SignCallerAssertion([_bob]);
        Assert.True(verifier.Verify(jws, _bob).IsValid);

        AssertFails(VerificationStatus.Replayed, jws, verifier: verifier);
        AssertFails(VerificationStatus.Replayed, HighS(jws), verifier: verifier);
    }

    [Fact]
    public void Replay_IsForgottenOnlyAfterTheWindow()
    {
        var verifier = Verifier();
        var jws = _alice.Signer.SignCallerAssertion([_bob]);
        Assert.True(verifier.Verify(jws, _bob).IsValid);

        _pki.Time.Advance(TimeSpan.FromSeconds(59));
        AssertFails(VerificationStatus.Replayed, jws, verifier: verifier);
        _pki.Time.Advance(TimeSpan.FromSeconds(2));
        AssertFails(VerificationStatus.Expired, jws, verifier: verifier);
    }

    [Fact]
    public void Stale_FutureAndForSomeoneElse_AreRefused()
    {
        var jws = _alice.Signer.SignCallerAssertion([_bob]);

        AssertFails(VerificationStatus.NotForRecipient, jws, CsiParser.ParseOrThrow("+33612345679"));
        _pki.Time.Advance(TimeSpan.FromSeconds(61));
        AssertFails(VerificationStatus.Expired, jws);
        Assert.True(Verifier(TimeSpan.FromMinutes(10)).Verify(jws, _bob).IsValid);

        var future = Crafted.Jws(Crafted.Header("passport", _alice.Credential),
            $$$"""{"dest":{"tn":["33612345678"]},"iat":{{{_pki.Time.GetUtcNow().AddHours(1).ToUnixTimeSeconds()}}},"orig":{"uri":"mailto:alice@example.com"}}""", _alice.Key);
        AssertFails(VerificationStatus.NotYetValid, future);
    }

    [Fact]
    public void Forged_Untrusted_AndMismatched_AreRefused()
    {
        var now = _pki.Time.GetUtcNow().ToUnixTimeSeconds();
        var header = Crafted.Header("passport", _alice.Credential);
        var claims = (string orig) => $$$"""{"dest":{"tn":["33612345678"]},"iat":{{{now}}},"orig":{{{orig}}}}""";

        // Someone else's number as orig, under Alice's credential.
        AssertFails(VerificationStatus.CsiMismatch, Crafted.Jws(header, claims("""{"tn":"33699999999"}"""), _alice.Key));
        // Signed by another key than the credential's.
        using var mallory = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        AssertFails(VerificationStatus.BadSignature, Crafted.Jws(header, claims("""{"uri":"mailto:alice@example.com"}"""), mallory));
        // A credential from a CA the recipient does not trust.
        using var otherPki = new TestPki("Another CA");
        var stranger = otherPki.NewRecipient("alice@example.com");
        AssertFails(VerificationStatus.UntrustedIssuer, stranger.Signer.SignCallerAssertion([_bob]));
        // A mapping statement is not an assertion.
        AssertFails(VerificationStatus.WrongType, _alice.Publish());
        AssertFails(VerificationStatus.Malformed, "not.a.jws");
        AssertFails(VerificationStatus.Malformed, null);
    }

    [Theory]
    [InlineData("""{"dest":{"tn":["+33612345678"]},"iat":IAT,"orig":{"uri":"mailto:alice@example.com"}}""")] // tn with '+'
    [InlineData("""{"dest":{"tn":["33 6 12"]},"iat":IAT,"orig":{"uri":"mailto:alice@example.com"}}""")]
    [InlineData("""{"dest":{"uri":["mailto:Bob@Example.com"]},"iat":IAT,"orig":{"uri":"mailto:alice@example.com"}}""")] // not canonical
    [InlineData("""{"dest":{"uri":["tel:+33612345678"]},"iat":IAT,"orig":{"uri":"mailto:alice@example.com"}}""")] // a number belongs in tn
    [InlineData("""{"dest":{"tn":["33612345678","33612345678"]},"iat":IAT,"orig":{"uri":"mailto:alice@example.com"}}""")]
    [InlineData("""{"dest":{},"iat":IAT,"orig":{"uri":"mailto:alice@example.com"}}""")]
    [InlineData("""{"dest":{"tn":["33612345678"]},"iat":IAT,"orig":{}}""")]
    [InlineData("""{"dest":{"tn":["33612345678"]},"iat":IAT,"orig":{"tn":"33612345678","uri":"mailto:alice@example.com"}}""")]
    public void InvalidClaims_AreRefused(string claims)
    {
        var jws = Crafted.Jws(Crafted.Header("passport", _alice.Credential),
            claims.Replace("IAT", _pki.Time.GetUtcNow().ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal), _alice.Key);

        AssertFails(VerificationStatus.InvalidContent, jws);
    }

    [Fact]
    public void UnknownOrMissingClaims_AreMalformed()
    {
        var now = _pki.Time.GetUtcNow().ToUnixTimeSeconds();
        var header = Crafted.Header("passport", _alice.Credential);

        AssertFails(VerificationStatus.Malformed, Crafted.Jws(header, $$$"""{"dest":{"tn":["33612345678"]},"iat":{{{now}}},"orig":{"uri":"mailto:alice@example.com"},"mky":"x"}""", _alice.Key));
        AssertFails(VerificationStatus.Malformed, Crafted.Jws(header, """{"dest":{"tn":["33612345678"]},"orig":{"uri":"mailto:alice@example.com"}}""", _alice.Key));
    }

    [Fact]
    public void Signing_RefusesNoOrTooManyDestinations()
    {
        Assert.Throws<ArgumentException>(() => _alice.Signer.SignCallerAssertion([]));
        var many = Enumerable.Range(0, CallerAssertion.MaxDestinations + 1).Select(i => CsiParser.ParseOrThrow($"+336000000{i:00}")).ToList();
        Assert.Throws<ArgumentException>(() => _alice.Signer.SignCallerAssertion(many));
    }

    // The same header and claims with s replaced by n - s: also a valid ECDSA signature.
    private static string HighS(string jws)
    {
        var parts = jws.Split('.');
        var signature = System.Buffers.Text.Base64Url.DecodeFromChars(parts[2]);
        var n = BigInteger.Parse("0FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);
        var s = new BigInteger(signature.AsSpan(32), isUnsigned: true, isBigEndian: true);
        var flipped = (n - s).ToByteArray(isUnsigned: true, isBigEndian: true);
        var highS = new byte[64];
        signature.AsSpan(0, 32).CopyTo(highS);
        flipped.CopyTo(highS.AsSpan(64 - flipped.Length));
        return parts[0] + "." + parts[1] + "." + System.Buffers.Text.Base64Url.EncodeToString(highS);
    }
}

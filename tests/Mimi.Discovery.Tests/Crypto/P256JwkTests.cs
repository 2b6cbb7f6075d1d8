using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.IdentityModel.Tokens;
using Mimi.Discovery.Crypto;
using Mimi.Discovery.Protocol;

namespace Mimi.Discovery.Tests.Crypto;

public class P256JwkTests
{
    private static EcPublicJwk Valid()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return P256Jwk.Export(key);
    }

    [Fact]
    public void Export_MatchesAnIndependentJwkConverter()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var reference = JsonWebKeyConverter.ConvertFromECDsaSecurityKey(new ECDsaSecurityKey(key));
        var jwk = P256Jwk.Export(key);
        Assert.Equal(("EC", "P-256", reference.X, reference.Y), (jwk.Kty, jwk.Crv, jwk.X, jwk.Y));
        Assert.Null(jwk.D);
    }

    [Fact]
    public void Export_OtherCurve_Throws()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        Assert.Throws<ArgumentException>(() => P256Jwk.Export(key));
    }

    [Fact]
    public void TryImport_RoundTrip_SameKeyAndThumbprint()
    {
        using var original = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        Assert.True(P256Jwk.TryImport(P256Jwk.Export(original), out var imported, out var error));
        using (imported)
        {
            Assert.Equal(JwkError.None, error);
            Assert.Equal(JwkThumbprint.Compute(original), JwkThumbprint.Compute(imported));
            var signature = original.SignData("m"u8, HashAlgorithmName.SHA256);
            Assert.True(imported.VerifyData("m"u8, signature, HashAlgorithmName.SHA256));
        }
    }

    [Theory]
    [InlineData("kty", JwkError.WrongKeyType)]
    [InlineData("crv", JwkError.WrongCurve)]
    [InlineData("x-null", JwkError.MissingCoordinate)]
    [InlineData("x-short", JwkError.MalformedCoordinate)]
    [InlineData("x-padded", JwkError.MalformedCoordinate)]
    [InlineData("x-standard-alphabet", JwkError.MalformedCoordinate)]
    [InlineData("x-noncanonical", JwkError.MalformedCoordinate)]
    [InlineData("x-zero", JwkError.NotOnCurve)]
    [InlineData("x-prime", JwkError.NotOnCurve)]
    [InlineData("d", JwkError.PrivateKey)]
    public void TryImport_MalformedRecord_ReturnsTheSpecificError(string form, JwkError expected)
    {
        var v = Valid();
        var lastFlipped = v.X[..^1] + (char)(v.X[^1] switch { 'A' => 'B', 'E' => 'F', 'I' => 'J', 'M' => 'N', 'Q' => 'R', 'U' => 'V', 'Y' => 'Z', 'c' => 'd', 'g' => 'h', 'k' => 'l', 'o' => 'p', 's' => 't', 'w' => 'x', '0' => '1', '4' => '5', '8' => '9', _ => 'A' });
        var jwk = form switch
        {
            "kty" => v with { Kty = "RSA" },
            "crv" => v with { Crv = "P-384" },
            "x-null" => v with { X = null! },
            "x-short" => v with { X = v.X[..42] },
            "x-padded" => v with { X = v.X + "=" },
            "x-standard-alphabet" => v with { X = "+" + v.X[1..] },
            "x-noncanonical" => v with { X = lastFlipped },
            "x-zero" => v with { X = new string('A', 43) },
            "x-prime" => v with { X = Base64Url("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff") },
            "d" => v with { D = v.X },
            _ => throw new ArgumentOutOfRangeException(nameof(form)),
        };

        Assert.False(P256Jwk.TryImport(jwk, out var key, out var error));
        Assert.Null(key);
        Assert.Equal(expected, error);
        Assert.NotEmpty(P256Jwk.Describe(error));
    }

    [Fact]
    public void TryImport_Null_IsNotAnObject()
    {
        Assert.False(P256Jwk.TryImport((EcPublicJwk?)null, out _, out var error));
        Assert.Equal(JwkError.NotAnObject, error);
    }

    [Theory]
    [InlineData("[]", JwkError.NotAnObject)]
    [InlineData("\"EC\"", JwkError.NotAnObject)]
    [InlineData("""{"kty":"EC","crv":"P-256","x":"X","y":"Y","kid":"1"}""", JwkError.UnexpectedMember)]
    [InlineData("""{"kty":"EC","crv":"P-256","x":"X","y":"Y","d":"X"}""", JwkError.PrivateKey)]
    [InlineData("""{"kty":"OKP","crv":"P-256","x":"X","y":"Y"}""", JwkError.WrongKeyType)]
    [InlineData("""{"kty":"EC","crv":"secp256k1","x":"X","y":"Y"}""", JwkError.WrongCurve)]
    [InlineData("""{"kty":"EC","crv":"P-256","x":"X"}""", JwkError.MissingCoordinate)]
    [InlineData("""{"kty":"EC","crv":"P-256","x":"X","y":7}""", JwkError.MissingCoordinate)]
    [InlineData("""{"kty":"EC","crv":"P-256","x":"X","y":"AAAA"}""", JwkError.MalformedCoordinate)]
    [InlineData("""{"kty":"EC","crv":"P-256","x":"X","y":"Y"}""", JwkError.None)]
    public void TryImport_Json_ReturnsTheSpecificError(string json, JwkError expected)
    {
        var v = Valid();
        using var document = JsonDocument.Parse(json.Replace("\"X\"", $"\"{v.X}\"", StringComparison.Ordinal).Replace("\"Y\"", $"\"{v.Y}\"", StringComparison.Ordinal));
        Assert.Equal(expected == JwkError.None, P256Jwk.TryImport(document.RootElement, out var key, out var error));
        key?.Dispose();
        Assert.Equal(expected, error);
    }

    private static string Base64Url(string hex) => System.Buffers.Text.Base64Url.EncodeToString(Convert.FromHexString(hex));
}

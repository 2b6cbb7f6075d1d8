using System.Security.Cryptography;
using Microsoft.IdentityModel.Tokens;
using Mimi.Discovery.Crypto;

namespace Mimi.Discovery.Tests.Crypto;

public class JwkThumbprintTests
{
    [Fact]
    public void Compute_MatchesAnIndependentRfc7638Implementation()
    {
        for (var i = 0; i < 20; i++)
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var reference = JsonWebKeyConverter.ConvertFromECDsaSecurityKey(new ECDsaSecurityKey(key));
            Assert.Equal(Base64UrlEncoder.Encode(reference.ComputeJwkThumbprint()), JwkThumbprint.Compute(key));
        }
    }

    [Fact]
    public void Compute_OtherCurve_Throws()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        Assert.Throws<ArgumentException>(() => JwkThumbprint.Compute(key));
    }
}

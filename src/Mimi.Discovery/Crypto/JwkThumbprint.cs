// RFC 7638 §3: the thumbprint is SHA-256 over the JWK's required members, in lexicographic
// order, with no white space. For an EC key (RFC 7518 §6.2.1) they are crv, kty, x, y.
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Mimi.Discovery.Protocol;

namespace Mimi.Discovery.Crypto;

/// <summary>RFC 7638 JWK thumbprints of ECDSA P-256 public keys.</summary>
public static class JwkThumbprint
{
    /// <summary>The base64url SHA-256 thumbprint of a P-256 key.</summary>
    /// <exception cref="ArgumentException">The key is not on P-256.</exception>
    public static string Compute(ECDsa key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return Compute(key.ExportParameters(includePrivateParameters: false));
    }

    /// <summary>The base64url SHA-256 thumbprint of a P-256 public key's parameters.</summary>
    /// <exception cref="ArgumentException">The key is not on P-256.</exception>
    public static string Compute(ECParameters parameters) => Compute(P256Jwk.Export(parameters));

    /// <summary>The base64url SHA-256 thumbprint of a P-256 public JWK, as exported by <see cref="P256Jwk"/>.</summary>
    private static string Compute(EcPublicJwk jwk)
    {
        var json = $$"""{"crv":"{{jwk.Crv}}","kty":"{{jwk.Kty}}","x":"{{jwk.X}}","y":"{{jwk.Y}}"}""";
        return Base64Url.EncodeToString(SHA256.HashData(Encoding.UTF8.GetBytes(json)));
    }
}

/// <summary>P-256 helpers.</summary>
internal static class P256
{
    public static bool IsP256(ECCurve curve) =>
        curve.IsNamed && (string.Equals(curve.Oid.Value, ECCurve.NamedCurves.nistP256.Oid.Value, StringComparison.Ordinal)
                          || string.Equals(curve.Oid.FriendlyName, "nistP256", StringComparison.Ordinal)
                          || string.Equals(curve.Oid.FriendlyName, "ECDSA_P256", StringComparison.Ordinal));

    public static bool IsP256(ECDsa key)
    {
        try
        {
            return key.KeySize == 256 && IsP256(key.ExportParameters(false).Curve);
        }
        catch (CryptographicException)
        {
            return false;
        }
    }
}

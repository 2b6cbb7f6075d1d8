// RFC 7517 §4 and RFC 7518 §6.2: an EC public key as a JWK has kty "EC", crv, and the affine
// coordinates x and y, each the base64url of the full-length big-endian octet string (32 bytes for
// P-256, §6.2.1.2–3). A public key carries no "d" (§6.2.2.1 is the private key). RFC 7638 §3 hashes
// exactly these four members, so every spelling of a key here is the one its thumbprint is of.
using System.Buffers.Text;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text.Json;
using Mimi.Discovery.Protocol;

namespace Mimi.Discovery.Crypto;

/// <summary>Why a JWK is not an acceptable P-256 public key (<see cref="P256Jwk.TryImport(EcPublicJwk?, out ECDsa?, out JwkError)"/>).</summary>
public enum JwkError
{
    /// <summary>The JWK is a P-256 public key.</summary>
    None,

    /// <summary>The JWK is absent or not a JSON object.</summary>
    NotAnObject,

    /// <summary>The <c>kty</c> member is missing or not <c>EC</c> (RFC 7518 §6.1).</summary>
    WrongKeyType,

    /// <summary>The <c>crv</c> member is missing or not <c>P-256</c> (RFC 7518 §6.2.1.1).</summary>
    WrongCurve,

    /// <summary>The <c>x</c> or <c>y</c> member is missing or not a string.</summary>
    MissingCoordinate,

    /// <summary>A coordinate is not 43 characters of canonical unpadded base64url, that is 32 bytes (RFC 7518 §6.2.1.2–3).</summary>
    MalformedCoordinate,

    /// <summary>The coordinates are not a point on P-256 (a coordinate at or above the field prime, or off the curve).</summary>
    NotOnCurve,

    /// <summary>The JWK carries the private key <c>d</c> where only a public key belongs (RFC 7518 §6.2.2.1).</summary>
    PrivateKey,

    /// <summary>The JWK has members other than <c>kty</c>, <c>crv</c>, <c>x</c> and <c>y</c> where exactly those are expected.</summary>
    UnexpectedMember,
}

/// <summary>
/// The one conversion between ECDSA P-256 public keys and their JWK form (RFC 7517, RFC 7518 §6.2),
/// strict on import: <c>kty</c> <c>EC</c>, <c>crv</c> <c>P-256</c>, 32-byte canonical base64url
/// coordinates of a point on the curve, and no private <c>d</c>. Import never throws for bad input:
/// it returns the <see cref="JwkError"/> that names the first failed check.
/// </summary>
public static class P256Jwk
{
    // The P-256 field prime (FIPS 186-5 / SEC 2 §2.4.2), big-endian: a coordinate must be below it.
    private static ReadOnlySpan<byte> FieldPrime =>
    [
        0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    ];

    /// <summary>The public JWK of a P-256 key (only its public part is read).</summary>
    /// <exception cref="ArgumentException">The key is not on P-256.</exception>
    public static EcPublicJwk Export(ECDsa key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return Export(key.ExportParameters(includePrivateParameters: false));
    }

    /// <summary>The public JWK of a P-256 key's parameters (<see cref="ECParameters.D"/> is ignored).</summary>
    /// <exception cref="ArgumentException">The parameters are not of a P-256 key.</exception>
    public static EcPublicJwk Export(ECParameters parameters)
    {
        if (!P256.IsP256(parameters.Curve) || parameters.Q.X is not { Length: 32 } x || parameters.Q.Y is not { Length: 32 } y)
        {
            throw new ArgumentException("Only P-256 keys have a JWK here.", nameof(parameters));
        }

        return new EcPublicJwk("EC", "P-256", Base64Url.EncodeToString(x), Base64Url.EncodeToString(y));
    }

    /// <summary>Imports a P-256 public key from its JWK record; the caller disposes <paramref name="key"/>.</summary>
    /// <returns><see langword="true"/> with the key; otherwise <see langword="false"/> and the reason.</returns>
    public static bool TryImport(EcPublicJwk? jwk, [NotNullWhen(true)] out ECDsa? key, out JwkError error)
    {
        key = null;
        switch (jwk)
        {
            case { D: null, Kty: "EC", Crv: "P-256", X: { } x, Y: { } y }:
                return TryImport(x, y, out key, out error);
            case null:
                error = JwkError.NotAnObject;
                return false;
            default:
                error = jwk switch
                {
                    { D: not null } => JwkError.PrivateKey,
                    { Kty: not "EC" } => JwkError.WrongKeyType,
                    { Crv: not "P-256" } => JwkError.WrongCurve,
                    _ => JwkError.MissingCoordinate,
                };
                return false;
        }
    }

    /// <summary>
    /// Imports a P-256 public key from a JSON JWK that has exactly the members <c>kty</c>, <c>crv</c>,
    /// <c>x</c> and <c>y</c> (as a statement's <c>jwk</c> header must, RFC 7515 §4.1.3); the caller
    /// disposes <paramref name="key"/>.
    /// </summary>
    /// <returns><see langword="true"/> with the key; otherwise <see langword="false"/> and the reason.</returns>
    public static bool TryImport(JsonElement jwk, [NotNullWhen(true)] out ECDsa? key, out JwkError error)
    {
        key = null;
        if (jwk.ValueKind != JsonValueKind.Object)
        {
            error = JwkError.NotAnObject;
            return false;
        }

        string? kty = null, crv = null, x = null, y = null;
        var other = false;
        foreach (var member in jwk.EnumerateObject())
        {
            switch (member.Name)
            {
                case "d":
                    error = JwkError.PrivateKey;
                    return false;
                case "kty":
                    kty = member.Value.ValueKind == JsonValueKind.String ? member.Value.GetString() : null;
                    break;
                case "crv":
                    crv = member.Value.ValueKind == JsonValueKind.String ? member.Value.GetString() : null;
                    break;
                case "x":
                    x = member.Value.ValueKind == JsonValueKind.String ? member.Value.GetString() : null;
                    break;
                case "y":
                    y = member.Value.ValueKind == JsonValueKind.String ? member.Value.GetString() : null;
                    break;
                default:
                    other = true;
                    break;
            }
        }

        if (other)
        {
            error = JwkError.UnexpectedMember;
            return false;
        }

        return TryImport(new EcPublicJwk(kty!, crv!, x!, y!), out key, out error);
    }

    /// <summary>A one-line reason for <paramref name="error"/>, for problem details and command-line errors.</summary>
    public static string Describe(JwkError error) => error switch
    {
        JwkError.None => "a P-256 public key",
        JwkError.NotAnObject => "not a JWK object",
        JwkError.WrongKeyType => "kty is not EC",
        JwkError.WrongCurve => "crv is not P-256",
        JwkError.MissingCoordinate => "x or y is missing or not a string",
        JwkError.MalformedCoordinate => "x and y must each be 43 characters of canonical base64url (32 bytes)",
        JwkError.NotOnCurve => "x, y is not a point on P-256",
        JwkError.PrivateKey => "it carries the private key d; send the public key only",
        JwkError.UnexpectedMember => "it has members other than kty, crv, x and y",
        _ => throw new ArgumentOutOfRangeException(nameof(error)),
    };

    private static bool TryImport(string x, string y, [NotNullWhen(true)] out ECDsa? key, out JwkError error)
    {
        key = null;
        if (!TryCoordinate(x, out var qx) || !TryCoordinate(y, out var qy))
        {
            error = JwkError.MalformedCoordinate;
            return false;
        }

        if (qx.AsSpan().SequenceCompareTo(FieldPrime) >= 0 || qy.AsSpan().SequenceCompareTo(FieldPrime) >= 0)
        {
            error = JwkError.NotOnCurve;
            return false;
        }

        try
        {
            key = ECDsa.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, Q = new ECPoint { X = qx, Y = qy } });
        }
        catch (CryptographicException)
        {
            error = JwkError.NotOnCurve;
            return false;
        }

        error = JwkError.None;
        return true;
    }

    private static bool TryCoordinate(string text, out byte[] value)
    {
        value = [];
        if (text.Length != 43 || !Base64Url.IsValid(text) || !CanonicalBase64Url.Is(text))
        {
            return false;
        }

        value = Base64Url.DecodeFromChars(text);
        return value.Length == 32;
    }
}

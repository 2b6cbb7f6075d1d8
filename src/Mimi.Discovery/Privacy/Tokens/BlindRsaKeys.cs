// RSA keys for RFC 9474 blind signatures. The private operation runs on BouncyCastle's blinded
// CRT engine (timing blinding, independent of the protocol's own message blinding).
using System.Security.Cryptography;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Utilities;
using BigInteger = Org.BouncyCastle.Math.BigInteger;

namespace Mimi.Discovery.Privacy.Tokens;

/// <summary>An RSA public key (n, e) for blind signature verification and blinding.</summary>
internal sealed class BlindRsaPublicKey
{
    private readonly Lazy<RSA> _platform;

    internal BlindRsaPublicKey(BigInteger modulus, BigInteger exponent)
    {
        if (modulus.SignValue <= 0 || !modulus.TestBit(0) || modulus.BitLength < 1024)
        {
            throw new ArgumentException("An RSA modulus is odd and at least 1024 bits long.", nameof(modulus));
        }

        if (exponent.CompareTo(BigInteger.Three) < 0 || !exponent.TestBit(0) || exponent.CompareTo(modulus) >= 0)
        {
            throw new ArgumentException("An RSA public exponent is odd, at least 3 and below the modulus.", nameof(exponent));
        }

        Modulus = modulus;
        Exponent = exponent;
        Parameters = new RsaKeyParameters(false, modulus, exponent);
        _platform = new Lazy<RSA>(() => RSA.Create(ExportParameters()));
    }

    /// <summary>The same public key in the BCL (OpenSSL, CNG), for signature verification at the platform's speed.</summary>
    internal RSA Platform => _platform.Value;

    internal BigInteger Modulus { get; }

    internal BigInteger Exponent { get; }

    internal RsaKeyParameters Parameters { get; }

    /// <summary>The modulus length in bytes (k in RFC 8017; Nk in RFC 9578).</summary>
    public int ModulusLength => (Modulus.BitLength + 7) / 8;

    /// <summary>The modulus length in bits.</summary>
    public int ModulusBits => Modulus.BitLength;

    /// <summary>The modulus and public exponent as BCL parameters (big-endian, unsigned, no leading zeros).</summary>
    public RSAParameters ExportParameters() => new()
    {
        Modulus = Modulus.ToByteArrayUnsigned(),
        Exponent = Exponent.ToByteArrayUnsigned(),
    };

    /// <summary>Creates a key from big-endian unsigned modulus and public exponent.</summary>
    /// <exception cref="ArgumentException">The values are not a plausible RSA public key.</exception>
    public static BlindRsaPublicKey Create(ReadOnlySpan<byte> modulus, ReadOnlySpan<byte> exponent) =>
        new(new BigInteger(1, modulus.ToArray()), new BigInteger(1, exponent.ToArray()));

    /// <summary>Takes the public half of a BCL RSA key.</summary>
    /// <exception cref="ArgumentException">The key is not a plausible RSA public key.</exception>
    public static BlindRsaPublicKey FromRsa(RSA rsa)
    {
        ArgumentNullException.ThrowIfNull(rsa);
        var p = rsa.ExportParameters(false);
        return Create(p.Modulus, p.Exponent);
    }
}

/// <summary>An RSA private key for the signer side of RFC 9474 blind signatures.</summary>
internal sealed class BlindRsaPrivateKey
{
    private readonly Lazy<NativeRsa?> _native;

    private BlindRsaPrivateKey(RsaPrivateCrtKeyParameters parameters)
    {
        Parameters = parameters;
        PublicKey = new BlindRsaPublicKey(parameters.Modulus, parameters.PublicExponent);
        _native = new Lazy<NativeRsa?>(() => NativeRsa.TryCreate(ToRsaParameters(parameters)));
    }

    internal RsaPrivateCrtKeyParameters Parameters { get; }

    /// <summary>The same key held by the platform's OpenSSL, when the BCL runs on OpenSSL 3; else null.</summary>
    internal NativeRsa? Native => _native.Value;

    /// <summary>The matching public key.</summary>
    public BlindRsaPublicKey PublicKey { get; }

    /// <summary>Takes a BCL RSA key that includes its private parameters (with CRT values).</summary>
    /// <exception cref="ArgumentException">The key has no private CRT parameters or is inconsistent.</exception>
    public static BlindRsaPrivateKey FromRsa(RSA rsa)
    {
        ArgumentNullException.ThrowIfNull(rsa);
        RSAParameters p;
        try
        {
            p = rsa.ExportParameters(true);
        }
        catch (CryptographicException e)
        {
            throw new ArgumentException("The RSA key has no exportable private parameters.", nameof(rsa), e);
        }

        return FromParameters(p);
    }

    /// <summary>Creates a key from BCL RSA parameters, which must include D, P, Q, DP, DQ and InverseQ.</summary>
    /// <exception cref="ArgumentException">A value is missing or the values do not form one RSA key.</exception>
    public static BlindRsaPrivateKey FromParameters(RSAParameters parameters)
    {
        if (parameters.Modulus is null || parameters.Exponent is null || parameters.D is null || parameters.P is null
            || parameters.Q is null || parameters.DP is null || parameters.DQ is null || parameters.InverseQ is null)
        {
            throw new ArgumentException("A blind signing key needs the modulus, both exponents and all CRT values.", nameof(parameters));
        }

        static BigInteger U(byte[] b) => new(1, b);
        var n = U(parameters.Modulus);
        var p = U(parameters.P);
        var q = U(parameters.Q);
        if (!p.Multiply(q).Equals(n))
        {
            throw new ArgumentException("The primes do not multiply to the modulus.", nameof(parameters));
        }

        var key = new RsaPrivateCrtKeyParameters(n, U(parameters.Exponent), U(parameters.D), p, q, U(parameters.DP), U(parameters.DQ), U(parameters.InverseQ));
        _ = new BlindRsaPublicKey(n, key.PublicExponent);
        return new BlindRsaPrivateKey(key);
    }

    /// <summary>Creates a key from its primes and public exponent (big-endian unsigned), deriving d and the CRT values.</summary>
    /// <exception cref="ArgumentException">The values do not form an RSA key.</exception>
    public static BlindRsaPrivateKey FromPrimes(ReadOnlySpan<byte> p, ReadOnlySpan<byte> q, ReadOnlySpan<byte> exponent)
    {
        var bp = new BigInteger(1, p.ToArray());
        var bq = new BigInteger(1, q.ToArray());
        var e = new BigInteger(1, exponent.ToArray());
        var n = bp.Multiply(bq);
        var publicKey = new BlindRsaPublicKey(n, e);
        var p1 = bp.Subtract(BigInteger.One);
        var q1 = bq.Subtract(BigInteger.One);
        var lambda = p1.Divide(p1.Gcd(q1)).Multiply(q1);
        BigInteger d;
        try
        {
            d = e.ModInverse(lambda);
        }
        catch (ArithmeticException ex)
        {
            throw new ArgumentException("The public exponent is not invertible for these primes.", nameof(exponent), ex);
        }

        var key = new RsaPrivateCrtKeyParameters(n, publicKey.Exponent, d, bp, bq, d.Mod(p1), d.Mod(q1), bq.ModInverse(bp));
        return new BlindRsaPrivateKey(key);
    }

    private static RSAParameters ToRsaParameters(RsaPrivateCrtKeyParameters key)
    {
        var k = key.Modulus.BitLength / 8 + (key.Modulus.BitLength % 8 == 0 ? 0 : 1);
        var half = (k + 1) / 2;
        return new RSAParameters
        {
            Modulus = BigIntegers.AsUnsignedByteArray(k, key.Modulus),
            Exponent = key.PublicExponent.ToByteArrayUnsigned(),
            D = BigIntegers.AsUnsignedByteArray(k, key.Exponent),
            P = BigIntegers.AsUnsignedByteArray(half, key.P),
            Q = BigIntegers.AsUnsignedByteArray(half, key.Q),
            DP = BigIntegers.AsUnsignedByteArray(half, key.DP),
            DQ = BigIntegers.AsUnsignedByteArray(half, key.DQ),
            InverseQ = BigIntegers.AsUnsignedByteArray(half, key.QInv),
        };
    }
}

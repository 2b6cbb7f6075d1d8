// RFC 9381 §5: ECVRF-P256-SHA256-TAI (suite 0x01). Encode-to-curve by try-and-increment (§5.4.1.1),
// nonce by RFC 6979 (§5.4.2.1), challenge generation (§5.4.3), proof to hash (§5.2), verify (§5.3).
// Point arithmetic runs on the platform's OpenSSL 3 where it passes a self-test against this file's
// BouncyCastle arithmetic (OpenSslEcVrf.cs), and on BouncyCastle elsewhere; hashing is the BCL's.
using System.Security.Cryptography;
using Org.BouncyCastle.Asn1.X9;
using Org.BouncyCastle.Crypto.Digests;
using Org.BouncyCastle.Crypto.Signers;
using Org.BouncyCastle.Math;
using Org.BouncyCastle.Math.EC.Multiplier;
using ECPoint = Org.BouncyCastle.Math.EC.ECPoint;

namespace Mimi.Discovery.Transparency;

/// <summary>The ECVRF-P256-SHA256-TAI verifiable random function of RFC 9381.</summary>
internal static class EcVrf
{
    /// <summary>Proof length: Gamma (33) || c (16) || s (32).</summary>
    public const int ProofSize = 81;

    internal const byte Suite = 0x01;
    internal const int ChallengeLength = 16;
    internal const int PointSize = 33;

    // The custom curve: BouncyCastle's fixed-width P-256 field arithmetic, far faster than the generic one.
    internal static readonly X9ECParameters Curve = Org.BouncyCastle.Crypto.EC.CustomNamedCurves.GetByName("secp256r1");

    /// <summary>Whether the point arithmetic runs on the platform's OpenSSL (else on BouncyCastle).</summary>
    public static bool OnOpenSsl => OpenSslEcVrf.IsSupported;

    /// <summary>The compressed public key (33 bytes) of a 32-byte secret scalar.</summary>
    /// <exception cref="ArgumentException">The secret is not a scalar in [1, q-1].</exception>
    public static byte[] PublicKey(ReadOnlySpan<byte> secretKey) => BaseMultiply(Scalar(secretKey)).GetEncoded(true);

    /// <summary>Proves <paramref name="alpha"/> under <paramref name="secretKey"/>: pi (81 bytes).</summary>
    /// <exception cref="ArgumentException">The secret is not a scalar in [1, q-1].</exception>
    public static byte[] Prove(ReadOnlySpan<byte> secretKey, ReadOnlySpan<byte> alpha) => new EcVrfSecretKey(secretKey).Prove(alpha);

    // §5.1 ECVRF_prove on BouncyCastle, with the public point Y = x*B already known.
    internal static byte[] ProveManaged(BigInteger x, byte[] yString, ReadOnlySpan<byte> alpha)
    {
        var h = EncodeToCurve(yString, alpha) ?? throw new CryptographicException("no curve point found for this input");
        var hString = h.GetEncoded(true);
        var gamma = h.Multiply(x).Normalize();
        var gammaString = gamma.GetEncoded(true);
        var k = Nonce(x, hString);
        var c = Challenge(yString, hString, gammaString, BaseMultiply(k).GetEncoded(true), h.Multiply(k).Normalize().GetEncoded(true));
        return EncodeProof(gammaString, c, x, k);
    }

    /// <summary>beta = ECVRF_proof_to_hash(pi) (32 bytes), without verifying; null if pi is malformed.</summary>
    public static byte[]? ProofToHash(ReadOnlySpan<byte> proof) =>
        Decode(proof) is { } decoded ? Beta(decoded.Gamma.GetEncoded(true)) : null;

    /// <summary>Verifies pi for <paramref name="alpha"/> under the compressed <paramref name="publicKey"/>; returns beta, or null when invalid. Never throws for bad input.</summary>
    public static byte[]? Verify(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> alpha, ReadOnlySpan<byte> proof) =>
        OpenSslEcVrf.IsSupported ? OpenSslEcVrf.Verify(publicKey, alpha, proof) : VerifyManaged(publicKey, alpha, proof);

    // §5.3 ECVRF_verify on BouncyCastle.
    internal static byte[]? VerifyManaged(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> alpha, ReadOnlySpan<byte> proof)
    {
        ECPoint y;
        try
        {
            y = Curve.Curve.DecodePoint(publicKey.ToArray()).Normalize();
        }
        catch (ArgumentException)
        {
            return null;
        }

        if (y.IsInfinity || Decode(proof) is not { } d)
        {
            return null;
        }

        var h = EncodeToCurve(y.GetEncoded(true), alpha);
        if (h is null)
        {
            return null;
        }

        var u = BaseMultiply(d.S).Subtract(y.Multiply(d.C)).Normalize();
        var v = h.Multiply(d.S).Subtract(d.Gamma.Multiply(d.C)).Normalize();
        var gammaString = d.Gamma.GetEncoded(true);
        return Challenge(y.GetEncoded(true), h.GetEncoded(true), gammaString, u.GetEncoded(true), v.GetEncoded(true)).Equals(d.C) ? Beta(gammaString) : null;
    }

    private readonly record struct DecodedProof(ECPoint Gamma, BigInteger C, BigInteger S);

    // §5.4.4 ECVRF_decode_proof.
    private static DecodedProof? Decode(ReadOnlySpan<byte> proof)
    {
        if (proof.Length != ProofSize)
        {
            return null;
        }

        ECPoint gamma;
        try
        {
            gamma = Curve.Curve.DecodePoint(proof[..33].ToArray()).Normalize();
        }
        catch (ArgumentException)
        {
            return null;
        }

        return DecodeScalars(proof) is var (c, s) ? new DecodedProof(gamma, c, s) : null;
    }

    // §5.4.4: c (16 bytes) and s (32 bytes, must be below q) after Gamma; null when s is out of range.
    internal static (BigInteger C, BigInteger S)? DecodeScalars(ReadOnlySpan<byte> proof)
    {
        var c = new BigInteger(1, proof[PointSize..(PointSize + ChallengeLength)].ToArray());
        var s = new BigInteger(1, proof[(PointSize + ChallengeLength)..].ToArray());
        return s.CompareTo(Curve.N) >= 0 ? null : (c, s);
    }

    // §5.1 steps 5–7: k by RFC 6979 §3.2 from x and H's encoding.
    internal static BigInteger Nonce(BigInteger x, byte[] hString)
    {
        var nonce = new HMacDsaKCalculator(new Sha256Digest());
        nonce.Init(Curve.N, x, SHA256.HashData(hString));
        return nonce.NextK();
    }

    // §5.1 steps 8–9: pi = Gamma || int_to_string(c, 16) || int_to_string(s, 32), s = (k + c*x) mod q.
    internal static byte[] EncodeProof(byte[] gammaString, BigInteger c, BigInteger x, BigInteger k)
    {
        var s = k.Add(c.Multiply(x)).Mod(Curve.N);
        var proof = new byte[ProofSize];
        gammaString.CopyTo(proof, 0);
        var cBytes = c.ToByteArrayUnsigned();
        cBytes.CopyTo(proof, PointSize + ChallengeLength - cBytes.Length);
        var sBytes = s.ToByteArrayUnsigned();
        sBytes.CopyTo(proof, ProofSize - sBytes.Length);
        return proof;
    }

    // §5.4.1.1 try-and-increment: the first ctr for which 0x02 || H(suite || 0x01 || salt || alpha || ctr || 0x00) is a point.
    private static ECPoint? EncodeToCurve(byte[] salt, ReadOnlySpan<byte> alpha)
    {
        var input = EncodeToCurveInput(salt, alpha);
        var candidate = new byte[PointSize];
        for (var ctr = 0; ctr < 256; ctr++)
        {
            EncodeToCurveCandidate(input, ctr, candidate);
            try
            {
                return Curve.Curve.DecodePoint(candidate).Normalize();
            }
            catch (ArgumentException)
            {
                // not an x-coordinate on the curve; try the next counter
            }
        }

        return null;
    }

    // suite || 0x01 || salt || alpha || ctr || 0x00, with ctr (the second-last byte) set per try.
    internal static byte[] EncodeToCurveInput(ReadOnlySpan<byte> salt, ReadOnlySpan<byte> alpha)
    {
        var input = new byte[2 + salt.Length + alpha.Length + 2];
        input[0] = Suite;
        input[1] = 0x01;
        salt.CopyTo(input.AsSpan(2));
        alpha.CopyTo(input.AsSpan(2 + salt.Length));
        return input;
    }

    // The compressed-point candidate 0x02 || H(input with ctr) of try number ctr.
    internal static void EncodeToCurveCandidate(byte[] input, int ctr, Span<byte> candidate)
    {
        input[^2] = (byte)ctr;
        candidate[0] = 0x02;
        SHA256.HashData(input, candidate[1..]);
    }

    // §5.4.3: c = first 16 bytes of H(suite || 0x02 || Y || H || Gamma || U || V || 0x00), over the points' compressed encodings.
    internal static BigInteger Challenge(byte[] y, byte[] h, byte[] gamma, byte[] u, byte[] v)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData([Suite, 0x02]);
        foreach (var point in (ReadOnlySpan<byte[]>)[y, h, gamma, u, v])
        {
            hash.AppendData(point);
        }

        hash.AppendData([0x00]);
        return new BigInteger(1, hash.GetHashAndReset().AsSpan(0, ChallengeLength).ToArray());
    }

    // §5.2: beta = H(suite || 0x03 || Gamma || 0x00) (the cofactor of P-256 is 1).
    internal static byte[] Beta(ReadOnlySpan<byte> gammaString)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData([Suite, 0x03]);
        hash.AppendData(gammaString);
        hash.AppendData([0x00]);
        return hash.GetHashAndReset();
    }

    // k*B for the fixed generator B: a comb over a table BouncyCastle precomputes once and keeps on B,
    // several times faster than a multiplication of an arbitrary point.
    internal static ECPoint BaseMultiply(BigInteger k) => BaseMultiplier.Multiply(Curve.G, k).Normalize();

    private static readonly FixedPointCombMultiplier BaseMultiplier = new();

    internal static BigInteger Scalar(ReadOnlySpan<byte> secretKey)
    {
        var x = new BigInteger(1, secretKey.ToArray());
        return secretKey.Length == 32 && x.SignValue > 0 && x.CompareTo(Curve.N) < 0
            ? x
            : throw new ArgumentException("A P-256 secret key is a 32-byte scalar in [1, q-1].", nameof(secretKey));
    }
}

/// <summary>
/// An ECVRF-P256-SHA256-TAI secret key with its public point computed once: the form to keep when
/// proving many inputs under one key (RFC 9381 §5.1), as the transparency log does per label.
/// </summary>
internal sealed class EcVrfSecretKey
{
    private readonly BigInteger _x;
    private readonly byte[] _yString;

    /// <summary>Takes a 32-byte secret scalar.</summary>
    /// <exception cref="ArgumentException">The secret is not a scalar in [1, q-1].</exception>
    public EcVrfSecretKey(ReadOnlySpan<byte> secretKey)
    {
        _x = EcVrf.Scalar(secretKey);
        _yString = EcVrf.BaseMultiply(_x).GetEncoded(true);
    }

    /// <summary>The compressed public key (33 bytes).</summary>
    public byte[] PublicKey => (byte[])_yString.Clone();

    /// <summary>Proves <paramref name="alpha"/>: pi (81 bytes).</summary>
    public byte[] Prove(ReadOnlySpan<byte> alpha) =>
        OpenSslEcVrf.IsSupported ? OpenSslEcVrf.Prove(_x, _yString, alpha) : EcVrf.ProveManaged(_x, _yString, alpha);
}

// RFC 9381 ECVRF-P256-SHA256-TAI with the point arithmetic of the platform's OpenSSL 3 (libcrypto's
// EC_POINT functions on the P-256 group, its nistz256 code on x86-64 and ARM64), which the BCL uses for
// ECDSA too. Encoding, hashing, the nonce and the scalar arithmetic are EcVrf's, shared with the
// BouncyCastle path; only the point operations differ. Used where a self-test at start-up proves and
// verifies identically to the BouncyCastle path; elsewhere (no OpenSSL 3, Windows, macOS) EcVrf
// stays on BouncyCastle.
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Security.Cryptography;
using Org.BouncyCastle.Math;

namespace Mimi.Discovery.Transparency;

/// <summary>ECVRF prove and verify (RFC 9381 §5.1, §5.3) on OpenSSL's P-256 point arithmetic.</summary>
internal static unsafe partial class OpenSslEcVrf
{
    private const string Library = "libcrypto.so.3";
    private const int NidP256 = 415; // NID_X9_62_prime256v1
    private const int CompressedForm = 2; // POINT_CONVERSION_COMPRESSED

    // The group is immutable once made and safe to share between threads; it lives as long as the process.
    private static readonly IntPtr Group;

    static OpenSslEcVrf()
    {
        Group = OperatingSystem.IsLinux() ? CreateGroup() : IntPtr.Zero;
        IsSupported = Group != IntPtr.Zero && SelfTest();
    }

    /// <summary>Whether OpenSSL 3 is here and computes exactly what the BouncyCastle path computes.</summary>
    public static bool IsSupported { get; }

    /// <summary>§5.1 ECVRF_prove for secret x with public key encoding <paramref name="yString"/>: pi (81 bytes).</summary>
    /// <exception cref="CryptographicException">No curve point for this input in 256 tries (probability 2^-256), or OpenSSL failed.</exception>
    public static byte[] Prove(BigInteger x, byte[] yString, ReadOnlySpan<byte> alpha)
    {
        using var scope = new Scope();
        var h = EncodeToCurve(scope, yString, alpha) ?? throw new CryptographicException("no curve point found for this input");
        var hString = Encode(scope, h);
        var k = EcVrf.Nonce(x, hString);

        var gamma = scope.Point();
        var kB = scope.Point();
        var kH = scope.Point();
        var xn = scope.Scalar(x, secret: true);
        var kn = scope.Scalar(k, secret: true);
        Check(EC_POINT_mul(Group, gamma, IntPtr.Zero, h, xn, scope.Context));
        Check(EC_POINT_mul(Group, kB, kn, IntPtr.Zero, IntPtr.Zero, scope.Context));
        Check(EC_POINT_mul(Group, kH, IntPtr.Zero, h, kn, scope.Context));

        var gammaString = Encode(scope, gamma);
        var c = EcVrf.Challenge(yString, hString, gammaString, Encode(scope, kB), Encode(scope, kH));
        return EcVrf.EncodeProof(gammaString, c, x, k);
    }

    /// <summary>§5.3 ECVRF_verify: beta (32 bytes), or null when pi is not a valid proof of alpha under the key. Never throws for bad input.</summary>
    public static byte[]? Verify(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> alpha, ReadOnlySpan<byte> proof)
    {
        if (publicKey.Length != EcVrf.PointSize || proof.Length != EcVrf.ProofSize || EcVrf.DecodeScalars(proof) is not { } scalars)
        {
            return null;
        }

        var (c, s) = scalars;
        using var scope = new Scope();
        if (scope.Decode(publicKey) is not { } y || scope.Decode(proof[..EcVrf.PointSize]) is not { } gamma)
        {
            return null;
        }

        var yString = Encode(scope, y);
        var h = EncodeToCurve(scope, yString, alpha);
        if (h is not { } hPoint)
        {
            return null;
        }

        // U = s*B - c*Y and V = s*H - c*Gamma, with -c taken as q - c.
        var sn = scope.Scalar(s, secret: false);
        var minusC = scope.Scalar(EcVrf.Curve.N.Subtract(c).Mod(EcVrf.Curve.N), secret: false);
        var u = scope.Point();
        var v = scope.Point();
        Check(EC_POINT_mul(Group, u, sn, y, minusC, scope.Context));
        IntPtr* points = stackalloc IntPtr[] { hPoint, gamma };
        IntPtr* factors = stackalloc IntPtr[] { sn, minusC };
        Check(EC_POINTs_mul(Group, v, IntPtr.Zero, 2, points, factors, scope.Context));

        var gammaString = proof[..EcVrf.PointSize].ToArray();
        return EcVrf.Challenge(yString, Encode(scope, hPoint), gammaString, Encode(scope, u), Encode(scope, v)).Equals(c)
            ? EcVrf.Beta(gammaString)
            : null;
    }

    // §5.4.1.1 try-and-increment, each candidate decoded by OpenSSL (which refuses an x with no square root).
    private static IntPtr? EncodeToCurve(Scope scope, byte[] salt, ReadOnlySpan<byte> alpha)
    {
        var input = EcVrf.EncodeToCurveInput(salt, alpha);
        Span<byte> candidate = stackalloc byte[EcVrf.PointSize];
        for (var ctr = 0; ctr < 256; ctr++)
        {
            EcVrf.EncodeToCurveCandidate(input, ctr, candidate);
            if (scope.Decode(candidate) is { } point)
            {
                return point;
            }
        }

        return null;
    }

    // The compressed encoding; the point at infinity encodes as the single byte 0x00, as BouncyCastle's does.
    private static byte[] Encode(Scope scope, IntPtr point)
    {
        var buffer = new byte[EcVrf.PointSize];
        nuint length;
        fixed (byte* p = buffer)
        {
            length = EC_POINT_point2oct(Group, point, CompressedForm, p, (nuint)buffer.Length, scope.Context);
        }

        Check(length == 0 ? 0 : 1);
        return length == (nuint)buffer.Length ? buffer : buffer[..(int)length];
    }

    private static void Check(int result)
    {
        if (result != 1)
        {
            throw new CryptographicException("OpenSSL's elliptic-curve arithmetic failed");
        }
    }

    // The native objects of one operation, freed together (secret scalars cleared first).
    private sealed class Scope : IDisposable
    {
        private readonly List<IntPtr> _points = [];
        private readonly List<(IntPtr Number, bool Secret)> _numbers = [];

        public Scope()
        {
            Context = BN_CTX_new();
            if (Context == IntPtr.Zero)
            {
                throw new CryptographicException("OpenSSL could not allocate a BN_CTX");
            }
        }

        public IntPtr Context { get; }

        public IntPtr Point()
        {
            var point = EC_POINT_new(Group);
            if (point == IntPtr.Zero)
            {
                throw new CryptographicException("OpenSSL could not allocate an EC_POINT");
            }

            _points.Add(point);
            return point;
        }

        // A 33-byte compressed point on P-256, or null (wrong form, x not on the curve).
        public IntPtr? Decode(ReadOnlySpan<byte> encoded)
        {
            if (encoded.Length != EcVrf.PointSize || encoded[0] is not (0x02 or 0x03))
            {
                return null;
            }

            var point = Point();
            fixed (byte* p = encoded)
            {
                return EC_POINT_oct2point(Group, point, p, (nuint)encoded.Length, Context) == 1 ? point : null;
            }
        }

        public IntPtr Scalar(BigInteger value, bool secret)
        {
            var bytes = value.ToByteArrayUnsigned();
            IntPtr number;
            fixed (byte* p = bytes)
            {
                number = BN_bin2bn(p, bytes.Length, IntPtr.Zero);
            }

            CryptographicOperations.ZeroMemory(bytes);
            if (number == IntPtr.Zero)
            {
                throw new CryptographicException("OpenSSL could not allocate a BIGNUM");
            }

            _numbers.Add((number, secret));
            return number;
        }

        public void Dispose()
        {
            foreach (var point in _points)
            {
                EC_POINT_clear_free(point);
            }

            foreach (var (number, secret) in _numbers)
            {
                if (secret)
                {
                    BN_clear_free(number);
                }
                else
                {
                    BN_free(number);
                }
            }

            BN_CTX_free(Context);
        }
    }

    [SupportedOSPlatform("linux")]
    private static IntPtr CreateGroup()
    {
        try
        {
            return System.Security.Cryptography.SafeEvpPKeyHandle.OpenSslVersion >= 0x3000_0000 && NativeLibrary.TryLoad(Library, out _)
                ? EC_GROUP_new_by_curve_name(NidP256)
                : IntPtr.Zero;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or PlatformNotSupportedException)
        {
            return IntPtr.Zero;
        }
    }

    // Both paths prove the same input identically and accept each other's proof, and a changed proof is refused.
    private static bool SelfTest()
    {
        try
        {
            var secret = new byte[32];
            secret[^1] = 0x2a;
            var x = EcVrf.Scalar(secret);
            var yString = EcVrf.BaseMultiply(x).GetEncoded(true);
            byte[] alpha = [0x6d, 0x69, 0x6d, 0x69];
            var native = Prove(x, yString, alpha);
            var managed = EcVrf.ProveManaged(x, yString, alpha);
            var tampered = (byte[])native.Clone();
            tampered[^1] ^= 0x01;
            return native.AsSpan().SequenceEqual(managed)
                   && Verify(yString, alpha, managed) is { } beta
                   && beta.AsSpan().SequenceEqual(EcVrf.VerifyManaged(yString, alpha, native))
                   && Verify(yString, alpha, tampered) is null;
        }
        catch (Exception e) when (e is CryptographicException or EntryPointNotFoundException or DllNotFoundException)
        {
            return false;
        }
    }

    [LibraryImport(Library)]
    private static partial IntPtr EC_GROUP_new_by_curve_name(int nid);

    [LibraryImport(Library)]
    private static partial IntPtr EC_POINT_new(IntPtr group);

    [LibraryImport(Library)]
    private static partial void EC_POINT_clear_free(IntPtr point);

    [LibraryImport(Library)]
    private static partial int EC_POINT_oct2point(IntPtr group, IntPtr point, byte* buffer, nuint length, IntPtr context);

    [LibraryImport(Library)]
    private static partial nuint EC_POINT_point2oct(IntPtr group, IntPtr point, int form, byte* buffer, nuint length, IntPtr context);

    // r = n*G + m*q (either term may be absent).
    [LibraryImport(Library)]
    private static partial int EC_POINT_mul(IntPtr group, IntPtr r, IntPtr n, IntPtr q, IntPtr m, IntPtr context);

    // r = n*G + sum(m[i]*p[i]).
    [LibraryImport(Library)]
    private static partial int EC_POINTs_mul(IntPtr group, IntPtr r, IntPtr n, nuint count, IntPtr* points, IntPtr* scalars, IntPtr context);

    [LibraryImport(Library)]
    private static partial IntPtr BN_CTX_new();

    [LibraryImport(Library)]
    private static partial void BN_CTX_free(IntPtr context);

    [LibraryImport(Library)]
    private static partial IntPtr BN_bin2bn(byte* bytes, int length, IntPtr result);

    [LibraryImport(Library)]
    private static partial void BN_free(IntPtr number);

    [LibraryImport(Library)]
    private static partial void BN_clear_free(IntPtr number);
}

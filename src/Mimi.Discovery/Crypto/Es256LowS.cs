// ECDSA signatures are malleable: if (r, s) verifies, so does (r, n - s) (SEC 1 v2 §4.1.4 checks
// only 1 <= s < n). JWS ES256 (RFC 7518 §3.4) carries R‖S as two 32-byte big-endian integers and
// says nothing of which S, so one statement has two valid compact serialisations. This picks
// one: the low-S form, s <= n/2 (as in BIP 62 and RFC 6979 implementations that normalise).
using System.Buffers.Text;
using System.Numerics;

namespace Mimi.Discovery.Crypto;

/// <summary>Normalises ES256 (P-256) signatures to the low-S form, s &lt;= n/2.</summary>
internal static class Es256LowS
{
    private const int ScalarSize = 32;

    // The order n of the P-256 base point (SEC 2 v2 §2.4.2, FIPS 186-5 §D.1.2.3).
    private static readonly BigInteger Order = BigInteger.Parse("115792089210356248762697446949407573529996955224135760342422259061068512044369", System.Globalization.CultureInfo.InvariantCulture);
    private static readonly BigInteger HalfOrder = Order >> 1;

    /// <summary>Whether a 64-byte R‖S signature has s &lt;= n/2; false for any other length.</summary>
    public static bool IsLowS(ReadOnlySpan<byte> signature) =>
        signature.Length == 2 * ScalarSize && S(signature) <= HalfOrder;

    /// <summary>Replaces s by n - s in a 64-byte R‖S signature when s &gt; n/2; other lengths are left alone.</summary>
    public static void Normalize(Span<byte> signature)
    {
        if (signature.Length != 2 * ScalarSize)
        {
            return;
        }

        var s = S(signature);
        if (s <= HalfOrder || s >= Order)
        {
            return;
        }

        var low = Order - s;
        var target = signature[ScalarSize..];
        target.Clear();
        var written = low.GetByteCount(isUnsigned: true);
        low.TryWriteBytes(target[(ScalarSize - written)..], out _, isUnsigned: true, isBigEndian: true);
    }

    /// <summary>
    /// The compact JWS with its ES256 signature in low-S form; the same string when it already is,
    /// or when it is not a three-part compact JWS with a 64-byte signature.
    /// </summary>
    public static string Normalize(string compactJws)
    {
        ArgumentNullException.ThrowIfNull(compactJws);
        var dot = compactJws.LastIndexOf('.');
        if (dot < 0 || compactJws.Count(c => c == '.') != 2)
        {
            return compactJws;
        }

        byte[] signature;
        try
        {
            signature = Base64Url.DecodeFromChars(compactJws.AsSpan(dot + 1));
        }
        catch (FormatException)
        {
            return compactJws;
        }

        if (signature.Length != 2 * ScalarSize || IsLowS(signature))
        {
            return compactJws;
        }

        Normalize(signature);
        return string.Concat(compactJws.AsSpan(0, dot + 1), Base64Url.EncodeToString(signature));
    }

    private static BigInteger S(ReadOnlySpan<byte> signature) => new(signature[ScalarSize..], isUnsigned: true, isBigEndian: true);
}

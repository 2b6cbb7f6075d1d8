// RFC 9180 §4: LabeledExtract and LabeledExpand over HKDF-SHA256 (RFC 5869), on the BCL HKDF.
using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Mimi.Discovery.Privacy.Hpke;

/// <summary>The labeled HKDF functions, bound to one suite_id ("KEM" || kem, or "HPKE" || kem || kdf || aead).</summary>
internal static class HpkeLabels
{
    public const int HashLength = 32;

    private static ReadOnlySpan<byte> Version => "HPKE-v1"u8;

    public static byte[] KemSuiteId(HpkeKem kem)
    {
        var id = new byte[5];
        "KEM"u8.CopyTo(id);
        BinaryPrimitives.WriteUInt16BigEndian(id.AsSpan(3), (ushort)kem);
        return id;
    }

    public static byte[] HpkeSuiteId(HpkeSuite suite)
    {
        var id = new byte[10];
        "HPKE"u8.CopyTo(id);
        BinaryPrimitives.WriteUInt16BigEndian(id.AsSpan(4), (ushort)suite.Kem);
        BinaryPrimitives.WriteUInt16BigEndian(id.AsSpan(6), (ushort)suite.Kdf);
        BinaryPrimitives.WriteUInt16BigEndian(id.AsSpan(8), (ushort)suite.Aead);
        return id;
    }

    // labeled_ikm = "HPKE-v1" || suite_id || label || ikm; Extract(salt, labeled_ikm).
    public static byte[] LabeledExtract(ReadOnlySpan<byte> suiteId, ReadOnlySpan<byte> salt, ReadOnlySpan<byte> label, ReadOnlySpan<byte> ikm)
    {
        var labeledIkm = new byte[Version.Length + suiteId.Length + label.Length + ikm.Length];
        var span = labeledIkm.AsSpan();
        Version.CopyTo(span);
        suiteId.CopyTo(span[Version.Length..]);
        label.CopyTo(span[(Version.Length + suiteId.Length)..]);
        ikm.CopyTo(span[(Version.Length + suiteId.Length + label.Length)..]);
        var prk = new byte[HashLength];
        HKDF.Extract(HashAlgorithmName.SHA256, labeledIkm, salt, prk);
        CryptographicOperations.ZeroMemory(labeledIkm);
        return prk;
    }

    // labeled_info = I2OSP(L, 2) || "HPKE-v1" || suite_id || label || info; Expand(prk, labeled_info, L).
    public static byte[] LabeledExpand(ReadOnlySpan<byte> suiteId, ReadOnlySpan<byte> prk, ReadOnlySpan<byte> label, ReadOnlySpan<byte> info, int length)
    {
        if (length == 0)
        {
            // The export-only AEAD has Nk = Nn = 0; the BCL HKDF refuses an empty output.
            return [];
        }

        var labeledInfo = new byte[2 + Version.Length + suiteId.Length + label.Length + info.Length];
        var span = labeledInfo.AsSpan();
        BinaryPrimitives.WriteUInt16BigEndian(span, checked((ushort)length));
        Version.CopyTo(span[2..]);
        suiteId.CopyTo(span[(2 + Version.Length)..]);
        label.CopyTo(span[(2 + Version.Length + suiteId.Length)..]);
        info.CopyTo(span[(2 + Version.Length + suiteId.Length + label.Length)..]);
        var output = new byte[length];
        HKDF.Expand(HashAlgorithmName.SHA256, prk, output, labeledInfo);
        return output;
    }
}

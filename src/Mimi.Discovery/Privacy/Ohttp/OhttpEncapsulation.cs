// RFC 9458 §4.3 (request encapsulation: header, info) and §4.4 (response keys from the HPKE exporter).
using System.Buffers.Binary;
using System.Security.Cryptography;
using Mimi.Discovery.Privacy.Hpke;

namespace Mimi.Discovery.Privacy.Ohttp;

/// <summary>The pieces of §4.3 and §4.4 the client and the gateway share.</summary>
internal static class OhttpEncapsulation
{
    /// <summary>key_id (1) || kem_id (2) || kdf_id (2) || aead_id (2).</summary>
    public const int HeaderLength = 7;

    private static ReadOnlySpan<byte> RequestLabel => "message/bhttp request"u8;

    private static ReadOnlySpan<byte> ResponseLabel => "message/bhttp response"u8;

    public static byte[] Header(byte keyId, HpkeSuite suite)
    {
        var header = new byte[HeaderLength];
        header[0] = keyId;
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(1), (ushort)suite.Kem);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(3), (ushort)suite.Kdf);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(5), (ushort)suite.Aead);
        return header;
    }

    /// <summary>info = "message/bhttp request" || 0x00 || header.</summary>
    public static byte[] RequestInfo(ReadOnlySpan<byte> header) => [.. RequestLabel, 0x00, .. header];

    /// <summary>max(Nn, Nk): the length of the response nonce and of the exported secret.</summary>
    public static int ResponseNonceLength(HpkeAead aead) => Math.Max(Hpke.Hpke.NonceLength(aead), Hpke.Hpke.KeyLength(aead));

    /// <summary>secret = Export("message/bhttp response", max(Nn, Nk)).</summary>
    public static byte[] ExportResponseSecret(HpkeContext context) => context.Export(ResponseLabel, ResponseNonceLength(context.Suite.Aead));

    /// <summary>prk = Extract(enc || response_nonce, secret); key = Expand(prk, "key", Nk); nonce = Expand(prk, "nonce", Nn).</summary>
    public static (AeadCipher Cipher, byte[] Nonce) ResponseKeys(HpkeSuite suite, ReadOnlySpan<byte> secret, ReadOnlySpan<byte> enc, ReadOnlySpan<byte> responseNonce)
    {
        var aead = suite.Aead;
        byte[] salt = [.. enc, .. responseNonce];
        Span<byte> prk = stackalloc byte[32];
        HKDF.Extract(HashAlgorithmName.SHA256, secret, salt, prk);
        var key = new byte[Hpke.Hpke.KeyLength(aead)];
        var nonce = new byte[Hpke.Hpke.NonceLength(aead)];
        HKDF.Expand(HashAlgorithmName.SHA256, prk, key, "key"u8);
        HKDF.Expand(HashAlgorithmName.SHA256, prk, nonce, "nonce"u8);
        var cipher = new AeadCipher(aead, key);
        CryptographicOperations.ZeroMemory(prk);
        CryptographicOperations.ZeroMemory(key);
        return (cipher, nonce);
    }
}

// RFC 9458 §3.1 (Key Config encoding) and §3.2 (application/ohttp-keys: each config behind a 2-byte length).
using System.Buffers.Binary;
using Mimi.Discovery.Privacy.Hpke;

namespace Mimi.Discovery.Privacy.Ohttp;

/// <summary>A KDF and AEAD pair a key configuration offers (RFC 9458 §3.1, HPKE Symmetric Algorithms).</summary>
/// <param name="Kdf">The HPKE KDF.</param>
/// <param name="Aead">The HPKE AEAD.</param>
public readonly record struct OhttpSymmetricSuite(HpkeKdf Kdf, HpkeAead Aead)
{
    /// <summary>Whether OHTTP can use the pair here: both implemented, and the AEAD can encrypt (not export-only).</summary>
    public bool IsSupported => Kdf == HpkeKdf.HkdfSha256 && Aead != HpkeAead.ExportOnly && HpkeSuite.IsSupportedAead(Aead);
}

/// <summary>An Oblivious HTTP key configuration: what a client needs to encapsulate requests to a gateway key.</summary>
public sealed class OhttpKeyConfig
{
    private readonly byte[] _publicKey;

    /// <summary>Creates a key configuration.</summary>
    /// <param name="keyId">The one-byte key identifier the gateway looks the private key up by.</param>
    /// <param name="kem">The HPKE KEM of the key.</param>
    /// <param name="publicKey">The serialized public key (Npk bytes).</param>
    /// <param name="suites">The KDF/AEAD pairs offered, at least one.</param>
    /// <exception cref="ArgumentException">The KEM is not implemented, the key has the wrong length, or no suite is given.</exception>
    public OhttpKeyConfig(byte keyId, HpkeKem kem, ReadOnlySpan<byte> publicKey, IEnumerable<OhttpSymmetricSuite> suites)
    {
        ArgumentNullException.ThrowIfNull(suites);
        if (!HpkeSuite.IsSupportedKem(kem))
        {
            throw new ArgumentException($"KEM 0x{(ushort)kem:x4} is not implemented.", nameof(kem));
        }

        if (publicKey.Length != PublicKeyLength(kem))
        {
            throw new ArgumentException($"A {kem} public key is {PublicKeyLength(kem)} bytes.", nameof(publicKey));
        }

        Suites = [.. suites];
        if (Suites.Count is 0 or > 16383)
        {
            throw new ArgumentException("A key configuration offers between 1 and 16383 KDF/AEAD pairs.", nameof(suites));
        }

        KeyId = keyId;
        Kem = kem;
        _publicKey = publicKey.ToArray();
    }

    /// <summary>The key identifier.</summary>
    public byte KeyId { get; }

    /// <summary>The HPKE KEM.</summary>
    public HpkeKem Kem { get; }

    /// <summary>The serialized public key.</summary>
    public ReadOnlyMemory<byte> PublicKey => _publicKey;

    /// <summary>The KDF/AEAD pairs offered, in the order the configuration lists them.</summary>
    public IReadOnlyList<OhttpSymmetricSuite> Suites { get; }

    /// <summary>The §3.1 encoding: key_id (1) || kem_id (2) || public key || length (2) || (kdf_id (2) || aead_id (2))*.</summary>
    public byte[] Encode()
    {
        var output = new byte[1 + 2 + _publicKey.Length + 2 + (4 * Suites.Count)];
        var span = output.AsSpan();
        span[0] = KeyId;
        BinaryPrimitives.WriteUInt16BigEndian(span[1..], (ushort)Kem);
        _publicKey.CopyTo(span[3..]);
        var offset = 3 + _publicKey.Length;
        BinaryPrimitives.WriteUInt16BigEndian(span[offset..], checked((ushort)(4 * Suites.Count)));
        offset += 2;
        foreach (var suite in Suites)
        {
            BinaryPrimitives.WriteUInt16BigEndian(span[offset..], (ushort)suite.Kdf);
            BinaryPrimitives.WriteUInt16BigEndian(span[(offset + 2)..], (ushort)suite.Aead);
            offset += 4;
        }

        return output;
    }

    /// <summary>Decodes one key configuration; the input must hold exactly one.</summary>
    /// <exception cref="ProtocolException{OhttpError}"><see cref="OhttpError.UnsupportedSuite"/> for a KEM not implemented here, else <see cref="OhttpError.Malformed"/>.</exception>
    public static OhttpKeyConfig Decode(ReadOnlySpan<byte> encoded)
    {
        if (encoded.Length < 3)
        {
            throw Malformed("A key configuration is at least 3 bytes.");
        }

        var kem = (HpkeKem)BinaryPrimitives.ReadUInt16BigEndian(encoded[1..]);
        if (!HpkeSuite.IsSupportedKem(kem))
        {
            throw new ProtocolException<OhttpError>(OhttpError.UnsupportedSuite, $"The key configuration uses KEM 0x{(ushort)kem:x4}, which is not supported.");
        }

        var npk = PublicKeyLength(kem);
        if (encoded.Length < 3 + npk + 2)
        {
            throw Malformed("The key configuration ends inside the public key or the algorithms length.");
        }

        var suitesLength = BinaryPrimitives.ReadUInt16BigEndian(encoded[(3 + npk)..]);
        var rest = encoded[(3 + npk + 2)..];
        if (suitesLength < 4 || suitesLength % 4 != 0 || rest.Length != suitesLength)
        {
            throw Malformed("The symmetric algorithms length must be a non-zero multiple of 4 that matches the bytes that follow.");
        }

        var suites = new List<OhttpSymmetricSuite>(suitesLength / 4);
        for (var i = 0; i < rest.Length; i += 4)
        {
            suites.Add(new OhttpSymmetricSuite((HpkeKdf)BinaryPrimitives.ReadUInt16BigEndian(rest[i..]), (HpkeAead)BinaryPrimitives.ReadUInt16BigEndian(rest[(i + 2)..])));
        }

        return new OhttpKeyConfig(encoded[0], kem, encoded.Slice(3, npk), suites);
    }

    /// <summary>The <c>application/ohttp-keys</c> encoding (§3.2): each configuration behind its 2-byte length.</summary>
    public static byte[] EncodeList(IEnumerable<OhttpKeyConfig> configs)
    {
        ArgumentNullException.ThrowIfNull(configs);
        using var buffer = new MemoryStream();
        Span<byte> length = stackalloc byte[2];
        foreach (var config in configs)
        {
            var encoded = config.Encode();
            BinaryPrimitives.WriteUInt16BigEndian(length, checked((ushort)encoded.Length));
            buffer.Write(length);
            buffer.Write(encoded);
        }

        return buffer.ToArray();
    }

    /// <summary>
    /// Decodes an <c>application/ohttp-keys</c> body. Configurations whose KEM is not implemented here are skipped,
    /// as a client must ignore what it cannot use (§3.2); any framing error fails the whole list.
    /// </summary>
    /// <exception cref="ProtocolException{OhttpError}"><see cref="OhttpError.Malformed"/> for a bad length or configuration.</exception>
    public static IReadOnlyList<OhttpKeyConfig> DecodeList(ReadOnlySpan<byte> encoded)
    {
        var configs = new List<OhttpKeyConfig>();
        while (!encoded.IsEmpty)
        {
            if (encoded.Length < 2)
            {
                throw Malformed("The key configuration list ends inside a length.");
            }

            var length = BinaryPrimitives.ReadUInt16BigEndian(encoded);
            if (encoded.Length - 2 < length)
            {
                throw Malformed("A key configuration in the list is longer than the bytes that remain.");
            }

            try
            {
                configs.Add(Decode(encoded.Slice(2, length)));
            }
            catch (ProtocolException<OhttpError> e) when (e.Error == OhttpError.UnsupportedSuite)
            {
                // Another KEM: skip it and keep the ones this client can use.
            }

            encoded = encoded[(2 + length)..];
        }

        return configs;
    }

    internal static int PublicKeyLength(HpkeKem kem) => kem == HpkeKem.P256HkdfSha256 ? 65 : 32;

    private static ProtocolException<OhttpError> Malformed(string message) => new(OhttpError.Malformed, message);
}

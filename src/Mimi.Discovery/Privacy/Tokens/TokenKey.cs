// RFC 9578 §6.5: the issuer public key for token type 0x0002 is a SubjectPublicKeyInfo with the
// id-RSASSA-PSS algorithm identifier (RFC 4055) and its SHA-384 parameters: hashAlgorithm sha384,
// maskGenAlgorithm MGF1 with sha384, saltLength 48 (trailerField left at its default). The hash
// AlgorithmIdentifiers carry no NULL parameters, as in the RFC's Appendix A.2 keys.
// token_key_id = SHA-256 of exactly these DER bytes (RFC 9578 §6.5).
using System.Security.Cryptography;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.Nist;
using Org.BouncyCastle.Asn1.Pkcs;
using Org.BouncyCastle.Asn1.X509;

namespace Mimi.Discovery.Privacy.Tokens;

/// <summary>An issuer's public key for token type 0x0002, with its encoding and token_key_id.</summary>
public sealed class TokenPublicKey
{
    private const int SaltLength = 48;

    private readonly byte[] encoded;
    private readonly byte[] keyId;

    private TokenPublicKey(BlindRsaPublicKey key, byte[] encoded)
    {
        Key = key;
        this.encoded = encoded;
        keyId = SHA256.HashData(encoded);
    }

    /// <summary>The RSA key.</summary>
    internal BlindRsaPublicKey Key { get; }

    /// <summary>The DER SubjectPublicKeyInfo with the RSASSA-PSS OID: the bytes of the <c>token-key</c> directory member and header parameter.</summary>
    public ReadOnlySpan<byte> Encoded => encoded;

    /// <summary>token_key_id = SHA-256(<see cref="Encoded"/>).</summary>
    public ReadOnlySpan<byte> KeyId => keyId;

    /// <summary>truncated_token_key_id: the last byte of the key id, as carried in a TokenRequest.</summary>
    public byte TruncatedKeyId => keyId[^1];

    /// <summary>Wraps a 2048-bit RSA public key, encoding it as RFC 9578 §6.5 requires.</summary>
    /// <exception cref="ProtocolException{PrivacyPassError}"><see cref="PrivacyPassError.InvalidKey"/>: the modulus is not 2048 bits.</exception>
    internal static TokenPublicKey FromKey(BlindRsaPublicKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.ModulusLength != PrivateTokenTypes.BlindRsa2048Nk)
        {
            throw new ProtocolException<PrivacyPassError>(PrivacyPassError.InvalidKey, "Token type 0x0002 needs a 2048-bit RSA key.");
        }

        var spki = new SubjectPublicKeyInfo(PssAlgorithm(), new RsaPublicKeyStructure(key.Modulus, key.Exponent));
        return new TokenPublicKey(key, spki.GetDerEncoded());
    }

    /// <summary>Decodes a <c>token-key</c>: a DER SubjectPublicKeyInfo with id-RSASSA-PSS and SHA-384 parameters.</summary>
    /// <exception cref="ProtocolException{PrivacyPassError}">
    /// <see cref="PrivacyPassError.Malformed"/>: not DER; <see cref="PrivacyPassError.InvalidKey"/>: another algorithm, other parameters or not 2048 bits.
    /// </exception>
    public static TokenPublicKey Decode(ReadOnlySpan<byte> encoded)
    {
        SubjectPublicKeyInfo spki;
        RsaPublicKeyStructure rsa;
        try
        {
            var asn1 = Asn1Object.FromByteArray(encoded.ToArray()) ?? throw new ProtocolException<PrivacyPassError>(PrivacyPassError.Malformed, "The token key is empty.");
            spki = SubjectPublicKeyInfo.GetInstance(asn1);
            if (!asn1.GetDerEncoded().AsSpan().SequenceEqual(encoded))
            {
                throw new ProtocolException<PrivacyPassError>(PrivacyPassError.Malformed, "The token key is not in DER.");
            }

            if (!spki.Algorithm.Equals(PssAlgorithm()))
            {
                throw new ProtocolException<PrivacyPassError>(PrivacyPassError.InvalidKey, "The token key is not an RSASSA-PSS key with SHA-384, MGF1-SHA-384 and a 48-byte salt.");
            }

            rsa = RsaPublicKeyStructure.GetInstance(spki.ParsePublicKey());
        }
        catch (Exception e) when (e is not ProtocolException<PrivacyPassError>)
        {
            // BouncyCastle's ASN.1 layer reports bad input with many exception types; all mean the same here.
            throw new ProtocolException<PrivacyPassError>(PrivacyPassError.Malformed, "The token key is not a DER SubjectPublicKeyInfo.", e);
        }

        BlindRsaPublicKey key;
        try
        {
            key = new BlindRsaPublicKey(rsa.Modulus, rsa.PublicExponent);
        }
        catch (ArgumentException e)
        {
            throw new ProtocolException<PrivacyPassError>(PrivacyPassError.InvalidKey, "The token key is not a usable RSA public key.", e);
        }

        var result = FromKey(key);
        return result.encoded.AsSpan().SequenceEqual(encoded)
            ? result
            : throw new ProtocolException<PrivacyPassError>(PrivacyPassError.Malformed, "The token key is not in the canonical RSASSA-PSS encoding.");
    }

    private static AlgorithmIdentifier PssAlgorithm()
    {
        var sha384 = new AlgorithmIdentifier(NistObjectIdentifiers.IdSha384);
        var parameters = new RsassaPssParameters(
            sha384,
            new AlgorithmIdentifier(PkcsObjectIdentifiers.IdMgf1, sha384),
            DerInteger.ValueOf(SaltLength),
            RsassaPssParameters.DefaultTrailerField);
        return new AlgorithmIdentifier(PkcsObjectIdentifiers.IdRsassaPss, parameters);
    }
}

// RFC 9474: RSA blind signatures, the four RSABSSA-SHA384 variants of §5 (PSS or PSSZERO salt,
// randomized or deterministic preparation). Prepare (§4.1), Blind (§4.2), BlindSign (§4.3),
// Finalize (§4.4), Verify (§4.5). EMSA-PSS (RFC 8017 §9.1) with SHA-384 and MGF1-SHA-384.
// Big-number arithmetic and the private-key operation come from BouncyCastle, hashing from the BCL.
using System.Security.Cryptography;
using Org.BouncyCastle.Crypto.Digests;
using Org.BouncyCastle.Crypto.Engines;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Prng;
using Org.BouncyCastle.Crypto.Signers;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.Utilities;
using BigInteger = Org.BouncyCastle.Math.BigInteger;

namespace Mimi.Discovery.Privacy.Tokens;

/// <summary>One RSABSSA variant of RFC 9474 §5: an RSA blind signature scheme over SHA-384.</summary>
/// <remarks>
/// The protocol is Prepare → Blind (client) → BlindSign (signer) → Finalize (client) → Verify (anyone).
/// A signer must use one key per variant.
/// </remarks>
internal sealed class BlindRsa
{
    /// <summary>Length of the random message prefix that randomized variants add (§4.1).</summary>
    public const int MessagePrefixLength = 32;

    private const int HashLength = 48;

    // Random values come from the BCL generator through BouncyCastle's adapter.
    private static readonly SecureRandom Random = new(new CryptoApiRandomGenerator());

    private BlindRsa(string name, int saltLength, bool randomizesMessage)
    {
        Name = name;
        SaltLength = saltLength;
        RandomizesMessage = randomizesMessage;
    }

    /// <summary>RSABSSA-SHA384-PSS-Randomized: 48-byte salt and a random message prefix (the RFC's recommended default).</summary>
    public static BlindRsa Sha384PssRandomized { get; } = new("RSABSSA-SHA384-PSS-Randomized", HashLength, true);

    /// <summary>RSABSSA-SHA384-PSSZERO-Randomized: empty salt and a random message prefix.</summary>
    public static BlindRsa Sha384PssZeroRandomized { get; } = new("RSABSSA-SHA384-PSSZERO-Randomized", 0, true);

    /// <summary>RSABSSA-SHA384-PSS-Deterministic: 48-byte salt, message signed as is (Privacy Pass token type 0x0002).</summary>
    public static BlindRsa Sha384PssDeterministic { get; } = new("RSABSSA-SHA384-PSS-Deterministic", HashLength, false);

    /// <summary>RSABSSA-SHA384-PSSZERO-Deterministic: empty salt, message signed as is; signatures are then deterministic.</summary>
    public static BlindRsa Sha384PssZeroDeterministic { get; } = new("RSABSSA-SHA384-PSSZERO-Deterministic", 0, false);

    /// <summary>The variant's name as written in RFC 9474 §5.</summary>
    public string Name { get; }

    /// <summary>The EMSA-PSS salt length in bytes (48 or 0).</summary>
    public int SaltLength { get; }

    /// <summary>Whether <see cref="Prepare(ReadOnlySpan{byte})"/> prepends a random 32-byte prefix.</summary>
    public bool RandomizesMessage { get; }

    /// <inheritdoc/>
    public override string ToString() => Name;

    /// <summary>§4.1 Prepare: the message that is actually blinded and signed (prefix ‖ msg, or msg).</summary>
    public byte[] Prepare(ReadOnlySpan<byte> message)
    {
        if (!RandomizesMessage)
        {
            return message.ToArray();
        }

        var prepared = new byte[MessagePrefixLength + message.Length];
        RandomNumberGenerator.Fill(prepared.AsSpan(0, MessagePrefixLength));
        message.CopyTo(prepared.AsSpan(MessagePrefixLength));
        return prepared;
    }

    /// <summary>§4.2 Blind: blinds a prepared message for the signer and keeps the unblinding inverse.</summary>
    /// <exception cref="CryptographicException">The key is too small for this variant's encoding.</exception>
    public BlindingResult Blind(BlindRsaPublicKey publicKey, ReadOnlySpan<byte> preparedMessage)
    {
        ArgumentNullException.ThrowIfNull(publicKey);
        var salt = new byte[SaltLength];
        RandomNumberGenerator.Fill(salt);
        while (true)
        {
            var r = BigIntegers.CreateRandomInRange(BigInteger.One, publicKey.Modulus.Subtract(BigInteger.One), Random);
            if (r.Gcd(publicKey.Modulus).Equals(BigInteger.One))
            {
                return Blind(publicKey, preparedMessage, salt, r);
            }
        }
    }

    /// <summary>Test seam: Blind with a chosen salt and blind r (never exposed publicly).</summary>
    internal BlindingResult Blind(BlindRsaPublicKey publicKey, ReadOnlySpan<byte> preparedMessage, ReadOnlySpan<byte> salt, BigInteger r)
    {
        if (salt.Length != SaltLength)
        {
            throw new ArgumentException($"{Name} uses a {SaltLength}-byte salt.", nameof(salt));
        }

        var n = publicKey.Modulus;
        var k = publicKey.ModulusLength;
        var encoded = EmsaPssEncode(preparedMessage, publicKey.ModulusBits - 1, salt);
        var m = new BigInteger(1, encoded);
        if (!m.Gcd(n).Equals(BigInteger.One))
        {
            throw new CryptographicException("The encoded message is not invertible modulo n.");
        }

        BigInteger inverse;
        try
        {
            inverse = r.ModInverse(n);
        }
        catch (ArithmeticException e)
        {
            throw new CryptographicException("The blind is not invertible modulo n.", e);
        }

        var x = r.ModPow(publicKey.Exponent, n);
        var z = m.Multiply(x).Mod(n);
        return new BlindingResult(BigIntegers.AsUnsignedByteArray(k, z), BigIntegers.AsUnsignedByteArray(k, inverse));
    }

    /// <summary>
    /// §4.3 BlindSign: the raw RSA private operation on a blinded message, checked by re-verifying the
    /// result (s^e = m) so that a faulty computation never releases a signature that could leak the key.
    /// </summary>
    /// <returns>The blind signature (k bytes), or <see langword="null"/> when the blinded message is not an integer in [0, n) of k bytes.</returns>
    /// <exception cref="CryptographicException">The private operation produced a wrong result (a fault).</exception>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1822:Mark members as static", Justification = "Every step of the protocol is asked of the variant; the signer's step just happens not to depend on it.")]
    public byte[]? BlindSign(BlindRsaPrivateKey privateKey, ReadOnlySpan<byte> blindedMessage)
    {
        ArgumentNullException.ThrowIfNull(privateKey);
        var publicKey = privateKey.PublicKey;
        var k = publicKey.ModulusLength;
        if (blindedMessage.Length != k)
        {
            return null;
        }

        var m = new BigInteger(1, blindedMessage.ToArray());
        if (m.CompareTo(publicKey.Modulus) >= 0)
        {
            return null;
        }

        var input = blindedMessage.ToArray();
        var native = privateKey.Native;
        var raw = native is null ? ManagedPrivateOperation(privateKey, input) : native.PrivateOperation(input);
        var s = new BigInteger(1, raw ?? throw new CryptographicException("The RSA private operation failed."));
        var signature = BigIntegers.AsUnsignedByteArray(k, s);
        var sound = native is null
            ? s.ModPow(publicKey.Exponent, publicKey.Modulus).Equals(m)
            : native.PublicOperation(signature) is { } back && CryptographicOperations.FixedTimeEquals(back, input);
        if (!sound)
        {
            throw new CryptographicException("The RSA private operation failed its verification check.");
        }

        return signature;
    }

    /// <summary>RSASP1 in managed code (BouncyCastle's CRT engine with its own blinding), where OpenSSL 3 is not underneath the BCL.</summary>
    internal static byte[] ManagedPrivateOperation(BlindRsaPrivateKey privateKey, byte[] input)
    {
        var engine = new RsaBlindedEngine();
        engine.Init(true, new ParametersWithRandom(privateKey.Parameters, Random));
        return engine.ProcessBlock(input, 0, input.Length);
    }

    /// <summary>§4.4 Finalize: unblinds the signer's answer and verifies it over the prepared message.</summary>
    /// <returns>The RSASSA-PSS signature (k bytes), or <see langword="null"/> when the blind signature is malformed or does not verify.</returns>
    public byte[]? Finalize(BlindRsaPublicKey publicKey, ReadOnlySpan<byte> preparedMessage, ReadOnlySpan<byte> blindSignature, ReadOnlySpan<byte> inverse)
    {
        ArgumentNullException.ThrowIfNull(publicKey);
        var k = publicKey.ModulusLength;
        if (blindSignature.Length != k || inverse.Length != k)
        {
            return null;
        }

        var z = new BigInteger(1, blindSignature.ToArray());
        var s = z.Multiply(new BigInteger(1, inverse.ToArray())).Mod(publicKey.Modulus);
        var signature = BigIntegers.AsUnsignedByteArray(k, s);
        return Verify(publicKey, preparedMessage, signature) ? signature : null;
    }

    /// <summary>§4.5 Verify: RSASSA-PSS-VERIFY with SHA-384, MGF1-SHA-384 and this variant's salt length.</summary>
    public bool Verify(BlindRsaPublicKey publicKey, ReadOnlySpan<byte> preparedMessage, ReadOnlySpan<byte> signature)
    {
        ArgumentNullException.ThrowIfNull(publicKey);
        if (signature.Length != publicKey.ModulusLength
            || new BigInteger(1, signature.ToArray()).CompareTo(publicKey.Modulus) >= 0)
        {
            return false;
        }

        // The platform's PSS verification (OpenSSL, CNG) checks a salt as long as the hash, this
        // variant's usual length; the managed verifier covers the others (PSSZERO).
        if (SaltLength == HashLength)
        {
            return publicKey.Platform.VerifyData(preparedMessage, signature, HashAlgorithmName.SHA384, RSASignaturePadding.Pss);
        }

        var signer = new PssSigner(new RsaEngine(), new Sha384Digest(), new Sha384Digest(), SaltLength, PssSigner.TrailerImplicit);
        signer.Init(false, publicKey.Parameters);
        signer.BlockUpdate(preparedMessage);
        return signer.VerifySignature(signature.ToArray());
    }

    // RFC 8017 §9.1.1 EMSA-PSS-ENCODE(M, emBits) with the given salt.
    internal static byte[] EmsaPssEncode(ReadOnlySpan<byte> message, int emBits, ReadOnlySpan<byte> salt)
    {
        var emLen = (emBits + 7) / 8;
        if (emLen < HashLength + salt.Length + 2)
        {
            throw new CryptographicException("The RSA key is too short for EMSA-PSS with SHA-384.");
        }

        Span<byte> mHash = stackalloc byte[HashLength];
        SHA384.HashData(message, mHash);

        // M' = 0x00 (8 bytes) || mHash || salt; H = Hash(M')
        var mPrime = new byte[8 + HashLength + salt.Length];
        mHash.CopyTo(mPrime.AsSpan(8));
        salt.CopyTo(mPrime.AsSpan(8 + HashLength));
        var h = SHA384.HashData(mPrime);

        // DB = PS || 0x01 || salt, masked with MGF1(H)
        var dbLen = emLen - HashLength - 1;
        var db = new byte[dbLen];
        db[dbLen - salt.Length - 1] = 0x01;
        salt.CopyTo(db.AsSpan(dbLen - salt.Length));
        var mask = Mgf1(h, dbLen);
        for (var i = 0; i < dbLen; i++)
        {
            db[i] ^= mask[i];
        }

        db[0] &= (byte)(0xFF >> ((8 * emLen) - emBits));

        var em = new byte[emLen];
        db.CopyTo(em, 0);
        h.CopyTo(em, dbLen);
        em[^1] = 0xBC;
        return em;
    }

    // RFC 8017 Appendix B.2.1 MGF1 with SHA-384.
    private static byte[] Mgf1(ReadOnlySpan<byte> seed, int length)
    {
        var output = new byte[length];
        var input = new byte[seed.Length + 4];
        seed.CopyTo(input);
        Span<byte> block = stackalloc byte[HashLength];
        for (int counter = 0, offset = 0; offset < length; counter++, offset += HashLength)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(input.AsSpan(seed.Length), counter);
            SHA384.HashData(input, block);
            block[..Math.Min(HashLength, length - offset)].CopyTo(output.AsSpan(offset));
        }

        return output;
    }
}

/// <summary>The output of <see cref="BlindRsa.Blind(BlindRsaPublicKey, ReadOnlySpan{byte})"/>.</summary>
/// <param name="BlindedMessage">The blinded message to send to the signer (k bytes).</param>
/// <param name="Inverse">The unblinding inverse r⁻¹ mod n (k bytes); a secret the client keeps for Finalize.</param>
internal sealed record BlindingResult(byte[] BlindedMessage, byte[] Inverse);

// RFC 9180 §5.1 (KeySchedule) and §5.1.1 (SetupBaseS, SetupBaseR): base mode only.
using System.Security.Cryptography;

namespace Mimi.Discovery.Privacy.Hpke;

/// <summary>Hybrid Public Key Encryption (RFC 9180) in base mode (mode_base = 0x00).</summary>
internal static class Hpke
{
    private const byte ModeBase = 0x00;

    /// <summary>SetupBaseS: encapsulates a fresh shared secret to <paramref name="recipientPublicKey"/>.</summary>
    /// <param name="suite">The ciphersuite; see <see cref="HpkeSuite.IsSupported"/>.</param>
    /// <param name="recipientPublicKey">The recipient's serialized public key.</param>
    /// <param name="info">Application information bound into the key schedule.</param>
    /// <param name="encapsulatedKey">enc, to send to the recipient with the ciphertexts.</param>
    /// <returns>The sender's context.</returns>
    /// <exception cref="ArgumentException"><paramref name="suite"/> is not supported.</exception>
    /// <exception cref="ProtocolException{HpkeError}">The public key is not valid for the KEM (<see cref="HpkeError.InvalidPublicKey"/>).</exception>
    public static HpkeContext SetupBaseSender(HpkeSuite suite, ReadOnlySpan<byte> recipientPublicKey, ReadOnlySpan<byte> info, out byte[] encapsulatedKey)
    {
        RequireSupported(suite);
        using var ephemeral = HpkeKeyPair.Generate(suite.Kem);
        return SetupBaseSender(suite, recipientPublicKey, info, ephemeral, out encapsulatedKey);
    }

    /// <summary>SetupBaseS with a chosen ephemeral key pair: for the RFC test vectors only, since reusing one breaks HPKE's security.</summary>
    internal static HpkeContext SetupBaseSender(HpkeSuite suite, ReadOnlySpan<byte> recipientPublicKey, ReadOnlySpan<byte> info, HpkeKeyPair ephemeral, out byte[] encapsulatedKey)
    {
        RequireSupported(suite);
        var (sharedSecret, enc) = DhKem.For(suite.Kem).Encap(recipientPublicKey, ephemeral);
        encapsulatedKey = enc;
        return KeySchedule(suite, isSender: true, sharedSecret, info);
    }

    /// <summary>SetupBaseR: recovers the shared secret from <paramref name="encapsulatedKey"/> with the recipient's key pair.</summary>
    /// <param name="suite">The ciphersuite the sender used.</param>
    /// <param name="encapsulatedKey">enc, as the sender sent it.</param>
    /// <param name="recipient">The recipient's key pair; its KEM must be the suite's.</param>
    /// <param name="info">The same application information the sender used.</param>
    /// <returns>The recipient's context.</returns>
    /// <exception cref="ArgumentException"><paramref name="suite"/> is not supported, or the key pair is for another KEM.</exception>
    /// <exception cref="ProtocolException{HpkeError}"><paramref name="encapsulatedKey"/> is not a valid public key (<see cref="HpkeError.InvalidPublicKey"/>).</exception>
    public static HpkeContext SetupBaseReceiver(HpkeSuite suite, ReadOnlySpan<byte> encapsulatedKey, HpkeKeyPair recipient, ReadOnlySpan<byte> info)
    {
        ArgumentNullException.ThrowIfNull(recipient);
        RequireSupported(suite);
        if (recipient.Kem != suite.Kem)
        {
            throw new ArgumentException($"The key pair is for {recipient.Kem}, the suite uses {suite.Kem}.", nameof(recipient));
        }

        var sharedSecret = DhKem.For(suite.Kem).Decap(encapsulatedKey, recipient);
        return KeySchedule(suite, isSender: false, sharedSecret, info);
    }

    /// <summary>Nk: the AEAD key length (0 for export-only).</summary>
    internal static int KeyLength(HpkeAead aead) => aead switch
    {
        HpkeAead.Aes128Gcm => 16,
        HpkeAead.Aes256Gcm or HpkeAead.ChaCha20Poly1305 => 32,
        _ => 0,
    };

    /// <summary>Nn: the AEAD nonce length (0 for export-only).</summary>
    internal static int NonceLength(HpkeAead aead) => aead == HpkeAead.ExportOnly ? 0 : 12;

    // §5.1 KeySchedule with psk = psk_id = "" (base mode).
    private static HpkeContext KeySchedule(HpkeSuite suite, bool isSender, byte[] sharedSecret, ReadOnlySpan<byte> info)
    {
        var suiteId = HpkeLabels.HpkeSuiteId(suite);
        var pskIdHash = HpkeLabels.LabeledExtract(suiteId, [], "psk_id_hash"u8, []);
        var infoHash = HpkeLabels.LabeledExtract(suiteId, [], "info_hash"u8, info);
        byte[] context = [ModeBase, .. pskIdHash, .. infoHash];

        var secret = HpkeLabels.LabeledExtract(suiteId, sharedSecret, "secret"u8, []);
        CryptographicOperations.ZeroMemory(sharedSecret);
        var key = HpkeLabels.LabeledExpand(suiteId, secret, "key"u8, context, KeyLength(suite.Aead));
        var baseNonce = HpkeLabels.LabeledExpand(suiteId, secret, "base_nonce"u8, context, NonceLength(suite.Aead));
        var exporterSecret = HpkeLabels.LabeledExpand(suiteId, secret, "exp"u8, context, HpkeLabels.HashLength);
        CryptographicOperations.ZeroMemory(secret);
        return new HpkeContext(suite, isSender, key, baseNonce, exporterSecret);
    }

    private static void RequireSupported(HpkeSuite suite)
    {
        if (!suite.IsSupported)
        {
            throw new ArgumentException($"{suite} is not supported.", nameof(suite));
        }
    }
}

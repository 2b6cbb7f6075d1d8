// RFC 9180 §7.3: the AEADs, from the BCL. Nt = 16 for all three.
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;

namespace Mimi.Discovery.Privacy.Hpke;

/// <summary>One AEAD key: AES-GCM or ChaCha20-Poly1305 behind one Seal/TryOpen shape.</summary>
internal sealed class AeadCipher : IDisposable
{
    public const int TagLength = 16;

    private readonly AesGcm? _aes;
    private readonly ChaCha20Poly1305? _chacha;

    public AeadCipher(HpkeAead aead, ReadOnlySpan<byte> key)
    {
        if (key.Length != Hpke.KeyLength(aead))
        {
            throw new ArgumentException($"{aead} takes a {Hpke.KeyLength(aead)}-byte key.", nameof(key));
        }

        switch (aead)
        {
            case HpkeAead.Aes128Gcm or HpkeAead.Aes256Gcm:
                _aes = new AesGcm(key, TagLength);
                break;
            case HpkeAead.ChaCha20Poly1305:
                _chacha = new ChaCha20Poly1305(key);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(aead), aead, "Not an AEAD that can encrypt.");
        }
    }

    /// <summary>ciphertext || tag.</summary>
    public byte[] Seal(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> plaintext)
    {
        var output = new byte[plaintext.Length + TagLength];
        var ct = output.AsSpan(0, plaintext.Length);
        var tag = output.AsSpan(plaintext.Length);
        if (_aes is not null)
        {
            _aes.Encrypt(nonce, plaintext, ct, tag, associatedData);
        }
        else
        {
            _chacha!.Encrypt(nonce, plaintext, ct, tag, associatedData);
        }

        return output;
    }

    /// <summary>False when the input is shorter than a tag or does not authenticate.</summary>
    public bool TryOpen(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> ciphertext, [NotNullWhen(true)] out byte[]? plaintext)
    {
        plaintext = null;
        if (ciphertext.Length < TagLength)
        {
            return false;
        }

        var output = new byte[ciphertext.Length - TagLength];
        var ct = ciphertext[..output.Length];
        var tag = ciphertext[output.Length..];
        try
        {
            if (_aes is not null)
            {
                _aes.Decrypt(nonce, ct, tag, output, associatedData);
            }
            else
            {
                _chacha!.Decrypt(nonce, ct, tag, output, associatedData);
            }
        }
        catch (AuthenticationTagMismatchException)
        {
            return false;
        }

        plaintext = output;
        return true;
    }

    public void Dispose()
    {
        _aes?.Dispose();
        _chacha?.Dispose();
    }
}

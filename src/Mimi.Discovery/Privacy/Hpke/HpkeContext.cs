// RFC 9180 §5.2 (Seal, Open, ComputeNonce, sequence numbers) and §5.3 (Export).
using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;

namespace Mimi.Discovery.Privacy.Hpke;

/// <summary>
/// An HPKE encryption context made by <see cref="Hpke"/>: a sender's context seals, a recipient's opens,
/// both export. Each Seal or successful Open uses the next sequence number, so a context is not thread-safe.
/// </summary>
internal sealed class HpkeContext : IDisposable
{
    private readonly byte[] _key;
    private readonly byte[] _baseNonce;
    private readonly byte[] _exporterSecret;
    private readonly byte[] _suiteId;
    private readonly AeadCipher? _cipher;
    private ulong _sequence;

    internal HpkeContext(HpkeSuite suite, bool isSender, byte[] key, byte[] baseNonce, byte[] exporterSecret)
    {
        Suite = suite;
        IsSender = isSender;
        _key = key;
        _baseNonce = baseNonce;
        _exporterSecret = exporterSecret;
        _suiteId = HpkeLabels.HpkeSuiteId(suite);
        _cipher = suite.Aead == HpkeAead.ExportOnly ? null : new AeadCipher(suite.Aead, key);
    }

    /// <summary>The suite this context was set up with.</summary>
    public HpkeSuite Suite { get; }

    /// <summary>Whether this is the sender's side (Seal) rather than the recipient's (Open).</summary>
    public bool IsSender { get; }

    /// <summary>The sequence number the next Seal or Open will use.</summary>
    public ulong SequenceNumber => _sequence;

    internal ReadOnlySpan<byte> Key => _key;

    internal ReadOnlySpan<byte> BaseNonce => _baseNonce;

    internal ReadOnlySpan<byte> ExporterSecret => _exporterSecret;

    /// <summary>Encrypts <paramref name="plaintext"/> with the next nonce; returns ciphertext || tag.</summary>
    /// <exception cref="InvalidOperationException">This is a recipient's context, or the suite is export-only.</exception>
    /// <exception cref="ProtocolException{HpkeError}">The sequence number is exhausted.</exception>
    public byte[] Seal(ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> plaintext)
    {
        if (!IsSender)
        {
            throw new InvalidOperationException("A recipient's HPKE context cannot Seal.");
        }

        var cipher = Cipher;
        Span<byte> nonce = stackalloc byte[12];
        NextNonce(nonce);
        var output = cipher.Seal(nonce, associatedData, plaintext);
        _sequence++;
        return output;
    }

    /// <summary>Decrypts ciphertext || tag with the next nonce. Returns false, and keeps the sequence number, when authentication fails.</summary>
    /// <exception cref="InvalidOperationException">This is a sender's context, or the suite is export-only.</exception>
    /// <exception cref="ProtocolException{HpkeError}">The sequence number is exhausted.</exception>
    public bool TryOpen(ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> ciphertext, [NotNullWhen(true)] out byte[]? plaintext)
    {
        if (IsSender)
        {
            throw new InvalidOperationException("A sender's HPKE context cannot Open.");
        }

        var cipher = Cipher;
        Span<byte> nonce = stackalloc byte[12];
        NextNonce(nonce);
        if (!cipher.TryOpen(nonce, associatedData, ciphertext, out plaintext))
        {
            return false;
        }

        _sequence++;
        return true;
    }

    /// <summary>Export(exporter_context, L) (§5.3): a secret of <paramref name="length"/> bytes bound to this context.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="length"/> is negative or over 255 × 32.</exception>
    public byte[] Export(ReadOnlySpan<byte> exporterContext, int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, 255 * HpkeLabels.HashLength);
        return HpkeLabels.LabeledExpand(_suiteId, _exporterSecret, "sec"u8, exporterContext, length);
    }

    /// <summary>Overwrites the keys in memory.</summary>
    public void Dispose()
    {
        _cipher?.Dispose();
        CryptographicOperations.ZeroMemory(_key);
        CryptographicOperations.ZeroMemory(_baseNonce);
        CryptographicOperations.ZeroMemory(_exporterSecret);
    }

    private AeadCipher Cipher => _cipher ?? throw new InvalidOperationException("An export-only HPKE context cannot Seal or Open.");

    // ComputeNonce(seq) = base_nonce XOR I2OSP(seq, Nn); the 64-bit counter is the limit this implementation enforces.
    private void NextNonce(Span<byte> nonce)
    {
        if (_sequence == ulong.MaxValue)
        {
            throw new ProtocolException<HpkeError>(HpkeError.MessageLimitReached, "This HPKE context has used all its sequence numbers.");
        }

        nonce.Clear();
        BinaryPrimitives.WriteUInt64BigEndian(nonce[4..], _sequence);
        for (var i = 0; i < nonce.Length; i++)
        {
            nonce[i] ^= _baseNonce[i];
        }
    }
}

// RFC 9458 §4.3 (gateway side of request decapsulation) and §4.4 (response encapsulation).
using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using Mimi.Discovery.Privacy.Hpke;

namespace Mimi.Discovery.Privacy.Ohttp;

/// <summary>A gateway key: the published configuration and the private key that matches it.</summary>
internal sealed class OhttpGatewayKey
{
    /// <summary>Pairs a configuration with its key pair.</summary>
    /// <exception cref="ArgumentException">The key pair is for another KEM or another public key than the configuration.</exception>
    public OhttpGatewayKey(OhttpKeyConfig config, HpkeKeyPair keyPair)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(keyPair);
        if (keyPair.Kem != config.Kem || !keyPair.PublicKey.Span.SequenceEqual(config.PublicKey.Span))
        {
            throw new ArgumentException("The key pair does not match the key configuration's KEM and public key.", nameof(keyPair));
        }

        Config = config;
        KeyPair = keyPair;
    }

    /// <summary>The configuration clients encapsulate to.</summary>
    public OhttpKeyConfig Config { get; }

    /// <summary>The private key, owned by the caller.</summary>
    public HpkeKeyPair KeyPair { get; }
}

/// <summary>The Oblivious Gateway Resource's cryptography: opens <c>message/ohttp-req</c> and seals <c>message/ohttp-res</c>.</summary>
internal sealed class OhttpGateway
{
    /// <summary>The default largest encapsulated request accepted: 64 KiB.</summary>
    public const int DefaultMaxRequestLength = 64 << 10;

    private readonly Dictionary<byte, OhttpGatewayKey> _keys;
    private readonly int _maxRequestLength;

    /// <summary>Creates a gateway holding <paramref name="keys"/>.</summary>
    /// <param name="keys">The keys, each with a distinct key identifier.</param>
    /// <param name="maxRequestLength">The largest encapsulated request <see cref="DecapsulateRequest"/> accepts.</param>
    /// <exception cref="ArgumentException">Two keys share an identifier, or none is given.</exception>
    public OhttpGateway(IEnumerable<OhttpGatewayKey> keys, int maxRequestLength = DefaultMaxRequestLength)
    {
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxRequestLength);
        _keys = [];
        foreach (var key in keys)
        {
            if (!_keys.TryAdd(key.Config.KeyId, key))
            {
                throw new ArgumentException($"Two gateway keys share key identifier {key.Config.KeyId}.", nameof(keys));
            }
        }

        if (_keys.Count == 0)
        {
            throw new ArgumentException("A gateway needs at least one key.", nameof(keys));
        }

        _maxRequestLength = maxRequestLength;
    }

    /// <summary>The <c>application/ohttp-keys</c> body that publishes every key configuration, in key-identifier order.</summary>
    public byte[] EncodeKeyConfigs() => OhttpKeyConfig.EncodeList(_keys.Values.OrderBy(k => k.Config.KeyId).Select(k => k.Config));

    /// <summary>Opens an encapsulated request, for callers with no recovery; servers use <see cref="TryDecapsulateRequest"/>.</summary>
    /// <returns>The Binary HTTP request, and what is needed to seal the response to it.</returns>
    /// <exception cref="ProtocolException{OhttpError}">See <see cref="TryDecapsulateRequest"/>.</exception>
    public OhttpGatewayRequest DecapsulateRequest(ReadOnlySpan<byte> encapsulatedRequest) =>
        TryDecapsulateRequest(encapsulatedRequest, out var request, out var error) ? request : throw error.ToException();

    /// <summary>Opens an encapsulated request (RFC 9458 §4.3, gateway side); never throws for bad input.</summary>
    /// <param name="encapsulatedRequest">The <c>message/ohttp-req</c> body: key id, KEM, KDF, AEAD, enc, ciphertext.</param>
    /// <param name="request">The Binary HTTP request and what is needed to seal the response to it; the caller disposes it.</param>
    /// <param name="error">
    /// <see cref="OhttpError.TooLarge"/>, <see cref="OhttpError.Malformed"/>, <see cref="OhttpError.UnknownKeyId"/>,
    /// <see cref="OhttpError.UnsupportedSuite"/> (KEM other than the key's, or a KDF/AEAD the configuration does not offer)
    /// or <see cref="OhttpError.DecryptionFailed"/>, with a sentence.
    /// </param>
    /// <returns>Whether the request opened.</returns>
    public bool TryDecapsulateRequest(ReadOnlySpan<byte> encapsulatedRequest, [NotNullWhen(true)] out OhttpGatewayRequest? request, out ProtocolError<OhttpError> error)
    {
        request = null;
        if (encapsulatedRequest.Length > _maxRequestLength)
        {
            return Fail(OhttpError.TooLarge, $"The encapsulated request is {encapsulatedRequest.Length} bytes; the limit is {_maxRequestLength}.", out error);
        }

        if (encapsulatedRequest.Length < OhttpEncapsulation.HeaderLength)
        {
            return Fail(OhttpError.Malformed, "The encapsulated request is shorter than its 7-byte header.", out error);
        }

        var header = encapsulatedRequest[..OhttpEncapsulation.HeaderLength];
        if (!_keys.TryGetValue(header[0], out var key))
        {
            return Fail(OhttpError.UnknownKeyId, $"Key identifier {header[0]} is not one of this gateway's keys; fetch the current key configuration.", out error);
        }

        var suite = new HpkeSuite(
            (HpkeKem)BinaryPrimitives.ReadUInt16BigEndian(header[1..]),
            (HpkeKdf)BinaryPrimitives.ReadUInt16BigEndian(header[3..]),
            (HpkeAead)BinaryPrimitives.ReadUInt16BigEndian(header[5..]));
        var symmetric = new OhttpSymmetricSuite(suite.Kdf, suite.Aead);
        if (suite.Kem != key.Config.Kem || !key.Config.Suites.Contains(symmetric) || !symmetric.IsSupported)
        {
            return Fail(OhttpError.UnsupportedSuite, $"Key {header[0]} does not offer {suite}.", out error);
        }

        var encLength = OhttpKeyConfig.PublicKeyLength(suite.Kem);
        var body = encapsulatedRequest[OhttpEncapsulation.HeaderLength..];
        if (body.Length < encLength + AeadCipher.TagLength)
        {
            return Fail(OhttpError.Malformed, "The encapsulated request is shorter than its encapsulated key and authentication tag.", out error);
        }

        var enc = body[..encLength];
        HpkeContext context;
        try
        {
            context = Hpke.Hpke.SetupBaseReceiver(suite, enc, key.KeyPair, OhttpEncapsulation.RequestInfo(header));
        }
        catch (ProtocolException<HpkeError>)
        {
            return Fail(OhttpError.Malformed, "The encapsulated key is not a valid public key.", out error);
        }

        using (context)
        {
            if (!context.TryOpen([], body[encLength..], out var plaintext))
            {
                return Fail(OhttpError.DecryptionFailed, "The encapsulated request does not authenticate under this gateway key.", out error);
            }

            request = new OhttpGatewayRequest(plaintext, header[0], suite, enc.ToArray(), OhttpEncapsulation.ExportResponseSecret(context));
            error = default;
            return true;
        }
    }

    private static bool Fail(OhttpError code, string message, out ProtocolError<OhttpError> error)
    {
        error = new(code, message);
        return false;
    }
}

/// <summary>A decapsulated request: the Binary HTTP request, and the keys to seal exactly its response.</summary>
internal sealed class OhttpGatewayRequest : IDisposable
{
    private readonly byte[] _request;
    private readonly byte[] _enc;
    private readonly byte[] _exportedSecret;

    internal OhttpGatewayRequest(byte[] request, byte keyId, HpkeSuite suite, byte[] enc, byte[] exportedSecret)
    {
        _request = request;
        KeyId = keyId;
        Suite = suite;
        _enc = enc;
        _exportedSecret = exportedSecret;
    }

    /// <summary>The Binary HTTP request the client sent.</summary>
    public ReadOnlyMemory<byte> Request => _request;

    /// <summary>The gateway key the request was sealed to.</summary>
    public byte KeyId { get; }

    /// <summary>The HPKE suite the client chose.</summary>
    public HpkeSuite Suite { get; }

    /// <summary>Seals a Binary HTTP response under a fresh random response nonce: the <c>message/ohttp-res</c> body.</summary>
    public byte[] EncapsulateResponse(ReadOnlySpan<byte> binaryHttpResponse) =>
        EncapsulateResponse(binaryHttpResponse, RandomNumberGenerator.GetBytes(OhttpEncapsulation.ResponseNonceLength(Suite.Aead)));

    /// <summary>For the RFC 9458 Appendix A vector only: a chosen response nonce, which production must never reuse.</summary>
    internal byte[] EncapsulateResponse(ReadOnlySpan<byte> binaryHttpResponse, ReadOnlySpan<byte> responseNonce)
    {
        var (cipher, nonce) = OhttpEncapsulation.ResponseKeys(Suite, _exportedSecret, _enc, responseNonce);
        using (cipher)
        {
            return [.. responseNonce, .. cipher.Seal(nonce, [], binaryHttpResponse)];
        }
    }

    /// <summary>Overwrites the exported response secret.</summary>
    public void Dispose() => CryptographicOperations.ZeroMemory(_exportedSecret);
}

// RFC 9458 §4.3 (client side of request encapsulation) and §4.4 (response decapsulation).
using System.Diagnostics.CodeAnalysis;
using Mimi.Discovery.Privacy.Hpke;

namespace Mimi.Discovery.Privacy.Ohttp;

/// <summary>The client of an Oblivious HTTP gateway: seals <c>message/ohttp-req</c> bodies to one key configuration.</summary>
public sealed class OhttpClient
{
    /// <summary>The default largest encapsulated response accepted: 4 MiB of Binary HTTP (the largest padding bucket of a DP) plus the nonce and tag.</summary>
    public const int DefaultMaxResponseLength = (4 << 20) + 64;

    private readonly int _maxResponseLength;

    /// <summary>Creates a client for <paramref name="config"/> using <paramref name="suite"/>, or the first supported pair the configuration offers.</summary>
    /// <param name="config">The gateway's key configuration.</param>
    /// <param name="suite">The KDF/AEAD pair to use; it must be one the configuration offers.</param>
    /// <param name="maxResponseLength">The largest encapsulated response <see cref="OhttpClientRequest.DecapsulateResponse"/> accepts.</param>
    /// <exception cref="ProtocolException{OhttpError}"><see cref="OhttpError.UnsupportedSuite"/>: no usable pair, or <paramref name="suite"/> is not offered.</exception>
    public OhttpClient(OhttpKeyConfig config, OhttpSymmetricSuite? suite = null, int maxResponseLength = DefaultMaxResponseLength)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxResponseLength);
        var chosen = suite is { } wanted
            ? config.Suites.Contains(wanted) && wanted.IsSupported ? wanted : throw new ProtocolException<OhttpError>(OhttpError.UnsupportedSuite, "The key configuration does not offer this KDF/AEAD pair, or it is not supported.")
            : config.Suites.FirstOrDefault(s => s.IsSupported);
        if (!chosen.IsSupported)
        {
            throw new ProtocolException<OhttpError>(OhttpError.UnsupportedSuite, "The key configuration offers no KDF/AEAD pair this client supports.");
        }

        Config = config;
        Suite = new HpkeSuite(config.Kem, chosen.Kdf, chosen.Aead);
        _maxResponseLength = maxResponseLength;
    }

    /// <summary>The gateway key configuration requests are sealed to.</summary>
    public OhttpKeyConfig Config { get; }

    /// <summary>The HPKE suite in use.</summary>
    public HpkeSuite Suite { get; }

    /// <summary>Encapsulates a Binary HTTP request with a fresh ephemeral key.</summary>
    /// <returns>The request to send, which also decapsulates its response.</returns>
    /// <exception cref="ProtocolException{OhttpError}"><see cref="OhttpError.Malformed"/> if the configuration's public key is not a valid point.</exception>
    public OhttpClientRequest EncapsulateRequest(ReadOnlySpan<byte> binaryHttpRequest)
    {
        using var ephemeral = HpkeKeyPair.Generate(Suite.Kem);
        return EncapsulateRequest(binaryHttpRequest, ephemeral);
    }

    /// <summary>For the RFC 9458 Appendix A vector only: a chosen ephemeral key, which production must never reuse.</summary>
    internal OhttpClientRequest EncapsulateRequest(ReadOnlySpan<byte> binaryHttpRequest, HpkeKeyPair ephemeral)
    {
        var header = OhttpEncapsulation.Header(Config.KeyId, Suite);
        HpkeContext context;
        byte[] enc;
        try
        {
            context = Hpke.Hpke.SetupBaseSender(Suite, Config.PublicKey.Span, OhttpEncapsulation.RequestInfo(header), ephemeral, out enc);
        }
        catch (ProtocolException<HpkeError> e)
        {
            throw new ProtocolException<OhttpError>(OhttpError.Malformed, "The key configuration's public key is not valid for its KEM.", e);
        }

        using (context)
        {
            var ciphertext = context.Seal([], binaryHttpRequest);
            byte[] encapsulated = [.. header, .. enc, .. ciphertext];

            // The response keys come from this context's exporter, so keep only the exported material.
            return new OhttpClientRequest(encapsulated, enc, context, _maxResponseLength);
        }
    }
}

/// <summary>One encapsulated request: its bytes to send, and what is needed to open the gateway's answer.</summary>
public sealed class OhttpClientRequest
{
    private readonly byte[] _encapsulatedRequest;
    private readonly byte[] _enc;
    private readonly HpkeSuite _suite;
    private readonly byte[] _exportedSecret;
    private readonly int _maxResponseLength;

    internal OhttpClientRequest(byte[] encapsulatedRequest, byte[] enc, HpkeContext context, int maxResponseLength)
    {
        _encapsulatedRequest = encapsulatedRequest;
        _enc = enc;
        _suite = context.Suite;
        _maxResponseLength = maxResponseLength;
        _exportedSecret = OhttpEncapsulation.ExportResponseSecret(context);
    }

    /// <summary>The <c>message/ohttp-req</c> body: header || enc || ciphertext.</summary>
    public ReadOnlyMemory<byte> EncapsulatedRequest => _encapsulatedRequest;

    /// <summary>Opens a <c>message/ohttp-res</c> body, for callers with no recovery.</summary>
    /// <returns>The Binary HTTP response inside.</returns>
    /// <exception cref="ProtocolException{OhttpError}">See <see cref="TryDecapsulateResponse"/>.</exception>
    public byte[] DecapsulateResponse(ReadOnlySpan<byte> encapsulatedResponse) =>
        TryDecapsulateResponse(encapsulatedResponse, out var response, out var error) ? response : throw error.ToException();

    /// <summary>Opens a <c>message/ohttp-res</c> body (RFC 9458 §4.4, client side); never throws for bad input.</summary>
    /// <param name="encapsulatedResponse">The body: response nonce, then the AEAD ciphertext and tag.</param>
    /// <param name="response">The Binary HTTP response inside.</param>
    /// <param name="error">
    /// <see cref="OhttpError.TooLarge"/> over the client's limit; <see cref="OhttpError.Malformed"/> shorter than nonce and tag;
    /// <see cref="OhttpError.DecryptionFailed"/> when it does not authenticate; with a sentence.
    /// </param>
    /// <returns>Whether the response opened.</returns>
    public bool TryDecapsulateResponse(ReadOnlySpan<byte> encapsulatedResponse, [NotNullWhen(true)] out byte[]? response, out ProtocolError<OhttpError> error)
    {
        response = null;
        error = default;
        if (encapsulatedResponse.Length > _maxResponseLength)
        {
            error = new(OhttpError.TooLarge, $"The encapsulated response is {encapsulatedResponse.Length} bytes; the limit is {_maxResponseLength}.");
            return false;
        }

        var nonceLength = OhttpEncapsulation.ResponseNonceLength(_suite.Aead);
        if (encapsulatedResponse.Length < nonceLength + AeadCipher.TagLength)
        {
            error = new(OhttpError.Malformed, "The encapsulated response is shorter than its nonce and authentication tag.");
            return false;
        }

        var (cipher, nonce) = OhttpEncapsulation.ResponseKeys(_suite, _exportedSecret, _enc, encapsulatedResponse[..nonceLength]);
        using (cipher)
        {
            if (!cipher.TryOpen(nonce, [], encapsulatedResponse[nonceLength..], out response))
            {
                error = new(OhttpError.DecryptionFailed, "The encapsulated response does not authenticate for this request.");
                return false;
            }

            return true;
        }
    }
}

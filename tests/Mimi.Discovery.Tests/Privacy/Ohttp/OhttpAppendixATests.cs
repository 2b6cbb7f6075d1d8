using System.Text.Json;
using Mimi.Discovery.Privacy.Hpke;
using Mimi.Discovery.Privacy.Ohttp;

namespace Mimi.Discovery.Tests.Privacy.Ohttp;

/// <summary>RFC 9458 Appendix A, "Complete Example of a Request and Response" (Vectors/Ohttp/rfc9458-appendix-a.json), byte for byte.</summary>
public class OhttpAppendixATests
{
    private static readonly JsonElement Vector = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Vectors", "Ohttp", "rfc9458-appendix-a.json"))).RootElement;

    private static byte[] Hex(string name) => Convert.FromHexString(Vector.GetProperty(name).GetString()!);

    private static OhttpGateway Gateway(out HpkeKeyPair serverKey)
    {
        serverKey = HpkeKeyPair.Import(HpkeKem.X25519HkdfSha256, Hex("server_x25519_secret_key"));
        return new OhttpGateway([new OhttpGatewayKey(OhttpKeyConfig.Decode(Hex("key_config")), serverKey)]);
    }

    [Fact]
    public void KeyConfig_AppendixA_DecodesAndReencodes()
    {
        var config = OhttpKeyConfig.Decode(Hex("key_config"));

        Assert.Equal(1, config.KeyId);
        Assert.Equal(HpkeKem.X25519HkdfSha256, config.Kem);
        Assert.Equal(Hex("server_x25519_public_key"), config.PublicKey.ToArray());
        Assert.Equal([new(HpkeKdf.HkdfSha256, HpkeAead.Aes128Gcm), new(HpkeKdf.HkdfSha256, HpkeAead.ChaCha20Poly1305)], config.Suites);
        Assert.Equal(Hex("key_config"), config.Encode());
        using var serverKey = HpkeKeyPair.Import(HpkeKem.X25519HkdfSha256, Hex("server_x25519_secret_key"));
        Assert.Equal(Hex("server_x25519_public_key"), serverKey.PublicKey.ToArray());
    }

    [Fact]
    public void EncapsulateRequest_AppendixA_ReproducesBytes()
    {
        var client = new OhttpClient(OhttpKeyConfig.Decode(Hex("key_config")));
        using var ephemeral = HpkeKeyPair.Import(HpkeKem.X25519HkdfSha256, Hex("client_ephemeral_secret_key"));

        var request = client.EncapsulateRequest(Hex("request_bhttp"), ephemeral);

        Assert.Equal(Hex("client_ephemeral_public_key"), ephemeral.PublicKey.ToArray());
        Assert.Equal(Hex("encapsulated_request"), request.EncapsulatedRequest.ToArray());
    }

    [Fact]
    public void DecapsulateRequest_AppendixA_RecoversRequestAndSealsResponseBytes()
    {
        var gateway = Gateway(out var serverKey);
        using (serverKey)
        {
            using var request = gateway.DecapsulateRequest(Hex("encapsulated_request"));

            Assert.Equal(Hex("request_bhttp"), request.Request.ToArray());
            Assert.Equal(1, request.KeyId);
            Assert.Equal(new HpkeSuite(HpkeKem.X25519HkdfSha256, HpkeKdf.HkdfSha256, HpkeAead.Aes128Gcm), request.Suite);
            Assert.Equal(Hex("encapsulated_response"), request.EncapsulateResponse(Hex("response_bhttp"), Hex("response_nonce")));
        }
    }

    [Fact]
    public void ResponseKeys_AppendixA_MatchIntermediateValues()
    {
        var gateway = Gateway(out var serverKey);
        using (serverKey)
        {
            using var context = global::Mimi.Discovery.Privacy.Hpke.Hpke.SetupBaseReceiver(
                new HpkeSuite(HpkeKem.X25519HkdfSha256, HpkeKdf.HkdfSha256, HpkeAead.Aes128Gcm),
                Hex("client_ephemeral_public_key"), serverKey, Hex("hpke_info"));

            Assert.Equal(Hex("response_export_secret"), context.Export("message/bhttp response"u8, 16));
            Assert.True(context.TryOpen([], Hex("request_hpke_ciphertext"), out var request));
            Assert.Equal(Hex("request_bhttp"), request);
        }
    }

    [Fact]
    public void DecapsulateResponse_AppendixA_RecoversResponse()
    {
        var client = new OhttpClient(OhttpKeyConfig.Decode(Hex("key_config")));
        using var ephemeral = HpkeKeyPair.Import(HpkeKem.X25519HkdfSha256, Hex("client_ephemeral_secret_key"));
        var request = client.EncapsulateRequest(Hex("request_bhttp"), ephemeral);

        Assert.Equal(Hex("response_bhttp"), request.DecapsulateResponse(Hex("encapsulated_response")));
        var response = BinaryHttpResponse.Decode(Hex("response_bhttp"));
        Assert.Equal(200, response.StatusCode);
        var bhttpRequest = BinaryHttpRequest.Decode(Hex("request_bhttp"));
        Assert.Equal(("GET", "https", "example.com", "/"), (bhttpRequest.Method, bhttpRequest.Scheme, bhttpRequest.Authority, bhttpRequest.Path));
    }
}

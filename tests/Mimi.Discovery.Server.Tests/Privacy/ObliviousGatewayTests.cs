using System.Net;
using System.Net.Http.Headers;
using Mimi.Discovery.Client;
using Mimi.Discovery.Privacy.Ohttp;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Transparency;
using Mimi.Discovery.Verification;

namespace Mimi.Discovery.Server.Tests.Privacy;

/// <summary>The DP's Oblivious HTTP gateway, spoken to with real encapsulation (the relay's forwarding is tested on its own).</summary>
public sealed class ObliviousGatewayTests : IAsyncLifetime
{
    private const string Bob = "+33612345678";
    private DpHost _dp = null!;

    public async ValueTask InitializeAsync() => _dp = await DpHost.StartAsync();

    public async ValueTask DisposeAsync() => await _dp.DisposeAsync();

    private Uri Gateway => new(_dp.BaseAddress, "/.well-known/ohttp-gateway");

    private SocketsHttpHandler Transport() => TlsTrust.CreateHandler(TlsTrust.LoadRoots(Path.Combine(_dp.DataDirectory, "tls.crt")));

    private async Task<DiscoveryClient> ObliviousClientAsync(OhttpKeyConfig? key = null) =>
        new(new HttpClient(new ObliviousHttpHandler(Gateway, key ?? await ObliviousHttpHandler.FetchKeyAsync(_dp.Http), Transport())) { BaseAddress = _dp.BaseAddress });

    private async Task<HttpResponseMessage> PostAsync(byte[] body, string mediaType = "message/ohttp-req")
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);

        // The client waits for "100 Continue" before sending the body, so a body the DP refuses by its
        // length is never written into a connection the DP has closed (which would race the 413).
        using var request = new HttpRequestMessage(HttpMethod.Post, Gateway) { Content = content };
        request.Headers.ExpectContinue = true;
        return await _dp.Http.SendAsync(request);
    }

    [Fact]
    public async Task KeyConfigurations_AreServedAsOhttpKeys_AndNamedInTheMetadata()
    {
        var response = await _dp.Http.GetAsync(Gateway);
        Assert.Equal("application/ohttp-keys", response.Content.Headers.ContentType?.MediaType);
        var configs = OhttpKeyConfig.DecodeList(await response.Content.ReadAsByteArrayAsync());

        Assert.Equal(2, configs.Count);
        Assert.Contains(configs, c => c.Kem == Discovery.Privacy.Hpke.HpkeKem.X25519HkdfSha256);
        Assert.Contains(configs, c => c.Kem == Discovery.Privacy.Hpke.HpkeKem.P256HkdfSha256);
        var metadata = await _dp.Client.GetMetadataAsync();
        Assert.Equal(configs.Select(c => (int)c.KeyId), metadata.Ohttp!.KeyIds);
        Assert.Equal(Gateway.AbsoluteUri, metadata.Ohttp.Gateway);
    }

    [Fact]
    public async Task VerifiedLookup_ThroughTheGateway_IsTheSameAnswerWithProofs()
    {
        var bob = await _dp.RegisterAsync(Bob);
        await _dp.Client.PublishAsync(bob.Sign(1));
        var oblivious = await ObliviousClientAsync();
        var metadata = await oblivious.GetMetadataAsync();
        var check = new TransparencyCheck(TransparencyKeyset.FromWire(metadata.Transparency!)!, new TreeHeadMemory(), TimeSpan.FromDays(1), _dp.Time);

        var results = await oblivious.LookupAsync([Bob, "bob@example.com"], new StatementVerifier(TrustAnchors.FromPem(string.Join('\n', metadata.CredentialCas)), _dp.Time), null, check);

        Assert.Equal(LookupOutcome.Found, results[0].Outcome);
        Assert.True(results[0].Proof!.IsComplete, results[0].Proof!.Reason);
        Assert.Equal(LookupOutcome.None, results[1].Outcome);
        Assert.True(results[1].Proof!.IsComplete);

        var one = await (await ObliviousClientAsync()).LookupRawAsync([Bob]);
        Assert.Equal(LookupResultKinds.Found, one.Results[0].Result);
    }

    [Fact]
    public async Task OnlyLookupsAndMetadata_AreReachable()
    {
        var bob = await _dp.RegisterAsync(Bob);
        var oblivious = await ObliviousClientAsync();
        var e = await ProblemAssert.ThrowsAsync(404, "not-reachable-through-gateway", () => oblivious.PublishAsync(bob.Sign(1)));
        Assert.Contains("only lookups", e.Message, StringComparison.Ordinal);
        Assert.Equal(LookupResultKinds.None, (await _dp.Client.LookupRawAsync([Bob])).Results[0].Result);
    }

    [Fact]
    public async Task FoundAndNone_HaveTheSameEncapsulatedLength()
    {
        var bob = await _dp.RegisterAsync(Bob);
        await _dp.Client.PublishAsync(bob.Sign(1));
        var key = await ObliviousHttpHandler.FetchKeyAsync(_dp.Http);
        var lengths = new List<int>();
        foreach (var csi in new[] { Bob, "+33698765432" })
        {
            var client = new OhttpClient(key);
            var inner = new BinaryHttpRequest("GET", "https", _dp.BaseAddress.Authority, "/v1/lookup/" + Uri.EscapeDataString(csi));
            var sealedRequest = client.EncapsulateRequest(inner.Encode());
            var response = await PostAsync(sealedRequest.EncapsulatedRequest.ToArray());
            var body = await response.Content.ReadAsByteArrayAsync();
            lengths.Add(body.Length);
            Assert.Equal(200, BinaryHttpResponse.Decode(sealedRequest.DecapsulateResponse(body)).StatusCode);
        }

        Assert.Equal(lengths[0], lengths[1]);
    }

    [Fact]
    public async Task BadEncapsulations_AreRefusedWithTheirOwnCodes()
    {
        var key = await ObliviousHttpHandler.FetchKeyAsync(_dp.Http);
        var sealedRequest = new OhttpClient(key).EncapsulateRequest(new BinaryHttpRequest("GET", "https", "dp", "/.well-known/mimi-discovery").Encode()).EncapsulatedRequest.ToArray();

        await ProblemAssert.IsProblemAsync(await PostAsync(sealedRequest, "application/json"), 415, "unsupported-media-type");

        var unknown = (byte[])sealedRequest.Clone();
        unknown[0] = (byte)(unknown[0] + 100);
        await ProblemAssert.IsProblemAsync(await PostAsync(unknown), 422, "ohttp-key-unknown");

        var tampered = (byte[])sealedRequest.Clone();
        tampered[^1] ^= 1;
        await ProblemAssert.IsProblemAsync(await PostAsync(tampered), 400, "ohttp-decryption-failed");

        await ProblemAssert.IsProblemAsync(await PostAsync(sealedRequest[..5]), 400, "ohttp-malformed");
        await ProblemAssert.IsProblemAsync(await PostAsync(new byte[300 * 1024]), 413, "payload-too-large");

        var notBhttp = new OhttpClient(key).EncapsulateRequest("not binary http"u8);
        var response = await PostAsync(notBhttp.EncapsulatedRequest.ToArray());
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var inner = BinaryHttpResponse.Decode(notBhttp.DecapsulateResponse(await response.Content.ReadAsByteArrayAsync()));
        Assert.Equal(400, inner.StatusCode);
        Assert.Contains("bhttp-malformed", System.Text.Encoding.UTF8.GetString(inner.Content.Span), StringComparison.Ordinal);
    }

    [Fact]
    public async Task KeysRotate_OldOnesWorkThroughTheGrace_ThenAreRefused()
    {
        var old = await ObliviousHttpHandler.FetchKeyAsync(_dp.Http);
        _dp.Time.Advance(TimeSpan.FromDays(7) + TimeSpan.FromMinutes(1));

        var configs = OhttpKeyConfig.DecodeList(await (await _dp.Http.GetAsync(Gateway)).Content.ReadAsByteArrayAsync());
        Assert.Equal(4, configs.Count);
        Assert.NotEqual(old.KeyId, configs[0].KeyId);
        Assert.NotNull((await (await ObliviousClientAsync(old)).GetMetadataAsync()).Ohttp);

        _dp.Time.Advance(TimeSpan.FromDays(1));
        Assert.Equal(2, OhttpKeyConfig.DecodeList(await (await _dp.Http.GetAsync(Gateway)).Content.ReadAsByteArrayAsync()).Count);
        var e = await Assert.ThrowsAsync<DiscoveryException>(async () => await (await ObliviousClientAsync(old)).GetMetadataAsync());
        Assert.Equal("ohttp-key-unknown", e.Code);
    }
}

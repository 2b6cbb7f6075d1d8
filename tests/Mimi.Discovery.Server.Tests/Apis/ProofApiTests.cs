using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Mimi.Discovery.Credentials;
using Mimi.Discovery.Identifiers;

namespace Mimi.Discovery.Server.Tests.Apis;

public sealed class ProofApiTests : IAsyncLifetime
{
    private DpHost _dp = null!;

    public async ValueTask InitializeAsync() => _dp = await DpHost.StartAsync(o =>
    {
        o.MaxOutstandingPerCsi = 3;
        o.MaxSendsPerClientAndCsi = 2;
        o.MaxSendsPerClient = 6;
        o.MaxSendsGlobal = 8;
    });

    public ValueTask DisposeAsync() => _dp.DisposeAsync();

    private static Protocol.EcPublicJwk Jwk(ECDsa key)
    {
        var q = key.ExportParameters(false).Q;
        return new Protocol.EcPublicJwk("EC", "P-256", System.Buffers.Text.Base64Url.EncodeToString(q.X), System.Buffers.Text.Base64Url.EncodeToString(q.Y));
    }

    [Fact]
    public async Task StartAndAnswer_RightCode_IssuesCredentialForThatCsiAndKey()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var csi = CsiParser.ParseOrThrow("Bob@Example.com");

        var proof = await _dp.Client.StartProofAsync(csi, key);
        var message = Assert.Single(_dp.Outbox());
        Assert.Equal("mailto:bob@example.com", message.GetProperty("to").GetString());
        Assert.Equal("email", message.GetProperty("channel").GetString());
        Assert.Contains(message.GetProperty("code").GetString()!, message.GetProperty("text").GetString(), StringComparison.Ordinal);
        Assert.Equal("outbox", proof.Channel);
        Assert.Equal(csi.Uri, proof.Csi);

        var issued = await _dp.Client.AnswerProofAsync(proof.ProofId, _dp.LastCode());

        using var credential = X509Certificate2.CreateFromPem(issued.Credential);
        Assert.True(Credential.TryParse(credential, out var parsed, out var reason), reason);
        Assert.Equal(csi, parsed.Csi);
        Assert.Equal(Crypto.JwkThumbprint.Compute(key), parsed.KeyThumbprint);
        using var ca = X509Certificate2.CreateFromPem(issued.CaCertificate);
        Assert.Equal(ca.SubjectName.Name, credential.IssuerName.Name);
    }

    [Fact]
    public async Task Answer_UsedTwice_IsProofUsed()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var proof = await _dp.Client.StartProofAsync(CsiParser.ParseOrThrow("+33612345678"), key);
        var code = _dp.LastCode();
        await _dp.Client.AnswerProofAsync(proof.ProofId, code);

        await ProblemAssert.ThrowsAsync(410, "proof-used", () => _dp.Client.AnswerProofAsync(proof.ProofId, code));
    }

    [Fact]
    public async Task Answer_WrongCodes_CountDownThenExhaust()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var proof = await _dp.Client.StartProofAsync(CsiParser.ParseOrThrow("+33612345678"), key);
        var code = _dp.LastCode();
        var wrong = code == "000000" ? "000001" : "000000";

        for (var left = 4; left >= 0; left--)
        {
            var e = await ProblemAssert.ThrowsAsync(400, "code-mismatch", () => _dp.Client.AnswerProofAsync(proof.ProofId, wrong));
            Assert.Contains(left > 0 ? $"{left} attempt" : "no attempts", e.Detail, StringComparison.Ordinal);
        }

        // Even the right code no longer works once the attempts are spent.
        await ProblemAssert.ThrowsAsync(410, "attempts-exhausted", () => _dp.Client.AnswerProofAsync(proof.ProofId, code));
    }

    [Fact]
    public async Task Answer_AfterExpiry_IsProofExpired()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var proof = await _dp.Client.StartProofAsync(CsiParser.ParseOrThrow("+33612345678"), key);
        _dp.Time.Advance(TimeSpan.FromMinutes(11));

        await ProblemAssert.ThrowsAsync(410, "proof-expired", () => _dp.Client.AnswerProofAsync(proof.ProofId, _dp.LastCode()));
    }

    [Fact]
    public async Task Answer_UnknownProof_IsProofNotFound()
    {
        await ProblemAssert.ThrowsAsync(404, "proof-not-found", () => _dp.Client.AnswerProofAsync("no-such-proof", "123456"));
    }

    [Theory]
    [InlineData("""{"code":""}""", "invalid-request")]
    [InlineData("""{"code":"12345678901234567"}""", "invalid-request")]
    [InlineData("""{}""", "invalid-request")]
    [InlineData("""not json""", "invalid-request")]
    public async Task Answer_MalformedBody_IsInvalidRequest(string body, string code)
    {
        var response = await _dp.PostJsonAsync("v1/proofs/x/answer", body);
        await ProblemAssert.IsProblemAsync(response, 400, code);
    }

    [Theory]
    [InlineData("""{"csi":"not a csi","publicKey":{"kty":"EC","crv":"P-256","x":"a","y":"b"}}""", "invalid-csi")]
    [InlineData("""{"csi":"+1 200 555 0123","publicKey":{"kty":"EC","crv":"P-256","x":"a","y":"b"}}""", "invalid-csi")]
    [InlineData("""{"csi":"+33612345678","publicKey":{"kty":"EC","crv":"P-384","x":"a","y":"b"}}""", "invalid-public-key")]
    [InlineData("""{"csi":"+33612345678","publicKey":{"kty":"EC","crv":"P-256","x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","y":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}}""", "invalid-public-key")]
    [InlineData("""{"csi":"+33612345678"}""", "invalid-request")]
    [InlineData("""{"publicKey":{"kty":"EC"}}""", "invalid-request")]
    [InlineData("""[1,2,3]""", "invalid-request")]
    public async Task Start_BadInput_IsRejectedAndSendsNothing(string body, string code)
    {
        var response = await _dp.PostJsonAsync("v1/proofs", body);

        await ProblemAssert.IsProblemAsync(response, 400, code);
        Assert.Empty(_dp.Outbox());
    }

    [Fact]
    public async Task Start_NotJsonContentType_IsUnsupportedMediaType()
    {
        var response = await _dp.Http.PostAsync("v1/proofs", new StringContent("csi=+33612345678"));
        await ProblemAssert.IsProblemAsync(response, 415, "unsupported-media-type");
    }

    [Fact]
    public async Task Start_TooManyForOneCsiFromOneClient_IsRateLimitedAndSendsNothing()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var csi = CsiParser.ParseOrThrow("+33612345678");
        for (var i = 0; i < 2; i++)
        {
            await _dp.Client.StartProofAsync(csi, key);
        }

        var e = await ProblemAssert.ThrowsAsync(429, "rate-limited", () => _dp.Client.StartProofAsync(csi, key));
        Assert.Contains("for this identifier were requested from your address", e.Detail, StringComparison.Ordinal);
        Assert.Equal(2, _dp.Outbox().Count);

        // Another CSI is still served, and the window slides.
        await _dp.Client.StartProofAsync(CsiParser.ParseOrThrow("+33612345679"), key);
        _dp.Time.Advance(TimeSpan.FromMinutes(61));
        await _dp.Client.StartProofAsync(csi, key);
    }

    [Fact]
    public async Task Start_AttackerSpendsItsWholeAllowance_OwnerStillCompletesAProof()
    {
        using var ownerKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var attackerKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var victim = CsiParser.ParseOrThrow("+33612345678");
        using var attackerHttp = _dp.HttpFrom("127.0.0.2");
        var attacker = new Client.DiscoveryClient(attackerHttp);

        // The attacker asks for codes to the victim until it is refused, and keeps trying, before and
        // after the owner's start; the owner's start is not refused, and its code stays answerable.
        var sent = 0;
        async Task AttackAsync(int times)
        {
            for (var i = 0; i < times; i++)
            {
                try
                {
                    await attacker.StartProofAsync(victim, attackerKey);
                    sent++;
                }
                catch (Client.DiscoveryException e) when (e.Code == "rate-limited")
                {
                    Assert.Contains("from your address", e.Detail, StringComparison.Ordinal);
                }
            }
        }

        await AttackAsync(5);
        var proof = await _dp.Client.StartProofAsync(victim, ownerKey);
        var code = _dp.LastCode();
        await AttackAsync(5);

        Assert.Equal(2, sent);
        var issued = await _dp.Client.AnswerProofAsync(proof.ProofId, code);
        using var credential = X509Certificate2.CreateFromPem(issued.Credential);
        Assert.True(Credential.TryParse(credential, out var parsed, out var reason), reason);
        Assert.Equal(victim, parsed.Csi);
        Assert.Equal(Crypto.JwkThumbprint.Compute(ownerKey), parsed.KeyThumbprint);
    }

    [Fact]
    public async Task Start_CsiCapReached_IsRateLimitedForOneCodeLifetimeOnly()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var victim = CsiParser.ParseOrThrow("+33612345678");
        using var second = _dp.HttpFrom("127.0.0.2");
        using var third = _dp.HttpFrom("127.0.0.3");
        await _dp.Client.StartProofAsync(victim, key);
        await _dp.Client.StartProofAsync(victim, key);
        await new Client.DiscoveryClient(second).StartProofAsync(victim, key);

        // Three clients together reach the CSI's cap of outstanding codes (3): a fourth client waits,
        // at most one code lifetime (10 minutes), never the hour-long send window.
        var response = await third.PostAsJsonAsync("v1/proofs", new Protocol.ProofRequest(victim.Uri, Jwk(key)), Protocol.ProtocolJson.Default.ProofRequest);
        var detail = await ProblemAssert.IsProblemAsync(response, 429, "rate-limited");
        Assert.Contains("sent to this identifier recently", detail, StringComparison.Ordinal);
        Assert.InRange(response.Headers.RetryAfter!.Delta!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(10));
        Assert.Equal(3, _dp.Outbox().Count);

        _dp.Time.Advance(TimeSpan.FromMinutes(10));
        await new Client.DiscoveryClient(third).StartProofAsync(victim, key);
        Assert.Equal(4, _dp.Outbox().Count);
    }

    [Fact]
    public async Task Start_TooManyFromOneClient_IsRateLimited()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        for (var i = 0; i < 6; i++)
        {
            await _dp.Client.StartProofAsync(CsiParser.ParseOrThrow($"+3361234567{i}"), key);
        }

        var e = await ProblemAssert.ThrowsAsync(429, "rate-limited", () => _dp.Client.StartProofAsync(CsiParser.ParseOrThrow("+33612345677"), key));
        Assert.Contains("your address", e.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_GlobalLimit_IsRateLimited()
    {
        await using var dp = await DpHost.StartAsync(o => o.MaxSendsGlobal = 2);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        await dp.Client.StartProofAsync(CsiParser.ParseOrThrow("+33612345670"), key);
        await dp.Client.StartProofAsync(CsiParser.ParseOrThrow("+33612345671"), key);

        var e = await ProblemAssert.ThrowsAsync(429, "rate-limited", () => dp.Client.StartProofAsync(CsiParser.ParseOrThrow("+33612345672"), key));
        Assert.Contains("too many codes right now", e.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_NoChannelConfigured_IsChannelUnavailable()
    {
        await using var dp = await DpHost.StartAsync(o => o.Dev = false);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        await ProblemAssert.ThrowsAsync(501, "channel-unavailable", () => dp.Client.StartProofAsync(CsiParser.ParseOrThrow("+33612345678"), key));
        var metadata = await dp.Client.GetMetadataAsync();
        Assert.Empty(metadata.Channels);
    }

    [Fact]
    public async Task StoredCode_IsNeverInTheDatabaseInClear()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        await _dp.Client.StartProofAsync(CsiParser.ParseOrThrow("+33612345678"), key);
        var code = _dp.LastCode();

        var database = Path.Combine(_dp.DataDirectory, "mimi.db");
        var bytes = string.Concat(new[] { database, database + "-wal" }.Where(File.Exists).Select(f =>
        {
            using var stream = new FileStream(f, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream, System.Text.Encoding.Latin1);
            return reader.ReadToEnd();
        }));
        Assert.DoesNotContain(code, bytes, StringComparison.Ordinal);
    }
}

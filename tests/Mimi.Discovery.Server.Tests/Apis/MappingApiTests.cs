using System.Security.Cryptography;
using System.Text.Json;
using Mimi.Discovery.Credentials;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Statements;
using Mimi.Discovery.Verification;

namespace Mimi.Discovery.Server.Tests.Apis;

public sealed class MappingApiTests : IAsyncLifetime
{
    private DpHost _dp = null!;

    public async ValueTask InitializeAsync() => _dp = await DpHost.StartAsync(o => o.MaxLookupBatch = 10);

    public ValueTask DisposeAsync() => _dp.DisposeAsync();

    private async Task<string> StateAsync(string csi) => (await _dp.LookupJsonAsync(csi, "wire")).GetRawText();

    [Fact]
    public async Task Publish_ThenLookup_ReturnsTheStatementAsFound()
    {
        var bob = await _dp.RegisterAsync("+33612345678");
        var statement = bob.Sign(1);

        var receipt = await _dp.Client.PublishAsync(statement);

        Assert.Equal("tel:+33612345678", receipt.Csi);
        Assert.Equal(1, receipt.Version);
        Assert.Equal(bob.Signer.MappingIdFor(Audience.Any).ToString(), receipt.MappingId);
        var result = (await _dp.Client.LookupRawAsync(["+33 6 12 34 56 78"])).Results.Single();
        Assert.Equal(LookupResultKinds.Found, result.Result);
        Assert.Equal("tel:+33612345678", result.Csi);
        Assert.Equal([statement], result.Statements);
    }

    [Fact]
    public async Task Publish_SameOrLowerVersion_IsVersionNotNewerAndKeepsTheStoredOne()
    {
        var bob = await _dp.RegisterAsync("+33612345678");
        await _dp.Client.PublishAsync(bob.Sign(5));
        var before = await StateAsync("+33612345678");

        var e = await ProblemAssert.ThrowsAsync(409, "version-not-newer", () => _dp.Client.PublishAsync(bob.Sign(5)));
        Assert.Contains("sign version 6", e.Detail, StringComparison.Ordinal);
        await ProblemAssert.ThrowsAsync(409, "version-not-newer", () => _dp.Client.PublishAsync(bob.Sign(4)));

        Assert.Equal(before, await StateAsync("+33612345678"));
        Assert.Equal(6, (await _dp.Client.PublishAsync(bob.Sign(6))).Version);
    }

    [Fact]
    public async Task Publish_TamperedStatement_IsRejectedAndChangesNothing()
    {
        var bob = await _dp.RegisterAsync("+33612345678");
        var parts = bob.Sign(1).Split('.');
        var payload = System.Text.Encoding.UTF8.GetString(System.Buffers.Text.Base64Url.DecodeFromChars(parts[1])).Replace("@x", "@mallory", StringComparison.Ordinal);
        var forged = parts[0] + "." + System.Buffers.Text.Base64Url.EncodeToString(System.Text.Encoding.UTF8.GetBytes(payload)) + "." + parts[2];

        var e = await ProblemAssert.ThrowsAsync(422, "statement-rejected", () => _dp.Client.PublishAsync(forged));
        Assert.Contains("BadSignature", e.Detail, StringComparison.Ordinal);
        Assert.Equal(LookupResultKinds.None, (await _dp.LookupJsonAsync("+33612345678")).GetProperty("result").GetString());
    }

    [Theory]
    [InlineData("""{"statement":"garbage"}""", 422, "statement-rejected")]
    [InlineData("""{"statement":null}""", 400, "invalid-request")]
    [InlineData("""{}""", 400, "invalid-request")]
    [InlineData("""{"statement":1}""", 400, "invalid-request")]
    public async Task Publish_MalformedBody_IsRejected(string body, int status, string code)
    {
        await ProblemAssert.IsProblemAsync(await _dp.PostJsonAsync("v1/mappings", body), status, code);
    }

    [Fact]
    public async Task Publish_OversizedBody_IsPayloadTooLarge()
    {
        var body = $$"""{"statement":"{{new string('A', 300 * 1024)}}"}""";
        await ProblemAssert.IsProblemAsync(await _dp.PostJsonAsync("v1/mappings", body), 413, "payload-too-large");
    }

    [Fact]
    public async Task Publish_StatementBeyondStatementLimit_IsStatementTooLarge()
    {
        var body = $$"""{"statement":"{{new string('A', 20 * 1024)}}"}""";
        await ProblemAssert.IsProblemAsync(await _dp.PostJsonAsync("v1/mappings", body), 413, "statement-too-large");
    }

    [Fact]
    public async Task Publish_CredentialFromAnotherCa_IsIssuerNotAccepted()
    {
        using var foreign = CredentialAuthority.Create("Foreign CA", TimeSpan.FromDays(30), _dp.Time);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var csi = Identifiers.CsiParser.ParseOrThrow("+33612345678");
        var signer = new StatementSigner(key, foreign.IssueCredential(csi, key), time: _dp.Time);

        await ProblemAssert.ThrowsAsync(403, "issuer-not-accepted", () => _dp.Client.PublishAsync(signer.SignMapping(new MappingDraft(csi, 1, []))));
    }

    [Fact]
    public async Task Publish_AcceptedExtraCa_IsStored()
    {
        // One clock for the partner CA and the DP: a credential issued on the wall clock after the
        // DP's fake clock was set would not yet be valid when the DP's start-up crosses a second.
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        using var partner = CredentialAuthority.Create("Partner CA", TimeSpan.FromDays(30), clock);
        var pem = Path.GetTempFileName();
        await File.WriteAllTextAsync(pem, partner.ExportCertificatePem());
        await using var dp = await DpHost.StartAsync(o => o.AcceptedCaFiles.Add(pem), clock: clock);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var csi = Identifiers.CsiParser.ParseOrThrow("+33612345678");
        var signer = new StatementSigner(key, partner.IssueCredential(csi, key), time: dp.Time);

        Assert.Equal(1, (await dp.Client.PublishAsync(signer.SignMapping(new MappingDraft(csi, 1, [])))).Version);
    }

    // The same JWS with S replaced by n - S (P-256 order n), as a signer that does not normalise makes it.
    private static string OtherS(string jws)
    {
        var order = System.Numerics.BigInteger.Parse("115792089210356248762697446949407573529996955224135760342422259061068512044369", System.Globalization.CultureInfo.InvariantCulture);
        var dot = jws.LastIndexOf('.');
        var signature = System.Buffers.Text.Base64Url.DecodeFromChars(jws.AsSpan(dot + 1));
        var s = order - new System.Numerics.BigInteger(signature.AsSpan(32), isUnsigned: true, isBigEndian: true);
        Array.Clear(signature, 32, 32);
        s.TryWriteBytes(signature.AsSpan(64 - s.GetByteCount(isUnsigned: true)), out _, isUnsigned: true, isBigEndian: true);
        return jws[..(dot + 1)] + System.Buffers.Text.Base64Url.EncodeToString(signature);
    }

    [Fact]
    public async Task Publish_HighSSignature_IsAcceptedAndStoredInLowSForm()
    {
        var bob = await _dp.RegisterAsync("+33612345678");
        var low = bob.Sign(1);
        var high = OtherS(low);

        Assert.Equal(1, (await _dp.Client.PublishAsync(high)).Version);

        // Served (and committed to the log) in the one canonical form, whichever form was sent.
        var found = (await _dp.Client.LookupRawAsync(["+33612345678"])).Results.Single();
        Assert.Equal(low, Assert.Single(found.Statements));
        await ProblemAssert.ThrowsAsync(409, "version-not-newer", () => _dp.Client.PublishAsync(low));
    }

    [Fact]
    public async Task Lookup_FullWidthDigitsAndExtension_AreReadAsLibphonenumberReadsThem()
    {
        var results = (await _dp.Client.LookupRawAsync(["＋１ ２０１ ５５５ ０１２３", "+1 201 555 0123 ext. 5"])).Results;

        Assert.Equal("tel:+12015550123", results[0].Csi);
        Assert.Equal(LookupResultKinds.None, results[0].Result);
        Assert.Equal(LookupResultKinds.Invalid, results[1].Result);
        Assert.Contains("extension", results[1].Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Lookup_TwoKeys_ReturnsBothMappings()
    {
        var phone = await _dp.RegisterAsync("+33612345678");
        var laptop = await _dp.RegisterAsync("+33612345678");
        await _dp.Client.PublishAsync(phone.Sign(1));
        await _dp.Client.PublishAsync(laptop.Sign(1, [new MspEntry("matrix.org") { Account = "@bob:m" }]));

        var result = (await _dp.Client.LookupRawAsync(["+33612345678"])).Results.Single();

        Assert.Equal(2, result.Statements.Count);
        Assert.Equal(LookupResultKinds.Found, result.Result);
    }

    [Fact]
    public async Task Lookup_OptOutOnly_IsOptedOut_AndOneFoundMakesItFound()
    {
        var a = await _dp.RegisterAsync("bob@example.com");
        await _dp.Client.PublishAsync(a.Sign(1, []));
        Assert.Equal(LookupResultKinds.OptedOut, (await _dp.LookupJsonAsync("bob@example.com")).GetProperty("result").GetString());

        var b = await _dp.RegisterAsync("bob@example.com");
        await _dp.Client.PublishAsync(b.Sign(1));
        Assert.Equal(LookupResultKinds.Found, (await _dp.LookupJsonAsync("bob@example.com")).GetProperty("result").GetString());
    }

    [Fact]
    public async Task Lookup_Audiences_AreMatchedAgainstTheQueryingService()
    {
        var bob = await _dp.RegisterAsync("+33612345678");
        await _dp.Client.PublishAsync(bob.Sign(1, [new MspEntry("wire")], Audience.SameService));
        await _dp.Client.PublishAsync(bob.Sign(1, [new MspEntry("signal")], Audience.Only(["threema", "signal"])));

        async Task<int> CountAsync(string? service) => (await _dp.Client.LookupRawAsync(["+33612345678"], service)).Results.Single().Statements.Count;

        Assert.Equal(0, await CountAsync(null));
        Assert.Equal(1, await CountAsync("wire"));
        Assert.Equal(1, await CountAsync("threema"));
        Assert.Equal(1, await CountAsync("signal"));
        Assert.Equal(0, await CountAsync("matrix.org"));
    }

    [Fact]
    public async Task Lookup_BatchWithInvalidEntries_AnswersEachInOrder()
    {
        var response = await _dp.Client.LookupRawAsync(["+33612345678", "nonsense", "bob@example.com"]);

        Assert.Equal(["none", "invalid", "none"], response.Results.Select(r => r.Result));
        Assert.NotNull(response.Results[1].Reason);
        Assert.Null(response.Results[1].Csi);
    }

    [Fact]
    public async Task Lookup_BatchOverLimit_IsBatchTooLarge()
    {
        var csis = Enumerable.Range(0, 11).Select(i => $"+3361234567{i % 10}").ToArray();
        await ProblemAssert.ThrowsAsync(413, "batch-too-large", () => _dp.Client.LookupRawAsync(csis));
    }

    [Theory]
    [InlineData("""{"csis":[]}""")]
    [InlineData("""{"csis":null}""")]
    [InlineData("""{"csis":["+33612345678"],"service":"Not A Service"}""")]
    [InlineData("""{"csis":[null]}""")]
    [InlineData("""{"csis":["+33612345678"],"knownTreeSize":"3"}""")]
    [InlineData("""{"csis":["+33612345678"],"knownTreeSize":1.5}""")]
    public async Task Lookup_BadRequest_IsInvalidRequest(string body)
    {
        await ProblemAssert.IsProblemAsync(await _dp.PostJsonAsync("v1/lookup", body), 400, "invalid-request");
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(0)]
    [InlineData(long.MinValue)]
    public async Task Lookup_KnownTreeSizeBelowOne_IsInvalidKnownTreeSize(long size)
    {
        var body = FormattableString.Invariant($$"""{"csis":["+33612345678"],"knownTreeSize":{{size}}}""");

        var detail = await ProblemAssert.IsProblemAsync(await _dp.PostJsonAsync("v1/lookup", body), 400, "invalid-known-tree-size");

        Assert.Contains("knownTreeSize", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LookupOne_ByPath_ReturnsTheSameAnswer()
    {
        var bob = await _dp.RegisterAsync("+33612345678");
        await _dp.Client.PublishAsync(bob.Sign(1));

        var body = await _dp.Http.GetStringAsync("v1/lookup/" + Uri.EscapeDataString("tel:+33612345678") + "?service=wire");

        var result = JsonDocument.Parse(body).RootElement.GetProperty("results")[0];
        Assert.Equal("found", result.GetProperty("result").GetString());
    }

    [Fact]
    public async Task Lookup_ExpiredStatement_IsNoLongerReturned()
    {
        var bob = await _dp.RegisterAsync("+33612345678");
        await _dp.Client.PublishAsync(bob.Signer.SignMapping(new MappingDraft(bob.Csi, 1, []) { ExpiresAt = _dp.Time.GetUtcNow().AddHours(1) }));
        _dp.Time.Advance(TimeSpan.FromHours(2));

        Assert.Equal("none", (await _dp.LookupJsonAsync("+33612345678")).GetProperty("result").GetString());
    }

    [Fact]
    public async Task VerifiedLookup_ClientChecksEverything()
    {
        var bob = await _dp.RegisterAsync("+33612345678");
        await _dp.Client.PublishAsync(bob.Sign(1));
        var anchors = TrustAnchors.FromPem(string.Join('\n', (await _dp.Client.GetMetadataAsync()).CredentialCas));

        var verified = await _dp.Client.LookupAsync(["+33612345678", "bob@example.com"], new StatementVerifier(anchors, _dp.Time));

        Assert.Equal(Client.LookupOutcome.Found, verified[0].Outcome);
        Assert.False(verified[0].Inconsistent);
        Assert.Equal("wire", verified[0].EntriesByPreference.Single().Entry.Service);
        Assert.Equal(Client.LookupOutcome.None, verified[1].Outcome);

        // A sender who trusts another CA sees the statements refused, and the answer flagged.
        using var other = CredentialAuthority.Create("Other", TimeSpan.FromDays(1));
        var strict = await _dp.Client.LookupAsync(["+33612345678"], new StatementVerifier(new TrustAnchors([other.Certificate]), _dp.Time));
        Assert.Equal(Client.LookupOutcome.None, strict[0].Outcome);
        Assert.True(strict[0].Inconsistent);
        Assert.Equal(VerificationStatus.UntrustedIssuer, strict[0].Rejected.Single().Status);
    }
}

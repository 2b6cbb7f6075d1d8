using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Mimi.Discovery.Client;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Statements;
using Mimi.Discovery.Transparency;
using Mimi.Discovery.Verification;

namespace Mimi.Discovery.Server.Tests.Mappings;

/// <summary>
/// The recipient journeys of the requirements draft's appendix B, end to end over HTTPS against a
/// real DP: Bob publishes, senders look him up and verify the answer with its completeness proof.
/// </summary>
public sealed class RecipientJourneyTests : IAsyncLifetime
{
    private DpHost _dp = null!;

    public async ValueTask InitializeAsync() => _dp = await DpHost.StartAsync();

    public ValueTask DisposeAsync() => _dp.DisposeAsync();

    /// <summary>Looks <paramref name="csi"/> up as a sender of <paramref name="service"/> would, verified and proven complete.</summary>
    private async Task<VerifiedLookup> LookupAsync(string csi, string? service)
    {
        var metadata = await _dp.Client.GetMetadataAsync();
        var verifier = new StatementVerifier(TrustAnchors.FromPem(string.Join('\n', metadata.CredentialCas)), _dp.Clock);
        var check = new TransparencyCheck(TransparencyKeyset.FromWire(metadata.Transparency!)!, new TreeHeadMemory(), TimeSpan.FromDays(1), _dp.Clock);
        var answer = (await _dp.Client.LookupAsync([csi], verifier, service, check)).Single();
        Assert.True(answer.Proof?.IsComplete, answer.Proof?.Reason);
        Assert.False(answer.Inconsistent, string.Join("; ", answer.Rejected.Select(r => r.Reason)));
        return answer;
    }

    /// <summary>A statement signed by hand, for content an honest signer refuses to write.</summary>
    private static string Craft(DpHost.Recipient bob, string entriesJson, DateTimeOffset now, string audienceJson = "\"any\"", string extra = "")
    {
        static string B64(string json) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(json));
        var header = $$"""{"alg":"ES256","typ":"mimi-mapping+jws","x5c":["{{Convert.ToBase64String(bob.Credential.RawData)}}"]}""";
        var payload = $$"""{"csi":"{{bob.Csi.Uri}}","ver":1,"iat":{{now.ToUnixTimeSeconds()}},"exp":{{now.ToUnixTimeSeconds() + 3600}},"supersede":false,"audience":{{audienceJson}},"entries":{{entriesJson}}{{extra}}}""";
        var input = B64(header) + "." + B64(payload);
        return input + "." + Base64Url.EncodeToString(bob.Key.SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256));
    }

    [Fact]
    public async Task Journey7_TagsAsPeopleWriteThem_RoundTripAndMatchIgnoringCase()
    {
        var bob = await _dp.RegisterAsync("+33612345678");
        await _dp.Client.PublishAsync(bob.Sign(1,
        [
            new MspEntry("wire") { Account = "@bob", Priority = 20, Tags = ["Business"] },
            new MspEntry("whatsapp") { Account = "+33612345678", Priority = 10, Tags = ["Basketball Friends", "Personal"] },
        ]));

        var answer = await LookupAsync("+33612345678", "wire");

        var entries = answer.Mappings.Single().Entries;
        Assert.Equal(["Business"], entries.Single(e => e.Service == "wire").Tags);
        Assert.Equal(["Basketball Friends", "Personal"], entries.Single(e => e.Service == "whatsapp").Tags);
        Assert.True(entries.Single(e => e.Service == "wire").HasTag("business"));
    }

    [Theory]
    [InlineData("Cafe\u0301")]
    [InlineData("Busi\u200Bness")]
    [InlineData("Default")]
    public async Task Publish_InvalidTag_IsInvalidTagAndChangesNothing(string tag)
    {
        var bob = await _dp.RegisterAsync("+33612345678");
        var statement = Craft(bob, $$"""[{"service":"wire","priority":1,"tags":["{{tag}}"]}]""", _dp.Clock.GetUtcNow());

        var e = await ProblemAssert.ThrowsAsync(422, "invalid-tag", () => _dp.Client.PublishAsync(statement));

        Assert.Contains("tags of 'wire'", e.Detail, StringComparison.Ordinal);
        Assert.Equal(LookupResultKinds.None, (await _dp.LookupJsonAsync("+33612345678")).GetProperty("result").GetString());
    }

    [Fact]
    public async Task Journey1_OnlyFromWhatsApp_OtherServicesAndAnonymousSendersFindNothing()
    {
        var bob = await _dp.RegisterAsync("+33612345678");
        await _dp.Client.PublishAsync(bob.Sign(1, [new MspEntry("whatsapp") { Account = "+33612345678", Priority = 10 }], Audience.Only(["whatsapp"])));

        Assert.Equal("whatsapp", (await LookupAsync("+33612345678", "whatsapp")).EntriesByPreference.Single().Entry.Service);
        Assert.Equal(LookupOutcome.None, (await LookupAsync("+33612345678", "wire")).Outcome);
        Assert.Equal(LookupOutcome.None, (await LookupAsync("+33612345678", null)).Outcome);
    }

    [Fact]
    public async Task Journey2_SameApp_EachSenderSeesOnlyItsOwnServiceAndTheAnswerIsProvenComplete()
    {
        var bob = await _dp.RegisterAsync("+33612345678");
        await _dp.Client.PublishAsync(bob.Sign(1,
        [
            new MspEntry("wire") { Account = "@bob", Priority = 10, Audience = Audience.SameService },
            new MspEntry("signal") { Account = "+33612345678", Priority = 20, Audience = Audience.SameService },
        ]));

        var wire = await LookupAsync("+33612345678", "wire");
        var signal = await LookupAsync("+33612345678", "signal");
        var matrix = await LookupAsync("+33612345678", "matrix.org");

        Assert.Equal(["wire"], wire.EntriesByPreference.Select(p => p.Entry.Service));
        Assert.Equal(["signal"], signal.EntriesByPreference.Select(p => p.Entry.Service));
        Assert.Equal(LookupOutcome.Found, wire.Outcome);
        Assert.Equal(LookupOutcome.None, matrix.Outcome);
        Assert.Equal(LookupOutcome.None, (await LookupAsync("+33612345678", null)).Outcome);
    }

    [Fact]
    public async Task Journey2_PublicAndSameAppEntries_CommittedUnderBothLabelsAndReturnedOnce()
    {
        var bob = await _dp.RegisterAsync("+33612345678");
        var statement = bob.Sign(1,
        [
            new MspEntry("matrix.org") { Account = "@bob:matrix.example", Priority = 30 },
            new MspEntry("wire") { Account = "@bob", Priority = 10, Audience = Audience.SameService },
        ]);
        await _dp.Client.PublishAsync(statement);

        var raw = (await _dp.Client.LookupRawAsync(["+33612345678"], "wire")).Results.Single();
        var wire = await LookupAsync("+33612345678", "wire");
        var anonymous = await LookupAsync("+33612345678", null);

        Assert.Equal([statement], raw.Statements);
        Assert.Equal(["any", "svc:wire"], raw.Labels!.Select(l => l.Scope));
        Assert.All(raw.Labels!, l => Assert.Equal([statement], l.Statements));
        Assert.Equal(["wire", "matrix.org"], wire.EntriesByPreference.Select(p => p.Entry.Service));
        Assert.Equal(["matrix.org"], anonymous.EntriesByPreference.Select(p => p.Entry.Service));
    }

    [Fact]
    public async Task Lookup_DpHidesTheServiceLabelsStatement_IsNotProvenComplete()
    {
        var bob = await _dp.RegisterAsync("+33612345678");
        await _dp.Client.PublishAsync(bob.Sign(1, [new MspEntry("wire") { Account = "@bob", Priority = 10, Audience = Audience.SameService }]));
        var metadata = await _dp.Client.GetMetadataAsync();
        var response = await _dp.Client.LookupRawAsync(["+33612345678"], "wire");
        var hidden = response with { Results = [response.Results[0] with { Statements = [], Result = LookupResultKinds.None }] };

        var verified = DiscoveryClient.Verify(hidden, ["+33612345678"], new StatementVerifier(TrustAnchors.FromPem(string.Join('\n', metadata.CredentialCas)), _dp.Clock), "wire",
            new TransparencyCheck(TransparencyKeyset.FromWire(metadata.Transparency!)!, new TreeHeadMemory(), TimeSpan.FromDays(1), _dp.Clock), _dp.BaseAddress, null).Single();

        Assert.Equal(ProofStatus.SetMismatch, verified.Proof!.Status);
    }

    [Fact]
    public async Task Publish_EntryAudienceInARestrictedStatement_IsRejectedAndChangesNothing()
    {
        var bob = await _dp.RegisterAsync("+33612345678");
        var forged = Craft(bob, """[{"service":"wire","priority":1,"tags":[],"audience":"same-service"}]""", _dp.Clock.GetUtcNow(), """["wire"]""");

        var e = await ProblemAssert.ThrowsAsync(422, "statement-rejected", () => _dp.Client.PublishAsync(forged));

        Assert.Contains("must be 'any'", e.Detail, StringComparison.Ordinal);
        Assert.Equal(LookupResultKinds.None, (await _dp.LookupJsonAsync("+33612345678", "wire")).GetProperty("result").GetString());
    }

    [Fact]
    public async Task Journeys3And4_TenRoutes_EverySenderDevicePicksTheSameOne()
    {
        var bob = await _dp.RegisterAsync("+33612345678");
        await _dp.Client.PublishAsync(bob.Sign(1, Enumerable.Range(0, 10).Select(i => new MspEntry("svc" + i) { Account = "@bob" + i, Priority = 10 }).ToList()));

        // Two devices of one sender, each with its own lookup: one route, the same.
        var picks = new List<Route>();
        for (var device = 0; device < 2; device++)
        {
            picks.Add(RoutePicker.Pick((await LookupAsync("+33612345678", null)).Routes(), new RoutePreferences { TieBreakSeed = "alice" })!);
        }

        Assert.Equal(picks[0].Entry, picks[1].Entry);
        Assert.Equal(10, (await LookupAsync("+33612345678", null)).Routes().Count);
    }

    [Fact]
    public async Task Journey7_BusinessContacts_PickWireOthersTheDefault()
    {
        var bob = await _dp.RegisterAsync("+33612345678");
        await _dp.Client.PublishAsync(bob.Sign(1,
        [
            new MspEntry("wire") { Account = "@bob", Priority = 20, Tags = ["Business"] },
            new MspEntry("whatsapp") { Account = "+33612345678", Priority = 10, Tags = ["default", "Personal"] },
        ]));
        var routes = (await LookupAsync("+33612345678", null)).Routes();

        Assert.Equal("wire", RoutePicker.Pick(routes, new RoutePreferences { Context = ["business"] })!.Entry.Service);
        Assert.Equal("whatsapp", RoutePicker.Pick(routes)!.Entry.Service);
        Assert.Equal("wire", RoutePicker.Pick(routes, new RoutePreferences { Services = ["wire"] })!.Entry.Service);
    }

    /// <summary>Every text <paramref name="raw"/> holds, with each compact JWS in it decoded (header and payload), so plaintext is found even inside base64url.</summary>
    private static string Readable(string raw) =>
        raw + string.Concat(System.Text.RegularExpressions.Regex.Matches(raw, "eyJ[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+").Select(m =>
            string.Join('\n', m.Value.Split('.').Select(part =>
            {
                try
                {
                    return Encoding.UTF8.GetString(Base64Url.DecodeFromChars(part));
                }
                catch (FormatException)
                {
                    return "";
                }
            }))));

    private async Task<string> DatabaseTextAsync()
    {
        // The DP's SQLite files read directly, and every stored statement decoded.
        var raw = new StringBuilder();
        foreach (var file in Directory.GetFiles(_dp.DataDirectory, "mimi.db*"))
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream, Encoding.Latin1);
            raw.Append(await reader.ReadToEndAsync());
        }

        return Readable(raw.ToString());
    }

    [Fact]
    public async Task Journeys5And6_SealedRoutes_OnlyKeyHoldersReadThemAndNoPlaintextAnywhereElse()
    {
        const string secretAccount = "+33699990000";
        var bob = await _dp.RegisterAsync("+33612345678");
        var parents = RouteKey.Create("soccer-parents", bob.Csi);
        var alice = RouteKey.Create("alice", bob.Csi);
        var carol = RouteKey.Create("carol", bob.Csi);
        var statement = bob.Signer.SignMapping(new MappingDraft(bob.Csi, 1, [new MspEntry("wire") { Account = "@bob", Priority = 20, Tags = ["Business"] }])
        {
            SealedRoutes =
            [
                new SealedRouteDraft(parents, [new MspEntry("whatsapp") { Account = secretAccount, Priority = 10 }]),
                new SealedRouteDraft(alice, [new MspEntry("signal") { Account = "+33699990001", Priority = 10 }]),
                new SealedRouteDraft(carol, [new MspEntry("threema") { Account = "BOBTHREEMA", Priority = 10 }]),
            ],
        });
        await _dp.Client.PublishAsync(statement);
        await _dp.Service<Mimi.Discovery.Server.Transparency.TransparencyLog>().SealAsync(default);

        var answer = await LookupAsync("+33612345678", null);

        // Journey 6: a soccer parent finds Bob on WhatsApp; a sender without the key on Wire only.
        Assert.Equal(["wire", "whatsapp"], answer.Routes([parents]).Select(r => r.Entry.Service));
        Assert.Equal(["wire"], answer.Routes().Select(r => r.Entry.Service));
        Assert.Equal("whatsapp", RoutePicker.Pick(answer.Routes([parents]))!.Entry.Service);
        // Journey 5: per sender, Alice's messages go to Signal and Carol's to Threema.
        Assert.Equal("signal", RoutePicker.Pick(answer.Routes([alice]))!.Entry.Service);
        Assert.Equal("threema", RoutePicker.Pick(answer.Routes([carol]))!.Entry.Service);
        // Three groups travel as four boxes of one size.
        Assert.Equal(4, answer.Mappings.Single().SealedRoutes.Count);

        // No plaintext of a sealed route in what a sender without the key received, in the DP's database, or in the log.
        var raw = await _dp.Http.GetStringAsync("v1/lookup/%2B33612345678");
        var log = new StringBuilder();
        var head = System.Text.Json.JsonDocument.Parse(await _dp.Http.GetStringAsync("v1/transparency/head")).RootElement.GetProperty("size").GetInt64();
        for (var epoch = 1; epoch <= head; epoch++)
        {
            log.Append(await _dp.Http.GetStringAsync(FormattableString.Invariant($"v1/transparency/epochs/{epoch}")));
        }

        log.Append(await _dp.Http.GetStringAsync("v1/transparency/history?csi=%2B33612345678&scope=any"));
        foreach (var (place, text) in new[] { ("lookup answer", Readable(raw)), ("database", await DatabaseTextAsync()), ("transparency log", Readable(log.ToString())) })
        {
            Assert.Contains("@bob", text, StringComparison.Ordinal);
            foreach (var secret in new[] { secretAccount, "whatsapp", "+33699990001", "BOBTHREEMA", "threema", "soccer-parents" })
            {
                Assert.False(text.Contains(secret, StringComparison.Ordinal), $"the {place} holds '{secret}'");
            }
        }
    }

    [Fact]
    public async Task Publish_SealedRoutesOnly_IsFoundNotOptedOut()
    {
        var bob = await _dp.RegisterAsync("+33612345678");
        var parents = RouteKey.Create("soccer-parents", bob.Csi);
        await _dp.Client.PublishAsync(bob.Signer.SignMapping(new MappingDraft(bob.Csi, 1, [])
        {
            SealedRoutes = [new SealedRouteDraft(parents, [new MspEntry("whatsapp") { Account = "+33699990000" }])],
        }));

        var answer = await LookupAsync("+33612345678", "wire");

        Assert.Equal(LookupOutcome.Found, answer.Outcome);
        Assert.Empty(answer.Routes());
        Assert.Null(RoutePicker.Pick(answer.Routes()));
        Assert.Equal("whatsapp", answer.Routes([parents]).Single().Entry.Service);
    }

    [Theory]
    [InlineData(3, 512, "not 3")]
    [InlineData(1, 4096, "bucket")]
    [InlineData(8, 2048, "8192")]
    public async Task Publish_MalformedOrOversizedSealedRoutes_IsInvalidSealedRouteAndChangesNothing(int count, int bucket, string why)
    {
        var bob = await _dp.RegisterAsync("+33612345678");
        var boxes = string.Join(',', Enumerable.Range(0, count).Select(_ => "\"" + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32 + bucket)) + "\""));
        var statement = Craft(bob, """[{"service":"wire","priority":1,"tags":[]}]""", _dp.Clock.GetUtcNow(), extra: ",\"sealed\":[" + boxes + "]");

        var e = await ProblemAssert.ThrowsAsync(count * bucket > 8192 ? 413 : 422, count * bucket > 8192 ? "statement-too-large" : "invalid-sealed-route", () => _dp.Client.PublishAsync(statement));

        if (count * bucket <= 8192)
        {
            Assert.Contains(why, e.Detail, StringComparison.Ordinal);
        }

        Assert.Equal(LookupResultKinds.None, (await _dp.LookupJsonAsync("+33612345678")).GetProperty("result").GetString());
    }
}

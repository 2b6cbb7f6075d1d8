using System.Security.Cryptography;
using Mimi.Discovery.Client;
using Mimi.Discovery.Crypto;
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Statements;
using Mimi.Discovery.Transparency;
using Mimi.Discovery.Verification;

namespace Mimi.Discovery.Server.Tests.Transparency;

/// <summary>Lookups with proofs against a real DP, and a DP that misbehaves: every lie is caught by the client, monitor or auditor.</summary>
public sealed class TransparencyTests : IAsyncLifetime
{
    private const string Bob = "+33612345678";
    private DpHost _dp = null!;

    public async ValueTask InitializeAsync() => _dp = await DpHost.StartAsync();

    public async ValueTask DisposeAsync() => await _dp.DisposeAsync();

    private async Task<TransparencyKeyset> KeysAsync() => TransparencyKeyset.FromWire((await _dp.Client.GetMetadataAsync()).Transparency!)!;

    private StatementVerifier Verifier() => new(new TrustAnchors([_dp.LoadAuthority().Certificate]), _dp.Time);

    private async Task<(DpHost.Recipient First, DpHost.Recipient Second)> PublishTwoAsync()
    {
        var first = await _dp.RegisterAsync(Bob);
        var second = await _dp.RegisterAsync(Bob);
        await _dp.Client.PublishAsync(first.Sign(1));
        var receipt = await _dp.Client.PublishAsync(second.Sign(1, [new MspEntry("mx") { Account = "bob" }]));
        Assert.Equal((await _dp.Client.GetTreeHeadAsync()).Size, receipt.Epoch);
        return (first, second);
    }

    private ProofVerdict Check(LookupResponse response, string csi, TransparencyKeyset keys, SignedTreeHead? known = null, string? service = null)
    {
        var (epoch, head) = ProofVerifier.VerifyEpoch(response.Transparency, keys, known, _dp.Time.GetUtcNow(), TimeSpan.FromDays(1));
        return head is null ? epoch : ProofVerifier.VerifyResult(response.Results[0], CsiParser.ParseOrThrow(csi), service, response.Transparency!, keys);
    }

    [Fact]
    public async Task VerifiedLookup_TwoMappings_IsComplete_AndAnUnknownCsiIsProvenAbsent()
    {
        await PublishTwoAsync();
        var check = new TransparencyCheck(await KeysAsync(), new TreeHeadMemory(), TimeSpan.FromDays(1), _dp.Time);

        var results = await _dp.Client.LookupAsync([Bob, "+33698765432"], Verifier(), null, check);

        Assert.Equal(2, results[0].Mappings.Count);
        Assert.True(results[0].Proof!.IsComplete, results[0].Proof!.Reason);
        Assert.Equal(LookupOutcome.None, results[1].Outcome);
        Assert.True(results[1].Proof!.IsComplete, results[1].Proof!.Reason);
        Assert.NotNull(check.Memory.Get(_dp.BaseAddress));
    }

    [Theory]
    [InlineData(64L << 20)]
    [InlineData(0L)]
    public async Task ProofsReusedWithinAnEpoch_AreBuiltAfreshAtTheNext(long proofCacheBytes)
    {
        await using var dp = await DpHost.StartAsync(o => o.ProofCacheBytes = proofCacheBytes);
        var keys = TransparencyKeyset.FromWire((await dp.Client.GetMetadataAsync()).Transparency!)!;
        var first = await dp.RegisterAsync(Bob);
        await dp.Client.PublishAsync(first.Sign(1));
        var before = await dp.Client.LookupRawAsync(new LookupRequest([Bob, "+33698765432"]));
        var again = await dp.Client.LookupRawAsync(new LookupRequest([Bob, "+33698765432"]));
        Assert.Equal(before.Transparency!.Epoch, again.Transparency!.Epoch);
        Assert.Equal(before.Results[0].Labels![0].Path, again.Results[0].Labels![0].Path);

        // The next epoch changes Bob's label and the tree's other paths: answers prove against it.
        var second = await dp.RegisterAsync(Bob);
        var receipt = await dp.Client.PublishAsync(second.Sign(1, [new MspEntry("mx") { Account = "bob" }]));
        var after = await dp.Client.LookupRawAsync(new LookupRequest([Bob, "+33698765432"]));

        Assert.Equal(receipt.Epoch, after.Transparency!.Epoch);
        Assert.Equal(2, after.Results[0].Statements.Count);
        Assert.Equal(before.Results[0].Labels![0].Version + 1, after.Results[0].Labels![0].Version);
        foreach (var (result, csi) in after.Results.Zip([Bob, "+33698765432"]))
        {
            var verdict = ProofVerifier.VerifyResult(result, CsiParser.ParseOrThrow(csi), null, after.Transparency!, keys);
            Assert.True(verdict.IsComplete, verdict.Reason);
        }
    }

    [Fact]
    public async Task AnAbsentLabelsVrfProof_IsMadeOnce_AndStillProvesItAbsentAtLaterEpochs()
    {
        // A lookup on behalf of a service also proves that service's label, absent for most CSIs:
        // its VRF output never changes, so a new epoch must not make the DP prove it again.
        await using var dp = await DpHost.StartAsync();
        var keys = TransparencyKeyset.FromWire((await dp.Client.GetMetadataAsync()).Transparency!)!;
        var log = dp.Service<global::Mimi.Discovery.Server.Transparency.TransparencyLog>();
        var bob = await dp.RegisterAsync(Bob);
        await dp.Client.PublishAsync(bob.Sign(1));
        var made = log.AbsentLabelProofs;

        var before = await dp.Client.LookupRawAsync(new LookupRequest(["+33698765432"], "mx"));
        var proofsFirstTime = log.AbsentLabelProofs - made;
        Assert.True(proofsFirstTime > 0, "an absent label is proven with a fresh VRF proof on first sight");

        var receipt = await dp.Client.PublishAsync(bob.Sign(2));
        var after = await dp.Client.LookupRawAsync(new LookupRequest(["+33698765432"], "mx"));
        Assert.Equal(receipt.Epoch, after.Transparency!.Epoch);
        Assert.True(after.Transparency.Epoch > before.Transparency!.Epoch);
        Assert.Equal(proofsFirstTime, log.AbsentLabelProofs - made);
        var verdict = ProofVerifier.VerifyResult(after.Results[0], CsiParser.ParseOrThrow("+33698765432"), "mx", after.Transparency, keys);
        Assert.True(verdict.IsComplete, verdict.Reason);
        Assert.Equal(LookupResultKinds.None, after.Results[0].Result);
    }

    [Fact]
    public async Task Misbehaving_OmitsOneOfTwoMappings_IsCaught()
    {
        await PublishTwoAsync();
        var keys = await KeysAsync();
        var honest = await _dp.Client.LookupRawAsync([Bob]);
        Assert.Equal(ProofStatus.Complete, Check(honest, Bob, keys).Status);

        var label = honest.Results[0].Labels![0];
        var dropped = label.Statements!.Skip(1).ToList();
        var onlyResult = honest with { Results = [honest.Results[0] with { Statements = dropped }] };
        var both = honest with { Results = [honest.Results[0] with { Statements = dropped, Labels = [label with { Statements = dropped }] }] };

        Assert.Equal(ProofStatus.SetMismatch, Check(onlyResult, Bob, keys).Status);
        Assert.Equal(ProofStatus.BadOpening, Check(both, Bob, keys).Status);
    }

    [Fact]
    public async Task Misbehaving_SetOfAnotherCsi_ClaimsNone_OrWrongLabels_IsCaught()
    {
        await PublishTwoAsync();
        var keys = await KeysAsync();
        var honest = await _dp.Client.LookupRawAsync([Bob]);
        var label = honest.Results[0].Labels![0];

        // Bob's proof offered as the answer for Carol.
        var forCarol = honest with { Results = [honest.Results[0] with { Query = "+33698765432", Csi = "tel:+33698765432" }] };
        Assert.Equal(ProofStatus.BadVrf, Check(forCarol, "+33698765432", keys).Status);

        // "None" for Bob, with the path of his leaf reused as an empty slot.
        var none = honest with { Results = [honest.Results[0] with { Result = LookupResultKinds.None, Statements = [], Labels = [label with { Terminal = "empty", Version = null, Opening = null, Statements = null }] }] };
        Assert.Equal(ProofStatus.BadPrefixProof, Check(none, Bob, keys).Status);

        // The "any" label alone when a service asked (its service label withheld).
        Assert.Equal(ProofStatus.WrongLabels, Check(honest, Bob, keys, service: "wire").Status);
    }

    [Fact]
    public async Task Misbehaving_StaleSet_Rollback_AndForkedHeads_AreCaught()
    {
        var (first, _) = await PublishTwoAsync();
        var keys = await KeysAsync();
        var old = await _dp.Client.LookupRawAsync([Bob]);
        await _dp.Client.PublishAsync(first.Sign(2, [new MspEntry("wire") { Account = "@new" }]));
        var oldHead = ProofWire.Head(old.Transparency!.Head)!;
        var current = await _dp.Client.LookupRawAsync(new LookupRequest([Bob], null, oldHead.Size));
        var currentHead = ProofWire.Head(current.Transparency!.Head)!;
        Assert.Equal(ProofStatus.Complete, Check(current, Bob, keys, known: oldHead).Status);
        Assert.Equal(ProofStatus.Inconsistent, Check(current with { Transparency = current.Transparency with { Consistency = null } }, Bob, keys, known: oldHead).Status);

        // The old set under the current epoch proof.
        var staleSet = current with { Results = old.Results };
        Assert.NotEqual(ProofStatus.Complete, Check(staleSet, Bob, keys).Status);

        // The whole old answer to a sender who has seen the newer head.
        Assert.Equal(ProofStatus.Rollback, Check(old, Bob, keys, known: currentHead).Status);

        // An old epoch's proof under the current head.
        var staleEpoch = current with { Results = old.Results, Transparency = old.Transparency! with { Head = current.Transparency.Head } };
        Assert.Equal(ProofStatus.StaleEpoch, Check(staleEpoch, Bob, keys).Status);

        // A second head for the same size, signed with the DP's own log key.
        using var logKey = ECDsa.Create();
        logKey.ImportFromPem(File.ReadAllText(Path.Combine(_dp.DataDirectory, "log.key")));
        var forged = SignedTreeHead.Sign(logKey, currentHead.Size, currentHead.Timestamp, SHA256.HashData([1, 2, 3]));
        var forkedAnswer = current with { Transparency = current.Transparency with { Head = ProofWire.ToWire(forged) } };
        Assert.Equal(ProofStatus.Fork, Check(forkedAnswer, Bob, keys, known: currentHead).Status);

        // And a head not signed by the log key at all.
        using var stranger = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var unsigned = current with { Transparency = current.Transparency with { Head = ProofWire.ToWire(SignedTreeHead.Sign(stranger, currentHead.Size, currentHead.Timestamp, currentHead.Root)) } };
        Assert.Equal(ProofStatus.BadTreeHead, Check(unsigned, Bob, keys).Status);
    }

    [Fact]
    public async Task ConsistencyProof_IsServedForTheKnownSize_AndATamperedOneFails()
    {
        var (first, _) = await PublishTwoAsync();
        var keys = await KeysAsync();
        var before = ProofWire.Head((await _dp.Client.LookupRawAsync([Bob])).Transparency!.Head)!;
        await _dp.Client.PublishAsync(first.Sign(2));
        await _dp.Client.PublishAsync(first.Sign(3));

        var response = await _dp.Client.LookupRawAsync(new LookupRequest([Bob], null, before.Size));
        Assert.Equal(before.Size, response.Transparency!.ConsistencyFrom);
        Assert.Equal(ProofStatus.Complete, Check(response, Bob, keys, known: before).Status);

        var tampered = response with { Transparency = response.Transparency with { Consistency = [.. response.Transparency.Consistency!.Skip(1)] } };
        Assert.Equal(ProofStatus.Inconsistent, Check(tampered, Bob, keys, known: before).Status);
    }

    [Fact]
    public async Task Monitor_FlagsAVersionSignedByAKeyTheOwnerDoesNotHold()
    {
        var owner = await _dp.RegisterAsync(Bob);
        await _dp.Client.PublishAsync(owner.Sign(1));
        var keys = await KeysAsync();
        var ownerKeys = new HashSet<string> { JwkThumbprint.Compute(owner.Key) };

        var clean = LabelMonitor.Check(await _dp.Client.GetHistoryAsync(owner.Csi, Labels.AnyScope), owner.Csi, keys, ownerKeys, Verifier());
        Assert.Empty(clean.Problems);
        Assert.Single(clean.Versions);

        // The DP operator issues itself a credential for Bob's number and publishes under it.
        using var rogueKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var rogueCredential = _dp.LoadAuthority().IssueCredential(owner.Csi, rogueKey);
        var rogue = new StatementSigner(rogueKey, rogueCredential, time: _dp.Time);
        await _dp.Client.PublishAsync(rogue.SignMapping(new MappingDraft(owner.Csi, 1, [new MspEntry("evil") { Account = "x" }])));

        var report = LabelMonitor.Check(await _dp.Client.GetHistoryAsync(owner.Csi, Labels.AnyScope), owner.Csi, keys, ownerKeys, Verifier());
        Assert.Equal(2, report.Versions.Count);
        Assert.Null(report.Versions[0].Problem);
        Assert.Contains(JwkThumbprint.Compute(rogueKey), report.Versions[1].Problem);

        // Label version 2 holds mappings each at its own version 1: label and mapping versions differ by design.
        Assert.Equal([1L], report.Versions[0].MappingVersions);
        Assert.All(report.Versions[1].MappingVersions!, v => Assert.Equal(1L, v));
        Assert.Equal(report.Versions[1].Signers.Count, report.Versions[1].MappingVersions!.Count);
    }

    [Fact]
    public async Task Removal_ErasesTheStatementText_AndLookupsProveAbsence()
    {
        var owner = await _dp.RegisterAsync(Bob);
        await _dp.Client.PublishAsync(owner.Sign(1));
        var receipt = await _dp.Client.RemoveAsync(owner.Signer.SignRemoval(new RemovalDraft(owner.Csi) { Version = 1 }));
        Assert.NotNull(receipt.Epoch);

        var keys = await KeysAsync();
        var response = await _dp.Client.LookupRawAsync([Bob]);
        Assert.Equal(LookupResultKinds.None, response.Results[0].Result);
        Assert.Equal(ProofStatus.Complete, Check(response, Bob, keys).Status);

        var history = await _dp.Client.GetHistoryAsync(owner.Csi, Labels.AnyScope);
        Assert.Equal(2, history.Versions.Count);
        Assert.Null(history.Versions[0].Opening);
        Assert.Null(history.Versions[0].Statements);
        Assert.Empty(history.Versions[1].Statements!);
        Assert.Empty(LabelMonitor.Check(history, owner.Csi, keys, new HashSet<string> { JwkThumbprint.Compute(owner.Key) }, Verifier()).Problems);
    }

    [Fact]
    public async Task Audit_HonestLog_Passes_IncrementallyAndAcrossARestart()
    {
        var (first, _) = await PublishTwoAsync();
        var keys = await KeysAsync();
        var state = new AuditState();

        var report = await LogAuditor.AuditAsync(_dp.Client, keys, state);
        Assert.Empty(report.Violations);
        Assert.Equal(report.ToSize, state.Head!.Size);

        var data = _dp.DataDirectory;
        var size = state.Head.Size;
        await _dp.DisposeAsync(deleteData: false);
        _dp = await DpHost.StartAsync(o => o.DataDirectory = data);
        Assert.Equal(size, (await _dp.Client.GetTreeHeadAsync()).Size);
        await _dp.Client.PublishAsync(first.Sign(2));

        var next = await LogAuditor.AuditAsync(_dp.Client, TransparencyKeyset.FromWire((await _dp.Client.GetMetadataAsync()).Transparency!)!, state);
        Assert.Empty(next.Violations);
        Assert.Equal(size + 1, next.ToSize);
    }

    [Fact]
    public async Task Audit_ChangesThatDoNotProduceTheRoot_AndARollback_AreViolations()
    {
        await PublishTwoAsync();
        var keys = await KeysAsync();
        using var tampering = new HttpClient(new Tamper(TlsTrust.CreateHandler(TlsTrust.LoadRoots(Path.Combine(_dp.DataDirectory, "tls.crt"))))) { BaseAddress = _dp.BaseAddress };
        var report = await LogAuditor.AuditAsync(new DiscoveryClient(tampering), keys, new AuditState());
        Assert.Contains(report.Violations, v => v.Contains("do not produce", StringComparison.Ordinal));

        var state = new AuditState();
        Assert.Empty((await LogAuditor.AuditAsync(_dp.Client, keys, state)).Violations);
        state.Head = state.Head! with { Size = state.Head.Size + 1 };
        var rolledBack = await LogAuditor.AuditAsync(_dp.Client, keys, state);
        Assert.Contains(rolledBack.Violations, v => v.Contains("went back", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("v1/transparency/consistency?from=0", 400, "invalid-range")]
    [InlineData("v1/transparency/consistency?from=2&to=1", 400, "invalid-range")]
    [InlineData("v1/transparency/consistency?from=1&to=99", 400, "invalid-range")]
    [InlineData("v1/transparency/epochs/0", 404, "unknown-epoch")]
    [InlineData("v1/transparency/epochs/99", 404, "unknown-epoch")]
    [InlineData("v1/transparency/history?csi=not-a-csi", 400, "invalid-request")]
    [InlineData("v1/transparency/history?csi=%2B33612345678&scope=svc:Bad%20Id", 400, "invalid-request")]
    [InlineData("v1/transparency/history?csi=%2B33612345678&scope=all", 400, "invalid-request")]
    public async Task ReadApi_BadRequests_AreSpecificProblems(string path, int status, string code)
    {
        var before = await _dp.Client.GetTreeHeadAsync();

        await ProblemAssert.IsProblemAsync(await _dp.Http.GetAsync(path), status, code);

        Assert.Equal(before.Size, (await _dp.Client.GetTreeHeadAsync()).Size);
    }

    [Theory]
    [InlineData("v1/transparency/consistency?from=abc", "'from'")]
    [InlineData("v1/transparency/consistency", "'from'")]
    [InlineData("v1/transparency/consistency?from=-1", "'from'")]
    [InlineData("v1/transparency/consistency?from=99999999999999999999", "'from'")]
    [InlineData("v1/transparency/consistency?from=1&to=x", "'to'")]
    public async Task Consistency_MalformedParameter_NamesTheParameter(string path, string named)
    {
        var detail = await ProblemAssert.IsProblemAsync(await _dp.Http.GetAsync(path), 400, "invalid-range");

        Assert.Contains(named, detail, StringComparison.Ordinal);
        Assert.DoesNotContain("JSON", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadApi_GoodRequests_Answer()
    {
        await PublishTwoAsync();
        var head = await _dp.Client.GetTreeHeadAsync();
        var changes = await _dp.Client.GetEpochChangesAsync(head.Size);

        Assert.Equal(head.Size, changes.Epoch);
        Assert.NotEmpty(changes.Changes);
        Assert.Equal(1, (await _dp.Client.GetConsistencyAsync(1, head.Size)).From);
        Assert.Empty((await _dp.Client.GetHistoryAsync(CsiParser.ParseOrThrow("+33698765432"), Labels.AnyScope)).Versions);
    }

    [Fact]
    public async Task TransparencyOff_AnswersFromTheLiveTableWithoutProofsOrKeys()
    {
        await using var plain = await DpHost.StartAsync(o => o.Transparency = false);
        var bob = await plain.RegisterAsync(Bob);
        await plain.Client.PublishAsync(bob.Sign(1));

        var response = await plain.Client.LookupRawAsync([Bob, "nope"]);
        Assert.Equal(LookupResultKinds.Found, response.Results[0].Result);
        Assert.Null(response.Results[0].Labels);
        Assert.Equal(LookupResultKinds.Invalid, response.Results[1].Result);
        Assert.Null(response.Transparency);
        Assert.Null((await plain.Client.GetMetadataAsync()).Transparency);
    }

    [Fact]
    public async Task History_WhenTokensAreRequired_CostsATokenAndAServiceLabelOnlyForThatService()
    {
        await using var dp = await Tokens.TokenKit.StartAsync();
        var bob = await dp.RegisterAsync(Bob);
        await dp.Client.PublishAsync(bob.Sign(1, [new MspEntry("wire") { Account = "@bob" }], Audience.Only(["wire"])));
        var wire = Tokens.TokenKit.Tokens(dp, await Tokens.TokenKit.AddAccountAsync(dp, "wire", "wire", 10));

        async Task<HttpResponseMessage> HistoryAsync(string scope, IEnumerable<string> authorization)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, $"v1/transparency/history?csi={Uri.EscapeDataString(bob.Csi.Uri)}&scope={scope}");
            foreach (var value in authorization)
            {
                request.Headers.TryAddWithoutValidation("Authorization", value);
            }

            return await dp.Http.SendAsync(request);
        }

        var unpaid = await HistoryAsync("svc:wire", []);
        await ProblemAssert.IsProblemAsync(unpaid, 401, "token-required");
        Assert.Contains("PrivateToken", unpaid.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        await ProblemAssert.IsProblemAsync(await HistoryAsync("svc:threema", Tokens.TokenKit.Redeem(await Tokens.TokenKit.IssueExactlyAsync(wire, 1))), 403, "token-service-mismatch");

        var paid = await HistoryAsync("svc:wire", Tokens.TokenKit.Redeem(await Tokens.TokenKit.IssueExactlyAsync(wire, 1)));
        Assert.Equal(System.Net.HttpStatusCode.OK, paid.StatusCode);
        var history = (await System.Net.Http.Json.HttpContentJsonExtensions.ReadFromJsonAsync(paid.Content, ProtocolJson.Default.LabelHistory))!;
        Assert.Single(history.Versions[0].Statements!);

        // Through the SDK the token handler pays for it.
        using var http = new HttpClient(new PrivateTokenHandler(new TokenWallet(wire, time: dp.Time), TlsTrust.CreateHandler(TlsTrust.LoadRoots(Path.Combine(dp.DataDirectory, "tls.crt"))))) { BaseAddress = dp.BaseAddress };
        Assert.Single((await new DiscoveryClient(http).GetHistoryAsync(bob.Csi, "svc:wire")).Versions);
    }

    /// <summary>Flips one commitment in every epoch-changes answer.</summary>
    private sealed class Tamper(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            if (request.RequestUri!.AbsolutePath.Contains("/epochs/", StringComparison.Ordinal))
            {
                var changes = System.Text.Json.JsonSerializer.Deserialize(await response.Content.ReadAsStringAsync(cancellationToken), ProtocolJson.Default.EpochChanges)!;
                if (changes.Changes.Count > 0)
                {
                    changes = changes with { Changes = [changes.Changes[0] with { Commitment = ProofWire.Encode(new byte[32]) }, .. changes.Changes.Skip(1)] };
                }

                response.Content = System.Net.Http.Json.JsonContent.Create(changes, ProtocolJson.Default.EpochChanges);
            }

            return response;
        }
    }
}

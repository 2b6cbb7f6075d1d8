using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Mimi.Discovery.Client;
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Server.Storage;
using Mimi.Discovery.Server.Transparency;
using Mimi.Discovery.Statements;
using Mimi.Discovery.Transparency;
using Mimi.Discovery.Verification;
using Base64Url = System.Buffers.Text.Base64Url;

namespace Mimi.Discovery.Server.Tests.Apis;

/// <summary>
/// A statement is current until its exp or its credential's expiry, whichever is first
/// (<see cref="StatementLifetime"/>): the DP refuses one that would outlive its credential and stops
/// serving any at the end of its life, without waiting for the epoch that drops it. These DPs seal by
/// hand (a one-hour interval that the tests' clock moves never reach), so the gap before a seal is real.
/// </summary>
public sealed class StatementLifetimeTests
{
    private static readonly Csi Bob = CsiParser.ParseOrThrow("+33612345678");

    /// <summary>Bob's signed statement with its exp replaced by <paramref name="expiresAt"/>, signed again with his key (as a careless or hostile signer would).</summary>
    private static string WithExp(DpHost.Recipient bob, DateTimeOffset expiresAt)
    {
        var parts = bob.Sign(1).Split('.');
        var payload = JsonNode.Parse(Base64Url.DecodeFromChars(parts[1]))!;
        payload["exp"] = expiresAt.ToUnixTimeSeconds();
        var input = parts[0] + "." + Base64Url.EncodeToString(Encoding.UTF8.GetBytes(payload.ToJsonString()));
        return input + "." + Base64Url.EncodeToString(bob.Key.SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256));
    }

    private static DateTimeOffset NotAfter(DpHost.Recipient bob) => new(bob.Credential.NotAfter.ToUniversalTime(), TimeSpan.Zero);

    private static Task<long?> SealAsync(DpHost dp) => dp.Service<TransparencyLog>().SealAsync(CancellationToken.None);

    [Fact]
    public async Task Publish_ExpPastCredentialExpiry_IsStatementOutlivesCredentialAndStoresNothing()
    {
        await using var dp = await DpHost.StartAsync();
        var bob = await dp.RegisterAsync(Bob.Uri);

        var e = await ProblemAssert.ThrowsAsync(422, "statement-outlives-credential", () => dp.Client.PublishAsync(WithExp(bob, NotAfter(bob).AddDays(365))));

        Assert.Contains("outlive its credential", e.Detail, StringComparison.Ordinal);
        Assert.Empty(await dp.Service<IDiscoveryStore>().GetMappingsAsync(Bob.Uri, CancellationToken.None));

        // The same statement with exp at the credential's expiry is taken.
        await dp.Client.PublishAsync(WithExp(bob, NotAfter(bob)));
    }

    [Fact]
    public async Task Lookup_StatementPastItsExp_IsNotServedBeforeTheEpochThatDropsIt()
    {
        await using var dp = await DpHost.StartAsync(o => o.EpochInterval = TimeSpan.FromHours(1));
        var bob = await dp.RegisterAsync(Bob.Uri);
        await dp.Client.PublishAsync(bob.Signer.SignMapping(new MappingDraft(Bob, 1, [new MspEntry("wire") { Account = "@bob" }]) { ExpiresAt = dp.Time.GetUtcNow().AddMinutes(5) }));
        await SealAsync(dp);
        var metadata = await dp.Client.GetMetadataAsync();
        var keys = TransparencyKeyset.FromWire(metadata.Transparency!)!;
        var verifier = new StatementVerifier(TrustAnchors.FromPem(string.Join('\n', metadata.CredentialCas)), dp.Time);
        Assert.Equal(LookupResultKinds.Found, (await dp.Client.LookupRawAsync([Bob.Uri])).Results[0].Result);

        dp.Time.Advance(TimeSpan.FromMinutes(6));

        var raw = await dp.Client.LookupRawAsync([Bob.Uri]);
        var result = raw.Results[0];
        Assert.Equal(LookupResultKinds.None, result.Result);
        Assert.Empty(result.Statements);
        Assert.Contains(result.Labels!, l => l.Statements is { Count: 1 });

        // The sender accepts the omission by the same rule, and only by it: not without its clock,
        // and not at a time the statement was still current.
        var (_, head) = ProofVerifier.VerifyEpoch(raw.Transparency, keys, null, dp.Time.GetUtcNow(), TimeSpan.FromDays(1));
        Assert.NotNull(head);
        Assert.Equal(ProofStatus.Complete, ProofVerifier.VerifyResult(result, Bob, null, raw.Transparency!, keys, dp.Time.GetUtcNow(), TimeSpan.Zero).Status);
        Assert.Equal(ProofStatus.SetMismatch, ProofVerifier.VerifyResult(result, Bob, null, raw.Transparency!, keys).Status);
        Assert.Equal(ProofStatus.SetMismatch, ProofVerifier.VerifyResult(result, Bob, null, raw.Transparency!, keys, dp.Time.GetUtcNow().AddMinutes(-3), TimeSpan.Zero).Status);
        var verified = (await dp.Client.LookupAsync([Bob.Uri], verifier, null, new TransparencyCheck(keys, new TreeHeadMemory(), TimeSpan.FromDays(1), dp.Clock))).Single();
        Assert.Equal(LookupOutcome.None, verified.Outcome);
        Assert.True(verified.Proof!.IsComplete, verified.Proof.Reason);

        await SealAsync(dp);
        var sealedResult = (await dp.Client.LookupRawAsync([Bob.Uri])).Results[0];
        Assert.Equal(LookupResultKinds.None, sealedResult.Result);
        Assert.DoesNotContain(sealedResult.Labels!, l => l.Statements is { Count: > 0 });
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Lookup_StoredStatementOutlivingItsCredential_IsNotServedAfterTheCredentialExpires(bool transparency)
    {
        await using var dp = await DpHost.StartAsync(o =>
        {
            o.EpochInterval = TimeSpan.FromHours(1);
            o.CredentialLifetime = TimeSpan.FromMinutes(10);
            o.Transparency = transparency;
        });
        var bob = await dp.RegisterAsync(Bob.Uri);
        var statement = WithExp(bob, NotAfter(bob).AddDays(365));

        // Stored as a DP did before it refused such statements: with the statement's own exp.
        var now = dp.Time.GetUtcNow().ToUnixTimeSeconds();
        await dp.Service<IDiscoveryStore>().PublishAsync(new StoredMapping
        {
            Csi = Bob.Uri,
            MappingId = bob.Signer.MappingIdFor(Audience.Any).ToString(),
            KeyThumbprint = Crypto.JwkThumbprint.Compute(bob.Key),
            Audience = Audience.Any.Token,
            Services = "wire",
            Version = 1,
            IssuedAt = now,
            ExpiresAt = NotAfter(bob).AddDays(365).ToUnixTimeSeconds(),
            CredentialNotBefore = new DateTimeOffset(bob.Credential.NotBefore.ToUniversalTime(), TimeSpan.Zero).ToUnixTimeSeconds(),
            OptOut = false,
            Statement = statement,
        }, supersede: false, CancellationToken.None);
        if (transparency)
        {
            await SealAsync(dp);
        }

        Assert.Equal(LookupResultKinds.Found, (await dp.Client.LookupRawAsync([Bob.Uri])).Results[0].Result);

        dp.Time.Advance(TimeSpan.FromMinutes(11));

        var result = (await dp.Client.LookupRawAsync([Bob.Uri])).Results[0];
        Assert.Equal(LookupResultKinds.None, result.Result);
        Assert.Empty(result.Statements);
    }
}

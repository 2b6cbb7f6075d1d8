using System.Security.Cryptography;
using Mimi.Discovery.Credentials;
using Mimi.Discovery.Server.Tests.Storage;
using Mimi.Discovery.Statements;
using Mimi.Discovery.Verification;

namespace Mimi.Discovery.Server.Tests.Revocations;

/// <summary>
/// Revocation over real HTTPS (docs/protocol.md §15): by the owner, a successor and a CSIP; every bad
/// revocation refused with its problem and nothing stored (the CRL unchanged); the CRL verified by the
/// SDK, which then refuses statements under a revoked credential.
/// </summary>
public sealed class RevocationApiTests : IAsyncLifetime
{
    private const string Bob = "+33612345678";
    private string? _database;

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        if (_database is not null)
        {
            await PostgresTestDatabase.DropDatabaseAsync(_database);
        }
    }

    private async Task<DpHost> StartAsync(bool postgres = false)
    {
        string? connection = null;
        if (postgres)
        {
            Assert.SkipWhen(PostgresTestDatabase.AdminConnectionString is null, $"PostgreSQL not configured: set {PostgresTestDatabase.Variable} (CI does)");
            _database = await PostgresTestDatabase.CreateDatabaseAsync();
            connection = PostgresTestDatabase.ConnectionStringFor(_database);
        }

        return await DpHost.StartAsync(database: connection);
    }

    private static TrustAnchors Anchors(DpHost dp) => TrustAnchors.FromPem(File.ReadAllText(Path.Combine(dp.DataDirectory, "ca.crt")));

    private static async Task<RevocationList> CrlAsync(DpHost dp)
    {
        var der = await dp.Client.GetRevocationListAsync();
        Assert.True(RevocationList.TryParse(der, Anchors(dp), out var list, out var reason), reason);
        return list;
    }

    private static string Thumbprint(DpHost.Recipient recipient) => Revocation.ThumbprintOf(recipient.Credential);

    private static async Task<IReadOnlyList<string>> StatementsAsync(DpHost dp, string csi) => (await dp.Client.LookupRawAsync([csi])).Results.Single().Statements;

    /// <summary>Asserts the problem, and that the CRL lists nothing more than before.</summary>
    private static async Task RefusedAsync(DpHost dp, int status, string code, string revocation)
    {
        var before = await CrlAsync(dp);
        var response = await dp.PostJsonAsync("v1/revocations", System.Text.Json.JsonSerializer.Serialize(new { revocation }));
        await ProblemAssert.IsProblemAsync(response, status, code);
        var after = await CrlAsync(dp);
        Assert.Equal(before.Number, after.Number);
        Assert.Equal(before.Entries.Select(e => e.SerialNumber), after.Entries.Select(e => e.SerialNumber));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Revoke_ByOwner_ListedInCrl_MappingRemoved_RepublishRefused_SdkRefusesStatement(bool postgres)
    {
        await using var dp = await StartAsync(postgres);
        var bob = await dp.RegisterAsync(Bob);
        var statement = bob.Sign(1);
        await dp.Client.PublishAsync(statement);
        Assert.Empty((await CrlAsync(dp)).Entries);

        var receipt = await dp.Client.RevokeAsync(bob.Signer.SignRevocation(bob.Csi, Thumbprint(bob), RevocationReason.KeyCompromise));

        Assert.Equal("owner", receipt.Authority);
        Assert.Equal("keyCompromise", receipt.Reason);
        Assert.Equal(bob.Credential.SerialNumber, receipt.SerialNumber);
        Assert.Equal([bob.Signer.MappingIdFor(Audience.Any).ToString()], receipt.Removed);
        Assert.Empty(await StatementsAsync(dp, Bob));
        var crl = await CrlAsync(dp);
        Assert.Equal(1, crl.Number);
        var entry = Assert.Single(crl.Entries);
        Assert.Equal(RevocationList.SerialKey(bob.Credential.SerialNumber), entry.SerialNumber);
        Assert.Equal(RevocationReason.KeyCompromise, entry.Reason);
        await ProblemAssert.ThrowsAsync(403, "credential-revoked", () => dp.Client.PublishAsync(bob.Sign(2)));

        // A sender holding the DP's CRL refuses the statement signed under the revoked credential.
        var revocations = new RevocationSet();
        Assert.True(await dp.Client.UpdateRevocationsAsync(revocations, Anchors(dp), dp.Clock));
        Assert.False(await dp.Client.UpdateRevocationsAsync(revocations, Anchors(dp), dp.Clock));
        var verifier = new StatementVerifier(Anchors(dp), dp.Clock, new VerificationOptions { Revocations = revocations });
        Assert.Equal(VerificationStatus.Revoked, verifier.VerifyMapping(statement).Status);
        Assert.Equal(VerificationStatus.Valid, new StatementVerifier(Anchors(dp), dp.Clock).VerifyMapping(statement).Status);
    }

    [Fact]
    public async Task Revoke_BySuccessor_RemovesOnlyTheOldCredentialsMappings()
    {
        await using var dp = await StartAsync();
        var old = await dp.RegisterAsync(Bob);
        await dp.Client.PublishAsync(old.Sign(1));
        dp.Time.Advance(TimeSpan.FromSeconds(2));
        var successor = await dp.RegisterAsync(Bob);

        var receipt = await dp.Client.RevokeAsync(successor.Signer.SignRevocation(old.Csi, Thumbprint(old), RevocationReason.AffiliationChanged));

        Assert.Equal("successor", receipt.Authority);
        Assert.Single(receipt.Removed);
        Assert.Empty(await StatementsAsync(dp, Bob));
        await dp.Client.PublishAsync(successor.Sign(1));
        Assert.Single(await StatementsAsync(dp, Bob));
        Assert.Single((await CrlAsync(dp)).Entries);
    }

    [Fact]
    public async Task Revoke_ByCsipCoveringTheCsi_Works()
    {
        await using var dp = await StartAsync();
        var bob = await dp.RegisterAsync(Bob);
        await dp.Client.PublishAsync(bob.Sign(1));
        var signer = await Mappings.CsipKit.OnboardAsync(dp, "Example Telecom", ["+336"]);

        var receipt = await dp.Client.RevokeAsync(signer.SignRevocation(bob.Csi, Thumbprint(bob), RevocationReason.AffiliationChanged));

        Assert.Equal("csip", receipt.Authority);
        Assert.Empty(await StatementsAsync(dp, Bob));
        Assert.Equal(RevocationReason.AffiliationChanged, Assert.Single((await CrlAsync(dp)).Entries).Reason);
    }

    [Fact]
    public async Task Revoke_ByCsipNotOnboardedOrRevoked_IsRefused_NothingStored()
    {
        await using var dp = await StartAsync();
        var bob = await dp.RegisterAsync(Bob);
        await dp.Client.PublishAsync(bob.Sign(1));
        var stranger = await Mappings.CsipKit.OnboardAsync(dp, "Unknown Telecom", ["+336"], onboard: false);
        var revoked = await Mappings.CsipKit.OnboardAsync(dp, "Former Telecom", ["+336"]);
        Assert.Equal(1, await dp.Service<Mimi.Discovery.Server.Storage.ICsipStore>().RevokeCsipAsync("Former Telecom", dp.Clock.GetUtcNow().ToUnixTimeSeconds(), default));

        await RefusedAsync(dp, 403, "csip-not-onboarded", stranger.SignRevocation(bob.Csi, Thumbprint(bob), RevocationReason.AffiliationChanged));
        await RefusedAsync(dp, 403, "csip-revoked", revoked.SignRevocation(bob.Csi, Thumbprint(bob), RevocationReason.AffiliationChanged));

        Assert.Single(await StatementsAsync(dp, Bob));
    }

    [Fact]
    public async Task Revoke_ByCsipOutOfScope_IsRevocationOutOfScope_NothingStored()
    {
        await using var dp = await StartAsync();
        var bob = await dp.RegisterAsync(Bob);
        await dp.Client.PublishAsync(bob.Sign(1));
        using var authority = dp.LoadAuthority();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var csip = authority.IssueCsipCredential("Other Telecom", CsipScope.Create(["+44"], []), key, TimeSpan.FromDays(365));
        var signer = new StatementSigner(key, csip, time: dp.Clock);
        var forged = ForgeCsi(signer.SignRevocation(CsipCsi, Thumbprint(bob), RevocationReason.AffiliationChanged), key, Bob);

        await RefusedAsync(dp, 403, "revocation-out-of-scope", forged);

        Assert.Single(await StatementsAsync(dp, Bob));
    }

    [Fact]
    public async Task Revoke_ForgedSignature_IsRevocationForged_NothingStored()
    {
        await using var dp = await StartAsync();
        var bob = await dp.RegisterAsync(Bob);
        var one = bob.Signer.SignRevocation(bob.Csi, Thumbprint(bob), RevocationReason.KeyCompromise).Split('.');
        var other = bob.Signer.SignRevocation(bob.Csi, Thumbprint(bob), RevocationReason.Unspecified).Split('.');

        await RefusedAsync(dp, 422, "revocation-forged", $"{one[0]}.{one[1]}.{other[2]}");
    }

    [Fact]
    public async Task Revoke_OlderThanMaxAge_IsRevocationExpired_NothingStored()
    {
        await using var dp = await StartAsync();
        var bob = await dp.RegisterAsync(Bob);
        var revocation = bob.Signer.SignRevocation(bob.Csi, Thumbprint(bob), RevocationReason.KeyCompromise);
        dp.Time.Advance(TimeSpan.FromMinutes(16));

        await RefusedAsync(dp, 422, "revocation-expired", revocation);
    }

    [Fact]
    public async Task Revoke_SameRevocationTwice_IsRevocationReplayed_AndANewOneIsAlreadyRevoked()
    {
        await using var dp = await StartAsync();
        var bob = await dp.RegisterAsync(Bob);
        var revocation = bob.Signer.SignRevocation(bob.Csi, Thumbprint(bob), RevocationReason.KeyCompromise);
        await dp.Client.RevokeAsync(revocation);

        await RefusedAsync(dp, 409, "revocation-replayed", revocation);
        await RefusedAsync(dp, 409, "credential-already-revoked", bob.Signer.SignRevocation(bob.Csi, Thumbprint(bob), RevocationReason.Superseded));
        Assert.Equal(1, (await CrlAsync(dp)).Number);
    }

    [Fact]
    public async Task Revoke_CredentialTheDpNeverIssued_IsCredentialNotFound_NothingStored()
    {
        await using var dp = await StartAsync();
        var bob = await dp.RegisterAsync(Bob);
        using var authority = dp.LoadAuthority();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var unrecorded = authority.IssueCredential(bob.Csi, key);
        var owner = new StatementSigner(key, unrecorded, time: dp.Clock);

        await RefusedAsync(dp, 404, "credential-not-found", owner.SignRevocation(bob.Csi, Revocation.ThumbprintOf(unrecorded), RevocationReason.KeyCompromise));
        // A thumbprint this DP issued, but for another CSI than the revocation's, reads the same.
        var alice = await dp.RegisterAsync("alice@example.com");
        await RefusedAsync(dp, 404, "credential-not-found", bob.Signer.SignRevocation(bob.Csi, Thumbprint(alice), RevocationReason.KeyCompromise));
    }

    [Fact]
    public async Task Revoke_ByAnOlderCredentialOfTheSameCsi_IsNotAuthorised_NothingStored()
    {
        await using var dp = await StartAsync();
        var old = await dp.RegisterAsync(Bob);
        dp.Time.Advance(TimeSpan.FromSeconds(2));
        var newer = await dp.RegisterAsync(Bob);

        await RefusedAsync(dp, 403, "revocation-not-authorised", old.Signer.SignRevocation(old.Csi, Thumbprint(newer), RevocationReason.KeyCompromise));
    }

    [Fact]
    public async Task Revoke_ExpiredTargetCredential_IsCredentialExpired_NothingStored()
    {
        await using var dp = await DpHost.StartAsync(o => o.CredentialLifetime = TimeSpan.FromMinutes(10));
        var old = await dp.RegisterAsync(Bob);
        dp.Time.Advance(TimeSpan.FromMinutes(11));
        var successor = await dp.RegisterAsync(Bob);

        await RefusedAsync(dp, 422, "credential-expired", successor.Signer.SignRevocation(old.Csi, Thumbprint(old), RevocationReason.Superseded));
    }

    [Fact]
    public async Task Revoke_NoRevocation_IsInvalidRequest()
    {
        await using var dp = await StartAsync();

        await RefusedAsync(dp, 400, "invalid-request", "");
    }

    [Fact]
    public async Task RevocationList_SignedByAnotherCa_IsRefusedBySdk_AndCacheControlIsTheLifetime()
    {
        await using var dp = await DpHost.StartAsync(o => o.RevocationListLifetime = TimeSpan.FromMinutes(20));
        using var response = await dp.Http.GetAsync("v1/revocations/crl");
        Assert.Equal("application/pkix-crl", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(TimeSpan.FromMinutes(20), response.Headers.CacheControl?.MaxAge);
        var der = await response.Content.ReadAsByteArrayAsync();
        using var other = CredentialAuthority.Create("Other DP credential CA", TimeSpan.FromDays(365));

        Assert.False(RevocationList.TryParse(der, new TrustAnchors([other.Certificate]), out _, out var reason));
        Assert.Contains("not signed by a trusted credential CA", reason, StringComparison.Ordinal);
        Assert.True(RevocationList.TryParse(der, Anchors(dp), out var list, out _));
        Assert.Equal(TimeSpan.FromMinutes(20), list.NextUpdate - list.ThisUpdate);
        Assert.False(RevocationList.TryParse([0x30, 0x03, 0x02, 0x01, 0x01], Anchors(dp), out _, out _));
    }

    private static readonly Identifiers.Csi CsipCsi = Identifiers.CsiParser.ParseOrThrow("+442071838750");

    /// <summary>Re-signs <paramref name="jws"/> with its csi claim replaced, as a CSIP trying to reach outside its scope would.</summary>
    private static string ForgeCsi(string jws, ECDsa key, string csi)
    {
        var parts = jws.Split('.');
        var payload = System.Text.Json.Nodes.JsonNode.Parse(System.Buffers.Text.Base64Url.DecodeFromChars(parts[1]))!;
        payload["csi"] = Identifiers.CsiParser.ParseOrThrow(csi).Uri;
        var input = parts[0] + "." + System.Buffers.Text.Base64Url.EncodeToString(System.Text.Encoding.UTF8.GetBytes(payload.ToJsonString()));
        var signature = key.SignData(System.Text.Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return input + "." + System.Buffers.Text.Base64Url.EncodeToString(signature);
    }
}

using Mimi.Discovery.Server.Storage;

namespace Mimi.Discovery.Server.Tests.Storage;

/// <summary>The revocation contract of <see cref="IRevocationStore"/>, on SQLite and PostgreSQL, with two DP processes racing.</summary>
public abstract class RevocationStoreContractTests : StoreSuite
{
    private const long Now = 1_800_000_000;

    private protected RevocationStoreContractTests(TestDatabase database)
        : base(database)
    {
    }

    private IRevocationStore First => (IRevocationStore)Store;

    private IRevocationStore Second => (IRevocationStore)OtherProcess;

    private static StoredRevocation Row(string thumbprint, long notAfter = Now + 86_400) => new()
    {
        Thumbprint = thumbprint,
        SerialNumber = "0A" + thumbprint.Length.ToString("X2", System.Globalization.CultureInfo.InvariantCulture),
        RevokedAt = Now,
        Reason = 1,
        NotAfter = notAfter,
    };

    private static StoredMapping Mapping(string id, string key, long credentialNotBefore) => new()
    {
        Csi = "tel:+33612345678",
        MappingId = id,
        KeyThumbprint = key,
        Audience = "*",
        Services = "wire",
        Version = 1,
        IssuedAt = Now - 10,
        ExpiresAt = Now + 1000,
        CredentialNotBefore = credentialNotBefore,
        OptOut = false,
        Statement = "jws-" + id,
    };

    private static readonly RevokedMappings Bobs = new("tel:+33612345678", "key-a", Now - 100);

    [Fact]
    public async Task Revoke_TwoProcessesRacingForOneCredential_ExactlyOneIsStored()
    {
        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
            (i % 2 == 0 ? First : Second).RevokeAsync(Row("cred"), "jti" + i, Bobs, default)));

        Assert.Equal(1, results.Count(r => r.Status == RevocationStatus.Stored));
        Assert.Equal(7, results.Count(r => r.Status == RevocationStatus.AlreadyRevoked));
        var (count, current) = await Second.ListRevocationsAsync(Now, default);
        Assert.Equal(1, count);
        Assert.Equal("cred", Assert.Single(current).Thumbprint);
        Assert.True(await First.IsRevokedAsync("cred", default));
        Assert.False(await First.IsRevokedAsync("other", default));
    }

    [Fact]
    public async Task Revoke_SameJtiAgain_IsReplayed_AndStoresNothing()
    {
        Assert.Equal(RevocationStatus.Stored, (await First.RevokeAsync(Row("a"), "jti", Bobs, default)).Status);

        Assert.Equal(RevocationStatus.Replayed, (await Second.RevokeAsync(Row("b"), "jti", Bobs, default)).Status);
        Assert.False(await First.IsRevokedAsync("b", default));
        // An already-revoked refusal keeps its jti free.
        Assert.Equal(RevocationStatus.AlreadyRevoked, (await Second.RevokeAsync(Row("a"), "fresh", Bobs, default)).Status);
        Assert.Equal(RevocationStatus.Stored, (await First.RevokeAsync(Row("b"), "fresh", Bobs, default)).Status);
    }

    [Fact]
    public async Task Revoke_RemovesOnlyTheMappingsUnderTheCredential_InTheSameTransaction()
    {
        await Store.PublishAsync(Mapping("key-a/*", "key-a", Now - 100), supersede: false, default);
        await Store.PublishAsync(Mapping("key-a/wire", "key-a", Now - 50), supersede: false, default);
        await Store.PublishAsync(Mapping("key-b/*", "key-b", Now - 100), supersede: false, default);

        var result = await Second.RevokeAsync(Row("a"), "jti", Bobs, default);

        Assert.Equal(["key-a/*"], result.Removed);
        var rows = await Store.GetMappingsAsync("tel:+33612345678", default);
        Assert.Null(rows.Single(r => r.MappingId == "key-a/*").Statement);
        Assert.NotNull(rows.Single(r => r.MappingId == "key-a/wire").Statement);
        Assert.NotNull(rows.Single(r => r.MappingId == "key-b/*").Statement);
    }

    [Fact]
    public async Task Issued_RecordedOnce_ReadBack_AndPurgedAfterExpiry_AsAreOldIds()
    {
        var credential = new IssuedCredential { Thumbprint = "t", SerialNumber = "01", NotAfter = Now, Certificate = "MII=" };
        await First.RecordIssuedAsync(credential, default);
        await Second.RecordIssuedAsync(credential, default);
        Assert.Equal(credential, await Second.GetIssuedAsync("t", default));
        Assert.Null(await First.GetIssuedAsync("u", default));
        await First.RevokeAsync(Row("a"), "old", Bobs, default);

        await Second.PurgeRevocationsAsync(Now + 1, Now + 1, default);

        Assert.Null(await First.GetIssuedAsync("t", default));
        Assert.Equal(RevocationStatus.AlreadyRevoked, (await First.RevokeAsync(Row("a"), "old", Bobs, default)).Status);
        var (count, current) = await First.ListRevocationsAsync(Now + 86_400, default);
        Assert.Equal(1, count);
        Assert.Empty(current);
    }
}

public sealed class SqliteRevocationStoreContractTests() : RevocationStoreContractTests(new SqliteTestDatabase());

public sealed class PostgresRevocationStoreContractTests() : RevocationStoreContractTests(new PostgresTestDatabase());

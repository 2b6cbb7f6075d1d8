using System.Net;
using Mimi.Discovery.Client;
using Mimi.Discovery.Privacy.Tokens;
using Mimi.Discovery.Server.Tests.Storage;

namespace Mimi.Discovery.Server.Tests.Tokens;

/// <summary>Quotas, keys and spent tokens outlive a DP process and are shared by DP processes.</summary>
public sealed class TokenPersistenceTests
{
    [Fact]
    public async Task Quota_IsDurableAcrossARestart_AndKeysAndSpentTokensToo()
    {
        var first = await TokenKit.StartAsync();
        var key = await TokenKit.AddAccountAsync(first, "wire", "wire", 3);
        var tokens = TokenKit.Tokens(first, key);
        var kept = await tokens.IssueExactlyAsync(3);
        await ProblemAssert.ThrowsAsync(429, "quota-exhausted", () => tokens.IssueExactlyAsync(1));

        Assert.Equal(HttpStatusCode.OK, (await TokenKit.LookupAsync(first, ["+33612345678"], TokenKit.Redeem(kept.Take(1)))).StatusCode);
        await first.DisposeAsync(deleteData: false);

        await using var second = await TokenKit.StartAsync(o => o.DataDirectory = first.DataDirectory);
        var again = TokenKit.Tokens(second, key);
        await ProblemAssert.ThrowsAsync(429, "quota-exhausted", () => again.IssueExactlyAsync(1));
        Assert.Equal(3, (await again.GetBalanceAsync()).Used);

        // The restarted DP verifies tokens the first one issued, and remembers the one spent there.
        Assert.Equal(HttpStatusCode.OK, (await TokenKit.LookupAsync(second, ["+33612345678"], TokenKit.Redeem(kept.Skip(1).Take(1)))).StatusCode);
        await ProblemAssert.IsProblemAsync(await TokenKit.LookupAsync(second, ["+33612345678"], TokenKit.Redeem(kept.Take(1))), 401, "token-spent");
    }

    [Fact]
    public async Task Issue_ConcurrentlyThroughTwoDpProcessesOnPostgres_NeverExceedsTheQuota()
    {
        Assert.SkipWhen(PostgresTestDatabase.AdminConnectionString is null, $"PostgreSQL not configured: set {PostgresTestDatabase.Variable} (CI does)");
        var database = await PostgresTestDatabase.CreateDatabaseAsync();
        try
        {
            var connection = PostgresTestDatabase.ConnectionStringFor(database);
            await using var first = await TokenKit.StartAsync(database: connection);
            await using var second = await TokenKit.StartAsync(o => o.DataDirectory = first.DataDirectory, database: connection);
            var key = await TokenKit.AddAccountAsync(first, "wire", "wire", 12, database: connection);

            // Both processes create the epoch's key at once; they must end up with the same one.
            var directories = await Task.WhenAll(first.Http.GetStringAsync(".well-known/private-token-issuer-directory"), second.Http.GetStringAsync(".well-known/private-token-issuer-directory"));
            var keys = directories.Select(d => IssuerDirectory.Parse(d).TokenKeys.Select(k => Convert.ToBase64String(k.TokenKey.Span)).ToList()).ToList();
            Assert.Equal(2, keys[0].Count);
            Assert.Equal(keys[0], keys[1]);

            var tokens = TokenKit.Tokens(first, key);
            var issuerKey = TokenClient.SelectKey((await tokens.GetDirectoryAsync()).Keys, "wire", first.Time.GetUtcNow())!;
            var requests = Enumerable.Range(0, 40).Select(_ => PendingTokenRequest.Create(TokenKit.Challenge(), issuerKey)).ToList();
            var responses = await Task.WhenAll(requests.Select((r, i) => TokenKit.IssueRawAsync(i % 2 == 0 ? first : second, key, r.Request.Encode())));

            Assert.Equal(12, responses.Count(r => r.StatusCode == HttpStatusCode.OK));
            Assert.Equal(28, responses.Count(r => r.StatusCode == HttpStatusCode.TooManyRequests));
            Assert.Equal(12, (await tokens.GetBalanceAsync()).Used);

            // A token issued through one process redeems once across both.
            var ok = responses.Select((r, i) => (r, i)).First(x => x.r.StatusCode == HttpStatusCode.OK);
            var token = requests[ok.i].Finalize(TokenResponse.Decode(await ok.r.Content.ReadAsByteArrayAsync()));
            Assert.Equal(HttpStatusCode.OK, (await TokenKit.LookupAsync(second, ["+33612345678"], TokenKit.Redeem([token]))).StatusCode);
            await ProblemAssert.IsProblemAsync(await TokenKit.LookupAsync(first, ["+33612345678"], TokenKit.Redeem([token])), 401, "token-spent");
        }
        finally
        {
            await PostgresTestDatabase.DropDatabaseAsync(database);
        }
    }
}

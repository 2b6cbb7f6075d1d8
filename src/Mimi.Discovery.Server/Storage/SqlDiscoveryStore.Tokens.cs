using System.Data.Common;
using System.Globalization;

namespace Mimi.Discovery.Server.Storage;

/// <summary>
/// Privacy Pass storage (docs/protocol.md §10, "How this DP uses tokens"): token accounts with a
/// quota counted per fixed window, and the nonces of redeemed tokens. The quota is taken on the
/// account's row read for update in one transaction, so concurrent issuance from several DP processes
/// never exceeds it; a batch takes what is left when less than it asks; a process whose clock is
/// behind counts into the newer window it finds rather than starting an older one again. Spent nonces are inserted under a
/// primary key, many requests' in one transaction (one durable commit) and a few statements: the nonces already
/// present are read, each request is decided in order (one with any nonce present spends none), and the rest are
/// inserted together.
/// </summary>
internal abstract partial class SqlDiscoveryStore
{
    private const string TokenSchema = """
        CREATE TABLE token_accounts (
            name TEXT PRIMARY KEY,
            key_hash TEXT NOT NULL UNIQUE,
            service TEXT NULL,
            quota BIGINT NOT NULL,
            window_seconds BIGINT NOT NULL,
            created_at BIGINT NOT NULL,
            window_start BIGINT NOT NULL DEFAULT 0,
            used BIGINT NOT NULL DEFAULT 0
        );
        CREATE TABLE token_spent (
            nonce TEXT PRIMARY KEY,
            expires_at BIGINT NOT NULL
        );
        CREATE INDEX token_spent_by_expiry ON token_spent (expires_at);
        """;

    private const string AccountColumns = "name, key_hash, service, quota, window_seconds, created_at, window_start, used";

    public async Task<bool> CreateAccountAsync(TokenAccount account, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await ExecuteAsync(connection, null, $"""
            INSERT INTO token_accounts ({AccountColumns}) VALUES (@name, @hash, @service, @quota, @window, @created, 0, 0)
            ON CONFLICT DO NOTHING
            """, cancellationToken,
            ("name", account.Name), ("hash", account.KeyHash), ("service", account.Service), ("quota", account.Quota),
            ("window", account.WindowSeconds), ("created", account.CreatedAt)).ConfigureAwait(false) == 1;
    }

    public async Task<IReadOnlyList<TokenAccount>> ListAccountsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await QueryAccountsAsync(connection, null, $"SELECT {AccountColumns} FROM token_accounts ORDER BY name", cancellationToken).ConfigureAwait(false);
    }

    public async Task<TokenAccount?> GetAccountAsync(string keyHash, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return (await QueryAccountsAsync(connection, null, $"SELECT {AccountColumns} FROM token_accounts WHERE key_hash = @hash", cancellationToken, ("hash", keyHash)).ConfigureAwait(false)).SingleOrDefault();
    }

    public async Task<bool> RemoveAccountAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await ExecuteAsync(connection, null, "DELETE FROM token_accounts WHERE name = @name", cancellationToken, ("name", name)).ConfigureAwait(false) == 1;
    }

    public async Task<(QuotaOutcome Outcome, TokenAccount? Account, int Granted)> TakeQuotaAsync(string keyHash, long now, int count, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var account = (await QueryAccountsAsync(connection, transaction, $"SELECT {AccountColumns} FROM token_accounts WHERE key_hash = @hash{RowLockClause}",
            cancellationToken, ("hash", keyHash)).ConfigureAwait(false)).SingleOrDefault();
        if (account is null)
        {
            return (QuotaOutcome.UnknownAccount, null, 0);
        }

        // The row is locked (PostgreSQL) or the writer alone (SQLite) until commit, so the count read
        // is the count written over. A process whose clock is behind counts into the newer window.
        var window = Math.Max(account.WindowStart, account.CurrentWindow(now));
        var used = account.WindowStart >= window ? account.Used : 0;
        var granted = (int)Math.Clamp(account.Quota - used, 0, count);
        if (granted == 0)
        {
            return (QuotaOutcome.Exhausted, account, 0);
        }

        var taken = account with { WindowStart = window, Used = used + granted };
        await ExecuteAsync(connection, transaction, "UPDATE token_accounts SET window_start = @window, used = @used WHERE key_hash = @hash", cancellationToken,
            ("window", taken.WindowStart), ("used", taken.Used), ("hash", keyHash)).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return (QuotaOutcome.Taken, taken, granted);
    }

    public async Task ReturnQuotaAsync(string keyHash, long windowStart, int count, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, null, "UPDATE token_accounts SET used = CASE WHEN used > @n THEN used - @n ELSE 0 END WHERE key_hash = @hash AND window_start = @start",
            cancellationToken, ("hash", keyHash), ("start", windowStart), ("n", count)).ConfigureAwait(false);
    }

    public async Task<bool> SpendTokensAsync(IReadOnlyList<SpentToken> tokens, CancellationToken cancellationToken) =>
        (await SpendTokenGroupsAsync([tokens], cancellationToken).ConfigureAwait(false))[0];

    public async Task<bool[]> SpendTokenGroupsAsync(IReadOnlyList<IReadOnlyList<SpentToken>> groups, CancellationToken cancellationToken)
    {
        var nonces = groups.SelectMany(g => g).Select(t => t.Nonce).Distinct(StringComparer.Ordinal).ToList();
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        while (true)
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);

            // Decided in memory, in order, against the nonces already spent: a group with any nonce spent
            // (before, or by an earlier group of this call) spends none; the others take theirs.
            var taken = new HashSet<string>(StringComparer.Ordinal);
            foreach (var chunk in nonces.Chunk(SpendChunk))
            {
                var (list, parameters) = InList("n", chunk);
                taken.UnionWith(await QueryAsync(connection, transaction, $"SELECT nonce FROM token_spent WHERE nonce IN ({list})", r => r.GetString(0), cancellationToken, parameters).ConfigureAwait(false));
            }

            var spent = new bool[groups.Count];
            var inserts = new List<SpentToken>();
            for (var g = 0; g < groups.Count; g++)
            {
                if (groups[g].Any(t => taken.Contains(t.Nonce)))
                {
                    continue;
                }

                spent[g] = true;
                foreach (var token in groups[g])
                {
                    taken.Add(token.Nonce);
                    inserts.Add(token);
                }
            }

            // One multi-row INSERT per chunk, in nonce order (two processes' batches then lock PostgreSQL's
            // index entries in the same order). DO NOTHING rather than a caught violation: a concurrent insert
            // of the same nonce waits for the first to commit, then inserts nothing; RETURNING tells.
            var inserted = 0;
            foreach (var chunk in inserts.OrderBy(t => t.Nonce, StringComparer.Ordinal).Chunk(SpendChunk))
            {
                var values = string.Join(", ", chunk.Select((_, i) => $"(@n{i}, @e{i})"));
                var parameters = chunk.SelectMany((t, i) => new[] { ("n" + i.ToString(CultureInfo.InvariantCulture), (object?)t.Nonce), ("e" + i.ToString(CultureInfo.InvariantCulture), (object?)t.ExpiresAt) }).ToArray();
                inserted += (await QueryAsync(connection, transaction, $"INSERT INTO token_spent (nonce, expires_at) VALUES {values} ON CONFLICT (nonce) DO NOTHING RETURNING nonce", r => r.GetString(0), cancellationToken, parameters).ConfigureAwait(false)).Count;
            }

            if (inserted == inserts.Count)
            {
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return spent;
            }

            // Another process spent one of these nonces between the read and the insert: decide again
            // against what it committed (each pass sees more spent, so this ends).
            await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Nonces per statement when spending: 2 parameters each, well under SQLite's 32,766 and PostgreSQL's 65,535.</summary>
    private const int SpendChunk = 1000;

    public async Task<int> PurgeSpentTokensAsync(long now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await ExecuteAsync(connection, null, "DELETE FROM token_spent WHERE expires_at <= @now", cancellationToken, ("now", now)).ConfigureAwait(false);
    }

    private static Task<List<TokenAccount>> QueryAccountsAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters) =>
        QueryAsync(connection, transaction, sql, reader => new TokenAccount
        {
            Name = reader.GetString(0),
            KeyHash = reader.GetString(1),
            Service = reader.IsDBNull(2) ? null : reader.GetString(2),
            Quota = reader.GetInt64(3),
            WindowSeconds = reader.GetInt64(4),
            CreatedAt = reader.GetInt64(5),
            WindowStart = reader.GetInt64(6),
            Used = reader.GetInt64(7),
        }, cancellationToken, parameters);
}

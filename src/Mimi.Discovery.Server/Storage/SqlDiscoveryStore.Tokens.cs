using System.Data.Common;
using System.Globalization;

namespace Mimi.Discovery.Server.Storage;

/// <summary>
/// Privacy Pass storage (docs/protocol.md §10, "How this DP uses tokens"): token accounts with a
/// quota counted per fixed window, and the nonces of redeemed tokens. The quota is taken on the
/// account's row read for update in one transaction, so concurrent issuance from several DP processes
/// never exceeds it; a batch takes what is left when less than it asks; a process whose clock is
/// behind counts into the newer window it finds rather than starting an older one again. Spent nonces are inserted under a
/// primary key, many requests' in one transaction (one durable commit), each request behind a savepoint: a request with
/// any nonce already present spends none.
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
        var spent = new bool[groups.Count];
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        for (var g = 0; g < groups.Count; g++)
        {
            // Each group behind its own savepoint: a group with a nonce already present (in the table
            // or earlier in this transaction) rolls back to it and spends none; the others commit together.
            var savepoint = "spend" + g.ToString(CultureInfo.InvariantCulture);
            await transaction.SaveAsync(savepoint, cancellationToken).ConfigureAwait(false);
            spent[g] = true;
            foreach (var token in groups[g])
            {
                // DO NOTHING rather than a caught violation: a PostgreSQL transaction survives it, and a
                // concurrent insert of the same nonce waits for the first to commit, then inserts nothing.
                var inserted = await ExecuteAsync(connection, transaction, "INSERT INTO token_spent (nonce, expires_at) VALUES (@nonce, @expires) ON CONFLICT (nonce) DO NOTHING",
                    cancellationToken, ("nonce", token.Nonce), ("expires", token.ExpiresAt)).ConfigureAwait(false);
                if (inserted != 1)
                {
                    spent[g] = false;
                    break;
                }
            }

            if (spent[g])
            {
                await transaction.ReleaseAsync(savepoint, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await transaction.RollbackAsync(savepoint, cancellationToken).ConfigureAwait(false);
            }
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return spent;
    }

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

using System.Data.Common;

namespace Mimi.Discovery.Server.Storage;

/// <summary>
/// The storage logic shared by SQLite and PostgreSQL. Both speak the same SQL here (upsert with
/// <c>ON CONFLICT … DO UPDATE … WHERE</c>, <c>RETURNING</c>, BIGINT Unix times, INTEGER flags), so
/// only connections, migration locking and bulk loading differ.
/// </summary>
internal abstract partial class SqlDiscoveryStore : IDiscoveryStore
{
    private const string MappingColumns =
        "csi, mapping_id, key_thumbprint, audience, services, version, issued_at, expires_at, credential_not_before, opt_out, statement, removed_before";

    private const string ProofColumns = "id, csi, public_key, client, code_hash, created_at, expires_at, attempts, consumed";

    /// <summary>Ordered schema migrations; the index + 1 is the schema version.</summary>
    private static readonly string[] Migrations =
    [
        """
        CREATE TABLE mappings (
            csi TEXT NOT NULL,
            mapping_id TEXT NOT NULL,
            key_thumbprint TEXT NOT NULL,
            audience TEXT NOT NULL,
            services TEXT NOT NULL,
            version BIGINT NOT NULL,
            issued_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            credential_not_before BIGINT NOT NULL,
            opt_out INTEGER NOT NULL,
            statement TEXT NULL,
            removed_before BIGINT NULL,
            PRIMARY KEY (csi, mapping_id)
        );
        CREATE TABLE csi_floors (
            csi TEXT PRIMARY KEY,
            not_before BIGINT NOT NULL
        );
        CREATE TABLE proofs (
            id TEXT PRIMARY KEY,
            csi TEXT NOT NULL,
            public_key TEXT NOT NULL,
            client TEXT NOT NULL,
            code_hash TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            consumed INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX proofs_by_csi ON proofs (csi, created_at);
        CREATE INDEX proofs_by_client ON proofs (client, created_at);
        CREATE INDEX proofs_by_time ON proofs (created_at);
        """,
        TransparencySchema,
        TokenSchema,
        EpochClockSchema + LimitSchema,
        // Delegations share the mappings table under their subjects (tel:+33, mailto:example.com);
        // the DP reads the few of them at every epoch.
        "CREATE INDEX mappings_delegations ON mappings (csi) WHERE audience = 'delegation';",
        MirrorSchema,
        InvitationSchema,
        RevocationSchema,
        CsipSchema,
    ];

    protected abstract ValueTask<DbConnection> OpenAsync(CancellationToken cancellationToken);

    /// <summary>A clause that locks the rows a <c>SELECT</c> reads until commit (PostgreSQL <c>FOR UPDATE</c>); SQLite's writers are serialised already.</summary>
    protected virtual string RowLockClause => "";

    /// <summary>Runs inside the migration transaction before the version is read, to keep other processes out.</summary>
    protected virtual Task LockForMigrationAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) => Task.CompletedTask;

    public abstract Task BulkInsertAsync(IReadOnlyList<StoredMapping> mappings, CancellationToken cancellationToken);

    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await LockForMigrationAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, transaction, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)", cancellationToken).ConfigureAwait(false);
        var current = Convert.ToInt32(await ScalarAsync(connection, transaction, "SELECT COALESCE(MAX(version), 0) FROM schema_version", cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
        if (current > Migrations.Length)
        {
            throw new InvalidOperationException($"The database schema is version {current}, newer than this server's {Migrations.Length}; upgrade the server.");
        }

        for (var version = current + 1; version <= Migrations.Length; version++)
        {
            await ExecuteAsync(connection, transaction, Migrations[version - 1], cancellationToken).ConfigureAwait(false);
            await ExecuteAsync(connection, transaction, "INSERT INTO schema_version (version) VALUES (@v)", cancellationToken, ("v", version)).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<bool> IsHealthyAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
            return Convert.ToInt32(await ScalarAsync(connection, null, "SELECT 1", cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture) == 1;
        }
        catch (DbException)
        {
            return false;
        }
    }

    public async Task<PublishResult> PublishAsync(StoredMapping m, bool supersede, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);

        var floor = await ScalarAsync(connection, transaction, "SELECT not_before FROM csi_floors WHERE csi = @csi", cancellationToken, ("csi", m.Csi)).ConfigureAwait(false);
        if (floor is not null and not DBNull && Convert.ToInt64(floor, System.Globalization.CultureInfo.InvariantCulture) > m.CredentialNotBefore)
        {
            return new PublishResult(PublishStatus.CredentialSuperseded, 0, []);
        }

        var stored = await ExecuteAsync(connection, transaction, $"""
            INSERT INTO mappings ({MappingColumns})
            VALUES (@csi, @id, @key, @audience, @services, @version, @iat, @exp, @cnb, @optout, @statement, NULL)
            ON CONFLICT (csi, mapping_id) DO UPDATE SET
                audience = excluded.audience, services = excluded.services, version = excluded.version,
                issued_at = excluded.issued_at, expires_at = excluded.expires_at,
                credential_not_before = excluded.credential_not_before, opt_out = excluded.opt_out,
                statement = excluded.statement
            WHERE mappings.version < excluded.version
              AND (mappings.removed_before IS NULL OR excluded.issued_at > mappings.removed_before)
            """, cancellationToken,
            ("csi", m.Csi), ("id", m.MappingId), ("key", m.KeyThumbprint), ("audience", m.Audience), ("services", m.Services),
            ("version", m.Version), ("iat", m.IssuedAt), ("exp", m.ExpiresAt), ("cnb", m.CredentialNotBefore),
            ("optout", m.OptOut ? 1 : 0), ("statement", m.Statement)).ConfigureAwait(false);

        if (stored == 0)
        {
            var existing = (await QueryMappingsAsync(connection, transaction, "csi = @csi AND mapping_id = @id", cancellationToken, ("csi", m.Csi), ("id", m.MappingId)).ConfigureAwait(false)).Single();
            return existing.Version >= m.Version
                ? new PublishResult(PublishStatus.VersionNotNewer, existing.Version, [])
                : new PublishResult(PublishStatus.RemovedBefore, existing.Version, []);
        }

        IReadOnlyList<string> superseded = [];
        if (supersede)
        {
            superseded = await QueryAsync(connection, transaction, """
                UPDATE mappings SET statement = NULL,
                    removed_before = CASE WHEN removed_before IS NULL OR removed_before < @iat THEN @iat ELSE removed_before END
                WHERE csi = @csi AND statement IS NOT NULL AND key_thumbprint <> @key AND credential_not_before < @cnb
                RETURNING mapping_id
                """, reader => reader.GetString(0), cancellationToken, ("csi", m.Csi), ("key", m.KeyThumbprint), ("cnb", m.CredentialNotBefore), ("iat", m.IssuedAt)).ConfigureAwait(false);
            await RaiseFloorAsync(connection, transaction, m.Csi, m.CredentialNotBefore, cancellationToken).ConfigureAwait(false);
        }

        var due = await MarkPendingAsync(connection, transaction, m.Csi, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return new PublishResult(PublishStatus.Stored, m.Version, superseded, due);
    }

    public async Task<IReadOnlyList<StoredMapping>> GetMappingsAsync(string csi, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await QueryMappingsAsync(connection, null, "csi = @csi", cancellationToken, ("csi", csi)).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<StoredMapping>> GetDelegationsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await QueryMappingsAsync(connection, null, "audience = @audience AND statement IS NOT NULL", cancellationToken, ("audience", Mimi.Discovery.Transparency.Labels.DelegationScope)).ConfigureAwait(false);
    }

    public async Task<ILookup<string, StoredMapping>> LookupAsync(IReadOnlyCollection<string> csis, long now, CancellationToken cancellationToken)
    {
        if (csis.Count == 0)
        {
            return Array.Empty<StoredMapping>().ToLookup(m => m.Csi, StringComparer.Ordinal);
        }

        var names = csis.Select((_, i) => "@c" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();
        var parameters = csis.Select((c, i) => ("c" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), (object?)c)).Append(("now", now)).ToArray();
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        var rows = await QueryMappingsAsync(connection, null,
            $"csi IN ({string.Join(", ", names)}) AND statement IS NOT NULL AND expires_at > @now", cancellationToken, parameters).ConfigureAwait(false);
        return rows.ToLookup(m => m.Csi, StringComparer.Ordinal);
    }

    public async Task<RemovalResult> RemoveAsync(string csi, IReadOnlyList<RemovalTarget> targets, long removedBefore, long? credentialFloor, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var removed = new List<string>();
        foreach (var target in targets)
        {
            var changed = await ExecuteAsync(connection, transaction, """
                UPDATE mappings SET statement = NULL, version = @newVersion,
                    removed_before = CASE WHEN removed_before IS NULL OR removed_before < @rb THEN @rb ELSE removed_before END
                WHERE csi = @csi AND mapping_id = @id AND version = @seen AND statement IS NOT NULL
                """, cancellationToken, ("csi", csi), ("id", target.MappingId), ("seen", target.SeenVersion), ("newVersion", target.NewVersion), ("rb", removedBefore)).ConfigureAwait(false);
            if (changed == 1)
            {
                removed.Add(target.MappingId);
            }
        }

        if (credentialFloor is { } floor)
        {
            await RaiseFloorAsync(connection, transaction, csi, floor, cancellationToken).ConfigureAwait(false);
        }

        var due = removed.Count > 0 ? await MarkPendingAsync(connection, transaction, csi, cancellationToken).ConfigureAwait(false) : 0;
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return new RemovalResult(removed, due);
    }

    public async Task<ProofLimitHit> CreateProofAsync(StoredProof proof, ProofLimits limits, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        foreach (var (hit, name, limit, windowStart) in ProofCounters(proof, limits))
        {
            if (!await TakeCountAsync(connection, transaction, name, limit, windowStart, cancellationToken).ConfigureAwait(false))
            {
                await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
                return hit;
            }
        }

        await ExecuteAsync(connection, transaction, $"INSERT INTO proofs ({ProofColumns}) VALUES (@id, @csi, @key, @client, @hash, @created, @expires, 0, 0)", cancellationToken,
            ("id", proof.Id), ("csi", proof.Csi), ("key", proof.PublicKey), ("client", proof.Client), ("hash", proof.CodeHash),
            ("created", proof.CreatedAt), ("expires", proof.ExpiresAt)).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return ProofLimitHit.None;
    }

    public async Task CancelProofAsync(StoredProof proof, ProofLimits limits, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        if (await ExecuteAsync(connection, transaction, "DELETE FROM proofs WHERE id = @id", cancellationToken, ("id", proof.Id)).ConfigureAwait(false) == 1)
        {
            foreach (var (_, name, _, windowStart) in ProofCounters(proof, limits))
            {
                await ReturnCountAsync(connection, transaction, name, windowStart, cancellationToken).ConfigureAwait(false);
            }
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<StoredProof?> CountAttemptAsync(string id, int maxAttempts, long now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return (await QueryProofsAsync(connection, $"""
            UPDATE proofs SET attempts = attempts + 1
            WHERE id = @id AND consumed = 0 AND attempts < @max AND expires_at > @now
            RETURNING {ProofColumns}
            """, cancellationToken, ("id", id), ("max", maxAttempts), ("now", now)).ConfigureAwait(false)).SingleOrDefault();
    }

    public async Task<StoredProof?> GetProofAsync(string id, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return (await QueryProofsAsync(connection, $"SELECT {ProofColumns} FROM proofs WHERE id = @id", cancellationToken, ("id", id)).ConfigureAwait(false)).SingleOrDefault();
    }

    public async Task<bool> ConsumeProofAsync(string id, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await ExecuteAsync(connection, null, "UPDATE proofs SET consumed = 1 WHERE id = @id AND consumed = 0", cancellationToken, ("id", id)).ConfigureAwait(false) == 1;
    }

    public async Task<int> PurgeProofsAsync(long before, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await PurgeCountsAsync(connection, before, cancellationToken).ConfigureAwait(false);
        return await ExecuteAsync(connection, null, "DELETE FROM proofs WHERE created_at < @before", cancellationToken, ("before", before)).ConfigureAwait(false);
    }

    private static Task<int> RaiseFloorAsync(DbConnection connection, DbTransaction transaction, string csi, long floor, CancellationToken cancellationToken) =>
        ExecuteAsync(connection, transaction, """
            INSERT INTO csi_floors (csi, not_before) VALUES (@csi, @floor)
            ON CONFLICT (csi) DO UPDATE SET not_before = excluded.not_before WHERE csi_floors.not_before < excluded.not_before
            """, cancellationToken, ("csi", csi), ("floor", floor));

    protected static Task<List<StoredMapping>> QueryMappingsAsync(DbConnection connection, DbTransaction? transaction, string where, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters) =>
        QueryAsync(connection, transaction, $"SELECT {MappingColumns} FROM mappings WHERE {where}", reader => new StoredMapping
        {
            Csi = reader.GetString(0),
            MappingId = reader.GetString(1),
            KeyThumbprint = reader.GetString(2),
            Audience = reader.GetString(3),
            Services = reader.GetString(4),
            Version = reader.GetInt64(5),
            IssuedAt = reader.GetInt64(6),
            ExpiresAt = reader.GetInt64(7),
            CredentialNotBefore = reader.GetInt64(8),
            OptOut = reader.GetInt64(9) != 0,
            Statement = reader.IsDBNull(10) ? null : reader.GetString(10),
            RemovedBefore = reader.IsDBNull(11) ? null : reader.GetInt64(11),
        }, cancellationToken, parameters);

    private static Task<List<StoredProof>> QueryProofsAsync(DbConnection connection, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters) =>
        QueryAsync(connection, null, sql, reader => new StoredProof
        {
            Id = reader.GetString(0),
            Csi = reader.GetString(1),
            PublicKey = reader.GetString(2),
            Client = reader.GetString(3),
            CodeHash = reader.GetString(4),
            CreatedAt = reader.GetInt64(5),
            ExpiresAt = reader.GetInt64(6),
            Attempts = (int)reader.GetInt64(7),
            Consumed = reader.GetInt64(8) != 0,
        }, cancellationToken, parameters);

    protected static async Task<List<T>> QueryAsync<T>(DbConnection connection, DbTransaction? transaction, string sql, Func<DbDataReader, T> read, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var command = Command(connection, transaction, sql, parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await ReadAllAsync(reader, read, cancellationToken).ConfigureAwait(false);
    }

    protected static async Task<int> ExecuteAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var command = Command(connection, transaction, sql, parameters);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    protected static async Task<object?> ScalarAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var command = Command(connection, transaction, sql, parameters);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>How many executions of one statement <see cref="ExecuteEachAsync"/> sends in one round trip where the provider batches.</summary>
    private const int BatchSize = 500;

    /// <summary>
    /// Runs one statement once per row of parameter values (<paramref name="names"/>, in order), within
    /// <paramref name="transaction"/>. Where the provider batches (Npgsql), <see cref="BatchSize"/>
    /// executions share one round trip: a 10,000-identifier reassignment feed or a large seal is then
    /// 20 round trips to a PostgreSQL server, not 10,000. SQLite, in process, runs one prepared command per row.
    /// </summary>
    protected static Task ExecuteEachAsync(DbConnection connection, DbTransaction transaction, string sql, string[] names, IReadOnlyList<object?[]> rows, CancellationToken cancellationToken) =>
        EachAsync<object?>(connection, transaction, sql, names, rows, read: null, cancellationToken);

    /// <summary><see cref="ExecuteEachAsync"/> for a statement that returns rows (<c>RETURNING</c>): per row of values, in order, the rows it returned.</summary>
    protected static Task<List<T>[]> QueryEachAsync<T>(DbConnection connection, DbTransaction transaction, string sql, string[] names, IReadOnlyList<object?[]> rows,
        Func<DbDataReader, T> read, CancellationToken cancellationToken) =>
        EachAsync(connection, transaction, sql, names, rows, read, cancellationToken);

    private static async Task<List<T>[]> EachAsync<T>(DbConnection connection, DbTransaction transaction, string sql, string[] names, IReadOnlyList<object?[]> rows,
        Func<DbDataReader, T>? read, CancellationToken cancellationToken)
    {
        var results = new List<T>[rows.Count];
        if (rows.Count == 0)
        {
            return results;
        }

        if (connection.CanCreateBatch)
        {
            for (var start = 0; start < rows.Count; start += BatchSize)
            {
                var end = Math.Min(start + BatchSize, rows.Count);
                await using var batch = connection.CreateBatch();
                batch.Transaction = transaction;
                for (var i = start; i < end; i++)
                {
                    var command = batch.CreateBatchCommand();
                    command.CommandText = sql;
                    for (var p = 0; p < names.Length; p++)
                    {
                        var parameter = command.CreateParameter();
                        parameter.ParameterName = "@" + names[p];
                        parameter.Value = rows[i][p] ?? DBNull.Value;
                        command.Parameters.Add(parameter);
                    }

                    batch.BatchCommands.Add(command);
                }

                if (read is null)
                {
                    await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                    continue;
                }

                await using var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                for (var i = start; i < end; i++)
                {
                    if (i > start && !await reader.NextResultAsync(cancellationToken).ConfigureAwait(false))
                    {
                        throw new InvalidOperationException("a batched statement returned no result set: QueryEachAsync takes only statements that return rows");
                    }

                    results[i] = await ReadAllAsync(reader, read, cancellationToken).ConfigureAwait(false);
                }
            }

            return results;
        }

        await using var prepared = Command(connection, transaction, sql, [.. names.Select(n => (n, (object?)null))]);
        for (var i = 0; i < rows.Count; i++)
        {
            for (var p = 0; p < names.Length; p++)
            {
                prepared.Parameters[p].Value = rows[i][p] ?? DBNull.Value;
            }

            if (read is null)
            {
                await prepared.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                continue;
            }

            await using var reader = await prepared.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            results[i] = await ReadAllAsync(reader, read, cancellationToken).ConfigureAwait(false);
        }

        return results;
    }

    private static async Task<List<T>> ReadAllAsync<T>(DbDataReader reader, Func<DbDataReader, T> read, CancellationToken cancellationToken)
    {
        var rows = new List<T>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add(read(reader));
        }

        return rows;
    }

#pragma warning disable CA2100 // SQL text is built only from constants and generated parameter names, never from input.
    protected static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = "@" + name;
            parameter.Value = value ?? DBNull.Value;
            command.Parameters.Add(parameter);
        }

        return command;
    }
#pragma warning restore CA2100
}

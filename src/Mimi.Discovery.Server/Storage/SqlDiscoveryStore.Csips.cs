using System.Data.Common;

namespace Mimi.Discovery.Server.Storage;

/// <summary>A CSIP the operator onboarded (docs/operations.md, "CSIP onboarding"): one credential the DP's CA issued for it.</summary>
internal sealed record StoredCsip
{
    /// <summary>The credential's x5t#S256 (SHA-256 of its DER, base64url): how a removal or feed finds its CSIP.</summary>
    public required string Thumbprint { get; init; }

    /// <summary>The operator's name for the CSIP; several credentials (a rotation) may share it.</summary>
    public required string Name { get; init; }

    /// <summary>The scope's elements, comma-separated (e.g. <c>+3361,+3362,example.com</c>).</summary>
    public required string Scope { get; init; }

    /// <summary>The credential, PEM.</summary>
    public required string Credential { get; init; }

    /// <summary>Unix seconds.</summary>
    public required long NotAfter { get; init; }

    /// <summary>Unix seconds.</summary>
    public required long CreatedAt { get; init; }

    /// <summary>Unix seconds; null while the CSIP may act.</summary>
    public long? RevokedAt { get; init; }
}

/// <summary>One reassignment of a feed, as the store applies it: the CSI and when it changed hands (Unix seconds).</summary>
internal readonly record struct FeedEntry(string Csi, long At);

/// <summary>How applying a feed ended.</summary>
internal enum FeedStatus
{
    /// <summary>Applied: see the removed mapping ids per entry.</summary>
    Applied,

    /// <summary>The CSIP already sent a feed with this id; nothing changed.</summary>
    Replayed,

    /// <summary>The CSIP's credential was revoked (or is unknown) by the time the feed was applied; nothing changed.</summary>
    Revoked,
}

/// <summary>What applying a feed did: for each entry, in order, the ids of the mappings removed; and the epoch the removals are due in.</summary>
internal sealed record FeedResult(FeedStatus Status, IReadOnlyList<IReadOnlyList<string>> Removed, long DueEpoch = 0);

/// <summary>A removal made on a CSIP's authority, kept for the operator and for monitors (docs/protocol.md §16).</summary>
internal sealed record CsipAct(string Csi, string Csip, string? Feed, string MappingId, long ActedAt);

/// <summary>
/// CSIP storage (docs/protocol.md §16, docs/operations.md "CSIP onboarding"): the onboarded CSIPs and
/// their credentials, the feed ids each CSIP used (a feed is applied once), and every removal made on
/// a CSIP's authority.
/// </summary>
internal interface ICsipStore
{
    /// <summary>Stores an onboarded CSIP's credential; false when this credential is stored already.</summary>
    Task<bool> AddCsipAsync(StoredCsip csip, CancellationToken cancellationToken);

    /// <summary>Every stored CSIP credential, by name then creation.</summary>
    Task<IReadOnlyList<StoredCsip>> ListCsipsAsync(CancellationToken cancellationToken);

    /// <summary>The CSIP credential with this thumbprint, revoked or not.</summary>
    Task<StoredCsip?> GetCsipAsync(string thumbprint, CancellationToken cancellationToken);

    /// <summary>Revokes every credential of the CSIP named <paramref name="name"/>; returns how many were still active.</summary>
    Task<int> RevokeCsipAsync(string name, long now, CancellationToken cancellationToken);

    /// <summary>
    /// Applies a verified feed in one transaction: records its id for the CSIP (a known id changes nothing:
    /// <see cref="FeedStatus.Replayed"/>); for each entry, removes the CSI's current mappings under credentials
    /// issued before its time, raises the CSI's credential floor to that time, and records each removal as
    /// an act of the CSIP. Entries the caller found outside the scope are not passed.
    /// </summary>
    Task<FeedResult> ApplyFeedAsync(StoredCsip csip, string feedId, long issuedAt, long now, IReadOnlyList<FeedEntry> entries, CancellationToken cancellationToken);

    /// <summary>Records removals made on a CSIP's authority through a single removal statement.</summary>
    Task RecordCsipActsAsync(IReadOnlyList<CsipAct> acts, CancellationToken cancellationToken);

    /// <summary>The removals made on CSIP authority for <paramref name="csi"/>, oldest first.</summary>
    Task<IReadOnlyList<CsipAct>> GetCsipActsAsync(string csi, CancellationToken cancellationToken);
}

internal abstract partial class SqlDiscoveryStore : ICsipStore
{
    private const string CsipSchema = """
        CREATE TABLE csips (
            thumbprint TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            scope TEXT NOT NULL,
            credential TEXT NOT NULL,
            not_after BIGINT NOT NULL,
            created_at BIGINT NOT NULL,
            revoked_at BIGINT NULL
        );
        CREATE INDEX csips_by_name ON csips (name);
        CREATE TABLE csip_feeds (
            csip TEXT NOT NULL,
            id TEXT NOT NULL,
            issued_at BIGINT NOT NULL,
            received_at BIGINT NOT NULL,
            entries INTEGER NOT NULL,
            PRIMARY KEY (csip, id)
        );
        CREATE TABLE csip_acts (
            csi TEXT NOT NULL,
            csip TEXT NOT NULL,
            feed TEXT NULL,
            mapping_id TEXT NOT NULL,
            acted_at BIGINT NOT NULL
        );
        CREATE INDEX csip_acts_by_csi ON csip_acts (csi, acted_at);
        """;

    private const string CsipColumns = "thumbprint, name, scope, credential, not_after, created_at, revoked_at";

    public async Task<bool> AddCsipAsync(StoredCsip csip, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await ExecuteAsync(connection, null, $"""
            INSERT INTO csips ({CsipColumns}) VALUES (@t, @name, @scope, @credential, @notAfter, @created, NULL)
            ON CONFLICT (thumbprint) DO NOTHING
            """, cancellationToken, ("t", csip.Thumbprint), ("name", csip.Name), ("scope", csip.Scope), ("credential", csip.Credential),
            ("notAfter", csip.NotAfter), ("created", csip.CreatedAt)).ConfigureAwait(false) == 1;
    }

    public async Task<IReadOnlyList<StoredCsip>> ListCsipsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await QueryAsync(connection, null, $"SELECT {CsipColumns} FROM csips ORDER BY name, created_at, thumbprint", ReadCsip, cancellationToken).ConfigureAwait(false);
    }

    public async Task<StoredCsip?> GetCsipAsync(string thumbprint, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return (await QueryAsync(connection, null, $"SELECT {CsipColumns} FROM csips WHERE thumbprint = @t", ReadCsip, cancellationToken, ("t", thumbprint)).ConfigureAwait(false)).SingleOrDefault();
    }

    public async Task<int> RevokeCsipAsync(string name, long now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await ExecuteAsync(connection, null, "UPDATE csips SET revoked_at = @now WHERE name = @name AND revoked_at IS NULL", cancellationToken,
            ("name", name), ("now", now)).ConfigureAwait(false);
    }

    public async Task<FeedResult> ApplyFeedAsync(StoredCsip csip, string feedId, long issuedAt, long now, IReadOnlyList<FeedEntry> entries, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);

        // The CSIP row is read (and on PostgreSQL locked) inside the transaction, so a revocation
        // committed before this point stops the feed, and one after it waits for the feed.
        var revoked = await ScalarAsync(connection, transaction, $"SELECT revoked_at FROM csips WHERE thumbprint = @t{RowLockClause}", cancellationToken, ("t", csip.Thumbprint)).ConfigureAwait(false);
        if (revoked is not DBNull)
        {
            await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
            return new FeedResult(FeedStatus.Revoked, []);
        }

        var fresh = await ExecuteAsync(connection, transaction, """
            INSERT INTO csip_feeds (csip, id, issued_at, received_at, entries) VALUES (@csip, @id, @iat, @now, @n)
            ON CONFLICT (csip, id) DO NOTHING
            """, cancellationToken, ("csip", csip.Name), ("id", feedId), ("iat", issuedAt), ("now", now), ("n", entries.Count)).ConfigureAwait(false);
        if (fresh == 0)
        {
            await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
            return new FeedResult(FeedStatus.Replayed, []);
        }

        // Removal as for a CSIP removal statement (statement erased, removed_before raised so an older
        // statement cannot return), but only of mappings under credentials older than the reassignment.
        var removed = await QueryEachAsync(connection, transaction, """
            UPDATE mappings SET statement = NULL,
                removed_before = CASE WHEN removed_before IS NULL OR removed_before < @rb THEN @rb ELSE removed_before END
            WHERE csi = @csi AND statement IS NOT NULL AND credential_not_before < @at
            RETURNING mapping_id
            """, ["csi", "at", "rb"], [.. entries.Select(e => new object?[] { e.Csi, e.At, issuedAt })], r => r.GetString(0), cancellationToken).ConfigureAwait(false);
        await ExecuteEachAsync(connection, transaction, """
            INSERT INTO csi_floors (csi, not_before) VALUES (@csi, @floor)
            ON CONFLICT (csi) DO UPDATE SET not_before = excluded.not_before WHERE csi_floors.not_before < excluded.not_before
            """, ["csi", "floor"], [.. entries.Select(e => new object?[] { e.Csi, e.At })], cancellationToken).ConfigureAwait(false);

        var changed = entries.Select((e, i) => (e.Csi, Ids: removed[i])).Where(c => c.Ids.Count > 0).ToList();
        long due = 0;
        if (changed.Count > 0)
        {
            await InsertActsAsync(connection, transaction, [.. changed.SelectMany(c => c.Ids.Select(id => new CsipAct(c.Csi, csip.Name, feedId, id, now)))],
                cancellationToken).ConfigureAwait(false);

            // Marked pending last, as a publish or removal does: the epoch clock is taken after the
            // mapping rows, in the same order everywhere, so no change waits on a seal that waits on it.
            due = await MarkPendingAsync(connection, transaction, changed.Select(c => c.Csi).ToList(), cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return new FeedResult(FeedStatus.Applied, removed, due);
    }

    public async Task RecordCsipActsAsync(IReadOnlyList<CsipAct> acts, CancellationToken cancellationToken)
    {
        if (acts.Count == 0)
        {
            return;
        }

        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await InsertActsAsync(connection, transaction, acts, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    private static Task InsertActsAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<CsipAct> acts, CancellationToken cancellationToken) =>
        ExecuteEachAsync(connection, transaction, "INSERT INTO csip_acts (csi, csip, feed, mapping_id, acted_at) VALUES (@csi, @csip, @feed, @id, @at)",
            ["csi", "csip", "feed", "id", "at"], [.. acts.Select(a => new object?[] { a.Csi, a.Csip, a.Feed, a.MappingId, a.ActedAt })], cancellationToken);

    public async Task<IReadOnlyList<CsipAct>> GetCsipActsAsync(string csi, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await QueryAsync(connection, null, "SELECT csi, csip, feed, mapping_id, acted_at FROM csip_acts WHERE csi = @csi ORDER BY acted_at, mapping_id",
            r => new CsipAct(r.GetString(0), r.GetString(1), r.IsDBNull(2) ? null : r.GetString(2), r.GetString(3), r.GetInt64(4)), cancellationToken, ("csi", csi)).ConfigureAwait(false);
    }

    private static StoredCsip ReadCsip(DbDataReader r) => new()
    {
        Thumbprint = r.GetString(0),
        Name = r.GetString(1),
        Scope = r.GetString(2),
        Credential = r.GetString(3),
        NotAfter = r.GetInt64(4),
        CreatedAt = r.GetInt64(5),
        RevokedAt = r.IsDBNull(6) ? null : r.GetInt64(6),
    };
}

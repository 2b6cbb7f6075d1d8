namespace Mimi.Discovery.Server.Storage;

/// <summary>A credential this DP issued (docs/protocol.md §15): only these can be revoked here.</summary>
internal sealed record IssuedCredential
{
    /// <summary>The credential's <c>x5t#S256</c>.</summary>
    public required string Thumbprint { get; init; }

    /// <summary>The serial number, upper-case hex, as the CRL lists it.</summary>
    public required string SerialNumber { get; init; }

    public required long NotAfter { get; init; }

    /// <summary>The DER certificate, base64.</summary>
    public required string Certificate { get; init; }
}

/// <summary>A revocation the DP took: what its CRL lists.</summary>
internal sealed record StoredRevocation
{
    /// <summary>The revoked credential's <c>x5t#S256</c>.</summary>
    public required string Thumbprint { get; init; }

    public required string SerialNumber { get; init; }

    /// <summary>Unix seconds: when the DP took it (the CRL entry's revocationDate).</summary>
    public required long RevokedAt { get; init; }

    /// <summary>The RFC 5280 §5.3.1 reason code.</summary>
    public required int Reason { get; init; }

    /// <summary>The revoked credential's expiry: after it, the CRL no longer lists it (RFC 5280 §3.3).</summary>
    public required long NotAfter { get; init; }
}

/// <summary>Which mappings a revocation removes: those of the CSI signed under the revoked credential (its key and its notBefore).</summary>
internal sealed record RevokedMappings(string Csi, string KeyThumbprint, long CredentialNotBefore);

/// <summary>How a revocation ended in the store.</summary>
internal enum RevocationStatus
{
    Stored,

    /// <summary>Its <c>jti</c> was taken before; nothing changed.</summary>
    Replayed,

    /// <summary>The credential was revoked before; nothing changed.</summary>
    AlreadyRevoked,
}

/// <summary>A revocation's outcome: its status, the mappings removed with it, and the epoch they are due in.</summary>
internal sealed record RevocationResult(RevocationStatus Status, IReadOnlyList<string> Removed, long DueEpoch = 0);

/// <summary>
/// Revocation storage (docs/protocol.md §15, docs/operations.md "Renewal and revocation"): the credentials
/// this DP issued, the revocations it took (its CRL), and the <c>jti</c>s it has seen (replays).
/// </summary>
internal interface IRevocationStore
{
    /// <summary>Records a credential the DP issued.</summary>
    Task RecordIssuedAsync(IssuedCredential credential, CancellationToken cancellationToken);

    /// <summary>The issued credential with this <c>x5t#S256</c>, or null.</summary>
    Task<IssuedCredential?> GetIssuedAsync(string thumbprint, CancellationToken cancellationToken);

    /// <summary>Whether the credential with this <c>x5t#S256</c> is revoked.</summary>
    Task<bool> IsRevokedAsync(string thumbprint, CancellationToken cancellationToken);

    /// <summary>
    /// In one transaction: takes <paramref name="id"/> (else <see cref="RevocationStatus.Replayed"/>), stores the
    /// revocation (else <see cref="RevocationStatus.AlreadyRevoked"/>; either refusal stores nothing), and removes
    /// the <paramref name="mappings"/> still served (their statements go).
    /// Atomic across processes: of two revocations of one credential, exactly one is stored.
    /// </summary>
    Task<RevocationResult> RevokeAsync(StoredRevocation revocation, string id, RevokedMappings mappings, CancellationToken cancellationToken);

    /// <summary>How many revocations were ever stored (the CRL number), and those of credentials not expired at <paramref name="now"/>, oldest first.</summary>
    Task<(long Count, IReadOnlyList<StoredRevocation> Current)> ListRevocationsAsync(long now, CancellationToken cancellationToken);

    /// <summary>Forgets <c>jti</c>s seen before <paramref name="idsBefore"/> (older revocations are refused by age) and issued credentials expired before <paramref name="expiredBefore"/>.</summary>
    Task PurgeRevocationsAsync(long idsBefore, long expiredBefore, CancellationToken cancellationToken);
}

internal abstract partial class SqlDiscoveryStore : IRevocationStore
{
    private const string RevocationSchema = """
        CREATE TABLE issued_credentials (
            thumbprint TEXT PRIMARY KEY,
            serial TEXT NOT NULL,
            not_after BIGINT NOT NULL,
            certificate TEXT NOT NULL
        );
        CREATE INDEX issued_credentials_by_expiry ON issued_credentials (not_after);
        CREATE TABLE revocations (
            thumbprint TEXT PRIMARY KEY,
            serial TEXT NOT NULL,
            revoked_at BIGINT NOT NULL,
            reason INTEGER NOT NULL,
            not_after BIGINT NOT NULL
        );
        CREATE TABLE revocation_ids (
            id TEXT PRIMARY KEY,
            seen_at BIGINT NOT NULL
        );
        CREATE INDEX revocation_ids_by_time ON revocation_ids (seen_at);
        """;

    public async Task RecordIssuedAsync(IssuedCredential credential, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, null, """
            INSERT INTO issued_credentials (thumbprint, serial, not_after, certificate) VALUES (@t, @s, @na, @c)
            ON CONFLICT (thumbprint) DO NOTHING
            """, cancellationToken, ("t", credential.Thumbprint), ("s", credential.SerialNumber), ("na", credential.NotAfter), ("c", credential.Certificate)).ConfigureAwait(false);
    }

    public async Task<IssuedCredential?> GetIssuedAsync(string thumbprint, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return (await QueryAsync(connection, null, "SELECT thumbprint, serial, not_after, certificate FROM issued_credentials WHERE thumbprint = @t", reader => new IssuedCredential
        {
            Thumbprint = reader.GetString(0),
            SerialNumber = reader.GetString(1),
            NotAfter = reader.GetInt64(2),
            Certificate = reader.GetString(3),
        }, cancellationToken, ("t", thumbprint)).ConfigureAwait(false)).SingleOrDefault();
    }

    public async Task<bool> IsRevokedAsync(string thumbprint, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await ScalarAsync(connection, null, "SELECT 1 FROM revocations WHERE thumbprint = @t", cancellationToken, ("t", thumbprint)).ConfigureAwait(false) is not null and not DBNull;
    }

    public async Task<RevocationResult> RevokeAsync(StoredRevocation revocation, string id, RevokedMappings mappings, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        if (await ExecuteAsync(connection, transaction, "INSERT INTO revocation_ids (id, seen_at) VALUES (@id, @at) ON CONFLICT (id) DO NOTHING", cancellationToken,
                ("id", id), ("at", revocation.RevokedAt)).ConfigureAwait(false) == 0)
        {
            await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
            return new RevocationResult(RevocationStatus.Replayed, []);
        }

        if (await ExecuteAsync(connection, transaction, """
                INSERT INTO revocations (thumbprint, serial, revoked_at, reason, not_after) VALUES (@t, @s, @at, @r, @na)
                ON CONFLICT (thumbprint) DO NOTHING
                """, cancellationToken, ("t", revocation.Thumbprint), ("s", revocation.SerialNumber), ("at", revocation.RevokedAt), ("r", revocation.Reason), ("na", revocation.NotAfter)).ConfigureAwait(false) == 0)
        {
            // The jti goes with it: a refused revocation stores nothing.
            await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
            return new RevocationResult(RevocationStatus.AlreadyRevoked, []);
        }

        // No removed_before: statements under the revoked credential are refused by credential (credential-revoked),
        // and one the owner signs under a new credential in the same second must still be taken.
        var removed = await QueryAsync(connection, transaction, """
            UPDATE mappings SET statement = NULL
            WHERE csi = @csi AND statement IS NOT NULL AND key_thumbprint = @key AND credential_not_before = @cnb
            RETURNING mapping_id
            """, reader => reader.GetString(0), cancellationToken,
            ("csi", mappings.Csi), ("key", mappings.KeyThumbprint), ("cnb", mappings.CredentialNotBefore)).ConfigureAwait(false);
        var due = removed.Count > 0 ? await MarkPendingAsync(connection, transaction, mappings.Csi, cancellationToken).ConfigureAwait(false) : 0;
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return new RevocationResult(RevocationStatus.Stored, removed, due);
    }

    public async Task<(long Count, IReadOnlyList<StoredRevocation> Current)> ListRevocationsAsync(long now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var count = Convert.ToInt64(await ScalarAsync(connection, transaction, "SELECT COUNT(*) FROM revocations", cancellationToken).ConfigureAwait(false),
            System.Globalization.CultureInfo.InvariantCulture);
        var rows = await QueryAsync(connection, transaction, "SELECT thumbprint, serial, revoked_at, reason, not_after FROM revocations WHERE not_after > @now ORDER BY revoked_at, thumbprint",
            reader => new StoredRevocation
            {
                Thumbprint = reader.GetString(0),
                SerialNumber = reader.GetString(1),
                RevokedAt = reader.GetInt64(2),
                Reason = (int)reader.GetInt64(3),
                NotAfter = reader.GetInt64(4),
            }, cancellationToken, ("now", now)).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return (count, rows);
    }

    public async Task PurgeRevocationsAsync(long idsBefore, long expiredBefore, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, null, "DELETE FROM revocation_ids WHERE seen_at < @before", cancellationToken, ("before", idsBefore)).ConfigureAwait(false);
        await ExecuteAsync(connection, null, "DELETE FROM issued_credentials WHERE not_after < @before", cancellationToken, ("before", expiredBefore)).ConfigureAwait(false);
    }
}

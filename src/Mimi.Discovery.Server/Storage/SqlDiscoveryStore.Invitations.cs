using System.Data.Common;

namespace Mimi.Discovery.Server.Storage;

/// <summary>An invitation the DP accepted (docs/protocol.md §14). Identifiers are never stored in clear: only keyed hashes.</summary>
internal sealed record StoredInvitation
{
    /// <summary>The invitation's <c>jti</c>.</summary>
    public required string Id { get; init; }

    /// <summary>HMAC of the link's code; null when the invitation was not delivered.</summary>
    public string? CodeHash { get; init; }

    /// <summary>The invitation (compact JWS); null when it was not delivered.</summary>
    public string? Invitation { get; init; }

    public required long CreatedAt { get; init; }

    public required long ExpiresAt { get; init; }

    public long? AnsweredAt { get; init; }

    /// <summary>The recipient's caller assertion, once answered.</summary>
    public string? Answer { get; init; }
}

/// <summary>How storing an accepted invitation ended.</summary>
internal enum InvitationStored
{
    /// <summary>Stored with its code: deliver it.</summary>
    Deliver,

    /// <summary>Stored without code or text: the recipient's slot for the period was taken, or delivery was not asked for.</summary>
    Suppressed,

    /// <summary>An invitation with this id was accepted before; nothing changed.</summary>
    Replayed,
}

/// <summary>
/// Invitation storage (docs/protocol.md §14, docs/operations.md "Invitations"): accepted invitations by
/// id, the per-recipient slot (at most one delivery per period, keyed by an HMAC of the CSI), each
/// sender's count per period (keyed by an HMAC of the sender's CSI) and "never invite me" preferences.
/// </summary>
internal interface IInvitationStore
{
    /// <summary>Whether an invitation with this id was accepted before.</summary>
    Task<bool> InvitationExistsAsync(string id, CancellationToken cancellationToken);

    /// <summary>Counts one invitation for <paramref name="sender"/> in the window starting at <paramref name="windowStart"/> unless <paramref name="limit"/> is reached; atomic across processes.</summary>
    Task<bool> TakeSenderCountAsync(string sender, int limit, long windowStart, CancellationToken cancellationToken);

    /// <summary>Gives back a count taken by <see cref="TakeSenderCountAsync"/> (the request was refused after it).</summary>
    Task ReturnSenderCountAsync(string sender, long windowStart, CancellationToken cancellationToken);

    /// <summary>
    /// Stores an accepted invitation in one transaction. With <paramref name="slot"/>, takes the recipient's
    /// slot unless an invitation was delivered to it after <paramref name="slotCutoff"/>: taken, the row keeps
    /// its code and text (<see cref="InvitationStored.Deliver"/>); not taken, or without a slot, both are dropped
    /// (<see cref="InvitationStored.Suppressed"/>). A known id changes nothing (<see cref="InvitationStored.Replayed"/>).
    /// </summary>
    Task<InvitationStored> StoreInvitationAsync(StoredInvitation invitation, string? slot, long slotCutoff, CancellationToken cancellationToken);

    /// <summary>Delivery failed: the invitation loses its code and text, and the recipient's slot it took is given back.</summary>
    Task UndeliverAsync(string id, string slot, long sentAt, CancellationToken cancellationToken);

    /// <summary>The delivered invitation whose code hashes to <paramref name="codeHash"/>.</summary>
    Task<StoredInvitation?> GetInvitationByCodeAsync(string codeHash, CancellationToken cancellationToken);

    /// <summary>The invitation with this id, delivered or not.</summary>
    Task<StoredInvitation?> GetInvitationAsync(string id, CancellationToken cancellationToken);

    /// <summary>Records the answer of a delivered invitation; false when it was answered before.</summary>
    Task<bool> AnswerInvitationAsync(string id, string answer, long now, CancellationToken cancellationToken);

    /// <summary>Whether the recipient keyed <paramref name="recipient"/> refuses invitations.</summary>
    Task<bool> RefusesInvitationsAsync(string recipient, CancellationToken cancellationToken);

    /// <summary>Stores a preference if issued after the stored one; false when it is not newer.</summary>
    Task<bool> SetInvitationPreferenceAsync(string recipient, bool refuse, long issuedAt, CancellationToken cancellationToken);

    /// <summary>Deletes invitations expired before <paramref name="expiredBefore"/>, and slots and sender counts of periods that started before <paramref name="periodBefore"/>.</summary>
    Task PurgeInvitationsAsync(long expiredBefore, long periodBefore, CancellationToken cancellationToken);
}

internal abstract partial class SqlDiscoveryStore : IInvitationStore
{
    private const string InvitationColumns = "id, code_hash, invitation, created_at, expires_at, answered_at, answer";

    private const string InvitationSchema = """
        CREATE TABLE invitations (
            id TEXT PRIMARY KEY,
            code_hash TEXT NULL UNIQUE,
            invitation TEXT NULL,
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            answered_at BIGINT NULL,
            answer TEXT NULL
        );
        CREATE INDEX invitations_by_expiry ON invitations (expires_at);
        CREATE TABLE invitation_slots (
            recipient TEXT PRIMARY KEY,
            sent_at BIGINT NOT NULL
        );
        CREATE TABLE invitation_senders (
            sender TEXT PRIMARY KEY,
            window_start BIGINT NOT NULL,
            used BIGINT NOT NULL
        );
        CREATE TABLE invitation_preferences (
            recipient TEXT PRIMARY KEY,
            refuse INTEGER NOT NULL,
            issued_at BIGINT NOT NULL
        );
        """;

    public async Task<bool> InvitationExistsAsync(string id, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await ScalarAsync(connection, null, "SELECT 1 FROM invitations WHERE id = @id", cancellationToken, ("id", id)).ConfigureAwait(false) is not null and not DBNull;
    }

    // The conditional upsert of SqlDiscoveryStore.Limits, on a table of its own: the proof janitor
    // purges limit_counters by the proof windows (an hour), far shorter than an invitation period.
    public async Task<bool> TakeSenderCountAsync(string sender, int limit, long windowStart, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await ExecuteAsync(connection, null, """
            INSERT INTO invitation_senders (sender, window_start, used) VALUES (@sender, @window, 1)
            ON CONFLICT (sender) DO UPDATE SET
                used = CASE WHEN invitation_senders.window_start >= excluded.window_start THEN invitation_senders.used + 1 ELSE 1 END,
                window_start = CASE WHEN invitation_senders.window_start >= excluded.window_start THEN invitation_senders.window_start ELSE excluded.window_start END
            WHERE invitation_senders.window_start < excluded.window_start OR invitation_senders.used < @limit
            """, cancellationToken, ("sender", sender), ("window", windowStart), ("limit", (long)limit)).ConfigureAwait(false) == 1;
    }

    public async Task ReturnSenderCountAsync(string sender, long windowStart, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, null, "UPDATE invitation_senders SET used = used - 1 WHERE sender = @sender AND window_start = @window AND used > 0",
            cancellationToken, ("sender", sender), ("window", windowStart)).ConfigureAwait(false);
    }

    public async Task<InvitationStored> StoreInvitationAsync(StoredInvitation invitation, string? slot, long slotCutoff, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var deliver = slot is not null && await ExecuteAsync(connection, transaction, """
            INSERT INTO invitation_slots (recipient, sent_at) VALUES (@recipient, @now)
            ON CONFLICT (recipient) DO UPDATE SET sent_at = excluded.sent_at
            WHERE invitation_slots.sent_at <= @cutoff
            """, cancellationToken, ("recipient", slot), ("now", invitation.CreatedAt), ("cutoff", slotCutoff)).ConfigureAwait(false) == 1;
        var inserted = await ExecuteAsync(connection, transaction, $"""
            INSERT INTO invitations ({InvitationColumns}) VALUES (@id, @code, @text, @created, @expires, NULL, NULL)
            ON CONFLICT (id) DO NOTHING
            """, cancellationToken, ("id", invitation.Id), ("code", deliver ? invitation.CodeHash : null), ("text", deliver ? invitation.Invitation : null),
            ("created", invitation.CreatedAt), ("expires", invitation.ExpiresAt)).ConfigureAwait(false);
        if (inserted == 0)
        {
            await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
            return InvitationStored.Replayed;
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return deliver ? InvitationStored.Deliver : InvitationStored.Suppressed;
    }

    public async Task UndeliverAsync(string id, string slot, long sentAt, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, transaction, "UPDATE invitations SET code_hash = NULL, invitation = NULL WHERE id = @id", cancellationToken, ("id", id)).ConfigureAwait(false);
        await ExecuteAsync(connection, transaction, "DELETE FROM invitation_slots WHERE recipient = @recipient AND sent_at = @sent", cancellationToken, ("recipient", slot), ("sent", sentAt)).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<StoredInvitation?> GetInvitationByCodeAsync(string codeHash, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return (await QueryInvitationsAsync(connection, "code_hash = @code", cancellationToken, ("code", codeHash)).ConfigureAwait(false)).SingleOrDefault();
    }

    public async Task<StoredInvitation?> GetInvitationAsync(string id, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return (await QueryInvitationsAsync(connection, "id = @id", cancellationToken, ("id", id)).ConfigureAwait(false)).SingleOrDefault();
    }

    public async Task<bool> AnswerInvitationAsync(string id, string answer, long now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await ExecuteAsync(connection, null, "UPDATE invitations SET answered_at = @now, answer = @answer WHERE id = @id AND answered_at IS NULL AND invitation IS NOT NULL",
            cancellationToken, ("id", id), ("now", now), ("answer", answer)).ConfigureAwait(false) == 1;
    }

    public async Task<bool> RefusesInvitationsAsync(string recipient, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        var refuse = await ScalarAsync(connection, null, "SELECT refuse FROM invitation_preferences WHERE recipient = @recipient", cancellationToken, ("recipient", recipient)).ConfigureAwait(false);
        return refuse is not null and not DBNull && Convert.ToInt64(refuse, System.Globalization.CultureInfo.InvariantCulture) != 0;
    }

    public async Task<bool> SetInvitationPreferenceAsync(string recipient, bool refuse, long issuedAt, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await ExecuteAsync(connection, null, """
            INSERT INTO invitation_preferences (recipient, refuse, issued_at) VALUES (@recipient, @refuse, @iat)
            ON CONFLICT (recipient) DO UPDATE SET refuse = excluded.refuse, issued_at = excluded.issued_at
            WHERE invitation_preferences.issued_at < excluded.issued_at
            """, cancellationToken, ("recipient", recipient), ("refuse", refuse ? 1 : 0), ("iat", issuedAt)).ConfigureAwait(false) == 1;
    }

    public async Task PurgeInvitationsAsync(long expiredBefore, long periodBefore, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, null, "DELETE FROM invitations WHERE expires_at < @before", cancellationToken, ("before", expiredBefore)).ConfigureAwait(false);
        await ExecuteAsync(connection, null, "DELETE FROM invitation_slots WHERE sent_at < @before", cancellationToken, ("before", periodBefore)).ConfigureAwait(false);
        await ExecuteAsync(connection, null, "DELETE FROM invitation_senders WHERE window_start < @before", cancellationToken, ("before", periodBefore)).ConfigureAwait(false);
    }

    private static Task<List<StoredInvitation>> QueryInvitationsAsync(DbConnection connection, string where, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters) =>
        QueryAsync(connection, null, $"SELECT {InvitationColumns} FROM invitations WHERE {where}", reader => new StoredInvitation
        {
            Id = reader.GetString(0),
            CodeHash = reader.IsDBNull(1) ? null : reader.GetString(1),
            Invitation = reader.IsDBNull(2) ? null : reader.GetString(2),
            CreatedAt = reader.GetInt64(3),
            ExpiresAt = reader.GetInt64(4),
            AnsweredAt = reader.IsDBNull(5) ? null : reader.GetInt64(5),
            Answer = reader.IsDBNull(6) ? null : reader.GetString(6),
        }, cancellationToken, parameters);
}

using System.Data.Common;

namespace Mimi.Discovery.Server.Storage;

/// <summary>
/// Counted limits (docs/operations.md, "Limits"): one row per counter and fixed window, taken by a
/// conditional upsert. PostgreSQL re-checks the condition on the locked row, and SQLite serialises
/// writers, so concurrent takes from any number of DP processes never pass a limit. Several counters
/// taken in one transaction are all taken or none, in name order so two takers cannot deadlock.
/// </summary>
internal abstract partial class SqlDiscoveryStore
{
    private const string LimitSchema = """
        CREATE TABLE limit_counters (
            name TEXT PRIMARY KEY,
            window_start BIGINT NOT NULL,
            used BIGINT NOT NULL
        );
        """;

    /// <summary>
    /// The counters one proof of control takes: codes outstanding for the CSI (code-lifetime window),
    /// and per send window codes for the CSI from this client, codes from this client, and for the whole DP.
    /// </summary>
    private static IEnumerable<(ProofLimitHit Hit, string Name, long Limit, long WindowStart)> ProofCounters(StoredProof proof, ProofLimits limits) =>
        new (ProofLimitHit Hit, string Name, long Limit, long WindowStart)[]
        {
            (ProofLimitHit.Csi, "proof-csi:" + proof.Csi, limits.PerCsi, limits.CsiWindowStart),
            (ProofLimitHit.ClientAndCsi, "proof-client-csi:" + proof.Client + " " + proof.Csi, limits.PerClientAndCsi, limits.WindowStart),
            (ProofLimitHit.Client, "proof-client:" + proof.Client, limits.PerClient, limits.WindowStart),
            (ProofLimitHit.Global, "proof-global", limits.Global, limits.WindowStart),
        }.OrderBy(c => c.Name, StringComparer.Ordinal);

    /// <summary>
    /// Counts one against <paramref name="name"/> in the window starting at <paramref name="windowStart"/>
    /// unless <paramref name="limit"/> is reached; a later window starts the count again. A process whose
    /// clock is behind counts into the newer window it finds.
    /// </summary>
    private static async Task<bool> TakeCountAsync(DbConnection connection, DbTransaction transaction, string name, long limit, long windowStart, CancellationToken cancellationToken) =>
        limit > 0 && await ExecuteAsync(connection, transaction, """
            INSERT INTO limit_counters (name, window_start, used) VALUES (@name, @window, 1)
            ON CONFLICT (name) DO UPDATE SET
                used = CASE WHEN limit_counters.window_start >= excluded.window_start THEN limit_counters.used + 1 ELSE 1 END,
                window_start = CASE WHEN limit_counters.window_start >= excluded.window_start THEN limit_counters.window_start ELSE excluded.window_start END
            WHERE limit_counters.window_start < excluded.window_start OR limit_counters.used < @limit
            """, cancellationToken, ("name", name), ("window", windowStart), ("limit", limit)).ConfigureAwait(false) == 1;

    private static Task<int> ReturnCountAsync(DbConnection connection, DbTransaction transaction, string name, long windowStart, CancellationToken cancellationToken) =>
        ExecuteAsync(connection, transaction, "UPDATE limit_counters SET used = used - 1 WHERE name = @name AND window_start = @window AND used > 0",
            cancellationToken, ("name", name), ("window", windowStart));

    private static Task<int> PurgeCountsAsync(DbConnection connection, long before, CancellationToken cancellationToken) =>
        ExecuteAsync(connection, null, "DELETE FROM limit_counters WHERE window_start < @before", cancellationToken, ("before", before));
}

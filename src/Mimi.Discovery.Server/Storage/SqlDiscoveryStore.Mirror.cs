namespace Mimi.Discovery.Server.Storage;

// Mirroring (docs/protocol.md §12, "Mirroring"): what an epoch changed, for a peer that mirrors this
// DP, and how far this DP has mirrored each of its peers.
internal abstract partial class SqlDiscoveryStore
{
    private const string MirrorSchema = """
        CREATE TABLE mirror_cursors (
            peer TEXT PRIMARY KEY,
            epoch BIGINT NOT NULL
        );
        """;

    public async Task<IReadOnlyList<string>> GetChangedCsisAsync(long epoch, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        var csis = await QueryAsync(connection, null, """
            SELECT DISTINCT l.csi FROM tx_versions v JOIN tx_labels l ON l.search_key = v.search_key
            WHERE v.epoch = @epoch AND l.scope <> @delegation
            """, r => r.GetString(0), cancellationToken, ("epoch", epoch), ("delegation", Mimi.Discovery.Transparency.Labels.DelegationScope)).ConfigureAwait(false);
        return [.. csis.Order(StringComparer.Ordinal)];
    }

    public async Task<long> GetMirrorCursorAsync(string peer, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        var epoch = await ScalarAsync(connection, null, "SELECT epoch FROM mirror_cursors WHERE peer = @peer", cancellationToken, ("peer", peer)).ConfigureAwait(false);
        return epoch is null or DBNull ? 0 : Convert.ToInt64(epoch, System.Globalization.CultureInfo.InvariantCulture);
    }

    public async Task SetMirrorCursorAsync(string peer, long epoch, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, null, """
            INSERT INTO mirror_cursors (peer, epoch) VALUES (@peer, @epoch)
            ON CONFLICT (peer) DO UPDATE SET epoch = excluded.epoch WHERE mirror_cursors.epoch < excluded.epoch
            """, cancellationToken, ("peer", peer), ("epoch", epoch)).ConfigureAwait(false);
    }
}

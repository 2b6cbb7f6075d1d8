namespace Mimi.Discovery.Server.Storage;

/// <summary>One stored version of a mapping; <see cref="Statement"/> is null once removed (erased).</summary>
internal sealed record StoredMapping
{
    public required string Csi { get; init; }

    public required string MappingId { get; init; }

    public required string KeyThumbprint { get; init; }

    public required string Audience { get; init; }

    /// <summary>Entry services, space-separated, for "same-service" audiences.</summary>
    public required string Services { get; init; }

    public required long Version { get; init; }

    public required long IssuedAt { get; init; }

    public required long ExpiresAt { get; init; }

    public required long CredentialNotBefore { get; init; }

    public required bool OptOut { get; init; }

    public string? Statement { get; init; }

    /// <summary>Statements of this mapping issued at or before this time were removed and may not return.</summary>
    public long? RemovedBefore { get; init; }
}

/// <summary>How a publish ended.</summary>
internal enum PublishStatus
{
    Stored,
    VersionNotNewer,
    RemovedBefore,
    CredentialSuperseded,
}

internal sealed record PublishResult(PublishStatus Status, long CurrentVersion, IReadOnlyList<string> Superseded);

/// <summary>A mapping version a removal takes out, checked against the row it was read from.</summary>
internal sealed record RemovalTarget(string MappingId, long SeenVersion, long NewVersion);

/// <summary>A pending proof of control.</summary>
internal sealed record StoredProof
{
    public required string Id { get; init; }

    public required string Csi { get; init; }

    public required string PublicKey { get; init; }

    public required string Client { get; init; }

    public required string CodeHash { get; init; }

    public required long CreatedAt { get; init; }

    public required long ExpiresAt { get; init; }

    public int Attempts { get; init; }

    public bool Consumed { get; init; }
}

/// <summary>Send limits checked atomically with the insert of a proof.</summary>
internal sealed record ProofLimits(long WindowStart, int PerCsi, int PerClient, int Global);

internal enum ProofLimitHit
{
    None,
    Csi,
    Client,
    Global,
}

/// <summary>
/// Everything a DP stores. Implementations: SQLite (embedded default) and PostgreSQL (several DP
/// processes on one database). Every write is one transaction, acknowledged only once durable.
/// </summary>
internal interface IDiscoveryStore
{
    /// <summary>Creates or upgrades the schema; safe to call from several processes at once.</summary>
    Task MigrateAsync(CancellationToken cancellationToken);

    /// <summary>Whether the database answers.</summary>
    Task<bool> IsHealthyAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Stores <paramref name="mapping"/> if its version exceeds the stored one (and it was not
    /// issued before a removal of the mapping). With <paramref name="supersede"/>, also removes
    /// every other live mapping of the CSI whose credential is older. One transaction: of two
    /// concurrent publishes of one mapping, exactly one version wins.
    /// </summary>
    Task<PublishResult> PublishAsync(StoredMapping mapping, bool supersede, CancellationToken cancellationToken);

    /// <summary>Every row of a CSI, live or removed.</summary>
    Task<IReadOnlyList<StoredMapping>> GetMappingsAsync(string csi, CancellationToken cancellationToken);

    /// <summary>Live, unexpired statements of many CSIs, keyed by CSI.</summary>
    Task<ILookup<string, StoredMapping>> LookupAsync(IReadOnlyCollection<string> csis, long now, CancellationToken cancellationToken);

    /// <summary>
    /// Erases the given mappings' statements; a target whose version changed meanwhile is skipped.
    /// With <paramref name="credentialFloor"/>, credentials for the CSI issued before it may no
    /// longer publish (a successor or CSIP took the CSI over). Returns the ids removed.
    /// </summary>
    Task<IReadOnlyList<string>> RemoveAsync(string csi, IReadOnlyList<RemovalTarget> targets, long removedBefore, long? credentialFloor, CancellationToken cancellationToken);

    /// <summary>Inserts a proof unless a send limit is reached.</summary>
    Task<ProofLimitHit> CreateProofAsync(StoredProof proof, ProofLimits limits, CancellationToken cancellationToken);

    /// <summary>Counts one answer attempt on a live proof; null when the proof is unknown, used, expired or out of attempts.</summary>
    Task<StoredProof?> CountAttemptAsync(string id, int maxAttempts, long now, CancellationToken cancellationToken);

    /// <summary>Reads a proof as it is.</summary>
    Task<StoredProof?> GetProofAsync(string id, CancellationToken cancellationToken);

    /// <summary>Marks a proof used; false if another answer used it first.</summary>
    Task<bool> ConsumeProofAsync(string id, CancellationToken cancellationToken);

    /// <summary>Deletes proofs created before <paramref name="before"/>.</summary>
    Task<int> PurgeProofsAsync(long before, CancellationToken cancellationToken);

    /// <summary>Bulk insert for seeding benchmarks and imports; rows must be new.</summary>
    Task BulkInsertAsync(IReadOnlyList<StoredMapping> mappings, CancellationToken cancellationToken);
}

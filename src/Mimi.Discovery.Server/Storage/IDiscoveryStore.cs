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

/// <summary>How a publish ended; <paramref name="DueEpoch"/> is the transparency epoch the stored change is due in (0 when nothing was stored).</summary>
internal sealed record PublishResult(PublishStatus Status, long CurrentVersion, IReadOnlyList<string> Superseded, long DueEpoch = 0);

/// <summary>The mappings a removal took out, and the epoch that is due in (0 when nothing was removed).</summary>
internal sealed record RemovalResult(IReadOnlyList<string> Removed, long DueEpoch);

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

/// <summary>
/// Send limits taken atomically with the insert of a proof (docs/operations.md, "Proof-of-control
/// limits"). <paramref name="PerClientAndCsi"/>, <paramref name="PerClient"/> and <paramref name="Global"/>
/// count in the send window starting at <paramref name="WindowStart"/>; <paramref name="PerCsi"/> counts
/// the codes outstanding for one CSI, in the code-lifetime window starting at <paramref name="CsiWindowStart"/>.
/// Window starts are Unix seconds.
/// </summary>
internal sealed record ProofLimits(long WindowStart, long CsiWindowStart, int PerCsi, int PerClientAndCsi, int PerClient, int Global);

/// <summary>The limit a proof start reached, if any.</summary>
internal enum ProofLimitHit
{
    None,

    /// <summary>Codes outstanding for the CSI, from every client.</summary>
    Csi,

    /// <summary>Codes this client asked for this CSI.</summary>
    ClientAndCsi,

    /// <summary>Codes this client asked for.</summary>
    Client,

    /// <summary>Codes the whole DP sent.</summary>
    Global,
}

/// <summary>
/// What lookups and the transparency read API read: the sealed log (epochs, leaves, committed
/// labels, histories), delegations and live mappings. Only reads, so a PostgreSQL hot standby can
/// serve it (<see cref="Hosting.DiscoveryOptions.ReadReplica"/>, docs/operations.md "Read replicas"); without
/// one it is the <see cref="IDiscoveryStore"/> itself.
/// </summary>
internal interface ILookupStore
{
    /// <summary>Whether the database answers.</summary>
    Task<bool> IsHealthyAsync(CancellationToken cancellationToken);

    /// <summary>The CSIs (not delegation subjects) whose labels epoch <paramref name="epoch"/> changed, in ordinal order.</summary>
    Task<IReadOnlyList<string>> GetChangedCsisAsync(long epoch, CancellationToken cancellationToken);

    /// <summary>Every current delegation row (<see cref="StoredMapping.Audience"/> <c>delegation</c>, keyed by subject), sealed or not.</summary>
    Task<IReadOnlyList<StoredMapping>> GetDelegationsAsync(CancellationToken cancellationToken);

    /// <summary>Live, unexpired statements of many CSIs, keyed by CSI.</summary>
    Task<ILookup<string, StoredMapping>> LookupAsync(IReadOnlyCollection<string> csis, long now, CancellationToken cancellationToken);

    /// <summary>Epochs after <paramref name="after"/>, in order.</summary>
    Task<IReadOnlyList<StoredEpoch>> GetEpochsAsync(long after, CancellationToken cancellationToken);

    /// <summary>The latest sealed epoch (0 when none).</summary>
    Task<long> GetLastEpochAsync(CancellationToken cancellationToken);

    /// <summary>Leaves set in epochs (<paramref name="after"/>, <paramref name="upTo"/>]; with <paramref name="after"/> = 0, every label's leaf as of <paramref name="upTo"/>. Ordered by epoch, then by key (ordinal over the base64url text, the order auditors check).</summary>
    Task<IReadOnlyList<LeafRow>> GetLeavesAsync(long after, long upTo, CancellationToken cancellationToken);

    /// <summary>
    /// Calls <paramref name="leaf"/> with every label's leaf (search key, commitment; base64url) as of
    /// epoch <paramref name="upTo"/>, in no particular order, as the rows stream in: the start-up load
    /// of the whole prefix tree, which would otherwise hold every row (10^6 at scale) at once.
    /// </summary>
    Task ReadTreeAsync(long upTo, Action<string, string> leaf, CancellationToken cancellationToken);

    /// <summary>Every label of the given CSIs with its value as of <paramref name="epoch"/>.</summary>
    Task<IReadOnlyList<CommittedLabel>> GetCommittedAsync(IReadOnlyCollection<string> csis, long epoch, CancellationToken cancellationToken);

    /// <summary>A label and its versions sealed up to <paramref name="epoch"/>.</summary>
    Task<(StoredLabel? Label, IReadOnlyList<VersionRow> Versions)> GetHistoryAsync(string csi, string scope, long epoch, CancellationToken cancellationToken);
}

/// <summary>
/// Everything a DP stores. Implementations: SQLite (embedded default) and PostgreSQL (several DP
/// processes on one database). Every write is one transaction, acknowledged only once durable.
/// </summary>
internal interface IDiscoveryStore : ILookupStore
{
    /// <summary>Creates or upgrades the schema; safe to call from several processes at once.</summary>
    Task MigrateAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Stores <paramref name="mapping"/> if its version exceeds the stored one (and it was not
    /// issued before a removal of the mapping). With <paramref name="supersede"/>, also removes
    /// every other live mapping of the CSI whose credential is older. One transaction: of two
    /// concurrent publishes of one mapping, exactly one version wins.
    /// </summary>
    Task<PublishResult> PublishAsync(StoredMapping mapping, bool supersede, CancellationToken cancellationToken);

    /// <summary>Every row of a CSI, live or removed.</summary>
    Task<IReadOnlyList<StoredMapping>> GetMappingsAsync(string csi, CancellationToken cancellationToken);

    /// <summary>The last epoch of <paramref name="peer"/> this DP has mirrored (0: none).</summary>
    Task<long> GetMirrorCursorAsync(string peer, CancellationToken cancellationToken);

    /// <summary>Records that <paramref name="peer"/> is mirrored up to <paramref name="epoch"/> (never moves back).</summary>
    Task SetMirrorCursorAsync(string peer, long epoch, CancellationToken cancellationToken);

    /// <summary>
    /// Erases the given mappings' statements; a target whose version changed meanwhile is skipped.
    /// With <paramref name="credentialFloor"/>, credentials for the CSI issued before it may no
    /// longer publish (a successor or CSIP took the CSI over).
    /// </summary>
    Task<RemovalResult> RemoveAsync(string csi, IReadOnlyList<RemovalTarget> targets, long removedBefore, long? credentialFloor, CancellationToken cancellationToken);

    /// <summary>
    /// Inserts a proof and counts it against the send limits, atomically: when any limit is reached
    /// nothing is counted or stored, and concurrent callers in any process never exceed a limit.
    /// </summary>
    Task<ProofLimitHit> CreateProofAsync(StoredProof proof, ProofLimits limits, CancellationToken cancellationToken);

    /// <summary>Undoes <see cref="CreateProofAsync"/> when the code could not be delivered: deletes the proof and gives back what it counted.</summary>
    Task CancelProofAsync(StoredProof proof, ProofLimits limits, CancellationToken cancellationToken);

    /// <summary>Counts one answer attempt on a live proof; null when the proof is unknown, used, expired or out of attempts.</summary>
    Task<StoredProof?> CountAttemptAsync(string id, int maxAttempts, long now, CancellationToken cancellationToken);

    /// <summary>Reads a proof as it is.</summary>
    Task<StoredProof?> GetProofAsync(string id, CancellationToken cancellationToken);

    /// <summary>Marks a proof used; false if another answer used it first.</summary>
    Task<bool> ConsumeProofAsync(string id, CancellationToken cancellationToken);

    /// <summary>Deletes proofs created before <paramref name="before"/>, and limit counts of windows that started before it.</summary>
    Task<int> PurgeProofsAsync(long before, CancellationToken cancellationToken);

    /// <summary>Bulk insert for seeding benchmarks and imports; rows must be new.</summary>
    Task BulkInsertAsync(IReadOnlyList<StoredMapping> mappings, CancellationToken cancellationToken);

    /// <summary>
    /// Takes this process's right to seal epochs, held until the handle is disposed; null when another
    /// process holds it. PostgreSQL: a session advisory lock on a connection of its own, released by
    /// the server if the process dies. SQLite: always granted; <see cref="CommitSealAsync"/> keeps
    /// sealers in several processes apart.
    /// </summary>
    Task<IAsyncDisposable?> TryLockSealAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Closes the open epoch to new changes (docs/architecture.md, "Epochs and receipts"): queues the
    /// CSIs whose statements expired since the last seal and advances the clock, so every change
    /// acknowledged before is due in <see cref="EpochClose.Closed"/> or earlier and every later one in
    /// a later epoch. Null when nothing is pending and an epoch exists (the clock stays).
    /// </summary>
    Task<EpochClose?> CloseEpochAsync(long now, CancellationToken cancellationToken);

    /// <summary>
    /// What a seal covers: every pending CSI due by <see cref="EpochClose.Closed"/> (however many),
    /// up to <paramref name="extra"/> others (queued without a promise — bulk loads, expiries — or
    /// promised a later epoch), and their live mappings and labels.
    /// </summary>
    Task<SealInput> ReadPendingAsync(EpochClose close, int extra, long now, CancellationToken cancellationToken);

    /// <summary>How many CSIs have changes waiting for an epoch (the seal backlog).</summary>
    Task<long> CountPendingAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Writes a seal (epoch <paramref name="lastEpoch"/> + 1) in one transaction if the last epoch is
    /// still <paramref name="lastEpoch"/>, and clears each of <paramref name="sealedMarks"/> whose
    /// generation is still the one read and whose change was due by this epoch (a change made
    /// meanwhile, or promised a later epoch, keeps its mark for the next seal). False, writing
    /// nothing, when another sealer committed first.
    /// </summary>
    Task<bool> CommitSealAsync(long lastEpoch, SealPlan plan, IReadOnlyList<PendingMark> sealedMarks, CancellationToken cancellationToken);

    /// <summary>Creates a token account; false when the name or key hash is taken.</summary>
    Task<bool> CreateAccountAsync(TokenAccount account, CancellationToken cancellationToken);

    /// <summary>Every token account, by name.</summary>
    Task<IReadOnlyList<TokenAccount>> ListAccountsAsync(CancellationToken cancellationToken);

    /// <summary>The account whose API key hashes to <paramref name="keyHash"/>.</summary>
    Task<TokenAccount?> GetAccountAsync(string keyHash, CancellationToken cancellationToken);

    /// <summary>Deletes a token account; false when there is none of that name.</summary>
    Task<bool> RemoveAccountAsync(string name, CancellationToken cancellationToken);

    /// <summary>
    /// Counts up to <paramref name="count"/> tokens against the account's quota for the window
    /// containing <paramref name="now"/> (Unix seconds), atomically: concurrent callers in any process
    /// never take more than the quota. Grants what is left when less than asked.
    /// </summary>
    Task<(QuotaOutcome Outcome, TokenAccount? Account, int Granted)> TakeQuotaAsync(string keyHash, long now, int count, CancellationToken cancellationToken);

    /// <summary>Gives back <paramref name="count"/> tokens taken in the window starting at <paramref name="windowStart"/> (issuance failed after the count).</summary>
    Task ReturnQuotaAsync(string keyHash, long windowStart, int count, CancellationToken cancellationToken);

    /// <summary>Marks every nonce spent in one transaction; false, spending none, when any was spent already.</summary>
    Task<bool> SpendTokensAsync(IReadOnlyList<SpentToken> tokens, CancellationToken cancellationToken);

    /// <summary>
    /// Spends many requests' nonces in one transaction (one durable commit): element i is whether
    /// group i was spent whole; a group with any nonce already spent (before, or by an earlier group
    /// of the same call) spends none, and the others are unaffected.
    /// </summary>
    Task<bool[]> SpendTokenGroupsAsync(IReadOnlyList<IReadOnlyList<SpentToken>> groups, CancellationToken cancellationToken);

    /// <summary>Deletes spent nonces whose key is past its grace period at <paramref name="now"/>.</summary>
    Task<int> PurgeSpentTokensAsync(long now, CancellationToken cancellationToken);
}

/// <summary>An account allowed to obtain Privacy Pass tokens: only a hash of its API key is stored.</summary>
internal sealed record TokenAccount
{
    public required string Name { get; init; }

    /// <summary>SHA-256 of the key's 32 secret bytes, lowercase hex.</summary>
    public required string KeyHash { get; init; }

    /// <summary>The sponsoring service; null for a person (tokens under the general key).</summary>
    public required string? Service { get; init; }

    /// <summary>Tokens per window.</summary>
    public required long Quota { get; init; }

    public required long WindowSeconds { get; init; }

    public required long CreatedAt { get; init; }

    /// <summary>Start of the window <see cref="Used"/> counts in (Unix seconds; windows are aligned to multiples of their length).</summary>
    public long WindowStart { get; init; }

    public long Used { get; init; }

    /// <summary>Tokens used in the window containing <paramref name="now"/>.</summary>
    public long UsedAt(long now) => WindowStart >= CurrentWindow(now) ? Used : 0;

    public long CurrentWindow(long now) => now - (now % WindowSeconds);
}

internal enum QuotaOutcome
{
    Taken,
    Exhausted,
    UnknownAccount,
}

/// <summary>A redeemed token's nonce (base64url) and when its key leaves the grace period.</summary>
internal sealed record SpentToken(string Nonce, long ExpiresAt);

/// <summary>A sealed epoch: its number, seal time (ms), prefix-tree root, log root and tree-head signature (base64url).</summary>
internal sealed record StoredEpoch(long Epoch, long SealedAt, string PrefixRoot, string LogRoot, string Signature);

/// <summary>A label's current leaf; with the latest version's statements (newline-separated) and mapping ids (space-separated) when read for sealing.</summary>
internal sealed record StoredLabel(string SearchKey, string Csi, string Scope, string VrfProof, long Version, string Commitment, string? Statements, string MappingIds);

/// <summary>One version of a label as sealed in an epoch; opening and statements are null once erased.</summary>
internal sealed record VersionRow(string SearchKey, long Version, long Epoch, string Commitment, string? Opening, string? Statements, string MappingIds, string Path);

/// <summary>A leaf set in an epoch (epoch 0 for a start-up snapshot).</summary>
internal sealed record LeafRow(string SearchKey, string Commitment, long Epoch);

/// <summary>A label's committed value at an epoch, for lookups.</summary>
internal sealed record CommittedLabel(string Csi, string Scope, string SearchKey, string VrfProof, long Version, string? Opening, string? Statements);

/// <summary>An epoch closed to new changes: the last sealed epoch and its seal time (ms), and the closed epoch number every change acknowledged before is due in.</summary>
internal sealed record EpochClose(long LastEpoch, long LastSealedAt, long Closed);

/// <summary>A CSI waiting for a seal, with the generation of its mark (bumped by every change).</summary>
internal sealed record PendingMark(string Csi, long Generation);

/// <summary>What the sealer reads: the last epoch, the pending marks, their CSIs' live mappings and their labels; <paramref name="BatchFull"/> when the marks without a due epoch filled the batch (more are likely waiting).</summary>
internal sealed record SealInput(long LastEpoch, IReadOnlyList<PendingMark> Pending, ILookup<string, StoredMapping> Mappings, IReadOnlyList<StoredLabel> Labels, bool BatchFull = false);

/// <summary>What the sealer writes: the new epoch, label upserts, new versions, and (search key, mapping id) pairs to erase.</summary>
internal sealed record SealPlan(StoredEpoch Epoch, IReadOnlyList<StoredLabel> Labels, IReadOnlyList<VersionRow> Versions, IReadOnlyList<(string SearchKey, string MappingId)> Erase);

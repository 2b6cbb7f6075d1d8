using System.Text.Json;
using System.Text.Json.Serialization;

namespace Mimi.Discovery.Protocol;

// The JSON bodies of the Discovery Provider HTTP API (docs/protocol.md §6), shared by the server
// and the client SDK so the two cannot drift apart. Names are camelCase on the wire.

/// <summary><c>GET /.well-known/mimi-discovery</c>: what a DP offers and how to reach it.</summary>
/// <param name="Api">Absolute base URI of the versioned API, e.g. <c>https://dp.example/v1</c>.</param>
/// <param name="CsiKinds">URI schemes of the CSIs this DP serves: <c>tel</c>, <c>mailto</c>.</param>
/// <param name="CredentialCas">PEM certificates of the CAs this DP issues credentials under.</param>
/// <param name="Limits">Request limits clients must respect.</param>
/// <param name="Channels">For each CSI kind, the channel that delivers proof-of-control codes.</param>
/// <param name="Transparency">The transparency log's keys; null when the DP keeps no log.</param>
/// <param name="Ohttp">Where the Oblivious HTTP gateway is and which key ids it holds.</param>
/// <param name="Tokens">Where to obtain Privacy Pass tokens for lookups, and whether lookups require them.</param>
/// <param name="Peers">The DPs this DP asks with every lookup (docs/protocol.md §12), with what a sender needs to re-verify their answers; null when it has none.</param>
public sealed record DiscoveryMetadata(
    string Api,
    IReadOnlyList<string> CsiKinds,
    IReadOnlyList<string> CredentialCas,
    DiscoveryLimits Limits,
    IReadOnlyDictionary<string, string> Channels,
    TransparencyKeys? Transparency = null,
    ObliviousGatewayInfo? Ohttp = null,
    TokenSettings? Tokens = null,
    IReadOnlyList<PeerInfo>? Peers = null);

/// <summary>A peer DP as its federating DP describes it (docs/protocol.md §12).</summary>
/// <param name="Dp">The peer's origin.</param>
/// <param name="CredentialCas">PEM certificates of the CAs the peer's credentials chain to.</param>
/// <param name="Transparency">The peer's transparency keys.</param>
public sealed record PeerInfo(string Dp, IReadOnlyList<string> CredentialCas, TransparencyKeys Transparency);

/// <summary>What one peer said to a federated lookup (docs/protocol.md §12).</summary>
/// <param name="Dp">The peer's origin.</param>
/// <param name="Status">One of <see cref="PeerStatuses"/>.</param>
/// <param name="Detail">For a peer that did not answer or was refused: why.</param>
/// <param name="Response">For <c>answered</c>: the peer's own answer, unchanged, for the sender to verify again.</param>
public sealed record PeerAnswer(string Dp, string Status, string? Detail = null, LookupResponse? Response = null);

/// <summary><c>GET /v1/mirror/epochs/{n}</c>: what one epoch changed, with the statements, for a DP that mirrors this one (docs/protocol.md §12, "Mirroring").</summary>
/// <param name="Epoch">The epoch.</param>
/// <param name="Changes">CSIs the epoch changed, in ordinal order, each with every statement committed for it at that epoch (none once removed).</param>
/// <param name="Next">When the epoch changed more CSIs than one page holds: the <c>after</c> value of the next page; null on the last.</param>
public sealed record MirrorEpoch(long Epoch, IReadOnlyList<MirrorChange> Changes, string? Next = null);

/// <summary>One CSI's committed statements at an epoch.</summary>
public sealed record MirrorChange(string Csi, IReadOnlyList<string> Statements);

/// <summary>The values of <see cref="PeerAnswer.Status"/>.</summary>
public static class PeerStatuses
{
    /// <summary>The peer answered and its answer verified (statements and completeness proofs).</summary>
    public const string Answered = "answered";

    /// <summary>No answer within the federating DP's deadline.</summary>
    public const string TimedOut = "timed-out";

    /// <summary>The peer could not be reached, or refused the lookup.</summary>
    public const string Failed = "failed";

    /// <summary>The peer answered and its answer did not verify: left out, as a forgery.</summary>
    public const string Refused = "refused";
}

/// <summary>The DP's Oblivious HTTP gateway (RFC 9458).</summary>
/// <param name="Gateway">The gateway resource: <c>GET</c> gives the key configurations (<c>application/ohttp-keys</c>), <c>POST</c> takes <c>message/ohttp-req</c>; relays forward to it.</param>
/// <param name="KeyIds">Key ids of the configurations in force, newest first.</param>
public sealed record ObliviousGatewayInfo(string Gateway, IReadOnlyList<int> KeyIds);

/// <summary>The DP's Privacy Pass issuer (docs/protocol.md §10, "How this DP uses tokens").</summary>
/// <param name="Directory">Absolute URL of the RFC 9578 §4 issuer directory.</param>
/// <param name="Required">Whether lookups must redeem tokens (<see cref="LookupPrice"/>).</param>
/// <param name="IssuerName">The issuer and origin name in the TokenChallenge the DP accepts tokens for.</param>
/// <param name="CsisPerToken">The price of a lookup: one token per this many distinct valid CSIs, rounded up.</param>
/// <param name="MaxTokensPerIssuance">Most token requests one batched issuance request may carry.</param>
/// <param name="TokenLifetimeSeconds">How long a token redeems, counted from its issuer key's not-before (the key epoch and its grace epochs).</param>
public sealed record TokenSettings(string Directory, bool Required, string IssuerName, int CsisPerToken = 1, int MaxTokensPerIssuance = 1, long TokenLifetimeSeconds = 0);

/// <summary>The public keys a sender checks lookup proofs with.</summary>
/// <param name="VrfKey">ECVRF-P256-SHA256-TAI public key, compressed SEC1 point, base64url.</param>
/// <param name="LogKey">ECDSA P-256 key that signs tree heads, SubjectPublicKeyInfo DER, base64url.</param>
/// <param name="EpochIntervalSeconds">How often the DP seals an epoch (0: at every change).</param>
public sealed record TransparencyKeys(string VrfKey, string LogKey, double EpochIntervalSeconds);

/// <summary>Limits a DP enforces.</summary>
/// <param name="MaxLookupBatch">Most CSIs in one lookup.</param>
/// <param name="MaxStatementLength">Longest statement accepted, in characters.</param>
/// <param name="MaxRequestBytes">Largest request body accepted.</param>
/// <param name="CodeLifetimeSeconds">How long a proof-of-control code stays valid.</param>
/// <param name="MaxCodeAttempts">How many answers a proof accepts before it is void.</param>
/// <param name="MaxAnswerAgeSeconds">The longest a client may reuse a verified lookup answer (<see cref="LookupResult.MaxAge"/> is never more).</param>
public sealed record DiscoveryLimits(int MaxLookupBatch, int MaxStatementLength, int MaxRequestBytes, int CodeLifetimeSeconds, int MaxCodeAttempts, long MaxAnswerAgeSeconds = 0)
{
    /// <summary>Most identifiers in one reassignment feed (<c>POST /v1/reassignments</c>, docs/protocol.md §16); 0 from a DP that takes none.</summary>
    public int MaxReassignments { get; init; }

    /// <summary>Largest reassignment request body, in bytes (the feed's compact JWS plus its JSON envelope); 0 from a DP that takes none.</summary>
    public int MaxReassignmentBytes { get; init; }

    /// <summary>Oldest reassignment feed accepted: seconds between its <c>iat</c> and its arrival; 0 from a DP that takes none.</summary>
    public long ReassignmentFeedMaxAgeSeconds { get; init; }
}

/// <summary>
/// An EC P-256 public key as a JWK (RFC 7517, RFC 7518 §6.2.1): <c>kty</c> <c>EC</c>, <c>crv</c>
/// <c>P-256</c>, <c>x</c> and <c>y</c> the base64url of 32 bytes each. Convert with
/// <see cref="Crypto.P256Jwk"/>, which refuses any other form.
/// </summary>
public sealed record EcPublicJwk(
    [property: JsonPropertyName("kty")] string Kty,
    [property: JsonPropertyName("crv")] string Crv,
    [property: JsonPropertyName("x")] string X,
    [property: JsonPropertyName("y")] string Y)
{
    /// <summary>
    /// The private key member <c>d</c> (RFC 7518 §6.2.2.1), read only so that a JWK that carries it
    /// is refused (<see cref="Crypto.JwkError.PrivateKey"/>): never set it.
    /// </summary>
    [JsonPropertyName("d")]
    public string? D { get; init; }
}

/// <summary><c>POST /v1/proofs</c>: ask the DP to send a code to <paramref name="Csi"/>, for a credential on <paramref name="PublicKey"/>.</summary>
public sealed record ProofRequest(string Csi, EcPublicJwk PublicKey);

/// <summary>The DP sent a code.</summary>
/// <param name="ProofId">Names this proof in the answer.</param>
/// <param name="Csi">The canonical CSI the code went to.</param>
/// <param name="Channel">How it was sent: <c>email</c>, <c>sms</c> or <c>outbox</c> (development).</param>
/// <param name="ExpiresAt">When the code stops working.</param>
public sealed record ProofStarted(string ProofId, string Csi, string Channel, DateTimeOffset ExpiresAt);

/// <summary><c>POST /v1/proofs/{id}/answer</c>: the code the person received.</summary>
public sealed record ProofAnswer(string Code);

/// <summary>The credential issued after a correct answer.</summary>
/// <param name="Credential">PEM certificate binding the key to the CSI.</param>
/// <param name="CaCertificate">PEM certificate of the issuing CA.</param>
public sealed record CredentialIssued(string Credential, string CaCertificate);

/// <summary><c>POST /v1/mappings</c> and <c>POST /v1/removals</c>: one signed statement.</summary>
public sealed record StatementSubmission(string Statement);

/// <summary>A stored mapping statement.</summary>
/// <param name="Csi">Canonical CSI.</param>
/// <param name="MappingId">The mapping's id.</param>
/// <param name="Version">The version now current.</param>
/// <param name="Superseded">Ids of the other mappings a <c>supersede</c> statement removed.</param>
/// <param name="Epoch">The transparency epoch from which lookups show (and prove) the change.</param>
public sealed record PublishReceipt(string Csi, string MappingId, long Version, IReadOnlyList<string> Superseded, long? Epoch = null);

/// <summary>What a removal removed.</summary>
/// <param name="Csi">Canonical CSI.</param>
/// <param name="Authority"><c>owner</c>, <c>successor</c> or <c>csip</c>.</param>
/// <param name="Removed">Ids of the mappings removed.</param>
/// <param name="Epoch">The transparency epoch from which lookups prove the removal.</param>
public sealed record RemovalReceipt(string Csi, string Authority, IReadOnlyList<string> Removed, long? Epoch = null);

/// <summary><c>POST /v1/reassignments</c>: a CSIP's signed reassignment feed (docs/protocol.md §16).</summary>
/// <param name="Feed">The compact JWS (<c>typ</c> <c>mimi-reassignments+jws</c>), at most 4 MiB.</param>
public sealed record ReassignmentSubmission(string Feed);

/// <summary>What a reassignment feed did, one outcome per identifier in feed order.</summary>
/// <param name="Feed">The feed's <c>jti</c>.</param>
/// <param name="Csip">The name the DP's operator onboarded the signing CSIP under.</param>
/// <param name="Results">One per identifier of the feed, in its order.</param>
/// <param name="Epoch">The transparency epoch from which lookups prove the removals; null when nothing was removed or the DP keeps no log.</param>
public sealed record ReassignmentReceipt(string Feed, string Csip, IReadOnlyList<ReassignmentOutcome> Results, long? Epoch = null);

/// <summary>What a reassignment feed did for one identifier.</summary>
/// <param name="Csi">Canonical CSI.</param>
/// <param name="Result">One of <see cref="ReassignmentResults"/>.</param>
/// <param name="Removed">Ids of the previous holder's mappings removed (empty unless <c>applied</c>).</param>
public sealed record ReassignmentOutcome(string Csi, string Result, IReadOnlyList<string> Removed);

/// <summary>The values of <see cref="ReassignmentOutcome.Result"/>.</summary>
public static class ReassignmentResults
{
    /// <summary>Mappings under credentials issued before the reassignment were removed; such credentials are refused from now on.</summary>
    public const string Applied = "applied";

    /// <summary>No mapping was under a credential issued before the reassignment; such credentials are refused from now on.</summary>
    public const string NothingToRemove = "nothing-to-remove";

    /// <summary>The CSIP's scope does not cover the identifier: nothing changed for it.</summary>
    public const string NotInScope = "not-in-scope";
}

/// <summary><c>POST /v1/lookup</c>: one or many CSIs, optionally on behalf of a querying service.</summary>
/// <param name="Csis">Identifiers in any accepted form.</param>
/// <param name="Service">The querying service; statements whose audience excludes it are withheld.</param>
/// <param name="KnownTreeSize">The size of the last tree head the client holds from this DP, for a consistency proof to the current one.</param>
/// <param name="Tokens">The Privacy Pass tokens paying for the lookup (RFC 9577 §2.2 Token structures, base64url), exactly <see cref="LookupPrice"/> of them; carried in the body so a batch's tokens fit in one request.</param>
[JsonNumberHandling(JsonNumberHandling.Strict)] // also when ASP.NET binds it with the host's web-default options
public sealed record LookupRequest(IReadOnlyList<string> Csis, string? Service = null, long? KnownTreeSize = null, IReadOnlyList<string>? Tokens = null);

/// <summary>One result per requested CSI, in request order.</summary>
/// <param name="Results">The per-CSI answers.</param>
/// <param name="Transparency">The epoch every answer is proven at; null when the DP keeps no log.</param>
/// <param name="Peers">When the DP federates: each peer's part, in the order of its metadata's <c>peers</c>; null otherwise.</param>
public sealed record LookupResponse(IReadOnlyList<LookupResult> Results, EpochProof? Transparency = null, IReadOnlyList<PeerAnswer>? Peers = null)
{
    /// <summary>
    /// The latest epoch the DP knows its log has reached, present only when that is past
    /// <see cref="EpochProof.Epoch"/>: a DP process reading a read replica that has not replayed the
    /// newest epochs yet (docs/protocol.md §8, "Read replicas"). The answers are still proven, at the
    /// older epoch; a change sealed since may be missing from them.
    /// </summary>
    public long? LatestEpoch { get; init; }
}

/// <summary>The DP's answer for one CSI.</summary>
/// <param name="Query">The identifier as asked.</param>
/// <param name="Csi">Its canonical form, or null when it is not a CSI.</param>
/// <param name="Result"><c>found</c>, <c>opted-out</c>, <c>none</c> or <c>invalid</c> (see <see cref="LookupResultKinds"/>).</param>
/// <param name="Statements">Every current statement visible to the querying service.</param>
/// <param name="Reason">For <c>invalid</c>, why the query is not a CSI.</param>
/// <param name="Labels">The proof for each label the querying service may see (see <see cref="EpochProof"/>).</param>
/// <param name="MaxAge">Seconds the answer, once verified, may be reused: until its first statement expires, and never longer than the DP's <see cref="DiscoveryLimits.MaxAnswerAgeSeconds"/>.</param>
/// <param name="Delegation">For <c>referral</c>: the delegation (a <c>mimi-delegation+jwt</c> compact JWS, docs/protocol.md §11) naming the DP to ask; <paramref name="Labels"/> then prove it is the one committed for the most specific delegated subject covering the CSI.</param>
public sealed record LookupResult(string Query, string? Csi, string Result, IReadOnlyList<string> Statements, string? Reason = null, IReadOnlyList<LabelProof>? Labels = null, long? MaxAge = null, string? Delegation = null);

/// <summary>A signed tree head on the wire (binary values base64url).</summary>
/// <param name="Size">Log size = the latest sealed epoch.</param>
/// <param name="Timestamp">Seal time of that epoch, milliseconds since the Unix epoch.</param>
/// <param name="Root">RFC 9162 log root.</param>
/// <param name="Signature">ECDSA P-256 signature, IEEE P1363.</param>
public sealed record TreeHeadWire(long Size, long Timestamp, string Root, string Signature);

/// <summary>Proof that a prefix-tree root is the one of an epoch in a signed log.</summary>
/// <param name="Epoch">The epoch the answers are proven at.</param>
/// <param name="Timestamp">The epoch's seal time (ms).</param>
/// <param name="PrefixRoot">The prefix tree's root at that epoch.</param>
/// <param name="Inclusion">RFC 9162 inclusion proof of the epoch's log leaf under <paramref name="Head"/>.</param>
/// <param name="Head">The current signed tree head.</param>
/// <param name="ConsistencyFrom">When the client named a known tree size: that size.</param>
/// <param name="Consistency">RFC 9162 consistency proof from <paramref name="ConsistencyFrom"/> to <paramref name="Head"/>.</param>
public sealed record EpochProof(long Epoch, long Timestamp, string PrefixRoot, IReadOnlyList<string> Inclusion, TreeHeadWire Head, long? ConsistencyFrom = null, IReadOnlyList<string>? Consistency = null);

/// <summary>One label's VRF and prefix-tree proof, and its opened value when present.</summary>
/// <param name="Scope"><c>any</c>, <c>svc:&lt;service&gt;</c>, or <c>delegation</c>.</param>
/// <param name="Vrf">The 81-byte VRF proof for the label.</param>
/// <param name="Path">Sibling hashes from the prefix tree's root down.</param>
/// <param name="Terminal"><c>leaf</c> (present), <c>other</c> (another key's leaf) or <c>empty</c>.</param>
/// <param name="LeafKey">For <c>other</c>: that leaf's key.</param>
/// <param name="Commitment">For <c>other</c>: that leaf's commitment.</param>
/// <param name="Version">For <c>leaf</c>: the label's version.</param>
/// <param name="Opening">For <c>leaf</c>: the commitment opening.</param>
/// <param name="Statements">For <c>leaf</c>: every statement committed under the label (none once erased).</param>
/// <param name="Subject">For a <c>delegation</c> label: its subject (<c>tel:+33</c>, <c>mailto:example.com</c>); absent for a CSI's labels, whose subject is the result's CSI.</param>
public sealed record LabelProof(
    string Scope,
    string Vrf,
    IReadOnlyList<string> Path,
    string Terminal,
    string? LeafKey = null,
    string? Commitment = null,
    long? Version = null,
    string? Opening = null,
    IReadOnlyList<string>? Statements = null,
    string? Subject = null);

/// <summary><c>GET /v1/transparency/consistency</c>: RFC 9162 consistency proof between two log sizes.</summary>
public sealed record ConsistencyWire(long From, long To, IReadOnlyList<string> Proof);

/// <summary><c>GET /v1/transparency/epochs/{n}</c>: what one epoch changed, for auditors.</summary>
/// <param name="Epoch">Epoch number.</param>
/// <param name="Timestamp">Seal time (ms).</param>
/// <param name="PrefixRoot">Prefix-tree root after the changes.</param>
/// <param name="Changes">Every leaf the epoch added or updated (key, new commitment), in key order.</param>
public sealed record EpochChanges(long Epoch, long Timestamp, string PrefixRoot, IReadOnlyList<LeafChange> Changes);

/// <summary>A leaf set in an epoch.</summary>
public sealed record LeafChange(string Key, string Commitment);

/// <summary><c>GET /v1/transparency/history</c>: every version of one label, for its owner's monitor.</summary>
/// <param name="Csi">Canonical CSI.</param>
/// <param name="Scope">Label scope.</param>
/// <param name="Vrf">VRF proof for the label.</param>
/// <param name="Head">The current signed tree head every version is proven under.</param>
/// <param name="Versions">Versions from 1 up.</param>
public sealed record LabelHistory(string Csi, string Scope, string Vrf, TreeHeadWire Head, IReadOnlyList<LabelVersion> Versions)
{
    /// <summary>
    /// Removals of the CSI's mappings made on a CSIP's authority (a CSIP removal or a reassignment feed,
    /// docs/protocol.md §16), oldest first, as the DP reports them: who removed, not committed by the log.
    /// Null from a DP that reports none.
    /// </summary>
    public IReadOnlyList<CsipRemoval>? CsipRemovals { get; init; }
}

/// <summary>A removal made on a CSIP's authority, as the DP reports it in a label's history.</summary>
/// <param name="Csip">The name the DP's operator onboarded the CSIP under.</param>
/// <param name="MappingId">The mapping removed.</param>
/// <param name="RemovedAt">When, Unix seconds.</param>
/// <param name="Feed">The reassignment feed's id (<c>jti</c>), or null for a single CSIP removal.</param>
public sealed record CsipRemoval(string Csip, string MappingId, long RemovedAt, string? Feed = null);

/// <summary>One version of a label and its proof at the epoch that sealed it.</summary>
/// <param name="Version">Label version (1, 2, …).</param>
/// <param name="Epoch">The epoch that sealed it.</param>
/// <param name="Timestamp">That epoch's seal time (ms).</param>
/// <param name="PrefixRoot">That epoch's prefix-tree root.</param>
/// <param name="Inclusion">Inclusion of that epoch's log leaf under the head.</param>
/// <param name="Path">Prefix-tree path of the label's leaf at that epoch.</param>
/// <param name="Commitment">The committed value's commitment.</param>
/// <param name="Opening">The opening, or null once erased.</param>
/// <param name="Statements">The statements, or null once erased.</param>
public sealed record LabelVersion(long Version, long Epoch, long Timestamp, string PrefixRoot, IReadOnlyList<string> Inclusion, IReadOnlyList<string> Path, string Commitment, string? Opening, IReadOnlyList<string>? Statements);

/// <summary>The values of <see cref="LookupResult.Result"/> (R5).</summary>
public static class LookupResultKinds
{
    /// <summary>At least one mapping lists a messaging service.</summary>
    public const string Found = "found";

    /// <summary>Mappings exist, and every one lists no service: the owner opted out.</summary>
    public const string OptedOut = "opted-out";

    /// <summary>No mapping exists (or none is visible to the querying service).</summary>
    public const string None = "none";

    /// <summary>The query is not a valid CSI.</summary>
    public const string Invalid = "invalid";

    /// <summary>The DP is not authoritative for the CSI: <see cref="LookupResult.Delegation"/> names the DP that is.</summary>
    public const string Referral = "referral";
}

/// <summary>
/// Source-generated JSON contracts of the API (web defaults: camelCase, case-insensitive reads),
/// except that numbers must be JSON numbers: the web default would also read <c>"12"</c>.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(DiscoveryMetadata))]
[JsonSerializable(typeof(ProofRequest))]
[JsonSerializable(typeof(ProofStarted))]
[JsonSerializable(typeof(ProofAnswer))]
[JsonSerializable(typeof(CredentialIssued))]
[JsonSerializable(typeof(StatementSubmission))]
[JsonSerializable(typeof(PublishReceipt))]
[JsonSerializable(typeof(RemovalReceipt))]
[JsonSerializable(typeof(ReassignmentSubmission))]
[JsonSerializable(typeof(ReassignmentReceipt))]
[JsonSerializable(typeof(LookupRequest))]
[JsonSerializable(typeof(LookupResponse))]
[JsonSerializable(typeof(ProblemBody))]
[JsonSerializable(typeof(TreeHeadWire))]
[JsonSerializable(typeof(ConsistencyWire))]
[JsonSerializable(typeof(EpochChanges))]
[JsonSerializable(typeof(LabelHistory))]
[JsonSerializable(typeof(MirrorEpoch))]
[JsonSerializable(typeof(Dictionary<string, TreeHeadWire>))]
internal sealed partial class ProtocolJson : JsonSerializerContext;

/// <summary>An RFC 9457 problem details body with the DP's stable <c>code</c> member.</summary>
public sealed record ProblemBody(string? Type, string? Title, int? Status, string? Detail, string? Code);

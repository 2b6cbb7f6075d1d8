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
public sealed record DiscoveryMetadata(
    string Api,
    IReadOnlyList<string> CsiKinds,
    IReadOnlyList<string> CredentialCas,
    DiscoveryLimits Limits,
    IReadOnlyDictionary<string, string> Channels);

/// <summary>Limits a DP enforces.</summary>
/// <param name="MaxLookupBatch">Most CSIs in one lookup.</param>
/// <param name="MaxStatementLength">Longest statement accepted, in characters.</param>
/// <param name="MaxRequestBytes">Largest request body accepted.</param>
/// <param name="CodeLifetimeSeconds">How long a proof-of-control code stays valid.</param>
/// <param name="MaxCodeAttempts">How many answers a proof accepts before it is void.</param>
public sealed record DiscoveryLimits(int MaxLookupBatch, int MaxStatementLength, int MaxRequestBytes, int CodeLifetimeSeconds, int MaxCodeAttempts);

/// <summary>An EC P-256 public key as a JWK (RFC 7517/7518 §6.2.1).</summary>
public sealed record EcPublicJwk(
    [property: JsonPropertyName("kty")] string Kty,
    [property: JsonPropertyName("crv")] string Crv,
    [property: JsonPropertyName("x")] string X,
    [property: JsonPropertyName("y")] string Y);

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
public sealed record PublishReceipt(string Csi, string MappingId, long Version, IReadOnlyList<string> Superseded);

/// <summary>What a removal removed.</summary>
public sealed record RemovalReceipt(string Csi, string Authority, IReadOnlyList<string> Removed);

/// <summary><c>POST /v1/lookup</c>: one or many CSIs, optionally on behalf of a querying service.</summary>
/// <param name="Csis">Identifiers in any accepted form.</param>
/// <param name="Service">The querying service; statements whose audience excludes it are withheld.</param>
public sealed record LookupRequest(IReadOnlyList<string> Csis, string? Service = null);

/// <summary>One result per requested CSI, in request order.</summary>
public sealed record LookupResponse(IReadOnlyList<LookupResult> Results);

/// <summary>The DP's answer for one CSI.</summary>
/// <param name="Query">The identifier as asked.</param>
/// <param name="Csi">Its canonical form, or null when it is not a CSI.</param>
/// <param name="Result"><c>found</c>, <c>opted-out</c>, <c>none</c> or <c>invalid</c> (see <see cref="LookupResultKinds"/>).</param>
/// <param name="Statements">Every current statement visible to the querying service.</param>
/// <param name="Reason">For <c>invalid</c>, why the query is not a CSI.</param>
public sealed record LookupResult(string Query, string? Csi, string Result, IReadOnlyList<string> Statements, string? Reason = null);

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
}

/// <summary>Source-generated JSON contracts of the API (web defaults: camelCase, case-insensitive reads).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(DiscoveryMetadata))]
[JsonSerializable(typeof(ProofRequest))]
[JsonSerializable(typeof(ProofStarted))]
[JsonSerializable(typeof(ProofAnswer))]
[JsonSerializable(typeof(CredentialIssued))]
[JsonSerializable(typeof(StatementSubmission))]
[JsonSerializable(typeof(PublishReceipt))]
[JsonSerializable(typeof(RemovalReceipt))]
[JsonSerializable(typeof(LookupRequest))]
[JsonSerializable(typeof(LookupResponse))]
[JsonSerializable(typeof(ProblemBody))]
public sealed partial class ProtocolJson : JsonSerializerContext;

/// <summary>An RFC 9457 problem details body with the DP's stable <c>code</c> member.</summary>
public sealed record ProblemBody(string? Type, string? Title, int? Status, string? Detail, string? Code);

using System.Text.Json;
using System.Text.Json.Serialization;

namespace Mimi.Discovery.Statements;

// The JSON shapes inside a statement's JWS, documented in docs/protocol.md. Parsing is strict:
// unknown or duplicate members, wrong types and missing required members are all rejected, so a
// signed statement means exactly one thing.

internal sealed class JwsHeader
{
    [JsonPropertyName("alg")]
    public required string Alg { get; init; }

    [JsonPropertyName("typ")]
    public required string Typ { get; init; }

    [JsonPropertyName("x5c")]
    public IReadOnlyList<string>? X5c { get; init; }

    [JsonPropertyName("jwk")]
    public JsonElement? Jwk { get; init; }

    [JsonPropertyName("crit")]
    public JsonElement? Crit { get; init; }

    // RFC 8225 §8.1: a PASSporT extension's type; only invitations carry one (docs/protocol.md §14).
    [JsonPropertyName("ppt")]
    public string? Ppt { get; init; }
}

internal sealed class MappingPayload
{
    [JsonPropertyName("csi")]
    public required string Csi { get; init; }

    [JsonPropertyName("ver")]
    public required long Version { get; init; }

    [JsonPropertyName("iat")]
    public required long IssuedAt { get; init; }

    [JsonPropertyName("exp")]
    public required long ExpiresAt { get; init; }

    [JsonPropertyName("supersede")]
    public required bool Supersede { get; init; }

    [JsonPropertyName("audience")]
    public required JsonElement Audience { get; init; }

    [JsonPropertyName("entries")]
    public required IReadOnlyList<EntryPayload> Entries { get; init; }

    [JsonPropertyName("sealed")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? Sealed { get; init; }
}

internal sealed class EntryPayload
{
    [JsonPropertyName("service")]
    public required string Service { get; init; }

    [JsonPropertyName("endpoint")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Endpoint { get; init; }

    [JsonPropertyName("account")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Account { get; init; }

    [JsonPropertyName("priority")]
    public required int Priority { get; init; }

    [JsonPropertyName("tags")]
    public required IReadOnlyList<string> Tags { get; init; }

    [JsonPropertyName("pv")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? ProtocolVersion { get; init; }

    [JsonPropertyName("audience")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public JsonElement? Audience { get; init; }
}

internal sealed class RemovalPayload
{
    [JsonPropertyName("csi")]
    public required string Csi { get; init; }

    [JsonPropertyName("iat")]
    public required long IssuedAt { get; init; }

    [JsonPropertyName("target")]
    public required string Target { get; init; }

    [JsonPropertyName("ver")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? Version { get; init; }

    [JsonPropertyName("supersede")]
    public required bool Supersede { get; init; }
}

// docs/protocol.md §16: a CSIP's reassignment feed.
internal sealed class ReassignmentPayload
{
    [JsonPropertyName("jti")]
    public required string Id { get; init; }

    [JsonPropertyName("iat")]
    public required long IssuedAt { get; init; }

    [JsonPropertyName("reassigned")]
    public required List<ReassignmentEntryPayload> Reassigned { get; init; }
}

internal sealed class ReassignmentEntryPayload
{
    [JsonPropertyName("at")]
    public required long At { get; init; }

    [JsonPropertyName("csi")]
    public required string Csi { get; init; }
}

// RFC 8225 §5 PASSporT claims, declared in lexicographic order so they serialise as §9 asks.
internal sealed class PassportPayload
{
    [JsonPropertyName("dest")]
    public required PassportDestinations Dest { get; init; }

    [JsonPropertyName("iat")]
    public required long IssuedAt { get; init; }

    [JsonPropertyName("orig")]
    public required PassportOriginator Orig { get; init; }
}

// RFC 8225 §5.2.1: one telephone number (tn, RFC 8224 §8.3 digits) or one URI.
internal sealed class PassportOriginator
{
    [JsonPropertyName("tn")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Tn { get; init; }

    [JsonPropertyName("uri")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Uri { get; init; }
}

// RFC 8225 §5.2.1: arrays of telephone numbers and URIs.
internal sealed class PassportDestinations
{
    [JsonPropertyName("tn")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? Tn { get; init; }

    [JsonPropertyName("uri")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? Uri { get; init; }
}

[JsonSourceGenerationOptions(
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    NumberHandling = JsonNumberHandling.Strict,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true,
    AllowDuplicateProperties = false,
    MaxDepth = 8)]
[JsonSerializable(typeof(JwsHeader))]
[JsonSerializable(typeof(MappingPayload))]
[JsonSerializable(typeof(RemovalPayload))]
[JsonSerializable(typeof(ReassignmentPayload))]
[JsonSerializable(typeof(PassportPayload))]
[JsonSerializable(typeof(InvitationPayload))]
[JsonSerializable(typeof(InvitationPreferencePayload))]
[JsonSerializable(typeof(RevocationPayload))]
[JsonSerializable(typeof(List<EntryPayload>), TypeInfoPropertyName = "ListEntryPayload")]
internal sealed partial class WireJson : JsonSerializerContext
{
    /// <summary>Writes '+' and non-ASCII text unescaped so signed payloads stay readable; parsing is unaffected.</summary>
    public static WireJson Writer { get; } = new(new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
}

// docs/protocol.md §14: an invitation, a PASSporT extension (RFC 8225 §8.1) whose claims are the
// base ones (dest, iat, orig) and cb, exp, jti, reach, declared in lexicographic order (RFC 8225 §9).
internal sealed class InvitationPayload
{
    [JsonPropertyName("cb")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Callback { get; init; }

    [JsonPropertyName("dest")]
    public required PassportDestinations Dest { get; init; }

    [JsonPropertyName("exp")]
    public required long ExpiresAt { get; init; }

    [JsonPropertyName("iat")]
    public required long IssuedAt { get; init; }

    [JsonPropertyName("jti")]
    public required string Id { get; init; }

    [JsonPropertyName("orig")]
    public required PassportOriginator Orig { get; init; }

    [JsonPropertyName("reach")]
    public required IReadOnlyList<EntryPayload> Reach { get; init; }
}

// docs/protocol.md §14, "Never invite me".
internal sealed class InvitationPreferencePayload
{
    [JsonPropertyName("csi")]
    public required string Csi { get; init; }

    [JsonPropertyName("iat")]
    public required long IssuedAt { get; init; }

    [JsonPropertyName("invitations")]
    public required string Invitations { get; init; }
}

// docs/protocol.md §15: a revocation, claims in lexicographic order.
internal sealed class RevocationPayload
{
    [JsonPropertyName("csi")]
    public required string Csi { get; init; }

    [JsonPropertyName("iat")]
    public required long IssuedAt { get; init; }

    [JsonPropertyName("jti")]
    public required string Id { get; init; }

    [JsonPropertyName("reason")]
    public required string Reason { get; init; }

    [JsonPropertyName("x5t#S256")]
    public required string CredentialThumbprint { get; init; }
}

using System.Text.Json;
using System.Text.Json.Serialization;

namespace Mimi.Discovery.Protocol;

// The JSON bodies of the revocation API (docs/protocol.md §15).

/// <summary><c>POST /v1/revocations</c>: a signed revocation.</summary>
/// <param name="Revocation">The revocation (compact JWS, <see cref="Statements.Revocation"/>).</param>
public sealed record RevocationRequest(string Revocation);

/// <summary>The DP's receipt for a revocation it took.</summary>
/// <param name="Csi">The identifier the revoked credential binds.</param>
/// <param name="Credential">The revoked credential's <c>x5t#S256</c>.</param>
/// <param name="SerialNumber">Its serial number (upper-case hex), as the CRL lists it.</param>
/// <param name="Authority"><c>owner</c>, <c>successor</c> or <c>csip</c>.</param>
/// <param name="Reason">The RFC 5280 reason name.</param>
/// <param name="RevokedAt">When the DP took it (the CRL entry's revocationDate).</param>
/// <param name="Removed">The mappings signed under the credential that the DP removed with it.</param>
/// <param name="Epoch">The transparency epoch the removals are due in, when the DP keeps a log and removed any.</param>
public sealed record RevocationReceipt(string Csi, string Credential, string SerialNumber, string Authority, string Reason, DateTimeOffset RevokedAt, IReadOnlyList<string> Removed, long? Epoch = null);

/// <summary>Source-generated JSON contracts of the revocation API, with the options of the rest of the API.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(RevocationRequest))]
[JsonSerializable(typeof(RevocationReceipt))]
internal sealed partial class RevocationJson : JsonSerializerContext;

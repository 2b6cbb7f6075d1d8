using System.Text.Json;
using Mimi.Discovery.Credentials;
using Mimi.Discovery.Identifiers;

namespace Mimi.Discovery.Statements;

// Revocations (docs/protocol.md §15), signed under the owner's, a successor's or a CSIP's credential.
public sealed partial class StatementSigner
{
    /// <summary>
    /// Signs a revocation (docs/protocol.md §15) of the credential whose <c>x5t#S256</c> is
    /// <paramref name="credentialThumbprint"/> (<see cref="Revocation.ThumbprintOf"/>), for
    /// <paramref name="csi"/>, with a fresh <c>jti</c> and <c>iat</c> now. Sign it under the revoked
    /// credential itself (owner), a later credential for the same CSI (successor), or a CSIP
    /// credential whose scope covers <paramref name="csi"/>.
    /// </summary>
    /// <returns>The compact JWS.</returns>
    /// <exception cref="ArgumentException">The thumbprint is not 43 base64url characters; the reason is not one of <see cref="RevocationReason"/>; a single-CSI credential for another CSI, or a CSIP scope that does not cover it.</exception>
    public string SignRevocation(Csi csi, string credentialThumbprint, RevocationReason reason)
    {
        ArgumentNullException.ThrowIfNull(csi);
        if (!Revocation.IsWellFormedThumbprint(credentialThumbprint))
        {
            throw new ArgumentException("The credential thumbprint is its x5t#S256: SHA-256 of the DER certificate in base64url, 43 characters (Revocation.ThumbprintOf).", nameof(credentialThumbprint));
        }

        var name = Enum.IsDefined(reason) ? Revocation.ReasonName(reason) : throw new ArgumentException("Not a revocation reason.", nameof(reason));
        if (_credential.Kind == CredentialKind.Csi && _credential.Csi != csi)
        {
            throw new ArgumentException($"The credential binds {_credential.Csi}, not {csi}; a revocation is signed by the owner, a successor or a CSIP.", nameof(csi));
        }

        if (_credential.Kind == CredentialKind.Csip && !_credential.Scope!.Covers(csi))
        {
            throw new ArgumentException($"The CSIP scope ({_credential.Scope}) does not cover {csi}.", nameof(csi));
        }

        var payload = new RevocationPayload
        {
            Csi = csi.Uri,
            IssuedAt = _time.GetUtcNow().ToUnixTimeSeconds(),
            Id = Invitation.NewId(),
            Reason = name,
            CredentialThumbprint = credentialThumbprint,
        };
        return Sign(JsonSerializer.SerializeToUtf8Bytes(payload, WireJson.Writer.RevocationPayload), Revocation.MediaType,
            new Dictionary<string, object> { ["x5c"] = _x5c });
    }
}

using System.Text.Json;
using Mimi.Discovery.Credentials;
using Mimi.Discovery.Statements;

namespace Mimi.Discovery.Verification;

// Revocations (docs/protocol.md §15).
public sealed partial class StatementVerifier
{
    /// <summary>
    /// Verifies a revocation (docs/protocol.md §15) as of <paramref name="at"/>: structure, <c>typ</c>
    /// <see cref="Revocation.MediaType"/>, ES256 signature, the signer's credential in <c>x5c</c> (single-CSI
    /// or CSIP) valid at <paramref name="at"/>, chained to the trust anchors and not revoked, a canonical
    /// <c>csi</c> the credential binds or its CSIP scope covers (<see cref="VerificationStatus.CsiMismatch"/>),
    /// a well-formed <c>jti</c> and <c>x5t#S256</c>, an RFC 5280 reason name, and <c>iat</c> within the
    /// credential's validity and not in the future (<see cref="VerificationStatus.NotYetValid"/>). The
    /// maximum age, replays and whether the signer may revoke the named credential
    /// (<see cref="Revocation.AuthorityOver"/>) are the DP's to check. Never throws for bad input.
    /// </summary>
    public VerificationResult<Revocation> VerifyRevocation(string? jws, DateTimeOffset at)
    {
        if (Open(jws, Revocation.MediaType, out var envelope) is { } failure)
        {
            return VerificationResult<Revocation>.Fail(failure.Status, failure.Reason);
        }

        if (envelope.Credential is not { } credential)
        {
            return VerificationResult<Revocation>.Fail(VerificationStatus.MissingCredential, "a revocation must carry its signer's credential in the x5c header");
        }

        RevocationPayload payload;
        try
        {
            payload = JsonSerializer.Deserialize(envelope.Payload, WireJson.Default.RevocationPayload)!;
        }
        catch (JsonException e)
        {
            return VerificationResult<Revocation>.Fail(VerificationStatus.Malformed, "the payload is not a revocation: " + e.Message);
        }

        if (!PayloadCodec.TryParseCanonicalCsi(payload.Csi, out var csi))
        {
            return VerificationResult<Revocation>.Fail(VerificationStatus.InvalidContent, "the payload's csi is not a canonical CSI URI");
        }

        if (!Invitation.IsWellFormedId(payload.Id))
        {
            return VerificationResult<Revocation>.Fail(VerificationStatus.InvalidContent, "jti must be 16 bytes in base64url (22 characters)");
        }

        if (!Revocation.IsWellFormedThumbprint(payload.CredentialThumbprint))
        {
            return VerificationResult<Revocation>.Fail(VerificationStatus.InvalidContent, "x5t#S256 must be the SHA-256 thumbprint of a certificate in base64url (43 characters)");
        }

        if (!Revocation.TryParseReason(payload.Reason, out var reason))
        {
            return VerificationResult<Revocation>.Fail(VerificationStatus.InvalidContent,
                "reason must be one of unspecified, keyCompromise, affiliationChanged, superseded, cessationOfOperation (RFC 5280 §5.3.1)");
        }

        if (!TryUnixTime(payload.IssuedAt, out var issuedAt))
        {
            return VerificationResult<Revocation>.Fail(VerificationStatus.InvalidContent, "iat must be a Unix time");
        }

        if (CheckCredential(envelope, at) is { } credentialFailure)
        {
            return VerificationResult<Revocation>.Fail(credentialFailure.Status, credentialFailure.Reason);
        }

        if (credential.Kind == CredentialKind.Csip ? !credential.Scope!.Covers(csi) : credential.Csi != csi)
        {
            return VerificationResult<Revocation>.Fail(VerificationStatus.CsiMismatch, credential.Kind == CredentialKind.Csip
                ? $"the CSIP credential's scope ({credential.Scope}) does not cover {csi}"
                : $"the revocation is for {csi} but its credential binds {credential.Csi}");
        }

        return CheckIssuance(issuedAt, credential, at) is { } timeFailure
            ? VerificationResult<Revocation>.Fail(timeFailure.Status, timeFailure.Reason)
            : VerificationResult<Revocation>.Valid(new Revocation(jws!, csi, issuedAt, payload.Id, reason, payload.CredentialThumbprint, credential));
    }
}

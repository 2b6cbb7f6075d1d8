using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Jose;
using Mimi.Discovery.Credentials;
using Mimi.Discovery.Crypto;
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Statements;
using Base64Url = System.Buffers.Text.Base64Url;

namespace Mimi.Discovery.Verification;

/// <summary>
/// The sender-side check of mapping and removal statements (R4): compact JWS structure (RFC 7515),
/// algorithm allow-list (ES256 only; no <c>crit</c>), signature, credential shape and chain to the
/// sender's own trust anchors, CSI binding, and validity at the verifier's clock, with the lifetime
/// rule of <see cref="StatementLifetime"/> (no statement outlives its credential). Never throws for
/// bad input: every failure is a <see cref="VerificationResult{T}"/> naming the first failed check.
/// </summary>
public sealed partial class StatementVerifier
{
    private readonly TrustAnchors _anchors;
    private readonly TimeProvider _time;
    private readonly VerificationOptions _options;
    private readonly CredentialCache _credentials;

    /// <summary>Creates a verifier that trusts <paramref name="anchors"/>.</summary>
    public StatementVerifier(TrustAnchors anchors, TimeProvider? time = null, VerificationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(anchors);
        _anchors = anchors;
        _time = time ?? TimeProvider.System;
        _options = options ?? new VerificationOptions();
        _credentials = new CredentialCache(_options.CredentialCacheSize);
    }

    /// <summary>Verifies a mapping statement at the verifier's clock.</summary>
    public VerificationResult<MappingStatement> VerifyMapping(string? jws) => VerifyMapping(jws, _time.GetUtcNow());

    /// <summary>
    /// Verifies a mapping statement as of <paramref name="at"/>: whether it was valid then (credential
    /// and statement unexpired, chain valid). A monitor checks a past version at the time its epoch
    /// sealed it this way.
    /// </summary>
    public VerificationResult<MappingStatement> VerifyMapping(string? jws, DateTimeOffset at)
    {
        if (OpenUnderCsiCredential(jws, MappingStatement.MediaType, "a mapping statement", out var envelope, out var credential) is { } failure)
        {
            return VerificationResult<MappingStatement>.Fail(failure.Status, failure.Reason);
        }

        MappingPayload payload;
        try
        {
            payload = JsonSerializer.Deserialize(envelope.Payload, WireJson.Default.MappingPayload)!;
        }
        catch (JsonException e)
        {
            return VerificationResult<MappingStatement>.Fail(VerificationStatus.Malformed, "the payload is not a mapping statement: " + e.Message);
        }

        if (!PayloadCodec.TryParseCanonicalCsi(payload.Csi, out var csi))
        {
            return VerificationResult<MappingStatement>.Fail(VerificationStatus.InvalidContent, "the payload's csi is not a canonical CSI URI");
        }

        if (payload.Version < 1)
        {
            return VerificationResult<MappingStatement>.Fail(VerificationStatus.InvalidContent, "the version must be at least 1");
        }

        if (!PayloadCodec.TryDecodeAudience(payload.Audience, out var audience, out var reason))
        {
            return VerificationResult<MappingStatement>.Fail(VerificationStatus.InvalidContent, reason);
        }

        if (!PayloadCodec.TryDecodeEntries(payload.Entries, out var entries, out reason))
        {
            return VerificationResult<MappingStatement>.Fail(
                payload.Entries.Any(e => MspEntry.TagsProblem(e.Tags) is not null) ? VerificationStatus.InvalidTag : VerificationStatus.InvalidContent, reason);
        }

        if (PayloadCodec.ValidateEntryAudiences(audience, entries) is { } audienceProblem)
        {
            return VerificationResult<MappingStatement>.Fail(VerificationStatus.InvalidContent, audienceProblem);
        }

        if (SealedRoutes.Validate(payload.Sealed) is { } sealedProblem)
        {
            return VerificationResult<MappingStatement>.Fail(VerificationStatus.InvalidSealedRoute, sealedProblem);
        }

        if (!TryUnixTime(payload.IssuedAt, out var issuedAt) || !TryUnixTime(payload.ExpiresAt, out var expiresAt) || expiresAt <= issuedAt)
        {
            return VerificationResult<MappingStatement>.Fail(VerificationStatus.InvalidContent, "iat and exp must be Unix times with exp after iat");
        }

        if (CheckCredential(envelope, at) is { } credentialFailure)
        {
            return VerificationResult<MappingStatement>.Fail(credentialFailure.Status, credentialFailure.Reason);
        }

        if (credential.Csi != csi)
        {
            return VerificationResult<MappingStatement>.Fail(VerificationStatus.CsiMismatch, $"the statement maps {csi} but its credential binds {credential.Csi}");
        }

        if (CheckIssuance(issuedAt, credential, at) is { } timeFailure)
        {
            return VerificationResult<MappingStatement>.Fail(timeFailure.Status, timeFailure.Reason);
        }

        if (StatementLifetime.OutlivesCredential(expiresAt, credential.NotAfter))
        {
            return VerificationResult<MappingStatement>.Fail(VerificationStatus.OutlivesCredential,
                $"the statement expires at {expiresAt:u}, after its credential does ({credential.NotAfter:u}); a statement may not outlive its credential");
        }

        if (!StatementLifetime.IsCurrent(expiresAt, credential.NotAfter, at))
        {
            return VerificationResult<MappingStatement>.Fail(VerificationStatus.Expired, $"the statement expired at {expiresAt:u}");
        }

        return VerificationResult<MappingStatement>.Valid(new MappingStatement(
            jws!, csi, payload.Version, issuedAt, expiresAt, payload.Supersede, audience, entries, credential, payload.Sealed));
    }

    /// <summary>
    /// Verifies a caller assertion (a PASSporT, RFC 8225, as <see cref="StatementSigner.SignCallerAssertion"/>
    /// makes it) as of <paramref name="at"/>: structure, ES256 signature, the credential in <c>x5c</c>
    /// and its chain to the trust anchors, <c>orig</c> equal to the credential's CSI, <c>dest</c>
    /// canonical, and <c>iat</c> within the credential's validity and not in the future. Freshness,
    /// the recipient and replays are <see cref="CallerAssertionVerifier"/>'s.
    /// </summary>
    public VerificationResult<CallerAssertion> VerifyCallerAssertion(string? jws, DateTimeOffset at)
    {
        if (OpenUnderCsiCredential(jws, CallerAssertion.MediaType, "a caller assertion", out var envelope, out var credential) is { } failure)
        {
            return VerificationResult<CallerAssertion>.Fail(failure.Status, failure.Reason);
        }

        PassportPayload payload;
        try
        {
            payload = JsonSerializer.Deserialize(envelope.Payload, WireJson.Default.PassportPayload)!;
        }
        catch (JsonException e)
        {
            return VerificationResult<CallerAssertion>.Fail(VerificationStatus.Malformed, "the payload is not a caller assertion: " + e.Message);
        }

        if (!TryPassportIdentity(payload.Orig.Tn, payload.Orig.Uri, out var originator) || (payload.Orig.Tn is null) == (payload.Orig.Uri is null))
        {
            return VerificationResult<CallerAssertion>.Fail(VerificationStatus.InvalidContent, "orig must hold exactly one canonical tn (E.164 digits) or mailto uri");
        }

        var destinations = new List<Csi>();
        foreach (var (tn, uri) in (payload.Dest.Tn ?? []).Select(t => ((string?)t, (string?)null)).Concat((payload.Dest.Uri ?? []).Select(u => ((string?)null, (string?)u))))
        {
            if (!TryPassportIdentity(tn, uri, out var destination) || destinations.Contains(destination))
            {
                return VerificationResult<CallerAssertion>.Fail(VerificationStatus.InvalidContent, "every dest must be a distinct canonical tn (E.164 digits) or mailto uri");
            }

            destinations.Add(destination);
        }

        if (destinations.Count is 0 or > CallerAssertion.MaxDestinations)
        {
            return VerificationResult<CallerAssertion>.Fail(VerificationStatus.InvalidContent, $"dest must name 1 to {CallerAssertion.MaxDestinations} recipients");
        }

        if (!TryUnixTime(payload.IssuedAt, out var issuedAt))
        {
            return VerificationResult<CallerAssertion>.Fail(VerificationStatus.InvalidContent, "iat must be a Unix time");
        }

        if (CheckCredential(envelope, at) is { } credentialFailure)
        {
            return VerificationResult<CallerAssertion>.Fail(credentialFailure.Status, credentialFailure.Reason);
        }

        if (credential.Csi != originator)
        {
            return VerificationResult<CallerAssertion>.Fail(VerificationStatus.CsiMismatch, $"the assertion names {originator} as the caller but its credential binds {credential.Csi}");
        }

        return CheckIssuance(issuedAt, credential, at) is { } timeFailure
            ? VerificationResult<CallerAssertion>.Fail(timeFailure.Status, timeFailure.Reason)
            : VerificationResult<CallerAssertion>.Valid(new CallerAssertion(jws!, originator, destinations, issuedAt, credential));
    }

    // A PASSporT identity as a CSI: tn as the E.164 digits (RFC 8224 §8.3), uri as a canonical mailto URI.
    private static bool TryPassportIdentity(string? tn, string? uri, out Csi csi)
    {
        csi = null!;
        if (tn is not null)
        {
            return tn.Length is > 0 and <= 15 && tn.All(char.IsAsciiDigit) && PayloadCodec.TryParseCanonicalCsi("tel:+" + tn, out csi);
        }

        return uri is not null && PayloadCodec.TryParseCanonicalCsi(uri, out csi) && csi.Kind == CsiKind.Email;
    }

    /// <summary>Verifies a removal statement and determines its <see cref="RemovalAuthority"/>.</summary>
    public VerificationResult<RemovalStatement> VerifyRemoval(string? jws)
    {
        if (Open(jws, RemovalStatement.MediaType, out var envelope) is { } failure)
        {
            return VerificationResult<RemovalStatement>.Fail(failure.Status, failure.Reason);
        }

        RemovalPayload payload;
        try
        {
            payload = JsonSerializer.Deserialize(envelope.Payload, WireJson.Default.RemovalPayload)!;
        }
        catch (JsonException e)
        {
            return VerificationResult<RemovalStatement>.Fail(VerificationStatus.Malformed, "the payload is not a removal statement: " + e.Message);
        }

        if (!PayloadCodec.TryParseCanonicalCsi(payload.Csi, out var csi))
        {
            return VerificationResult<RemovalStatement>.Fail(VerificationStatus.InvalidContent, "the payload's csi is not a canonical CSI URI");
        }

        MappingId? target = null;
        if (!string.Equals(payload.Target, "*", StringComparison.Ordinal))
        {
            if (!MappingId.TryParse(payload.Target, out var id))
            {
                return VerificationResult<RemovalStatement>.Fail(VerificationStatus.InvalidContent, "the target must be \"*\" or a mapping id (thumbprint/audience)");
            }

            target = id;
        }

        if (!TryUnixTime(payload.IssuedAt, out var issuedAt) || payload.Version is < 1)
        {
            return VerificationResult<RemovalStatement>.Fail(VerificationStatus.InvalidContent, "iat must be a Unix time and ver, when present, at least 1");
        }

        if (issuedAt > _time.GetUtcNow() + _options.ClockSkew)
        {
            return VerificationResult<RemovalStatement>.Fail(VerificationStatus.NotYetValid, $"the removal claims to be issued in the future ({issuedAt:u})");
        }

        RemovalAuthority authority;
        var credential = envelope.Credential;
        if (credential is null)
        {
            // Bare-key removal: only the owner form exists, checked against the stored mapping's key by Covers.
            if (payload.Supersede || payload.Version is null)
            {
                return VerificationResult<RemovalStatement>.Fail(VerificationStatus.InvalidContent, "a removal signed with a bare key is an owner removal: it names a version and does not supersede");
            }

            authority = RemovalAuthority.Owner;
        }
        else
        {
            if (CheckCredential(envelope, _time.GetUtcNow()) is { } credentialFailure)
            {
                return VerificationResult<RemovalStatement>.Fail(credentialFailure.Status, credentialFailure.Reason);
            }

            if (credential.Kind == CredentialKind.Csip)
            {
                if (!credential.Scope!.Covers(csi))
                {
                    return VerificationResult<RemovalStatement>.Fail(VerificationStatus.CsiMismatch, $"the CSIP credential's scope ({credential.Scope}) does not cover {csi}");
                }

                if (payload.Supersede)
                {
                    return VerificationResult<RemovalStatement>.Fail(VerificationStatus.InvalidContent, "a CSIP removal does not supersede: a CSIP is not the new owner");
                }

                authority = RemovalAuthority.Csip;
            }
            else
            {
                if (credential.Csi != csi)
                {
                    return VerificationResult<RemovalStatement>.Fail(VerificationStatus.CsiMismatch, $"the removal is for {csi} but its credential binds {credential.Csi}");
                }

                if (payload.Supersede == (payload.Version is not null) || (payload.Supersede && target is not null))
                {
                    return VerificationResult<RemovalStatement>.Fail(VerificationStatus.InvalidContent, "an owner removal names a version; a supersede removal names none and targets \"*\"");
                }

                authority = payload.Supersede ? RemovalAuthority.Successor : RemovalAuthority.Owner;
            }

            if (CheckIssuance(issuedAt, credential, _time.GetUtcNow()) is { } timeFailure)
            {
                return VerificationResult<RemovalStatement>.Fail(timeFailure.Status, timeFailure.Reason);
            }
        }

        return VerificationResult<RemovalStatement>.Valid(new RemovalStatement(
            jws!, csi, issuedAt, target, payload.Version, payload.Supersede, authority, envelope.SignerThumbprint, credential));
    }

    /// <summary>
    /// Verifies a reassignment feed (docs/protocol.md §16): at most <see cref="ReassignmentFeed.MaxLength"/>
    /// characters, signed under a CSIP credential that chains to a trust anchor and is valid now, issued
    /// while it was valid and not in the future; 1 to <see cref="ReassignmentFeed.MaxReassignments"/>
    /// canonical CSIs, each once, none reassigned after the feed was signed. Scope is not checked here:
    /// a DP refuses each CSI outside <see cref="Credential.Scope"/> on its own. Nor is the feed's age:
    /// how old a feed a DP takes is its own setting.
    /// </summary>
    public VerificationResult<ReassignmentFeed> VerifyReassignmentFeed(string? jws)
    {
        if (Open(jws, ReassignmentFeed.MediaType, out var envelope, maxLength: ReassignmentFeed.MaxLength) is { } failure)
        {
            return VerificationResult<ReassignmentFeed>.Fail(failure.Status, failure.Reason);
        }

        if (envelope.Credential is not { Kind: CredentialKind.Csip } credential)
        {
            return VerificationResult<ReassignmentFeed>.Fail(
                envelope.Credential is null ? VerificationStatus.MissingCredential : VerificationStatus.NotACredential,
                "a reassignment feed is signed under a CSIP credential carried in the x5c header");
        }

        ReassignmentPayload payload;
        try
        {
            payload = JsonSerializer.Deserialize(envelope.Payload, WireJson.Default.ReassignmentPayload)!;
        }
        catch (JsonException e)
        {
            return VerificationResult<ReassignmentFeed>.Fail(VerificationStatus.Malformed, "the payload is not a reassignment feed: " + e.Message);
        }

        if (!ReassignmentFeed.IsValidId(payload.Id) || !TryUnixTime(payload.IssuedAt, out var issuedAt))
        {
            return VerificationResult<ReassignmentFeed>.Fail(VerificationStatus.InvalidContent, "jti must be 1–128 of A–Z a–z 0–9 - _ and iat a Unix time");
        }

        if (payload.Reassigned.Count > ReassignmentFeed.MaxReassignments)
        {
            return VerificationResult<ReassignmentFeed>.Fail(VerificationStatus.TooLarge, $"the feed lists {payload.Reassigned.Count} identifiers; the limit is {ReassignmentFeed.MaxReassignments}");
        }

        if (payload.Reassigned.Count == 0)
        {
            return VerificationResult<ReassignmentFeed>.Fail(VerificationStatus.InvalidContent, "the feed lists no identifier");
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        var reassignments = new List<Reassignment>(payload.Reassigned.Count);
        for (var i = 0; i < payload.Reassigned.Count; i++)
        {
            var entry = payload.Reassigned[i];
            if (!PayloadCodec.TryParseCanonicalCsi(entry.Csi, out var csi) || !seen.Add(csi.Uri))
            {
                return VerificationResult<ReassignmentFeed>.Fail(VerificationStatus.InvalidContent, $"reassigned[{i}].csi is not a canonical CSI URI, or repeats an earlier one");
            }

            if (!TryUnixTime(entry.At, out var at) || at > issuedAt)
            {
                return VerificationResult<ReassignmentFeed>.Fail(VerificationStatus.InvalidContent, $"reassigned[{i}].at must be a Unix time no later than the feed's iat");
            }

            reassignments.Add(new Reassignment(csi, at));
        }

        var now = _time.GetUtcNow();
        if (CheckCredential(envelope, now) is { } credentialFailure)
        {
            return VerificationResult<ReassignmentFeed>.Fail(credentialFailure.Status, credentialFailure.Reason);
        }

        return CheckIssuance(issuedAt, credential, now) is { } timeFailure
            ? VerificationResult<ReassignmentFeed>.Fail(timeFailure.Status, timeFailure.Reason)
            : VerificationResult<ReassignmentFeed>.Valid(new ReassignmentFeed(jws!, payload.Id, issuedAt, reassignments, envelope.SignerThumbprint, credential));
    }

    private readonly record struct Failure(VerificationStatus Status, string Reason);

    private sealed record Envelope(byte[] Payload, CredentialCache.Entry? Chain, string SignerThumbprint)
    {
        public Credential? Credential => Chain?.Credential;
    }

    /// <summary><see cref="Open"/>, then the signer's credential must be a single-CSI one (<paramref name="what"/> names the document in reasons).</summary>
    private Failure? OpenUnderCsiCredential(string? jws, string expectedType, string what, out Envelope envelope, out Credential credential, string? expectedPpt = null)
    {
        credential = null!;
        if (Open(jws, expectedType, out envelope, expectedPpt) is { } failure)
        {
            return failure;
        }

        if (envelope.Credential is not { Kind: CredentialKind.Csi } csiCredential)
        {
            return envelope.Credential is null
                ? new(VerificationStatus.MissingCredential, what + " must carry its credential in the x5c header")
                : new(VerificationStatus.NotACredential, what + " is signed under a single-CSI credential, not a CSIP credential");
        }

        credential = csiCredential;
        return null;
    }

    /// <summary>Parses the JWS, checks header and key material, and verifies the signature.</summary>
    /// <remarks>A PASSporT extension (RFC 8225 §8.1) is opened only as that extension: <paramref name="expectedPpt"/> must equal its <c>ppt</c>, so an invitation is never taken for a caller assertion, nor the reverse.</remarks>
    private Failure? Open(string? jws, string expectedType, out Envelope envelope, string? expectedPpt = null, int? maxLength = null)
    {
        envelope = null!;
        if (string.IsNullOrEmpty(jws))
        {
            return new(VerificationStatus.Malformed, "the statement is empty");
        }

        var limit = maxLength ?? _options.MaxStatementLength;
        if (jws.Length > limit)
        {
            return new(VerificationStatus.TooLarge, $"the statement is {jws.Length} characters long; the limit is {limit}");
        }

        var parts = jws.Split('.');
        if (parts.Length != 3 || parts.Any(p => p.Length == 0 || !p.All(IsBase64UrlChar) || !Crypto.CanonicalBase64Url.Is(p)))
        {
            return new(VerificationStatus.Malformed, "a compact JWS is three non-empty base64url parts (canonical: unused bits zero) separated by dots");
        }

        JwsHeader header;
        try
        {
            header = JsonSerializer.Deserialize(Base64Url.DecodeFromChars(parts[0]), WireJson.Default.JwsHeader)!;
        }
        catch (Exception e) when (e is JsonException or FormatException)
        {
            return new(VerificationStatus.Malformed, "the protected header is not valid JSON of the expected form");
        }

        if (!string.Equals(header.Alg, "ES256", StringComparison.Ordinal))
        {
            return new(VerificationStatus.UnsupportedAlgorithm, $"algorithm '{HostName.Printable(header.Alg)}' is not accepted; statements are signed with ES256");
        }

        if (header.Crit is not null)
        {
            return new(VerificationStatus.UnsupportedCriticalHeader, "the header marks extensions critical (crit), and none is understood");
        }

        if (!string.Equals(header.Typ, expectedType, StringComparison.Ordinal))
        {
            return new(VerificationStatus.WrongType, $"typ is '{HostName.Printable(header.Typ)}', expected '{expectedType}'");
        }

        if (!string.Equals(header.Ppt, expectedPpt, StringComparison.Ordinal))
        {
            return new(VerificationStatus.WrongType, expectedPpt is null
                ? $"ppt is '{HostName.Printable(header.Ppt!)}': a PASSporT extension is not {expectedType}"
                : $"ppt is '{HostName.Printable(header.Ppt ?? "")}', expected '{expectedPpt}'");
        }

        ECDsa key;
        Credential? credential = null;
        CredentialCache.Entry? chainEntry = null;
        if (header.X5c is { } x5c)
        {
            if (header.Jwk is not null)
            {
                return new(VerificationStatus.Malformed, "a statement carries either x5c or jwk, not both");
            }

            if (x5c.Count == 0 || x5c.Count > _options.MaxChainLength)
            {
                return new(VerificationStatus.MalformedCredential, $"x5c must hold 1–{_options.MaxChainLength} certificates");
            }

            var cacheKey = string.Join(',', x5c);
            if (!_credentials.TryGet(cacheKey, out var cached))
            {
                var certificates = new X509Certificate2[x5c.Count];
                for (var i = 0; i < x5c.Count; i++)
                {
                    try
                    {
                        certificates[i] = X509CertificateLoader.LoadCertificate(Convert.FromBase64String(x5c[i]));
                    }
                    catch (Exception e) when (e is FormatException or CryptographicException)
                    {
                        return new(VerificationStatus.MalformedCredential, $"x5c[{i}] is not a base64 DER certificate");
                    }
                }

                if (!Credential.TryParse(certificates[0], out var parsed, out var reason))
                {
                    return new(VerificationStatus.NotACredential, reason);
                }

                cached = _credentials.Add(cacheKey, parsed, certificates[1..]);
            }

            chainEntry = cached;
            credential = cached.Credential;
            key = credential.PublicKey;
        }
        else if (header.Jwk is { } jwk && expectedType == RemovalStatement.MediaType)
        {
            if (!P256Jwk.TryImport(jwk, out var imported, out var jwkError))
            {
                return new(VerificationStatus.Malformed, "the jwk header is not a P-256 public key: " + P256Jwk.Describe(jwkError));
            }

            key = imported;
        }
        else
        {
            return new(VerificationStatus.MissingCredential, "the statement carries no credential (x5c header)");
        }

        byte[] payload;
        try
        {
            payload = JWT.VerifyBytes(jws, key, JwsAlgorithm.ES256);
        }
        catch (Exception e) when (e is JoseException or CryptographicException or FormatException or ArgumentException)
        {
            return new(VerificationStatus.BadSignature, "the signature does not verify under the " + (credential is null ? "jwk key" : "credential's key"));
        }

        envelope = new Envelope(payload, chainEntry, credential?.KeyThumbprint ?? JwkThumbprint.Compute(key));
        return null;
    }

    /// <summary>Validity of the credential now, then its chain to a trust anchor.</summary>
    private Failure? CheckCredential(Envelope envelope, DateTimeOffset now)
    {
        var credential = envelope.Credential!;
        if (now < credential.NotBefore)
        {
            return new(VerificationStatus.CredentialNotYetValid, $"the credential is valid from {credential.NotBefore:u}");
        }

        if (now > credential.NotAfter)
        {
            return new(VerificationStatus.CredentialExpired, $"the credential expired at {credential.NotAfter:u}");
        }

        if (_options.Revocations is { } revocations && revocations.IsRevoked(credential.Certificate))
        {
            return new(VerificationStatus.Revoked, $"the credential (serial {credential.Certificate.SerialNumber}) is on its issuer's revocation list");
        }

        var entry = envelope.Chain!;
        if (entry.IsTrustedAt(now))
        {
            return null;
        }

        using var chain = new X509Chain();
        var policy = chain.ChainPolicy;
        policy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        policy.CustomTrustStore.AddRange(_anchors.Collection);
        policy.ExtraStore.AddRange(entry.Intermediates);
        policy.RevocationMode = X509RevocationMode.NoCheck;
        policy.DisableCertificateDownloads = true;
        policy.VerificationTime = now.UtcDateTime;
        policy.VerificationTimeIgnored = false;
        if (!chain.Build(credential.Certificate))
        {
            var problems = chain.ChainStatus.Select(s => s.Status.ToString()).Distinct();
            return new(VerificationStatus.UntrustedIssuer, $"the credential does not chain to a trusted CA ({string.Join(", ", problems)})");
        }

        entry.MarkTrusted(chain.ChainElements.Select(e => e.Certificate));
        return null;
    }

    /// <summary>A statement must be issued while its credential was valid, and not in the verifier's future.</summary>
    private Failure? CheckIssuance(DateTimeOffset issuedAt, Credential credential, DateTimeOffset now)
    {
        if (issuedAt > now + _options.ClockSkew)
        {
            return new(VerificationStatus.NotYetValid, $"the statement claims to be issued in the future ({issuedAt:u})");
        }

        if (issuedAt < credential.NotBefore - _options.ClockSkew || issuedAt > credential.NotAfter)
        {
            return new(VerificationStatus.NotYetValid, "the statement was issued outside its credential's validity");
        }

        return null;
    }

    private static bool TryUnixTime(long seconds, out DateTimeOffset time)
    {
        time = default;
        if (seconds is < 0 or > 253402300799)
        {
            return false;
        }

        time = DateTimeOffset.FromUnixTimeSeconds(seconds);
        return true;
    }

    private static bool IsBase64UrlChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '_';

}

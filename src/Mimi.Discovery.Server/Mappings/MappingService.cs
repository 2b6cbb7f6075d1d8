using System.Runtime.CompilerServices;
using Microsoft.Extensions.Options;
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Server.Hosting;
using Mimi.Discovery.Server.Storage;
using Mimi.Discovery.Server.Transparency;
using Mimi.Discovery.Statements;
using Mimi.Discovery.Verification;

namespace Mimi.Discovery.Server.Mappings;

/// <summary>
/// Publishing, removal and lookup. Every statement is verified with the core library against the
/// CAs this DP accepts before anything is stored; a rejected request changes nothing.
/// </summary>
internal sealed partial class MappingService(
    IDiscoveryStore store,
    ILookupStore reads,
    ICsipStore csips,
    StatementVerifier verifier,
    DnsZoneSync dnsZone,
    TransparencyLog transparency,
    Federation.DelegationTable delegations,
    IRevocationStore revocations,
    AnswerCache answers,
    IOptions<DiscoveryOptions> options,
    TimeProvider time,
    ILogger<MappingService> logger)
{
    public async Task<Outcome<PublishReceipt>> PublishAsync(StatementSubmission? submission, CancellationToken cancellationToken)
    {
        if (submission?.Statement is null)
        {
            return Problem.InvalidRequest("send {\"statement\": \"<compact JWS>\"}");
        }

        var verified = verifier.VerifyMapping(submission.Statement);
        if (!verified.IsValid)
        {
            return Rejected(verified.Status, verified.Reason);
        }

        var s = verified.Statement;
        if (await revocations.IsRevokedAsync(Revocation.ThumbprintOf(s.Credential.Certificate), cancellationToken).ConfigureAwait(false))
        {
            return new Problem("credential-revoked", StatusCodes.Status403Forbidden,
                "the statement's credential was revoked (docs/protocol.md §15); prove control again for a new credential and sign under it");
        }

        var row = RowOf(s);
        var result = await store.PublishAsync(row, s.Supersede, cancellationToken).ConfigureAwait(false);
        switch (result.Status)
        {
            case PublishStatus.VersionNotNewer:
                return new Problem("version-not-newer", StatusCodes.Status409Conflict,
                    $"the stored version of this mapping is {result.CurrentVersion}; sign version {result.CurrentVersion + 1} or higher");
            case PublishStatus.RemovedBefore:
                return new Problem("statement-removed", StatusCodes.Status409Conflict,
                    "this mapping was removed after the statement was signed; sign a new statement");
            case PublishStatus.CredentialSuperseded:
                return new Problem("credential-superseded", StatusCodes.Status403Forbidden,
                    "credentials for this identifier issued before a later owner's, or before its operator reported it reassigned, no longer publish; prove control again for a new credential");
        }

        LogPublished(logger, row.MappingId, row.Version, result.Superseded.Count);
        return new PublishReceipt(row.Csi, row.MappingId, row.Version, result.Superseded, await AfterCommitAsync(s.Csi, result.DueEpoch, cancellationToken).ConfigureAwait(false));
    }

    public async Task<Outcome<RemovalReceipt>> RemoveAsync(StatementSubmission? submission, CancellationToken cancellationToken)
    {
        if (submission?.Statement is null)
        {
            return Problem.InvalidRequest("send {\"statement\": \"<compact JWS>\"}");
        }

        var verified = verifier.VerifyRemoval(submission.Statement);
        if (!verified.IsValid)
        {
            return Rejected(verified.Status, verified.Reason);
        }

        var removal = verified.Statement;
        StoredCsip? csip = null;
        if (removal.Authority == RemovalAuthority.Csip)
        {
            var onboarded = await OnboardedCsipAsync(removal.Credential!, cancellationToken).ConfigureAwait(false);
            if (onboarded.Problem is { } refused)
            {
                return refused;
            }

            csip = onboarded.Value;
        }

        var rows = await store.GetMappingsAsync(removal.Csi.Uri, cancellationToken).ConfigureAwait(false);
        var targets = rows
            .Where(r => r.Statement is not null && MappingId.TryParse(r.MappingId, out var id)
                        && removal.Covers(id, r.Version, DateTimeOffset.FromUnixTimeSeconds(r.IssuedAt), DateTimeOffset.FromUnixTimeSeconds(r.CredentialNotBefore)))
            .Select(r => new RemovalTarget(r.MappingId, r.Version, Math.Max(r.Version, removal.Version ?? r.Version)))
            .ToList();
        if (targets.Count == 0)
        {
            return new Problem("nothing-to-remove", StatusCodes.Status404NotFound,
                "no current mapping of this CSI is covered by the removal (check its target, version and signing key)");
        }

        long? floor = removal.Authority switch
        {
            RemovalAuthority.Successor => removal.Credential!.NotBefore.ToUnixTimeSeconds(),
            RemovalAuthority.Csip when removal.Target is null => removal.IssuedAt.ToUnixTimeSeconds(),
            _ => null,
        };
        var removed = await store.RemoveAsync(removal.Csi.Uri, targets, removal.IssuedAt.ToUnixTimeSeconds(), floor, cancellationToken).ConfigureAwait(false);
        LogRemoved(logger, removed.Removed.Count, removal.Authority);
        if (csip is not null)
        {
            var now = time.GetUtcNow().ToUnixTimeSeconds();
            await csips.RecordCsipActsAsync(removed.Removed.Select(id => new CsipAct(removal.Csi.Uri, csip.Name, null, id, now)).ToList(), cancellationToken).ConfigureAwait(false);
        }

        var epoch = await AfterCommitAsync(removal.Csi, removed.DueEpoch, cancellationToken).ConfigureAwait(false);
        return new RemovalReceipt(removal.Csi.Uri, removal.Authority.ToString().ToLowerInvariant(), removed.Removed, removed.Removed.Count == 0 ? null : epoch);
    }

    public async Task<Outcome<LookupResponse>> LookupAsync(LookupRequest? request, CancellationToken cancellationToken)
    {
        var max = options.Value.MaxLookupBatch;
        if (request?.Csis is not { Count: > 0 } queries || queries.Any(q => q is null))
        {
            return Problem.InvalidRequest("send {\"csis\": [\"+15551234567\", \"bob@example.com\", …], \"service\": \"optional-querying-service\"}");
        }

        if (queries.Count > max)
        {
            return new Problem("batch-too-large", StatusCodes.Status413PayloadTooLarge, $"a lookup holds at most {max} CSIs; split the {queries.Count} into batches");
        }

        if (request.Service is not null && !MspEntry.IsValidServiceId(request.Service))
        {
            return Problem.InvalidRequest("service must be a service id: 1–64 of a-z 0-9 . - _");
        }

        var parsed = queries.Select(q => CsiParser.Parse(q)).ToList();
        var csis = parsed.Where(p => p.Success).Select(p => p.Csi!.Uri).Distinct(StringComparer.Ordinal).ToList();
        var now = time.GetUtcNow().ToUnixTimeSeconds();
        if (!options.Value.Transparency)
        {
            var rows = await reads.LookupAsync(csis, now, cancellationToken).ConfigureAwait(false);
            return new LookupResponse(Results(queries, parsed, csi =>
            {
                var visible = rows[csi].Where(r => Admits(r, request.Service) && Facts(r.Statement!).ValidUntil > now).ToList();
                var kind = visible.Count == 0 ? LookupResultKinds.None
                    : visible.All(r => r.OptOut) ? LookupResultKinds.OptedOut
                    : LookupResultKinds.Found;
                return new LookupResult("", csi, kind, visible.Select(r => r.Statement!).ToList(), MaxAge: MaxAge(visible.Select(r => r.ExpiresAt), now));
            }));
        }

        // A small lookup asked before at this epoch is answered with the same bytes (AnswerCache).
        var kept = answers.KeyOf(request);
        if (kept is not null)
        {
            await transparency.RefreshAsync(request.KnownTreeSize, cancellationToken).ConfigureAwait(false);
            if (answers.Find(kept, transparency.Epoch, transparency.LatestEpoch, now) is { } again)
            {
                return again;
            }
        }

        // Answered from what the transparency log committed at its latest epoch, with the proofs
        // that let the sender check the set is exactly that.
        // A CSI under a delegated prefix or domain is answered with a referral to the delegate, proven
        // like a mapping: the delegation committed for the most specific delegated subject covering it.
        var delegated = await delegations.SubjectsAsync(cancellationToken).ConfigureAwait(false);
        var chains = delegated.Count == 0
            ? new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal)
            : parsed.Where(q => q.Success).DistinctBy(q => q.Csi!.Uri, StringComparer.Ordinal)
                .ToDictionary(q => q.Csi!.Uri, q => Federation.DelegationTable.Chain(q.Csi!, delegated), StringComparer.Ordinal);
        var subjects = chains.Values.SelectMany(c => c).Distinct(StringComparer.Ordinal).ToList();
        var proven = await transparency.ProveAsync(csis, request.Service, request.KnownTreeSize, subjects, cancellationToken).ConfigureAwait(false);
        if (proven is not { } p)
        {
            return new Problem("log-not-ready", StatusCodes.Status503ServiceUnavailable, "the transparency log has no epoch yet; try again in a moment");
        }

        // A read replica behind the head the sender holds cannot prove its epoch consistent with it.
        if (transparency.ReadsReplica && request.KnownTreeSize > p.Epoch.Epoch)
        {
            return new Problem("replica-behind", StatusCodes.Status503ServiceUnavailable,
                FormattableString.Invariant($"this DP reads a replica that has replayed the log up to epoch {p.Epoch.Epoch}, before the head you hold ({request.KnownTreeSize}); try again in a moment, or ask another of the DP's addresses"))
            { RetryAfterSeconds = 1 };
        }

        // When each current statement and delegation in the answer stops being current: until the first
        // of them, less LookupMaxAge, every maxAge is LookupMaxAge and the answer does not change.
        var expiries = new List<long>();
        var response = new LookupResponse(Results(queries, parsed, csi =>
        {
            if (chains.TryGetValue(csi, out var chain) && Referral(chain.Select(s => p.Delegations[s]).ToList(), now) is { } referral)
            {
                expiries.Add(DelegationExpiry(referral.Delegation!));
                return referral with { Csi = csi };
            }

            var labels = p.Labels[csi];
            // A statement whose life ended (its exp, or its credential's expiry) is not served, even
            // while the epoch that drops it is not sealed yet; the label proofs still open what the
            // epoch committed, and senders accept the omission by the same rule (ProofVerifier.VerifyResult).
            // A statement with entries for several scopes (per-entry audiences) is committed under each, and returned once.
            var statements = labels.SelectMany(l => l.Statements ?? []).Distinct(StringComparer.Ordinal).Select(Facts).Where(s => s.ValidUntil > now).ToList();
            var kind = statements.Count == 0 ? LookupResultKinds.None
                : statements.All(s => s.OptOut) ? LookupResultKinds.OptedOut
                : LookupResultKinds.Found;
            expiries.AddRange(statements.Select(s => s.ValidUntil));
            return new LookupResult("", csi, kind, statements.Select(s => s.Token).ToList(), Labels: labels, MaxAge: MaxAge(statements.Select(s => s.ValidUntil), now));
        }), p.Epoch) { LatestEpoch = p.LatestEpoch };
        if (kept is not null)
        {
            var unchangedUntil = expiries.Count == 0 ? long.MaxValue : expiries.Min() - (long)options.Value.LookupMaxAge.TotalSeconds;
            // Otherwise some maxAge counts down with the clock: the same answer holds for this second only.
            answers.Add(kept, response, p.Epoch.Epoch, unchangedUntil > now ? unchangedUntil : now + 1);
        }

        return response;
    }

    /// <summary>The referral to the most specific live delegation in a proven chain, or null when none is committed and live.</summary>
    private LookupResult? Referral(List<LabelProof> chain, long now)
    {
        var at = chain.FindIndex(l => l.Statements is { Count: 1 });
        if (at < 0)
        {
            return null;
        }

        var token = chain[at].Statements![0];
        var expires = DelegationExpiry(token);
        return expires <= now ? null
            : new LookupResult("", null, LookupResultKinds.Referral, [], Labels: chain.Take(at + 1).ToList(), MaxAge: MaxAge([expires], now), Delegation: token);
    }

    private static long DelegationExpiry(string token)
    {
        using var json = Payload(token);
        return json.RootElement.GetProperty("exp").GetInt64();
    }

    /// <summary>The payload of a compact JWS this DP stored (verified when it was stored).</summary>
    private static System.Text.Json.JsonDocument Payload(string token) =>
        System.Text.Json.JsonDocument.Parse(System.Buffers.Text.Base64Url.DecodeFromChars(token.Split('.')[1]));

    /// <summary>The stored row of a verified mapping statement (also for a mirrored one, <see cref="Federation.MirrorPuller"/>).</summary>
    internal static StoredMapping RowOf(MappingStatement s) => new()
    {
        Csi = s.Csi.Uri,
        MappingId = s.Id.ToString(),
        KeyThumbprint = s.Id.KeyThumbprint,
        Audience = s.Audience.Token,
        Services = string.Join(' ', s.Entries.Select(e => e.Service).Distinct(StringComparer.Ordinal)),
        Version = s.Version,
        IssuedAt = s.IssuedAt.ToUnixTimeSeconds(),
        ExpiresAt = s.ValidUntil.ToUnixTimeSeconds(),
        CredentialNotBefore = s.Credential.NotBefore.ToUnixTimeSeconds(),
        OptOut = s.IsOptOut,
        // Verifiers accept either S; the DP stores, serves and commits the low-S form, so a
        // statement has one encoding in lookups and in the transparency log.
        Statement = Crypto.Es256LowS.Normalize(s.Token),
    };

    /// <summary>One result per query in request order: invalid ones say why, valid ones come from <paramref name="answer"/>.</summary>
    private static List<LookupResult> Results(IReadOnlyList<string> queries, List<CsiParseResult> parsed, Func<string, LookupResult> answer) =>
        queries.Select((query, i) => parsed[i].Success
            ? answer(parsed[i].Csi!.Uri) with { Query = query }
            : new LookupResult(query, null, LookupResultKinds.Invalid, [], parsed[i].Reason)).ToList();

    /// <summary>
    /// What follows a committed change — the DNS zone sync, and with a zero interval the seal — and the
    /// receipt's epoch: the one the store promised (the change is sealed in it or an earlier one); null
    /// without a transparency log. The change is acknowledged whatever happens here: a failure is
    /// logged, and the sealing loop or the CSI's next change catches up.
    /// </summary>
    internal Task<long?> AfterCommitAsync(Csi csi, long due, CancellationToken cancellationToken) => AfterCommitAsync([csi], due, cancellationToken);

    /// <summary><see cref="AfterCommitAsync(Csi, long, CancellationToken)"/> for a change of many CSIs in one transaction (a reassignment feed).</summary>
    internal async Task<long?> AfterCommitAsync(IReadOnlyList<Csi> csis, long due, CancellationToken cancellationToken)
    {
        try
        {
            foreach (var csi in csis)
            {
                await dnsZone.SyncAsync(csi, cancellationToken).ConfigureAwait(false);
            }

            if (options.Value.Transparency && options.Value.SealInterval <= TimeSpan.Zero)
            {
                await transparency.SealAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (Hosting.StoreOutage.IsOutage(e))
        {
            LogAfterCommitFailed(logger, e.GetType().Name);
        }

        return options.Value.Transparency ? due : null;
    }

    /// <summary>
    /// The onboarded CSIP a CSIP credential belongs to (docs/operations.md, "CSIP onboarding"): only
    /// credentials the operator stored with <c>csip add</c> act here, and only until revoked.
    /// </summary>
    internal async Task<Outcome<StoredCsip>> OnboardedCsipAsync(Mimi.Discovery.Credentials.Credential credential, CancellationToken cancellationToken)
    {
        var stored = await csips.GetCsipAsync(CsipThumbprint(credential.Certificate), cancellationToken).ConfigureAwait(false);
        if (stored is null)
        {
            return new Problem("csip-not-onboarded", StatusCodes.Status403Forbidden,
                "this DP's operator has not onboarded the CSIP credential that signed this; CSIPs act only with a credential the operator issued with `mimi-discovery csip add`");
        }

        return stored.RevokedAt is null ? stored
            : new Problem("csip-revoked", StatusCodes.Status403Forbidden, $"the CSIP '{stored.Name}' was revoked by this DP's operator; ask them to onboard it again");
    }

    /// <summary>How a stored CSIP credential is found: its x5t#S256, as every credential this DP keeps (<see cref="Revocation.ThumbprintOf"/>).</summary>
    internal static string CsipThumbprint(System.Security.Cryptography.X509Certificates.X509Certificate2 credential) => Revocation.ThumbprintOf(credential);

    /// <summary>
    /// How long a client may reuse the answer (seconds): until its first statement expires, never
    /// longer than <see cref="DiscoveryOptions.LookupMaxAge"/>.
    /// </summary>
    private long MaxAge(IEnumerable<long> expiries, long now) =>
        Math.Max(0, expiries.Select(e => e - now).Append((long)options.Value.LookupMaxAge.TotalSeconds).Min());

    /// <summary>
    /// What the answer needs of a (verified, stored) statement: whether it is the owner's opt-out (no
    /// entries), and when it stops being current by the shared rule (its exp or its credential's expiry,
    /// whichever is first; a statement stored before that rule was enforced may have an exp past it).
    /// Read once per statement string and kept as long as the string lives (the proof cache holds the
    /// strings of recent answers), so repeated lookups parse neither the payload nor the credential.
    /// </summary>
    private static (string Token, bool OptOut, long ValidUntil) Facts(string statement)
    {
        var facts = KnownFacts.GetValue(statement, ReadFacts);
        return (statement, facts.OptOut, facts.ValidUntil);
    }

    private static readonly ConditionalWeakTable<string, StatementFacts> KnownFacts = new();

    private static StatementFacts ReadFacts(string statement)
    {
        using var json = Payload(statement);
        var root = json.RootElement;
        var until = StatementLifetime.TryReadValidUntil(statement, out var validUntil) ? validUntil.ToUnixTimeSeconds() : root.GetProperty("exp").GetInt64();
        // An opt-out lists no entry and seals none (a statement of sealed routes only is "found").
        return new StatementFacts(root.TryGetProperty("entries", out var entries) && entries.GetArrayLength() == 0 && !root.TryGetProperty("sealed", out _), until);
    }

    private sealed record StatementFacts(bool OptOut, long ValidUntil);

    /// <summary>Whether a lookup for <paramref name="service"/> sees the row: the scopes it is committed under meet the lookup's (per-entry audiences included).</summary>
    private static bool Admits(StoredMapping row, string? service) =>
        row.Statement is not null && Mimi.Discovery.Transparency.Labels.ScopesOfStored(row.Statement).Intersect(Mimi.Discovery.Transparency.Labels.ScopesFor(service), StringComparer.Ordinal).Any();

    private static Problem Rejected(VerificationStatus status, string reason) => status switch
    {
        VerificationStatus.UntrustedIssuer => new Problem("issuer-not-accepted", StatusCodes.Status403Forbidden,
            $"this DP does not accept the statement's credential issuer ({reason}); get a credential from this DP"),
        VerificationStatus.TooLarge => new Problem("statement-too-large", StatusCodes.Status413PayloadTooLarge, reason),
        VerificationStatus.OutlivesCredential => new Problem("statement-outlives-credential", StatusCodes.Status422UnprocessableEntity,
            reason + "; sign it again with exp no later than the credential's expiry (or renew the credential first)"),
        // The verifier's reason for a CSI mismatch names both CSIs; the detail names neither.
        VerificationStatus.CsiMismatch => new Problem("statement-rejected", StatusCodes.Status422UnprocessableEntity,
            "the statement does not verify: CsiMismatch: its CSI is not the one its credential binds (or its CSIP credential's scope does not cover it)"),
        VerificationStatus.InvalidSealedRoute => new Problem("invalid-sealed-route", StatusCodes.Status422UnprocessableEntity,
            $"the statement's sealed routes are malformed: {reason} (docs/protocol.md §2, \"Sealed routes\"); seal them again with the SDK's signer"),
        VerificationStatus.InvalidTag => new Problem("invalid-tag", StatusCodes.Status422UnprocessableEntity,
            $"an entry's preference tag is invalid: {reason}; tags are 1–{PreferenceTags.MaxCharacters} characters in NFC, without control or format characters (docs/protocol.md §2, \"Tags\")"),
        _ => new Problem("statement-rejected", StatusCodes.Status422UnprocessableEntity, $"the statement does not verify: {status}: {reason}"),
    };

    [LoggerMessage(EventId = 200, Level = LogLevel.Information, Message = "Published mapping {MappingId} version {Version}; superseded {Superseded}")]
    private static partial void LogPublished(ILogger logger, string mappingId, long version, int superseded);

    [LoggerMessage(EventId = 201, Level = LogLevel.Information, Message = "Removed {Count} mapping(s) on {Authority} authority")]
    private static partial void LogRemoved(ILogger logger, int count, RemovalAuthority authority);

    [LoggerMessage(EventId = 202, Level = LogLevel.Warning, Message = "A change was stored, but the DNS sync or seal after it failed ({Kind}); the sealing loop catches up")]
    private static partial void LogAfterCommitFailed(ILogger logger, string kind);
}

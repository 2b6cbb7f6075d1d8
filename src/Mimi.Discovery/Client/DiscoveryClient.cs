using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Transparency;
using Mimi.Discovery.Verification;

namespace Mimi.Discovery.Client;

/// <summary>
/// Client SDK for one Discovery Provider: prove control of a CSI, publish and remove statements,
/// and look CSIs up, verifying every answer against trust anchors the caller chooses.
/// </summary>
/// <remarks>The <see cref="HttpClient"/>'s <c>BaseAddress</c> is the DP's origin, e.g. <c>https://dp.example/</c>.</remarks>
public sealed partial class DiscoveryClient(HttpClient http)
{
    /// <summary>The DP's origin this client talks to.</summary>
    public Uri? BaseAddress => http.BaseAddress;

    /// <summary>The HTTP client underneath, for other calls to the same DP (e.g. fetching gateway keys or tokens).</summary>
    public HttpClient Http => http;

    /// <summary>Fetches the DP's metadata.</summary>
    /// <exception cref="DiscoveryException">The DP refused or could not be reached.</exception>
    public Task<DiscoveryMetadata> GetMetadataAsync(CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Get, ".well-known/mimi-discovery", null, ProtocolJson.Default.DiscoveryMetadata, cancellationToken);

    /// <summary>Asks the DP to send a proof-of-control code to <paramref name="csi"/>.</summary>
    /// <exception cref="DiscoveryException">The DP refused (rate limit, unsupported channel…).</exception>
    public Task<ProofStarted> StartProofAsync(Csi csi, ECDsa publicKey, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(csi);
        ArgumentNullException.ThrowIfNull(publicKey);
        return SendAsync(HttpMethod.Post, "v1/proofs", JsonContent.Create(new ProofRequest(csi.Uri, Crypto.P256Jwk.Export(publicKey)), ProtocolJson.Default.ProofRequest),
            ProtocolJson.Default.ProofStarted, cancellationToken);
    }

    /// <summary>Answers a proof with the received code; returns the credential.</summary>
    /// <exception cref="DiscoveryException">Wrong, expired or used code.</exception>
    public Task<CredentialIssued> AnswerProofAsync(string proofId, string code, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(proofId);
        return SendAsync(HttpMethod.Post, $"v1/proofs/{Uri.EscapeDataString(proofId)}/answer",
            JsonContent.Create(new ProofAnswer(code), ProtocolJson.Default.ProofAnswer), ProtocolJson.Default.CredentialIssued, cancellationToken);
    }

    /// <summary>Publishes a signed mapping statement.</summary>
    /// <exception cref="DiscoveryException">The DP rejected it (e.g. <c>version-not-newer</c>).</exception>
    public Task<PublishReceipt> PublishAsync(string statement, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Post, "v1/mappings", JsonContent.Create(new StatementSubmission(statement), ProtocolJson.Default.StatementSubmission),
            ProtocolJson.Default.PublishReceipt, cancellationToken);

    /// <summary>Submits a signed removal statement.</summary>
    /// <exception cref="DiscoveryException">The DP rejected it.</exception>
    public Task<RemovalReceipt> RemoveAsync(string statement, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Post, "v1/removals", JsonContent.Create(new StatementSubmission(statement), ProtocolJson.Default.StatementSubmission),
            ProtocolJson.Default.RemovalReceipt, cancellationToken);

    /// <summary>
    /// Submits a CSIP's signed reassignment feed (docs/protocol.md §16, signed with
    /// <see cref="Statements.StatementSigner.SignReassignmentFeed"/>); the receipt has one outcome per identifier.
    /// </summary>
    /// <exception cref="DiscoveryException">The DP refused the whole feed (e.g. <c>feed-replayed</c>, <c>feed-expired</c>, <c>csip-not-onboarded</c>); nothing was applied.</exception>
    public Task<ReassignmentReceipt> SubmitReassignmentFeedAsync(string feed, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(feed);
        return SendAsync(HttpMethod.Post, "v1/reassignments", JsonContent.Create(new ReassignmentSubmission(feed), ProtocolJson.Default.ReassignmentSubmission),
            ProtocolJson.Default.ReassignmentReceipt, cancellationToken);
    }

    /// <summary>Looks up CSIs and returns the DP's raw answer, unverified.</summary>
    /// <exception cref="DiscoveryException">The DP refused the request.</exception>
    public Task<LookupResponse> LookupRawAsync(IReadOnlyList<string> csis, string? service = null, CancellationToken cancellationToken = default) =>
        LookupRawAsync(new LookupRequest(csis, service), cancellationToken);

    /// <summary>Sends a lookup request as given and returns the DP's raw answer, unverified.</summary>
    /// <exception cref="DiscoveryException">The DP refused the request.</exception>
    public Task<LookupResponse> LookupRawAsync(LookupRequest request, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Post, "v1/lookup", JsonContent.Create(request, ProtocolJson.Default.LookupRequest), ProtocolJson.Default.LookupResponse, cancellationToken);

    /// <summary>
    /// A lookup that names the head the sender holds, asked once more a second later when the DP
    /// process that took it reads a read replica that has not replayed that head yet (<c>replica-behind</c>,
    /// docs/protocol.md §8 "Read replicas"): replication usually catches up within that second.
    /// </summary>
    private async Task<LookupResponse> LookupKnowingAsync(LookupRequest request, CancellationToken cancellationToken)
    {
        try
        {
            return await LookupRawAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (DiscoveryException e) when (e.Code == "replica-behind")
        {
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
            return await LookupRawAsync(request, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The DP's current signed tree head (unverified).</summary>
    /// <exception cref="DiscoveryException">The DP refused or keeps no log.</exception>
    public Task<TreeHeadWire> GetTreeHeadAsync(CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Get, "v1/transparency/head", null, ProtocolJson.Default.TreeHeadWire, cancellationToken);

    /// <summary>A consistency proof between two log sizes (unverified).</summary>
    /// <exception cref="DiscoveryException">The DP refused.</exception>
    public Task<ConsistencyWire> GetConsistencyAsync(long from, long to, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Get, FormattableString.Invariant($"v1/transparency/consistency?from={from}&to={to}"), null, ProtocolJson.Default.ConsistencyWire, cancellationToken);

    /// <summary>What one epoch changed (unverified).</summary>
    /// <exception cref="DiscoveryException">The DP refused.</exception>
    public Task<EpochChanges> GetEpochChangesAsync(long epoch, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Get, FormattableString.Invariant($"v1/transparency/epochs/{epoch}"), null, ProtocolJson.Default.EpochChanges, cancellationToken);

    /// <summary>
    /// What one epoch changed, with the statements (unverified): the mirroring API, for a DP whose
    /// operator gave this one a mirror key (<c>Authorization: Bearer</c> on the client).
    /// </summary>
    /// <exception cref="DiscoveryException">The DP refused (no or wrong key, epoch not sealed).</exception>
    public Task<MirrorEpoch> GetMirrorEpochAsync(long epoch, string? after = null, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Get, FormattableString.Invariant($"v1/mirror/epochs/{epoch}") + (after is null ? "" : "?after=" + Uri.EscapeDataString(after)), null, ProtocolJson.Default.MirrorEpoch, cancellationToken);

    /// <summary>Every version of one label (unverified).</summary>
    /// <exception cref="DiscoveryException">The DP refused.</exception>
    public Task<LabelHistory> GetHistoryAsync(Csi csi, string scope, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(csi);
        return SendAsync(HttpMethod.Get, $"v1/transparency/history?csi={Uri.EscapeDataString(csi.Uri)}&scope={Uri.EscapeDataString(scope)}", null, ProtocolJson.Default.LabelHistory, cancellationToken);
    }

    /// <summary>
    /// Looks up CSIs and verifies every returned statement with <paramref name="verifier"/>: its
    /// signature and credential chain, that it maps the CSI asked about, and that its audience
    /// admits <paramref name="service"/>. The outcome is derived from what verified.
    /// </summary>
    /// <exception cref="DiscoveryException">The DP refused, or answered for other CSIs than asked.</exception>
    public Task<IReadOnlyList<VerifiedLookup>> LookupAsync(IReadOnlyList<string> csis, StatementVerifier verifier, string? service = null, CancellationToken cancellationToken = default) =>
        LookupAsync(csis, verifier, service, transparency: null, cancellationToken);

    /// <summary>
    /// As <see cref="LookupAsync(IReadOnlyList{string}, StatementVerifier, string?, CancellationToken)"/>,
    /// and when <paramref name="transparency"/> is given also checks each answer's transparency
    /// proofs (<see cref="VerifiedLookup.Proof"/>): a signed tree head consistent with the last one
    /// remembered, the epoch in the log, and that the statements are exactly the committed set.
    /// </summary>
    /// <exception cref="DiscoveryException">The DP refused, or answered for other CSIs than asked.</exception>
    public async Task<IReadOnlyList<VerifiedLookup>> LookupAsync(IReadOnlyList<string> csis, StatementVerifier verifier, string? service, TransparencyCheck? transparency, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(csis);
        ArgumentNullException.ThrowIfNull(verifier);
        var known = transparency?.Memory.Get(http.BaseAddress!);
        var response = await LookupKnowingAsync(new LookupRequest(csis, service, known?.Size), cancellationToken).ConfigureAwait(false);
        return Verify(response, csis, verifier, service, transparency, http.BaseAddress!, known);
    }

    /// <summary>
    /// A lookup of a DP that federates (docs/protocol.md §12): its own answers, verified as
    /// <see cref="LookupAsync(IReadOnlyList{string}, StatementVerifier, string?, TransparencyCheck?, CancellationToken)"/>
    /// verifies them, and each peer's part — the answers it passed along verified again here against
    /// that peer's CAs and transparency keys as <paramref name="peers"/> (the DP's metadata) gives
    /// them; a peer answer that does not verify here is reported <c>refused</c>.
    /// </summary>
    /// <exception cref="DiscoveryException">The DP refused, or answered for other CSIs than asked.</exception>
    public async Task<FederatedAnswer> LookupFederatedAsync(IReadOnlyList<string> csis, StatementVerifier verifier, string? service, TransparencyCheck? transparency, IReadOnlyList<PeerInfo> peers, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(csis);
        ArgumentNullException.ThrowIfNull(verifier);
        ArgumentNullException.ThrowIfNull(peers);
        var known = transparency?.Memory.Get(http.BaseAddress!);
        var response = await LookupKnowingAsync(new LookupRequest(csis, service, known?.Size), cancellationToken).ConfigureAwait(false);
        var own = Verify(response, csis, verifier, service, transparency, http.BaseAddress!, known);
        var results = new List<PeerResult>();
        foreach (var part in response.Peers ?? [])
        {
            var dp = Uri.TryCreate(part.Dp, UriKind.Absolute, out var url) ? url : null;
            var info = peers.FirstOrDefault(p => dp is not null && p.Dp == Identifiers.HttpsOrigin.Of(dp));
            if (dp is null || info is null)
            {
                results.Add(new PeerResult(dp ?? http.BaseAddress!, PeerStatuses.Refused, $"'{part.Dp}' is not a peer the DP's metadata names", []));
                continue;
            }

            if (part.Status != PeerStatuses.Answered || part.Response is null)
            {
                results.Add(new PeerResult(dp, part.Status, part.Detail, []));
                continue;
            }

            results.Add(VerifyPeer(dp, info, part.Response, service, transparency));
        }

        return new FederatedAnswer(own, results);
    }

    private static PeerResult VerifyPeer(Uri dp, PeerInfo info, LookupResponse response, string? service, TransparencyCheck? transparency)
    {
        try
        {
            var peerVerifier = new StatementVerifier(TrustAnchors.FromPem(string.Join('\n', info.CredentialCas)), transparency?.Time);
            using var keys = TransparencyKeyset.FromWire(info.Transparency) ?? throw new DiscoveryException($"the transparency keys of peer {dp} are malformed");
            // Consistency with earlier heads of the peer is the federating DP's check (it asked); the
            // sender checks signature, freshness, inclusion and completeness of what it was given.
            var check = transparency is null ? null : transparency with { Keys = keys, Memory = new TreeHeadMemory() };
            var answers = Verify(response, response.Results.Select(r => r.Query).ToList(), peerVerifier, service, check, dp, null);
            var bad = answers.FirstOrDefault(a => a.Inconsistent || a.Proof is { IsComplete: false } || (check is not null && a.Csi is not null && a.Proof is null));
            return bad is null
                ? new PeerResult(dp, PeerStatuses.Answered, null, answers)
                : new PeerResult(dp, PeerStatuses.Refused, $"{bad.Csi}: {(bad.Rejected.Count > 0 ? bad.Rejected[0].Reason : bad.Proof?.Reason ?? "no transparency proof")}", []);
        }
        catch (Exception e) when (e is DiscoveryException or ArgumentException)
        {
            return new PeerResult(dp, PeerStatuses.Refused, e.Message, []);
        }
    }

    /// <summary>
    /// Verifies a lookup answer of the DP at <paramref name="dp"/> to <paramref name="csis"/>, as
    /// <see cref="LookupAsync(IReadOnlyList{string}, StatementVerifier, string?, TransparencyCheck?, CancellationToken)"/>
    /// does — for an answer received another way, e.g. a peer's answer inside a federated one
    /// (<see cref="LookupResponse.Peers"/>). Remembers the verified tree head in <paramref name="transparency"/>.
    /// </summary>
    /// <param name="response">The DP's answer.</param>
    /// <param name="csis">The queries, in the order asked.</param>
    /// <param name="verifier">Verifies statements against the CAs trusted for this DP.</param>
    /// <param name="service">The querying service the lookup was made for.</param>
    /// <param name="transparency">Checks completeness proofs; null to skip.</param>
    /// <param name="dp">The DP that answered (its origin).</param>
    /// <param name="known">The head remembered for the DP when the request was sent (the one its <c>knownTreeSize</c> named); null checks no consistency.</param>
    /// <exception cref="DiscoveryException">The answer has another number of results than <paramref name="csis"/>.</exception>
    public static IReadOnlyList<VerifiedLookup> Verify(LookupResponse response, IReadOnlyList<string> csis, StatementVerifier verifier, string? service, TransparencyCheck? transparency, Uri dp, SignedTreeHead? known)
    {
        ArgumentNullException.ThrowIfNull(response);
        ArgumentNullException.ThrowIfNull(csis);
        ArgumentNullException.ThrowIfNull(verifier);
        ArgumentNullException.ThrowIfNull(dp);
        if (response.Results is null || response.Results.Count != csis.Count)
        {
            throw new DiscoveryException($"the DP answered {response.Results?.Count ?? 0} results for {csis.Count} queries");
        }

        var verified = csis.Select((query, i) => Verify(query, response.Results[i], verifier, service)).ToList();
        if (transparency is null)
        {
            return verified;
        }

        var (epochVerdict, head) = ProofVerifier.VerifyEpoch(response.Transparency, transparency.Keys, known, transparency.Time.GetUtcNow(), transparency.MaxAge, transparency.MaxClockSkew);
        if (head is not null)
        {
            transparency.Memory.Remember(dp, head);
        }

        return verified.Select((v, i) => v.Csi is null ? v
            : response.Results[i].Result == LookupResultKinds.Referral ? VerifyReferral(v, response.Results[i], head is null ? epochVerdict : null, response.Transparency, transparency, dp)
            : v with
            {
                Proof = head is null ? epochVerdict : ProofVerifier.VerifyResult(response.Results[i], v.Csi, service, response.Transparency!, transparency.Keys, transparency.Time.GetUtcNow(), transparency.MaxClockSkew),
            }).ToList();
    }

    /// <summary>
    /// A referral is followed only when it verifies (docs/protocol.md §11): the delegation is signed by
    /// this DP's log key and names this DP as issuer, is valid now, covers the CSI, and is the one the
    /// DP committed for the most specific delegated subject covering it at the verified epoch.
    /// </summary>
    private static VerifiedLookup VerifyReferral(VerifiedLookup lookup, LookupResult claimed, ProofVerdict? epochFailure, EpochProof? epoch, TransparencyCheck transparency, Uri dp)
    {
        var csi = lookup.Csi!;
        VerifiedLookup Refused(VerificationStatus status, string reason, ProofVerdict? proof = null) => lookup with
        {
            Rejected = [new RejectedStatement(claimed.Delegation ?? "", status, "referral refused: " + reason)],
            Proof = proof ?? lookup.Proof,
        };

        if (epochFailure is not null || epoch is null)
        {
            return Refused(VerificationStatus.InvalidContent, "its transparency proof failed", epochFailure);
        }

        if (claimed.Statements is { Count: > 0 })
        {
            return Refused(VerificationStatus.InvalidContent, "it carries statements as well");
        }

        var (verdict, subject) = ProofVerifier.VerifyReferral(claimed, csi, epoch, transparency.Keys);
        if (!verdict.IsComplete)
        {
            return Refused(VerificationStatus.InvalidContent, verdict.Reason, verdict);
        }

        var delegation = Federation.Delegation.Verify(claimed.Delegation, transparency.Keys.LogKey, dp, transparency.Time.GetUtcNow(), transparency.MaxClockSkew);
        if (!delegation.IsValid)
        {
            return Refused(delegation.Status, delegation.Reason, verdict);
        }

        if (!delegation.Statement.Scope.Covers(csi) || !Federation.Delegation.Subjects(delegation.Statement.Scope).Contains(subject!, StringComparer.Ordinal))
        {
            return Refused(VerificationStatus.OutOfScope, $"the delegation's scope ({delegation.Statement.Scope}) does not cover {csi} under {subject}", verdict);
        }

        return lookup with { Outcome = LookupOutcome.Referral, Rejected = [], Referral = delegation.Statement, Proof = verdict };
    }

    private static VerifiedLookup Verify(string query, LookupResult claimed, StatementVerifier verifier, string? service)
    {
        var parsed = CsiParser.Parse(query);
        if (!parsed.Success)
        {
            return new VerifiedLookup(query, null, LookupOutcome.Invalid, [], [], claimed.Result, parsed.Reason);
        }

        if (claimed.Result == LookupResultKinds.Referral)
        {
            // Verified (and turned into a Referral) by VerifyReferral when the DP's transparency keys are known.
            return new VerifiedLookup(query, parsed.Csi, LookupOutcome.None, [], [new RejectedStatement(claimed.Delegation ?? "", VerificationStatus.InvalidContent,
                "a referral is verified with the referring DP's transparency keys, and none were given")], claimed.Result, null) { MaxAge = claimed.MaxAge };
        }

        var mappings = new List<Statements.MappingStatement>();
        var rejected = new List<RejectedStatement>();
        foreach (var statement in claimed.Statements ?? [])
        {
            var result = verifier.VerifyMapping(statement);
            if (!result.IsValid)
            {
                rejected.Add(new RejectedStatement(statement, result.Status, result.Reason));
            }
            else if (result.Statement.Csi != parsed.Csi)
            {
                rejected.Add(new RejectedStatement(statement, VerificationStatus.CsiMismatch, $"the DP returned a statement for {result.Statement.Csi} when asked for {parsed.Csi}"));
            }
            else if (!result.Statement.IsVisibleTo(service))
            {
                rejected.Add(new RejectedStatement(statement, VerificationStatus.InvalidContent, $"the statement's audience ({result.Statement.Audience}, or its entries' own) excludes the querying service"));
            }
            else
            {
                mappings.Add(result.Statement);
            }
        }

        var outcome = mappings.Count == 0 ? LookupOutcome.None
            : mappings.All(m => m.IsOptOut) ? LookupOutcome.OptedOut
            : LookupOutcome.Found;
        return new VerifiedLookup(query, parsed.Csi, outcome, mappings, rejected, claimed.Result, null) { MaxAge = claimed.MaxAge, QueryingService = service };
    }

    private async Task<T> SendAsync<T>(HttpMethod method, string path, HttpContent? content, JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        using var response = await SendAcceptedAsync(request, cancellationToken).ConfigureAwait(false);
        try
        {
            return await response.Content.ReadFromJsonAsync(type, cancellationToken).ConfigureAwait(false)
                   ?? throw new DiscoveryException("the Discovery Provider sent an empty answer");
        }
        catch (JsonException e)
        {
            throw new DiscoveryException("the Discovery Provider's answer is not valid JSON: " + e.Message, e);
        }
    }

    /// <summary>Sends <paramref name="request"/>; the response when it is a success, else the DP's refusal (or its unreachability) thrown.</summary>
    private async Task<HttpResponseMessage> SendAcceptedAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw Unreachable(http.BaseAddress, e);
        }

        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            throw await RefusalAsync(response, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The DP's refusal as an exception: its problem+json code and detail, or the status alone.</summary>
    private static async Task<DiscoveryException> RefusalAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        ProblemBody? problem = null;
        try
        {
            problem = await response.Content.ReadFromJsonAsync(ProtocolJson.Default.ProblemBody, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException)
        {
            // Not a problem+json body; report the status alone.
        }

        return new DiscoveryException((int)response.StatusCode, problem?.Code ?? "http-" + (int)response.StatusCode,
            problem?.Detail ?? problem?.Title ?? response.ReasonPhrase ?? "request failed");
    }

    /// <summary>The DP at <paramref name="dp"/> could not be reached, and why.</summary>
    internal static DiscoveryException Unreachable(Uri? dp, HttpRequestException e) => new($"cannot reach the Discovery Provider at {dp}: {Describe(e)}", e);

    /// <summary>A transport failure and its causes in one line ("The SSL connection could not be established" alone says nothing of why).</summary>
    internal static string Describe(HttpRequestException e)
    {
        var parts = new List<string>();
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            if (!x.Message.Contains("see inner exception", StringComparison.OrdinalIgnoreCase))
            {
                parts.Add(x.Message.TrimEnd('.'));
            }
        }

        return parts.Count == 0 ? e.Message : string.Join(": ", parts.Distinct(StringComparer.Ordinal));
    }
}

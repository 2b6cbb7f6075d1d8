using System.Collections.Concurrent;
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Verification;

namespace Mimi.Discovery.Client;

/// <summary>How <see cref="AddressBookSync"/> splits and sends an address book.</summary>
public sealed record AddressBookOptions
{
    /// <summary>Most CSIs in one lookup; the DP's own limit (its metadata) applies when lower.</summary>
    public int MaxBatch { get; init; } = 1000;

    /// <summary>
    /// The largest lookup request body to send, CSIs and tokens together (bytes): the relay's limit
    /// when lookups go through one. A batch that would be larger is split.
    /// </summary>
    public int MaxRequestBytes { get; init; } = 128 << 10;

    /// <summary>Batches in flight at once.</summary>
    public int Concurrency { get; init; } = 4;

    /// <summary>The region national phone numbers are read in (ISO 3166 alpha-2, e.g. <c>FR</c>); null accepts only international (+…) numbers.</summary>
    public string? DefaultRegion { get; init; }
}

/// <summary>Where an address-book sync has got to.</summary>
/// <param name="Done">Distinct CSIs answered so far (from the cache or the DP).</param>
/// <param name="Total">Distinct valid CSIs in the address book.</param>
/// <param name="FromCache">Of those answered, how many came from the cache.</param>
public sealed record SyncProgress(int Done, int Total, int FromCache);

/// <summary>One contact's answer.</summary>
/// <param name="Contact">The contact as given.</param>
/// <param name="Answer">The verified answer (<see cref="LookupOutcome.Invalid"/> when the contact is not a CSI).</param>
/// <param name="FromCache">Whether the answer came from the cache, with no request.</param>
public sealed record AddressBookEntry(string Contact, VerifiedLookup Answer, bool FromCache)
{
    /// <summary>When the first DP referred the contact elsewhere: the DPs asked, from the first to the one that answered.</summary>
    public IReadOnlyList<Uri>? Chain { get; init; }

    /// <summary>Why following the referral stopped before an authoritative answer (<see cref="FollowedLookup.Failure"/>); null otherwise.</summary>
    public string? ReferralFailure { get; init; }
}

/// <summary>A batch the DP (or the relay) refused, or that could not be sent: its CSIs have no answer.</summary>
/// <param name="Csis">The batch's CSIs (canonical URIs).</param>
/// <param name="Error">Why; <see cref="DiscoveryException.Code"/> is the DP's problem code when it answered.</param>
public sealed record BatchFailure(IReadOnlyList<string> Csis, DiscoveryException Error);

/// <summary>What a sync found.</summary>
/// <param name="Entries">One per contact answered (from the DP or the cache) or not a CSI, in the order given.</param>
/// <param name="Requests">Lookup requests answered (a batch refused as too large and sent again in halves counts once per half).</param>
/// <param name="Looked">Distinct CSIs asked of the DP.</param>
/// <param name="FromCache">Distinct CSIs answered from the cache.</param>
/// <param name="Failures">Batches that got no answer; their contacts are in <see cref="Unanswered"/>, not in <paramref name="Entries"/>. Empty when every contact was answered.</param>
public sealed record AddressBookResult(IReadOnlyList<AddressBookEntry> Entries, int Requests, int Looked, int FromCache, IReadOnlyList<BatchFailure> Failures)
{
    /// <summary>Contacts (as given) left without an answer by a failed batch.</summary>
    public IReadOnlyList<string> Unanswered { get; init; } = [];

    /// <summary>Contacts whose answer has the outcome.</summary>
    public int Count(LookupOutcome outcome) => Entries.Count(e => e.Answer.Outcome == outcome);

    /// <summary>Contacts whose answer failed verification or its transparency proof.</summary>
    public int Unverified => Entries.Count(e => e.Answer.Inconsistent || e.Answer.Proof is { IsComplete: false });
}

/// <summary>
/// Resolves a whole address book in one call (docs/protocol.md §6, "Address books"): normalises every
/// contact to its CSI, drops repeats, answers from <see cref="LookupCache"/> what it may, splits the
/// rest into batches that fit the DP's batch limit and the request size a relay takes, sends them
/// concurrently through the client's stack (relay, tokens), verifies every answer — signatures,
/// credential chains, audiences and, with a <see cref="TransparencyCheck"/>, completeness — and keeps
/// the verified answers (saved to the cache's file at the end). A batch the DP or relay finds too
/// large is split and sent again (a refused batch spends no token); a batch refused for another
/// reason (tokens ran out, the DP went away) is reported in <see cref="AddressBookResult.Failures"/>
/// while the other batches' answers are kept.
/// </summary>
public sealed class AddressBookSync
{
    // A token in a lookup body: 354 bytes in base64url (472 characters), quoted, with a comma.
    private const int TokenJsonBytes = 475;

    // The request's fixed part: {"csis":[…],"service":…,"knownTreeSize":…,"tokens":[…]}.
    private const int RequestOverheadBytes = 160;

    private readonly DiscoveryClient client;
    private readonly StatementVerifier verifier;
    private readonly TransparencyCheck? transparency;
    private readonly LookupCache? cache;
    private readonly ITokenSource? tokens;
    private readonly AddressBookOptions options;

    /// <summary>Creates a sync over <paramref name="client"/>, whose stack decides how requests travel (e.g. through an <see cref="ObliviousHttpHandler"/>) and pay (a <see cref="PrivateTokenHandler"/>).</summary>
    /// <param name="client">The DP client.</param>
    /// <param name="verifier">Verifies every statement, against the CAs the sender trusts.</param>
    /// <param name="transparency">Checks completeness proofs; null to skip (then answers are not proven complete).</param>
    /// <param name="cache">Keeps verified answers; null to ask for every contact.</param>
    /// <param name="tokens">The tokens the client's <see cref="PrivateTokenHandler"/> pays with, to size batches by their tokens; null when lookups are free.</param>
    /// <param name="options">Batch sizes and concurrency; defaults when null.</param>
    public AddressBookSync(DiscoveryClient client, StatementVerifier verifier, TransparencyCheck? transparency = null, LookupCache? cache = null, ITokenSource? tokens = null, AddressBookOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(verifier);
        this.client = client;
        this.verifier = verifier;
        this.transparency = transparency;
        this.cache = cache;
        this.tokens = tokens;
        this.options = options ?? new AddressBookOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(this.options.MaxBatch, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(this.options.Concurrency, 1, nameof(options));
    }

    /// <summary>
    /// Follows the first DP's referrals to the DPs authoritative for the contacts (<see cref="ReferralFollower"/>);
    /// null leaves referrals as answers. Answers that came through a referral are not cached.
    /// </summary>
    public ReferralFollower? Referrals { get; init; }

    /// <summary>Looks up every contact on behalf of <paramref name="service"/> and reports progress as batches are answered.</summary>
    /// <exception cref="DiscoveryException">The DP's metadata could not be read, so nothing was asked.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; answers received until then are kept in the cache.</exception>
    public async Task<AddressBookResult> SyncAsync(IEnumerable<string> contacts, string? service = null, IProgress<SyncProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(contacts);
        var given = contacts.ToList();
        var parsed = given.Select(c => (Contact: c, Parsed: CsiParser.Parse(c, options.DefaultRegion))).ToList();
        var distinct = parsed.Where(p => p.Parsed.Success).Select(p => p.Parsed.Csi!.Uri).Distinct(StringComparer.Ordinal).ToList();

        var dp = client.Http.BaseAddress ?? throw new InvalidOperationException("The DP client has no base address.");
        var answers = new ConcurrentDictionary<string, (VerifiedLookup Answer, bool FromCache)>(StringComparer.Ordinal);
        var failures = new ConcurrentBag<BatchFailure>();
        var missing = new List<string>();
        foreach (var csi in distinct)
        {
            if (cache is not null && cache.TryGet(dp, csi, service, out var kept))
            {
                answers[csi] = (kept, true);
            }
            else
            {
                missing.Add(csi);
            }
        }

        var fromCache = answers.Count;
        progress?.Report(new SyncProgress(answers.Count, distinct.Count, fromCache));
        var requests = 0;
        try
        {
            await LookUpAsync().ConfigureAwait(false);
        }
        finally
        {
            cache?.Save();
        }

        async Task LookUpAsync()
        {
            if (missing.Count == 0)
            {
                return;
            }

            var metadata = await client.GetMetadataAsync(cancellationToken).ConfigureAwait(false);
            var perToken = tokens is null ? 0 : await tokens.CsisPerTokenAsync(cancellationToken).ConfigureAwait(false);
            var maxBatch = Math.Min(options.MaxBatch, metadata.Limits.MaxLookupBatch);
            var pending = new ConcurrentQueue<IReadOnlyList<string>>(Batches(missing, maxBatch, perToken));
            var workers = Enumerable.Range(0, options.Concurrency).Select(_ => Task.Run(async () =>
            {
                while (pending.TryDequeue(out var batch))
                {
                    IReadOnlyList<VerifiedLookup> results;
                    try
                    {
                        results = await client.LookupAsync(batch, verifier, service, transparency, cancellationToken).ConfigureAwait(false);
                        Interlocked.Increment(ref requests);
                    }
                    catch (DiscoveryException e) when (e.Code is "payload-too-large" or "batch-too-large" && batch.Count > 1)
                    {
                        // Larger than the relay or DP takes after all: halve it, at whole tokens (nothing was spent).
                        var half = AtWholeTokens(batch.Count / 2, perToken);
                        pending.Enqueue(batch.Take(half).ToList());
                        pending.Enqueue(batch.Skip(half).ToList());
                        continue;
                    }
                    catch (DiscoveryException e)
                    {
                        failures.Add(new BatchFailure(batch, e));
                        continue;
                    }

                    foreach (var answer in results)
                    {
                        answers[answer.Csi!.Uri] = (answer, false);
                        if (answer.Outcome != LookupOutcome.Referral)
                        {
                            cache?.Put(dp, answer, service);
                        }
                    }

                    progress?.Report(new SyncProgress(answers.Count, distinct.Count, fromCache));
                }
            }, cancellationToken)).ToList();
            await Task.WhenAll(workers).ConfigureAwait(false);
        }

        var followed = new Dictionary<string, FollowedLookup>(StringComparer.Ordinal);
        if (Referrals is not null && answers.Values.Where(a => a.Answer.Outcome == LookupOutcome.Referral).Select(a => a.Answer).ToList() is { Count: > 0 } referred)
        {
            foreach (var f in await Referrals.FollowAsync(referred, service, cancellationToken).ConfigureAwait(false))
            {
                followed[f.Answer.Csi!.Uri] = f;
                answers[f.Answer.Csi.Uri] = (f.Answer, false);
            }
        }

        AddressBookEntry Entry(string contact, string csi)
        {
            followed.TryGetValue(csi, out var f);
            return new(contact, answers[csi].Answer with { Query = contact }, answers[csi].FromCache) { Chain = f?.Chain, ReferralFailure = f?.Failure };
        }

        var entries = parsed.Where(p => !p.Parsed.Success || answers.ContainsKey(p.Parsed.Csi!.Uri)).Select(p => p.Parsed.Success
            ? Entry(p.Contact, p.Parsed.Csi!.Uri)
            : new AddressBookEntry(p.Contact, new VerifiedLookup(p.Contact, null, LookupOutcome.Invalid, [], [], Protocol.LookupResultKinds.Invalid, p.Parsed.Reason), false)).ToList();
        var unanswered = parsed.Where(p => p.Parsed.Success && !answers.ContainsKey(p.Parsed.Csi!.Uri)).Select(p => p.Contact).ToList();
        return new AddressBookResult(entries, requests, missing.Count, fromCache, [.. failures]) { Unanswered = unanswered };
    }

    /// <summary>
    /// Consecutive batches of at most <paramref name="maxBatch"/> CSIs whose request — the CSIs and, at
    /// <paramref name="perToken"/> CSIs a token, their tokens — stays within the request size limit.
    /// Batches are cut at whole tokens' worth of CSIs where they can be, since a lookup is priced per
    /// started token (<see cref="Protocol.LookupPrice"/>).
    /// </summary>
    private IEnumerable<IReadOnlyList<string>> Batches(IReadOnlyList<string> csis, int maxBatch, int perToken)
    {
        var batch = new List<(string Csi, int Bytes)>();
        var csiBytes = 0;
        foreach (var csi in csis)
        {
            var bytes = CsiBytes(csi);
            batch.Add((csi, bytes));
            csiBytes += bytes;
            if (batch.Count > maxBatch || RequestBytes(csiBytes, batch.Count, perToken) > options.MaxRequestBytes)
            {
                var cut = AtWholeTokens(batch.Count - 1, perToken);
                yield return batch[..cut].Select(b => b.Csi).ToList();
                batch = batch[cut..];
                csiBytes = batch.Sum(b => b.Bytes);
            }
        }

        if (batch.Count > 0)
        {
            yield return batch.Select(b => b.Csi).ToList();
        }
    }

    /// <summary>One CSI in the body's list: quoted, as JSON escapes it (e.g. '+' as \u002B), with its comma.</summary>
    private static int CsiBytes(string csi) => System.Text.Json.JsonEncodedText.Encode(csi).EncodedUtf8Bytes.Length + 3;

    /// <summary>The body of a lookup of <paramref name="count"/> CSIs taking <paramref name="csiBytes"/>, with their tokens, in bytes.</summary>
    private static int RequestBytes(int csiBytes, int count, int perToken) =>
        RequestOverheadBytes + csiBytes + (perToken > 0 ? Protocol.LookupPrice.Tokens(count, perToken) * TokenJsonBytes : 0);

    /// <summary>
    /// The largest count up to <paramref name="count"/> that spends whole tokens (a multiple of
    /// <paramref name="perToken"/>), or <paramref name="count"/> itself when it is less than one token's worth.
    /// </summary>
    private static int AtWholeTokens(int count, int perToken) =>
        perToken > 1 && count >= perToken ? count / perToken * perToken : Math.Max(1, count);
}

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
public sealed record AddressBookEntry(string Contact, VerifiedLookup Answer, bool FromCache);

/// <summary>What a sync found.</summary>
/// <param name="Entries">One per contact, in the order given.</param>
/// <param name="Requests">Lookup requests sent.</param>
/// <param name="Looked">Distinct CSIs asked of the DP.</param>
/// <param name="FromCache">Distinct CSIs answered from the cache.</param>
public sealed record AddressBookResult(IReadOnlyList<AddressBookEntry> Entries, int Requests, int Looked, int FromCache)
{
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
/// the verified answers. A batch the DP or relay finds too large is split and sent again (a refused
/// batch spends no token).
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

    /// <summary>Looks up every contact on behalf of <paramref name="service"/> and reports progress as batches are answered.</summary>
    /// <exception cref="DiscoveryException">The DP refused a batch for a reason other than its size (e.g. <c>token-required</c> when tokens ran out), or could not be reached.</exception>
    public async Task<AddressBookResult> SyncAsync(IEnumerable<string> contacts, string? service = null, IProgress<SyncProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(contacts);
        var given = contacts.ToList();
        var parsed = given.Select(c => (Contact: c, Parsed: CsiParser.Parse(c, options.DefaultRegion))).ToList();
        var distinct = parsed.Where(p => p.Parsed.Success).Select(p => p.Parsed.Csi!.Uri).Distinct(StringComparer.Ordinal).ToList();

        var answers = new ConcurrentDictionary<string, (VerifiedLookup Answer, bool FromCache)>(StringComparer.Ordinal);
        var missing = new List<string>();
        foreach (var csi in distinct)
        {
            if (cache is not null && cache.TryGet(csi, service, out var kept))
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
        if (missing.Count > 0)
        {
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
                        Interlocked.Increment(ref requests);
                        results = await client.LookupAsync(batch, verifier, service, transparency, cancellationToken).ConfigureAwait(false);
                    }
                    catch (DiscoveryException e) when (e.Code is "payload-too-large" or "batch-too-large" && batch.Count > 1)
                    {
                        // Larger than the relay or DP takes after all: halve it, at whole tokens (nothing was spent).
                        var half = AtWholeTokens(batch.Count / 2, perToken);
                        pending.Enqueue(batch.Take(half).ToList());
                        pending.Enqueue(batch.Skip(half).ToList());
                        continue;
                    }

                    foreach (var answer in results)
                    {
                        answers[answer.Csi!.Uri] = (answer, false);
                        cache?.Put(answer, service);
                    }

                    progress?.Report(new SyncProgress(answers.Count, distinct.Count, fromCache));
                }
            }, cancellationToken)).ToList();
            await Task.WhenAll(workers).ConfigureAwait(false);
        }

        var entries = parsed.Select(p => p.Parsed.Success
            ? new AddressBookEntry(p.Contact, answers[p.Parsed.Csi!.Uri].Answer with { Query = p.Contact }, answers[p.Parsed.Csi.Uri].FromCache)
            : new AddressBookEntry(p.Contact, new VerifiedLookup(p.Contact, null, LookupOutcome.Invalid, [], [], Protocol.LookupResultKinds.Invalid, p.Parsed.Reason), false)).ToList();
        return new AddressBookResult(entries, requests, missing.Count, fromCache);
    }

    /// <summary>
    /// Consecutive batches of at most <paramref name="maxBatch"/> CSIs whose request — the CSIs and, at
    /// <paramref name="perToken"/> CSIs a token, their tokens — stays within the request size limit.
    /// Batches are cut at whole tokens' worth of CSIs where they can be, since a lookup is priced per
    /// started token (<see cref="Protocol.LookupPrice"/>).
    /// </summary>
    private IEnumerable<IReadOnlyList<string>> Batches(IReadOnlyList<string> csis, int maxBatch, int perToken)
    {
        var batch = new List<string>();
        foreach (var csi in csis)
        {
            batch.Add(csi);
            if (batch.Count > maxBatch || RequestBytes(batch, perToken) > options.MaxRequestBytes)
            {
                var cut = AtWholeTokens(batch.Count - 1, perToken);
                yield return batch[..cut];
                batch = batch[cut..];
            }
        }

        if (batch.Count > 0)
        {
            yield return batch;
        }
    }

    /// <summary>The estimated body of a lookup of <paramref name="batch"/> with its tokens, in bytes.</summary>
    private static int RequestBytes(List<string> batch, int perToken) =>
        RequestOverheadBytes + batch.Sum(c => c.Length + 3) + (perToken > 0 ? Protocol.LookupPrice.Tokens(batch.Count, perToken) * TokenJsonBytes : 0);

    /// <summary>
    /// The largest count up to <paramref name="count"/> that spends whole tokens (a multiple of
    /// <paramref name="perToken"/>), or <paramref name="count"/> itself when it is less than one token's worth.
    /// </summary>
    private static int AtWholeTokens(int count, int perToken) =>
        perToken > 1 && count >= perToken ? count / perToken * perToken : Math.Max(1, count);
}

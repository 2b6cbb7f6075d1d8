// Privacy Pass for a DP's lookups: the client side of issuance (RFC 9578 §6.1, §6.3) against the
// DP's own issuer, and redemption (RFC 9577 §2.2) as an HttpClient handler. docs/protocol.md §10,
// "How this DP uses tokens".
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Privacy;
using Mimi.Discovery.Privacy.Tokens;
using Mimi.Discovery.Protocol;

namespace Mimi.Discovery.Client;

/// <summary><c>GET /v1/tokens/balance</c>: a token account's quota and use.</summary>
/// <param name="Service">The sponsoring service whose key signs the account's tokens; null for a person (the general key).</param>
/// <param name="Quota">Tokens per window.</param>
/// <param name="Used">Tokens issued in the current window.</param>
/// <param name="WindowEndsAt">When the current window ends and the count starts again.</param>
/// <param name="KeyEpoch">The issuer's current key epoch (Unix time divided by the epoch length).</param>
public sealed record TokenBalance(string? Service, long Quota, long Used, DateTimeOffset WindowEndsAt, long KeyEpoch);

/// <summary>A type 0x0002 key of the DP's issuer directory, with the sponsoring service it belongs to (null: the general key).</summary>
/// <param name="Service">The directory's non-standard <c>service</c> member.</param>
/// <param name="Key">The decoded token key.</param>
/// <param name="NotBefore">When the key starts signing.</param>
public sealed record ServiceTokenKey(string? Service, TokenPublicKey Key, DateTimeOffset? NotBefore);

/// <summary>Tokens from one issuance request.</summary>
/// <param name="Tokens">The tokens the DP issued (fewer than asked when the quota ran short).</param>
/// <param name="RedeemableUntil">When the DP stops accepting them (their key's epoch and grace end).</param>
/// <param name="Service">The sponsoring service of the account they were issued to (null: a person's account): lookups they pay for are made on its behalf.</param>
public sealed record IssuedTokens(IReadOnlyList<Token> Tokens, DateTimeOffset RedeemableUntil, string? Service = null);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(TokenBalance))]
internal sealed partial class TokenJson : JsonSerializerContext;

/// <summary>Where a lookup's tokens come from (a <see cref="TokenWallet"/>, or an application's own stock).</summary>
public interface ITokenSource
{
    /// <summary>The DP's price: one token per this many distinct valid CSIs (<see cref="LookupPrice"/>); 0 when the DP does not require tokens (lookups are free, and none is sent).</summary>
    Task<int> CsisPerTokenAsync(CancellationToken cancellationToken = default);

    /// <summary>Takes <paramref name="count"/> unspent tokens, obtaining more first if too few are held.</summary>
    /// <exception cref="DiscoveryException">Obtaining tokens failed; none is taken then.</exception>
    Task<IReadOnlyList<Token>> TakeAsync(int count, CancellationToken cancellationToken = default);

    /// <summary>Takes back tokens a request carried but the DP did not spend (it refused the request before redeeming).</summary>
    void GiveBack(IReadOnlyList<Token> tokens);

    /// <summary>Drops the tokens held and adopts the DP's TokenChallenge (from a 401): they answered another challenge or a past key epoch.</summary>
    void Reset(PrivateTokenChallenge? dpChallenge = null);
}

/// <summary>
/// Obtains Privacy Pass tokens from a DP's issuer with a token account's API key — one issuance
/// request for many tokens (draft-ietf-privacypass-batched-tokens §6) when the DP takes batches.
/// Tokens answer the DP's TokenChallenge (itself as issuer and origin, no redemption context), so
/// they can be obtained ahead of the lookups that spend them. It keeps none: a
/// <see cref="TokenWallet"/> stocks them and spends them, on a schedule that does not reveal the lookups.
/// </summary>
/// <remarks>The <see cref="HttpClient"/>'s <c>BaseAddress</c> is the DP's origin; it must not run through a <see cref="PrivateTokenHandler"/>.</remarks>
public sealed class TokenClient
{
    private readonly HttpClient http;
    private readonly string apiKey;
    private readonly TimeProvider time;
    private byte[]? challenge;
    private TokenSettings? settings;
    private (TokenPublicKey Key, DateTimeOffset? NotBefore, Uri IssueUri, string? Service)? issuer;

    /// <summary>Creates a client for one account.</summary>
    /// <param name="http">An HTTP client whose base address is the DP.</param>
    /// <param name="apiKey">The account's API key (<c>mdk_…</c>).</param>
    /// <param name="time">The clock that decides which directory keys are in use; the system clock when omitted.</param>
    public TokenClient(HttpClient http, string apiKey, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentException.ThrowIfNullOrWhiteSpace(apiKey);
        this.http = http;
        this.apiKey = apiKey;
        this.time = time ?? TimeProvider.System;
    }

    /// <summary>The DP's price: one token per this many distinct valid CSIs (<see cref="LookupPrice"/>), from its metadata; 0 when its lookups do not require tokens.</summary>
    /// <exception cref="DiscoveryException">The DP could not be reached.</exception>
    public async Task<int> CsisPerTokenAsync(CancellationToken cancellationToken = default) =>
        await SettingsAsync(cancellationToken).ConfigureAwait(false) is { Required: true } settings ? Math.Max(1, settings.CsisPerToken) : 0;

    /// <summary>The account's quota, use and the current key epoch.</summary>
    /// <exception cref="DiscoveryException">The DP refused (<c>account-unknown</c>) or could not be reached.</exception>
    public async Task<TokenBalance> GetBalanceAsync(CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "v1/tokens/balance");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        using var response = await SendAsync(request, cancellationToken).ConfigureAwait(false);
        try
        {
            return await response.Content.ReadFromJsonAsync(TokenJson.Default.TokenBalance, cancellationToken).ConfigureAwait(false)
                ?? throw new DiscoveryException("the DP sent an empty balance");
        }
        catch (JsonException e)
        {
            throw new DiscoveryException("the DP's balance is not valid JSON: " + e.Message, e);
        }
    }

    /// <summary>
    /// The type 0x0002 keys of the DP's issuer directory, each with its service, and the issuance
    /// URL: the directory's <c>issuer-request-uri</c>, always on the client's base address's origin
    /// (only its path and query are taken when it names another), so the API key never leaves the DP.
    /// </summary>
    /// <exception cref="DiscoveryException">The DP refused, could not be reached, or sent a malformed directory.</exception>
    public async Task<(IReadOnlyList<ServiceTokenKey> Keys, Uri IssueUri)> GetDirectoryAsync(CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, ".well-known/private-token-issuer-directory");
        using var response = await SendAsync(request, cancellationToken).ConfigureAwait(false);
        var json = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var directory = IssuerDirectory.Parse(json);
            using var document = JsonDocument.Parse(json);
            var entries = document.RootElement.GetProperty("token-keys").EnumerateArray().ToList();
            var keys = new List<ServiceTokenKey>();
            for (var i = 0; i < entries.Count; i++)
            {
                var entry = directory.TokenKeys[i];
                if (entry.TokenType != PrivateTokenTypes.BlindRsa2048)
                {
                    continue;
                }

                var service = entries[i].TryGetProperty("service", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
                try
                {
                    keys.Add(new ServiceTokenKey(service, TokenPublicKey.Decode(entry.TokenKey.Span), entry.NotBefore));
                }
                catch (ProtocolException<PrivacyPassError>)
                {
                    // RFC 9578 §4: a key the client cannot use is skipped.
                }
            }

            var directoryUri = response.RequestMessage?.RequestUri ?? http.BaseAddress!;
            var issueUri = directory.IssuerRequestUri.IsAbsoluteUri ? directory.IssuerRequestUri : new Uri(directoryUri, directory.IssuerRequestUri);

            // The account's API key goes with every issuance request: only ever to the DP this
            // client was given. A directory naming another origin (a proxy's name for the DP, or a
            // forged Host header it echoed) gives the path only; the origin stays the client's.
            var dp = http.BaseAddress ?? directoryUri;
            if (Uri.Compare(issueUri, dp, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) != 0)
            {
                issueUri = new Uri(new Uri(dp.GetLeftPart(UriPartial.Authority)), issueUri.PathAndQuery);
            }

            return (keys, issueUri);
        }
        catch (ProtocolException<PrivacyPassError> e)
        {
            throw new DiscoveryException("the DP's issuer directory is malformed: " + e.Message, e);
        }
    }

    /// <summary>
    /// The key tokens for <paramref name="service"/> are signed with at <paramref name="now"/>: of that
    /// service's keys (the general key for null) already in use, the one with the latest not-before.
    /// </summary>
    /// <returns>The key, or null when the directory has none for the service.</returns>
    public static TokenPublicKey? SelectKey(IReadOnlyList<ServiceTokenKey> keys, string? service, DateTimeOffset now) => SelectEntry(keys, service, now)?.Key;

    private static ServiceTokenKey? SelectEntry(IReadOnlyList<ServiceTokenKey> keys, string? service, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(keys);
        return keys.Where(k => string.Equals(k.Service, service, StringComparison.Ordinal) && !(k.NotBefore > now))
            .OrderByDescending(k => k.NotBefore ?? DateTimeOffset.MinValue)
            .FirstOrDefault();
    }

    /// <summary>
    /// Obtains up to <paramref name="count"/> tokens in one issuance request: a batch of at most the
    /// DP's <see cref="TokenSettings.MaxTokensPerIssuance"/> (fewer when the quota has fewer left, the
    /// DP's 206), or one TokenRequest when the DP takes no batches. Returns them with the time until
    /// which they redeem.
    /// </summary>
    /// <exception cref="DiscoveryException">The DP refused (<c>quota-exhausted</c>…), or its answer does not yield valid tokens.</exception>
    public async Task<IssuedTokens> IssueAsync(int count, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        var settings = await SettingsAsync(cancellationToken).ConfigureAwait(false);
        for (var attempt = 0; ; attempt++)
        {
            challenge ??= new TokenChallenge(PrivateTokenTypes.BlindRsa2048, settings.IssuerName, [], [settings.IssuerName]).Encode();
            var (key, notBefore, issueUri, service) = issuer ??= await IssuerKeyAsync(cancellationToken).ConfigureAwait(false);
            var batch = Math.Min(count, settings.MaxTokensPerIssuance);
            var pending = Enumerable.Range(0, batch).Select(_ => PendingTokenRequest.Create(challenge, key)).ToList();
            var batched = settings.MaxTokensPerIssuance > 1;
            using var request = new HttpRequestMessage(HttpMethod.Post, issueUri)
            {
                Content = new ByteArrayContent(batched ? new GenericBatchTokenRequest(pending.Select(p => p.Request).ToList()).Encode() : pending[0].Request.Encode()),
            };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue(batched ? PrivacyPassMediaTypes.GenericBatchTokenRequest : PrivacyPassMediaTypes.TokenRequest);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
            try
            {
                using var response = await SendAsync(request, cancellationToken).ConfigureAwait(false);
                var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
                IReadOnlyList<TokenResponse?> answers = batched ? GenericBatchTokenResponse.Decode(body).Responses : [TokenResponse.Decode(body)];
                if (answers.Count != pending.Count)
                {
                    throw new DiscoveryException($"the DP answered {answers.Count} token requests of {pending.Count}");
                }

                var tokens = pending.Zip(answers).Where(x => x.Second is not null).Select(x => x.First.Finalize(x.Second!)).ToList();
                var until = (notBefore ?? time.GetUtcNow()) + TimeSpan.FromSeconds(settings.TokenLifetimeSeconds);
                return new IssuedTokens(tokens, until, service);
            }
            catch (DiscoveryException e) when (e.Code == "token-key-unknown" && attempt == 0)
            {
                // The key epoch turned since the directory was read: read it again, once.
                issuer = null;
            }
            catch (ProtocolException<PrivacyPassError> e)
            {
                throw new DiscoveryException("the DP's token response does not yield valid tokens: " + e.Message, e);
            }
        }
    }

    /// <summary>Forgets the issuer key in use and adopts the DP's TokenChallenge (from a 401), so the next issuance answers it.</summary>
    public void Reset(PrivateTokenChallenge? dpChallenge = null)
    {
        if (dpChallenge is { TokenType: PrivateTokenTypes.BlindRsa2048 })
        {
            challenge = dpChallenge.TokenChallenge.ToArray();
        }

        issuer = null;
    }

    /// <summary>The DP's token settings from its metadata, read once; a DP that states none is read as one token a CSI, one request a token.</summary>
    private async Task<TokenSettings> SettingsAsync(CancellationToken cancellationToken)
    {
        if (settings is null)
        {
            var metadata = await new DiscoveryClient(http).GetMetadataAsync(cancellationToken).ConfigureAwait(false);
            var name = metadata.Tokens?.IssuerName ?? http.BaseAddress?.Host ?? throw new DiscoveryException("the DP names no token issuer");
            settings = (metadata.Tokens ?? new TokenSettings("", false, name)) with
            {
                IssuerName = name,
                CsisPerToken = Math.Max(1, metadata.Tokens?.CsisPerToken ?? 1),
                MaxTokensPerIssuance = Math.Max(1, metadata.Tokens?.MaxTokensPerIssuance ?? 1),
            };
        }

        return settings;
    }

    private async Task<(TokenPublicKey, DateTimeOffset?, Uri, string?)> IssuerKeyAsync(CancellationToken cancellationToken)
    {
        var service = (await GetBalanceAsync(cancellationToken).ConfigureAwait(false)).Service;
        var (keys, issueUri) = await GetDirectoryAsync(cancellationToken).ConfigureAwait(false);
        var key = SelectEntry(keys, service, time.GetUtcNow())
            ?? throw new DiscoveryException($"the DP's issuer directory has no key for {(service is null ? "the general (person) account" : $"service '{service}'")}");
        return (key.Key, key.NotBefore, issueUri, service);
    }

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw DiscoveryClient.Unreachable(http.BaseAddress, e);
        }

        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
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

            throw new DiscoveryException((int)response.StatusCode, problem?.Code ?? "http-" + (int)response.StatusCode,
                problem?.Detail ?? problem?.Title ?? response.ReasonPhrase ?? "request failed");
        }
    }
}

/// <summary>
/// Pays for DP lookups with Privacy Pass tokens (RFC 9577 §2.2): <c>POST /v1/lookup</c> carries
/// exactly its price (<see cref="LookupPrice"/>, the DP's <see cref="TokenSettings.CsisPerToken"/>)
/// in the body's <c>tokens</c>, so a batch's tokens fit in one request; <c>GET /v1/lookup/{csi}</c>,
/// a label history and an invitation (<c>POST /v1/invitations</c>) carry one as <c>Authorization: PrivateToken token="…"</c>. On a 401 with a
/// PrivateToken challenge it adopts the DP's challenge, obtains fresh tokens and retries once. A
/// refusal (4xx other than 401: a size limit, a relay's rate limit, a service mismatch) spends
/// nothing, so the tokens go back to the source; after a 5xx they are dropped (the DP may have
/// redeemed them).
/// </summary>
public sealed class PrivateTokenHandler : DelegatingHandler
{
    private readonly ITokenSource tokens;

    /// <summary>Creates a handler that spends tokens of <paramref name="tokens"/>.</summary>
    public PrivateTokenHandler(ITokenSource tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        this.tokens = tokens;
    }

    /// <summary>Creates a handler in front of <paramref name="innerHandler"/>.</summary>
    public PrivateTokenHandler(ITokenSource tokens, HttpMessageHandler innerHandler)
        : base(innerHandler)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        this.tokens = tokens;
    }

    /// <inheritdoc/>
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var path = (request.RequestUri is { IsAbsoluteUri: true } uri ? uri.AbsolutePath : request.RequestUri?.OriginalString.Split('?')[0] ?? "").TrimStart('/');
        var lookup = request.Method == HttpMethod.Post && path == "v1/lookup" ? await ReadLookupAsync(request, cancellationToken).ConfigureAwait(false) : null;
        // An invitation costs what a lookup of its one recipient costs (docs/protocol.md §14), paid in Authorization.
        var invitation = request.Method == HttpMethod.Post && path == "v1/invitations";
        if (invitation && request.Content is not null)
        {
            await request.Content.LoadIntoBufferAsync(cancellationToken).ConfigureAwait(false);
        }

        var paid = lookup is not null || invitation
            || (request.Method == HttpMethod.Get && path.StartsWith("v1/lookup/", StringComparison.Ordinal))
            || (request.Method == HttpMethod.Get && path == "v1/transparency/history");
        var perToken = paid ? await tokens.CsisPerTokenAsync(cancellationToken).ConfigureAwait(false) : 0;
        var needed = perToken == 0 ? 0
            : lookup is not null ? LookupPrice.For(lookup.Csis, perToken)
            : invitation ? 1
            : path == "v1/transparency/history" ? 1 // it shows statements: it costs what a lookup of its CSI costs
            : CsiParser.Parse(Uri.UnescapeDataString(path["v1/lookup/".Length..])).Success ? 1 : 0;
        if (needed == 0)
        {
            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }

        for (var attempt = 0; ; attempt++)
        {
            var taken = await tokens.TakeAsync(needed, cancellationToken).ConfigureAwait(false);
            Attach(request, lookup, taken);
            // A transport failure throws: whether the DP redeemed the tokens is unknown, so they are dropped.
            var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);

            if (response.IsSuccessStatusCode)
            {
                return response;
            }

            var code = await ProblemCodeAsync(response, cancellationToken).ConfigureAwait(false);
            if (response.StatusCode != HttpStatusCode.Unauthorized)
            {
                // A refusal (4xx, from the DP or the relay) spends nothing: the tokens are good for the
                // next request — unless the refusal is about the tokens themselves (malformed, of mixed
                // services), which would only be refused again. After a 5xx (a relay that lost the
                // gateway, a DP that failed) whether the DP redeemed them is unknown: they are
                // dropped, never sent twice.
                if ((int)response.StatusCode < 500 && (code is null || !code.StartsWith("token-", StringComparison.Ordinal) || code is "token-count" or "token-service-mismatch"))
                {
                    tokens.GiveBack(taken);
                }

                return response;
            }

            if (attempt > 0)
            {
                return response;
            }

            // A 401 once: "token-spent" means one of these was redeemed before (a wallet copied or
            // shared): they are dropped and fresh ones sent. Any other token refusal (another key
            // epoch, another challenge) makes the whole stock suspect: it is dropped and the DP's
            // challenge adopted.
            if (code != "token-spent")
            {
                if (Challenge(response) is not { } challenge)
                {
                    return response;
                }

                tokens.Reset(challenge);
            }

            response.Dispose();
        }
    }

    /// <summary>The lookup in a request body (buffered, so it can be sent and re-sent after being read here); null when it is not one.</summary>
    private static async Task<LookupRequest?> ReadLookupAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.Content is null)
        {
            return null;
        }

        try
        {
            var lookup = JsonSerializer.Deserialize(await request.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false), ProtocolJson.Default.LookupRequest);
            return lookup?.Csis is null ? null : lookup;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static void Attach(HttpRequestMessage request, LookupRequest? lookup, IReadOnlyList<Token> taken)
    {
        request.Headers.Remove("Authorization");
        if (lookup is not null)
        {
            var paid = JsonSerializer.SerializeToUtf8Bytes(lookup with { Tokens = taken.Select(t => System.Buffers.Text.Base64Url.EncodeToString(t.Encode())).ToList() }, ProtocolJson.Default.LookupRequest);
            request.Content = new ByteArrayContent(paid);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
            LargeBodies.ExpectContinueIfLarge(request, paid.Length);
            return;
        }

        foreach (var token in taken)
        {
            request.Headers.TryAddWithoutValidation("Authorization", PrivateTokenHeaders.FormatAuthorization(token));
        }
    }

    /// <summary>The problem code of a refusal, or null; the body stays readable for the caller.</summary>
    private static async Task<string?> ProblemCodeAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        // Read as bytes, not as a stream: HttpContent hands every reader the same stream, which this
        // read would leave at its end, and the caller still reads the problem after this.
        await response.Content.LoadIntoBufferAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return JsonSerializer.Deserialize(await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false), ProtocolJson.Default.ProblemBody)?.Code;
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException)
        {
            return null;
        }
    }

    private static PrivateTokenChallenge? Challenge(HttpResponseMessage response)
    {
        // Raw values: the typed WWW-Authenticate parser does not know the PrivateToken parameters.
        if (!response.Headers.NonValidated.TryGetValues("WWW-Authenticate", out var values))
        {
            return null;
        }

        foreach (var value in values)
        {
            try
            {
                if (PrivateTokenHeaders.ParseChallenges(value).FirstOrDefault(c => c.TokenType == PrivateTokenTypes.BlindRsa2048) is { } challenge)
                {
                    return challenge;
                }
            }
            catch (ProtocolException<PrivacyPassError>)
            {
                // A malformed challenge: nothing to adopt from it.
            }
        }

        return null;
    }
}

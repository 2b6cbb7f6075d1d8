// Privacy Pass for a DP's lookups: the client side of issuance (RFC 9578 §6.1, §6.3) against the
// DP's own issuer, and redemption (RFC 9577 §2.2) as an HttpClient handler. docs/protocol.md §10,
// "How this DP uses tokens".
using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;
using Mimi.Discovery.Identifiers;
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

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(TokenBalance))]
internal sealed partial class TokenJson : JsonSerializerContext;

/// <summary>
/// Obtains Privacy Pass tokens from a DP's issuer with a token account's API key and keeps the
/// unspent ones in memory. Tokens answer the DP's TokenChallenge (itself as issuer and origin, no
/// redemption context), so they can be fetched ahead of the lookups that spend them.
/// </summary>
/// <remarks>The <see cref="HttpClient"/>'s <c>BaseAddress</c> is the DP's origin; it must not run through a <see cref="PrivateTokenHandler"/>.</remarks>
public sealed class TokenClient : IDisposable
{
    private readonly HttpClient http;
    private readonly string apiKey;
    private readonly TimeProvider time;
    private readonly ConcurrentQueue<Token> pool = new();
    private readonly SemaphoreSlim fetching = new(1, 1);
    private byte[]? challenge;
    private (TokenPublicKey Key, Uri IssueUri)? issuer;

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

    /// <summary>Unspent tokens held.</summary>
    public int Available => pool.Count;

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

    /// <summary>The type 0x0002 keys of the DP's issuer directory, each with its service, and the issuance URL.</summary>
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
                catch (PrivacyPassException)
                {
                    // RFC 9578 §4: a key the client cannot use is skipped.
                }
            }

            var issueUri = directory.IssuerRequestUri.IsAbsoluteUri ? directory.IssuerRequestUri : new Uri(response.RequestMessage?.RequestUri ?? http.BaseAddress!, directory.IssuerRequestUri);
            return (keys, issueUri);
        }
        catch (PrivacyPassException e)
        {
            throw new DiscoveryException("the DP's issuer directory is malformed: " + e.Message, e);
        }
    }

    /// <summary>
    /// The key tokens for <paramref name="service"/> are signed with at <paramref name="now"/>: of that
    /// service's keys (the general key for null) already in use, the one with the latest not-before.
    /// </summary>
    /// <returns>The key, or null when the directory has none for the service.</returns>
    public static TokenPublicKey? SelectKey(IReadOnlyList<ServiceTokenKey> keys, string? service, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(keys);
        return keys.Where(k => string.Equals(k.Service, service, StringComparison.Ordinal) && !(k.NotBefore > now))
            .OrderByDescending(k => k.NotBefore ?? DateTimeOffset.MinValue)
            .FirstOrDefault()?.Key;
    }

    /// <summary>Obtains <paramref name="count"/> more tokens (one issuance request each) into the pool.</summary>
    /// <exception cref="DiscoveryException">The DP refused (<c>quota-exhausted</c>, <c>account-unknown</c>…); tokens obtained before the refusal stay in the pool.</exception>
    public async Task FetchAsync(int count, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        await fetching.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            for (var i = 0; i < count; i++)
            {
                pool.Enqueue(await IssueOneAsync(cancellationToken).ConfigureAwait(false));
            }
        }
        finally
        {
            fetching.Release();
        }
    }

    /// <summary>Takes <paramref name="count"/> tokens from the pool, fetching the shortfall first.</summary>
    /// <exception cref="DiscoveryException">Fetching failed; no token is taken then.</exception>
    public async Task<IReadOnlyList<Token>> TakeAsync(int count, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (pool.Count < count)
        {
            await FetchAsync(count - pool.Count, cancellationToken).ConfigureAwait(false);
        }

        var taken = new List<Token>(count);
        while (taken.Count < count && pool.TryDequeue(out var token))
        {
            taken.Add(token);
        }

        if (taken.Count < count)
        {
            // Another caller took some meanwhile: top up for this one.
            await FetchAsync(count - taken.Count, cancellationToken).ConfigureAwait(false);
            while (taken.Count < count && pool.TryDequeue(out var token))
            {
                taken.Add(token);
            }
        }

        return taken;
    }

    /// <summary>
    /// Adopts the TokenChallenge of a DP's PrivateToken challenge (from a 401) and drops pooled tokens
    /// and the cached key: they answered another challenge or a past epoch.
    /// </summary>
    public void Reset(PrivateTokenChallenge? dpChallenge = null)
    {
        if (dpChallenge is { TokenType: PrivateTokenTypes.BlindRsa2048 })
        {
            challenge = dpChallenge.TokenChallenge.ToArray();
        }

        issuer = null;
        pool.Clear();
    }

    /// <inheritdoc/>
    public void Dispose() => fetching.Dispose();

    private async Task<Token> IssueOneAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            challenge ??= await DpChallengeAsync(cancellationToken).ConfigureAwait(false);
            var (key, issueUri) = issuer ??= await IssuerKeyAsync(cancellationToken).ConfigureAwait(false);
            var pending = PendingTokenRequest.Create(challenge, key);
            using var request = new HttpRequestMessage(HttpMethod.Post, issueUri) { Content = new ByteArrayContent(pending.Request.Encode()) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue(PrivacyPassMediaTypes.TokenRequest);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
            try
            {
                using var response = await SendAsync(request, cancellationToken).ConfigureAwait(false);
                var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
                return pending.Finalize(TokenResponse.Decode(body));
            }
            catch (DiscoveryException e) when (e.Code == "token-key-unknown" && attempt == 0)
            {
                // The key epoch turned since the directory was read: read it again, once.
                issuer = null;
            }
            catch (PrivacyPassException e)
            {
                throw new DiscoveryException("the DP's token response does not yield a valid token: " + e.Message, e);
            }
        }
    }

    private async Task<byte[]> DpChallengeAsync(CancellationToken cancellationToken)
    {
        var metadata = await new DiscoveryClient(http).GetMetadataAsync(cancellationToken).ConfigureAwait(false);
        var name = metadata.Tokens?.IssuerName ?? http.BaseAddress?.Host ?? throw new DiscoveryException("the DP names no token issuer");
        return new TokenChallenge(PrivateTokenTypes.BlindRsa2048, name, [], [name]).Encode();
    }

    private async Task<(TokenPublicKey, Uri)> IssuerKeyAsync(CancellationToken cancellationToken)
    {
        var service = (await GetBalanceAsync(cancellationToken).ConfigureAwait(false)).Service;
        var (keys, issueUri) = await GetDirectoryAsync(cancellationToken).ConfigureAwait(false);
        var key = SelectKey(keys, service, time.GetUtcNow())
            ?? throw new DiscoveryException($"the DP's issuer directory has no key for {(service is null ? "the general (person) account" : $"service '{service}'")}");
        return (key, issueUri);
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
            throw new DiscoveryException($"cannot reach the Discovery Provider at {http.BaseAddress}: {e.Message}", e);
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
/// Attaches Privacy Pass tokens to DP lookups (RFC 9577 §2.2): as many as the lookup needs — one per
/// distinct valid CSI of <c>POST /v1/lookup</c>, one for a valid <c>GET /v1/lookup/{csi}</c> — each
/// as its own <c>Authorization: PrivateToken token="…"</c> value. On a 401 with a PrivateToken
/// challenge it adopts the DP's challenge, fetches fresh tokens and retries once.
/// </summary>
public sealed class PrivateTokenHandler : DelegatingHandler
{
    private readonly TokenClient tokens;

    /// <summary>Creates a handler that spends tokens of <paramref name="tokens"/>.</summary>
    public PrivateTokenHandler(TokenClient tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        this.tokens = tokens;
    }

    /// <summary>Creates a handler in front of <paramref name="innerHandler"/>.</summary>
    public PrivateTokenHandler(TokenClient tokens, HttpMessageHandler innerHandler)
        : base(innerHandler)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        this.tokens = tokens;
    }

    /// <summary>The tokens a request costs: a lookup, its distinct valid CSIs (body or path); a label history, 1; any other request, 0.</summary>
    public static async Task<int> CountNeededAsync(HttpRequestMessage request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var path = request.RequestUri is { IsAbsoluteUri: true } uri ? uri.AbsolutePath : request.RequestUri?.OriginalString.Split('?')[0] ?? "";
        path = path.TrimStart('/');
        if (request.Method == HttpMethod.Get && path.StartsWith("v1/lookup/", StringComparison.Ordinal))
        {
            return CsiParser.Parse(Uri.UnescapeDataString(path["v1/lookup/".Length..])).Success ? 1 : 0;
        }

        if (request.Method == HttpMethod.Get && path == "v1/transparency/history")
        {
            // A label's history shows its statements, so it costs what a lookup of its CSI costs.
            return 1;
        }

        if (request.Method != HttpMethod.Post || path != "v1/lookup" || request.Content is null)
        {
            return 0;
        }

        // Buffered, so the body can be sent (and re-sent) after being read here.
        var body = await request.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var document = JsonDocument.Parse(body);
            if (!document.RootElement.TryGetProperty("csis", out var csis) || csis.ValueKind != JsonValueKind.Array)
            {
                return 0;
            }

            return csis.EnumerateArray().Where(c => c.ValueKind == JsonValueKind.String)
                .Select(c => CsiParser.Parse(c.GetString())).Where(p => p.Success).Select(p => p.Csi!.Uri)
                .Distinct(StringComparer.Ordinal).Count();
        }
        catch (JsonException)
        {
            return 0;
        }
    }

    /// <inheritdoc/>
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var needed = await CountNeededAsync(request, cancellationToken).ConfigureAwait(false);
        if (needed == 0)
        {
            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }

        await AttachAsync(request, needed, cancellationToken).ConfigureAwait(false);
        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.Unauthorized || Challenge(response) is not { } challenge)
        {
            return response;
        }

        response.Dispose();
        tokens.Reset(challenge);
        await AttachAsync(request, needed, cancellationToken).ConfigureAwait(false);
        return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
    }

    private async Task AttachAsync(HttpRequestMessage request, int needed, CancellationToken cancellationToken)
    {
        var taken = await tokens.TakeAsync(needed, cancellationToken).ConfigureAwait(false);
        request.Headers.Remove("Authorization");
        foreach (var token in taken)
        {
            request.Headers.TryAddWithoutValidation("Authorization", PrivateTokenHeaders.FormatAuthorization(token));
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
            catch (PrivacyPassException)
            {
                // A malformed challenge: nothing to adopt from it.
            }
        }

        return null;
    }
}

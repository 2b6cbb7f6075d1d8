using System.Text.Json;
using Microsoft.Extensions.Options;
using Mimi.Discovery.Client;
using Mimi.Discovery.Privacy;
using Mimi.Discovery.Privacy.Tokens;
using Mimi.Discovery.Server.Hosting;
using Mimi.Discovery.Server.Storage;

namespace Mimi.Discovery.Server.Tokens;

/// <summary>
/// The answer to an issuance request: the response body and its media type, whether every request was
/// answered (200) or some were not (206, draft-ietf-privacypass-batched-tokens §6.2), or why not (with
/// Retry-After seconds for a spent quota).
/// </summary>
internal sealed record IssueOutcome(byte[]? Response, Problem? Problem, long? RetryAfterSeconds = null, string? MediaType = null, bool Partial = false)
{
    /// <summary>Tokens signed.</summary>
    public int Issued { get; init; }
}

/// <summary>
/// The issuer side (RFC 9578 §6.2): blind-signs TokenRequests for accounts within their quota, with
/// the current epoch's key of the account's sponsoring service, and serves the issuer directory.
/// </summary>
internal sealed partial class TokenService(IDiscoveryStore store, IssuerKeyRing keys, IOptions<DiscoveryOptions> options, TimeProvider time, ILogger<TokenService> log)
{
    public const string DirectoryPath = "/.well-known/private-token-issuer-directory";

    public const string IssuePath = "/v1/tokens";

    private static Problem AccountUnknown => new("account-unknown", StatusCodes.Status401Unauthorized,
        "send the token account's API key as 'Authorization: Bearer mdk_…'; the operator creates accounts with 'mimi-discovery accounts add'");

    /// <summary>The TokenChallenge this DP issues and accepts tokens for: itself as issuer and origin, no redemption context (RFC 9577 §2.1.1).</summary>
    public TokenChallenge Challenge { get; } = new(PrivateTokenTypes.BlindRsa2048, options.Value.TokenIssuerName!, [], [options.Value.TokenIssuerName!]);

    /// <summary>
    /// Issues for one TokenRequest (RFC 9578 §6.1, media type <see cref="PrivacyPassMediaTypes.TokenRequest"/>)
    /// or a batch of them (draft-ietf-privacypass-batched-tokens §6.1, <see cref="PrivacyPassMediaTypes.GenericBatchTokenRequest"/>),
    /// each counted against the account's quota: a batch larger than what is left gets what is left,
    /// the rest answered as absent (206).
    /// </summary>
    public async Task<IssueOutcome> IssueAsync(string? authorization, string? contentType, byte[] body, CancellationToken cancellationToken)
    {
        var hash = ApiKeys.FromBearer(authorization);
        var account = hash is null ? null : await store.GetAccountAsync(hash, cancellationToken).ConfigureAwait(false);
        if (account is null)
        {
            return new IssueOutcome(null, AccountUnknown);
        }

        var batched = IsMediaType(contentType, PrivacyPassMediaTypes.GenericBatchTokenRequest);
        if (!batched && !IsMediaType(contentType, PrivacyPassMediaTypes.TokenRequest))
        {
            return new IssueOutcome(null, new Problem("unsupported-media-type", StatusCodes.Status415UnsupportedMediaType,
                $"send one TokenRequest as Content-Type: {PrivacyPassMediaTypes.TokenRequest}, or a batch as {PrivacyPassMediaTypes.GenericBatchTokenRequest}"));
        }

        IReadOnlyList<TokenRequest?>? requests;
        ProtocolError<PrivacyPassError> refused;
        if (batched)
        {
            _ = GenericBatchTokenRequest.TryDecode(body, options.Value.MaxTokensPerIssuance, out requests, out refused);
        }
        else
        {
            requests = TokenRequest.TryDecode(body, out var single, out refused) ? [single] : null;
        }

        if (requests is null)
        {
            return new IssueOutcome(null, refused.Code == PrivacyPassError.UnsupportedTokenType
                ? new Problem("token-type-unsupported", StatusCodes.Status422UnprocessableEntity, "this DP issues token type 0x0002 (Blind RSA 2048) only: " + refused.Message)
                : batched
                    ? Malformed($"it is not a GenericBatchTokenRequest of at most {options.Value.MaxTokensPerIssuance} type 0x0002 requests (draft-ietf-privacypass-batched-tokens §6.1): {refused.Message}")
                    : Malformed("it is not a type 0x0002 TokenRequest of 259 bytes (RFC 9578 §6.1)"));
        }

        if (requests.All(r => r is null))
        {
            return new IssueOutcome(null, new Problem("token-type-unsupported", StatusCodes.Status422UnprocessableEntity, "the batch holds no type 0x0002 (Blind RSA 2048) request, the only type this DP issues"));
        }

        var key = keys.Current(account.Service);
        if (requests.OfType<TokenRequest>().Any(r => r.TruncatedTokenKeyId != key.PublicKey.TruncatedKeyId))
        {
            return new IssueOutcome(null, new Problem("token-key-unknown", StatusCodes.Status422UnprocessableEntity,
                $"the request names a key this account cannot use; fetch {DirectoryPath} and blind for the current key of service '{account.Service ?? "(general)"}' (epoch {key.Epoch})"));
        }

        var now = time.GetUtcNow().ToUnixTimeSeconds();
        var wanted = requests.Count(r => r is not null);
        var (outcome, taken, granted) = await store.TakeQuotaAsync(account.KeyHash, now, wanted, cancellationToken).ConfigureAwait(false);
        if (outcome == QuotaOutcome.UnknownAccount)
        {
            return new IssueOutcome(null, AccountUnknown);
        }

        if (outcome == QuotaOutcome.Exhausted)
        {
            var windowEnd = Math.Max(taken!.WindowStart, taken.CurrentWindow(now)) + taken.WindowSeconds;
            return new IssueOutcome(null, new Problem("quota-exhausted", StatusCodes.Status429TooManyRequests,
                $"this account has used its {taken.Quota} tokens for the window ending {DateTimeOffset.FromUnixTimeSeconds(windowEnd):u}; retry then"), windowEnd - now);
        }

        // The first `granted` supported requests are signed, in order; a failure gives its count back.
        var responses = new TokenResponse?[requests.Count];
        var left = granted;
        var failed = 0;
        PrivacyPassError? failure = null;
        for (var i = 0; i < requests.Count && left > 0; i++)
        {
            if (requests[i] is not { } request)
            {
                continue;
            }

            left--;
            try
            {
                responses[i] = key.Issuer.Issue(request);
            }
            catch (ProtocolException<PrivacyPassError> e)
            {
                failed++;
                failure ??= e.Error;
            }
        }

        if (failed > 0)
        {
            await store.ReturnQuotaAsync(account.KeyHash, taken!.WindowStart, failed, CancellationToken.None).ConfigureAwait(false);
        }

        var issued = granted - failed;
        if (issued == 0)
        {
            return new IssueOutcome(null, failure == PrivacyPassError.SigningFailed
                ? new Problem("server-error", StatusCodes.Status500InternalServerError, "the signature failed its self-check and was withheld; try again")
                : Malformed(batched ? "no blinded message of the batch is an integer below the key's modulus" : "the blinded message is not an integer below the key's modulus"));
        }

        LogIssued(log, taken!.Name, issued, key.Epoch);
        return batched
            ? new IssueOutcome(new GenericBatchTokenResponse(responses).Encode(), null, MediaType: PrivacyPassMediaTypes.GenericBatchTokenResponse, Partial: issued < requests.Count) { Issued = issued }
            : new IssueOutcome(responses[0]!.Encode(), null, MediaType: PrivacyPassMediaTypes.TokenResponse) { Issued = issued };
    }

    public async Task<Outcome<TokenBalance>> BalanceAsync(string? authorization, CancellationToken cancellationToken)
    {
        var hash = ApiKeys.FromBearer(authorization);
        var account = hash is null ? null : await store.GetAccountAsync(hash, cancellationToken).ConfigureAwait(false);
        if (account is null)
        {
            return AccountUnknown;
        }

        var now = time.GetUtcNow().ToUnixTimeSeconds();
        return new TokenBalance(account.Service, account.Quota, account.UsedAt(now),
            DateTimeOffset.FromUnixTimeSeconds(account.CurrentWindow(now) + account.WindowSeconds), keys.EpochStart(now) / keys.EpochSeconds);
    }

    /// <summary>The keys in use now: the general key and one per service that has an account.</summary>
    public async Task<IReadOnlyList<IssuerKey>> ActiveKeysAsync(CancellationToken cancellationToken)
    {
        var services = (await store.ListAccountsAsync(cancellationToken).ConfigureAwait(false))
            .Select(a => a.Service).OfType<string>().Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
        return [keys.Current(null), .. services.Select(keys.Current)];
    }

    /// <summary>
    /// The RFC 9578 §4 directory, with a non-standard <c>service</c> member on each key (null for the
    /// general key) so a client picks its sponsoring service's key; other clients ignore it.
    /// </summary>
    public async Task<string> DirectoryJsonAsync(string origin, CancellationToken cancellationToken)
    {
        var active = await ActiveKeysAsync(cancellationToken).ConfigureAwait(false);
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteString("issuer-request-uri", origin + IssuePath);
            json.WriteStartArray("token-keys");
            foreach (var key in active)
            {
                json.WriteStartObject();
                json.WriteNumber("token-type", PrivateTokenTypes.BlindRsa2048);
                json.WriteString("token-key", System.Buffers.Text.Base64Url.EncodeToString(key.PublicKey.Encoded));
                json.WriteNumber("not-before", key.Start);
                json.WriteString("service", key.Service);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>Seconds until the current key epoch ends, for caching the directory.</summary>
    public long SecondsToNextEpoch()
    {
        var now = time.GetUtcNow().ToUnixTimeSeconds();
        return keys.EpochStart(now) + keys.EpochSeconds - now;
    }

    // RFC 9578 §6.2: a request the issuer cannot process (wrong size, type or key) is 422.
    private static Problem Malformed(string why) => new("token-request-malformed", StatusCodes.Status422UnprocessableEntity, "the body cannot be issued for: " + why);

    private static bool IsMediaType(string? contentType, string expected) =>
        contentType is not null && Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(contentType, out var parsed)
        && parsed.MediaType.Equals(expected, StringComparison.OrdinalIgnoreCase);

    [LoggerMessage(EventId = 700, Level = LogLevel.Information, Message = "Issued {Count} token(s) to account {Account} under key epoch {Epoch}")]
    private static partial void LogIssued(ILogger logger, string account, int count, long epoch);
}

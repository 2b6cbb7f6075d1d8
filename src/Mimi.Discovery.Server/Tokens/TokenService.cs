using System.Text.Json;
using Microsoft.Extensions.Options;
using Mimi.Discovery.Client;
using Mimi.Discovery.Privacy.Tokens;
using Mimi.Discovery.Server.Hosting;
using Mimi.Discovery.Server.Storage;

namespace Mimi.Discovery.Server.Tokens;

/// <summary>The answer to an issuance request: the TokenResponse bytes, or why not (with Retry-After seconds for a spent quota).</summary>
internal sealed record IssueOutcome(byte[]? Response, Problem? Problem, long? RetryAfterSeconds = null);

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

    public async Task<IssueOutcome> IssueAsync(string? authorization, string? contentType, byte[] body, CancellationToken cancellationToken)
    {
        var hash = ApiKeys.FromBearer(authorization);
        var account = hash is null ? null : await store.GetAccountAsync(hash, cancellationToken).ConfigureAwait(false);
        if (account is null)
        {
            return new IssueOutcome(null, AccountUnknown);
        }

        if (!IsMediaType(contentType, PrivacyPassMediaTypes.TokenRequest))
        {
            return new IssueOutcome(null, new Problem("unsupported-media-type", StatusCodes.Status415UnsupportedMediaType, $"send the TokenRequest as Content-Type: {PrivacyPassMediaTypes.TokenRequest}"));
        }

        TokenRequest request;
        try
        {
            request = TokenRequest.Decode(body);
        }
        catch (PrivacyPassException e) when (e.Error == PrivacyPassError.UnsupportedTokenType)
        {
            return new IssueOutcome(null, new Problem("token-type-unsupported", StatusCodes.Status400BadRequest, "this DP issues token type 0x0002 (Blind RSA 2048) only"));
        }
        catch (PrivacyPassException)
        {
            return new IssueOutcome(null, Malformed("it is not a type 0x0002 TokenRequest of 259 bytes (RFC 9578 §6.1)"));
        }

        var key = keys.Current(account.Service);
        if (request.TruncatedTokenKeyId != key.PublicKey.TruncatedKeyId)
        {
            return new IssueOutcome(null, new Problem("token-key-unknown", StatusCodes.Status400BadRequest,
                $"the request names a key this account cannot use; fetch {DirectoryPath} and blind for the current key of service '{account.Service ?? "(general)"}' (epoch {key.Epoch})"));
        }

        var now = time.GetUtcNow().ToUnixTimeSeconds();
        var (outcome, taken) = await store.TakeQuotaAsync(account.KeyHash, now, cancellationToken).ConfigureAwait(false);
        if (outcome == QuotaOutcome.UnknownAccount)
        {
            return new IssueOutcome(null, AccountUnknown);
        }

        if (outcome == QuotaOutcome.Exhausted)
        {
            var windowEnd = taken!.CurrentWindow(now) + taken.WindowSeconds;
            return new IssueOutcome(null, new Problem("quota-exhausted", StatusCodes.Status429TooManyRequests,
                $"this account has used its {taken.Quota} tokens for the window ending {DateTimeOffset.FromUnixTimeSeconds(windowEnd):u}; retry then"), windowEnd - now);
        }

        try
        {
            var response = key.Issuer.Issue(request).Encode();
            LogIssued(log, taken!.Name, key.Epoch);
            return new IssueOutcome(response, null);
        }
        catch (PrivacyPassException e)
        {
            await store.ReturnQuotaAsync(account.KeyHash, taken!.WindowStart, cancellationToken).ConfigureAwait(false);
            return e.Error == PrivacyPassError.SigningFailed
                ? new IssueOutcome(null, new Problem("server-error", StatusCodes.Status500InternalServerError, "the signature failed its self-check and was withheld; try again"))
                : new IssueOutcome(null, Malformed("the blinded message is not an integer below the key's modulus"));
        }
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

    private static Problem Malformed(string why) => new("token-request-malformed", StatusCodes.Status400BadRequest, "the body is not a TokenRequest: " + why);

    private static bool IsMediaType(string? contentType, string expected) =>
        contentType is not null && Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(contentType, out var parsed)
        && parsed.MediaType.Equals(expected, StringComparison.OrdinalIgnoreCase);

    [LoggerMessage(EventId = 700, Level = LogLevel.Information, Message = "Issued a token to account {Account} under key epoch {Epoch}")]
    private static partial void LogIssued(ILogger logger, string account, long epoch);
}

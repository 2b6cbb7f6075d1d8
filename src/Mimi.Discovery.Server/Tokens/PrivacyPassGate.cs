using System.Buffers.Text;
using Microsoft.Extensions.Options;
using Mimi.Discovery.Privacy;
using Mimi.Discovery.Privacy.Tokens;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Server.Hosting;
using Mimi.Discovery.Server.Storage;
using Mimi.Discovery.Statements;

namespace Mimi.Discovery.Server.Tokens;

/// <summary>
/// The gate when lookups need Privacy Pass tokens (RFC 9577 redemption): exactly the lookup's price
/// (<see cref="LookupPrice"/>), each of type 0x0002 under a key of this DP whose epoch is current or in grace,
/// answering this DP's TokenChallenge, with a valid signature and a nonce never spent before. Every
/// token is checked before any is spent, and all are spent in one transaction (shared with other
/// lookups', <see cref="SpentTokenLedger"/>), so a refused lookup spends nothing. The tokens' key
/// names the sponsoring service the lookup is made for.
/// </summary>
internal sealed partial class PrivacyPassGate(SpentTokenLedger ledger, IssuerKeyRing keys, TokenService tokens, IOptions<DiscoveryOptions> options, TimeProvider time, ILogger<PrivacyPassGate> log) : ILookupGate
{
    private readonly byte[] challenge = tokens.Challenge.Encode();

    public async Task<GateDecision> AdmitAsync(IReadOnlyList<string> authorization, LookupRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(authorization);
        var needed = Charged(request, options.Value);
        if (needed == 0)
        {
            return GateDecision.Open;
        }

        if (!TryPresented(authorization, request, out var presented, out var malformed))
        {
            return malformed.Code == PrivacyPassError.UnsupportedTokenType
                ? await RefuseAsync("token-invalid", "a token is not of type 0x0002 (Blind RSA 2048); obtain tokens from this DP's issuer", cancellationToken).ConfigureAwait(false)
                : new GateDecision(new Problem("token-malformed", StatusCodes.Status400BadRequest, malformed.Message));
        }

        if (presented.Count < needed)
        {
            return await RefuseAsync("token-required",
                $"this lookup costs {needed} token(s) (one per {options.Value.CsisPerToken} distinct valid CSIs, rounded up) and carried {presented.Count}; obtain tokens from the issuer in the challenge", cancellationToken).ConfigureAwait(false);
        }

        if (presented.Count > needed)
        {
            return new GateDecision(new Problem("token-count", StatusCodes.Status400BadRequest,
                $"this lookup costs {needed} token(s) (one per {options.Value.CsisPerToken} distinct valid CSIs, rounded up) and carried {presented.Count}; send exactly {needed} — none was spent"));
        }

        var redeemed = presented;
        if (redeemed.Select(t => Base64Url.EncodeToString(t.Nonce)).Distinct(StringComparer.Ordinal).Count() < redeemed.Count)
        {
            return await RefuseAsync("token-spent", "the lookup carries the same token twice; each token redeems once", cancellationToken).ConfigureAwait(false);
        }

        var now = time.GetUtcNow().ToUnixTimeSeconds();
        var spent = new List<SpentToken>(redeemed.Count);
        var services = new HashSet<string?>();
        foreach (var token in redeemed)
        {
            var key = keys.Find(token.TokenKeyId);
            if (key is null)
            {
                return await RefuseAsync("token-invalid", "a token was issued under a key this DP does not have (another issuer, or a key long retired)", cancellationToken).ConfigureAwait(false);
            }

            var until = keys.RedeemableUntil(key);
            if (now >= until)
            {
                return await RefuseAsync("token-expired", $"a token's key epoch {key.Epoch} is past its grace period; obtain fresh tokens", cancellationToken).ConfigureAwait(false);
            }

            if (!new TokenVerifier([key.PublicKey]).TryVerify(token, challenge, out var error))
            {
                return await RefuseAsync("token-invalid", error == PrivacyPassError.ChallengeMismatch
                    ? "a token answers another TokenChallenge than this DP's (issuer and origin " + tokens.Challenge.IssuerName + ")"
                    : "a token's signature does not verify", cancellationToken).ConfigureAwait(false);
            }

            services.Add(key.Service);
            spent.Add(new SpentToken(Base64Url.EncodeToString(token.Nonce), until));
        }

        if (services.Count > 1)
        {
            return new GateDecision(new Problem("token-mixed-services", StatusCodes.Status400BadRequest,
                "the lookup's tokens were issued for different sponsoring services; redeem tokens of one service per lookup"));
        }

        var service = services.Single();
        if (request.Service is not null && !string.Equals(request.Service, service, StringComparison.Ordinal))
        {
            return new GateDecision(new Problem("token-service-mismatch", StatusCodes.Status403Forbidden,
                $"the lookup names service '{request.Service}' but its tokens were issued for {(service is null ? "a person (no service)" : $"'{service}'")}; omit service or use that service's tokens"));
        }

        if (!await ledger.SpendAsync(spent, cancellationToken).ConfigureAwait(false))
        {
            return await RefuseAsync("token-spent", "a token was redeemed before; each token redeems once", cancellationToken).ConfigureAwait(false);
        }

        LogRedeemed(log, spent.Count);
        return new GateDecision(null, service);
    }

    /// <summary>
    /// The tokens a lookup costs (<see cref="LookupPrice"/>). Requests the lookup will refuse anyway (no
    /// CSIs, a null entry, over the batch limit, a bad service id) cost nothing here.
    /// </summary>
    internal static int Charged(LookupRequest? request, DiscoveryOptions options)
    {
        if (request?.Csis is not { Count: > 0 } queries || queries.Count > options.MaxLookupBatch || queries.Any(q => q is null)
            || (request.Service is not null && !MspEntry.IsValidServiceId(request.Service)))
        {
            return 0;
        }

        return LookupPrice.For(queries, options.CsisPerToken);
    }

    /// <summary>
    /// The tokens a lookup carries: in its body (<see cref="LookupRequest.Tokens"/>, the form for a
    /// batch) or as <c>Authorization: PrivateToken</c> credentials (RFC 9577 §2.2, the form for a
    /// <c>GET</c>), not both.
    /// </summary>
    private static bool TryPresented(IReadOnlyList<string> authorization, LookupRequest request, out List<Token> tokens, out ProtocolError<PrivacyPassError> error)
    {
        if (!TryParse(authorization, out tokens, out error))
        {
            return false;
        }

        if (request.Tokens is not { } body)
        {
            return true;
        }

        if (tokens.Count > 0)
        {
            error = new(PrivacyPassError.Malformed, "The lookup carries tokens both in its body and in Authorization; send them in one place (the body for POST /v1/lookup).");
            return false;
        }

        tokens = new List<Token>(body.Count);
        foreach (var encoded in body)
        {
            if (encoded is null || !TryDecodeBase64Url(encoded, out var bytes))
            {
                error = new(PrivacyPassError.Malformed, "Each entry of \"tokens\" is one Token (RFC 9577 §2.2) in base64url.");
                return false;
            }

            if (!Token.TryDecode(bytes, out var token, out error))
            {
                return false;
            }

            tokens.Add(token);
        }

        return true;
    }

    /// <summary>Every PrivateToken credential in the Authorization values, in order; other schemes are skipped.</summary>
    private static bool TryParse(IReadOnlyList<string> authorization, out List<Token> found, out ProtocolError<PrivacyPassError> error)
    {
        found = [];
        error = default;
        foreach (var value in authorization)
        {
            if (!AuthHeaderParser.TryParse(value, out var credentials, out error))
            {
                return false;
            }

            foreach (var (scheme, parameters) in credentials)
            {
                if (!scheme.Equals(PrivateTokenHeaders.Scheme, StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }

                if (!parameters.TryGetValue("token", out var encoded))
                {
                    error = new(PrivacyPassError.Malformed, "A PrivateToken credential has no token parameter: send 'PrivateToken token=\"<base64url Token>\"' once per token.");
                    return false;
                }

                if (!PrivateTokenHeaders.TryDecode(encoded, "token", out var bytes, out error) || !Token.TryDecode(bytes, out var token, out error))
                {
                    return false;
                }

                found.Add(token);
            }
        }

        return true;
    }

    private static bool TryDecodeBase64Url(string text, out byte[] bytes)
    {
        bytes = [];
        if (!Base64Url.IsValid(text))
        {
            return false;
        }

        bytes = Base64Url.DecodeFromChars(text);
        return true;
    }

    /// <summary>A 401 with a PrivateToken challenge for each active key (RFC 9577 §2.1), so the client can fetch tokens and retry.</summary>
    private async Task<GateDecision> RefuseAsync(string code, string detail, CancellationToken cancellationToken)
    {
        var active = await tokens.ActiveKeysAsync(cancellationToken).ConfigureAwait(false);
        var header = PrivateTokenHeaders.FormatChallenges(active.Select(k => new PrivateTokenChallenge(challenge, k.PublicKey.Encoded)));
        return new GateDecision(new Problem(code, StatusCodes.Status401Unauthorized, detail), Challenge: header);
    }

    [LoggerMessage(EventId = 701, Level = LogLevel.Debug, Message = "Redeemed {Count} token(s) for a lookup")]
    private static partial void LogRedeemed(ILogger logger, int count);
}

using System.Buffers.Text;
using Microsoft.Extensions.Options;
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Privacy.Tokens;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Server.Hosting;
using Mimi.Discovery.Server.Storage;
using Mimi.Discovery.Statements;

namespace Mimi.Discovery.Server.Tokens;

/// <summary>
/// The gate when lookups need Privacy Pass tokens (RFC 9577 redemption): one token per distinct
/// valid CSI, each of type 0x0002 under a key of this DP whose epoch is current or in grace,
/// answering this DP's TokenChallenge, with a valid signature and a nonce never spent before. Every
/// token is checked before any is spent, and all are spent in one transaction, so a refused lookup
/// spends nothing. The tokens' key names the sponsoring service the lookup is made for.
/// </summary>
internal sealed partial class PrivacyPassGate(IDiscoveryStore store, IssuerKeyRing keys, TokenService tokens, IOptions<DiscoveryOptions> options, TimeProvider time, ILogger<PrivacyPassGate> log) : ILookupGate
{
    private readonly byte[] challenge = tokens.Challenge.Encode();

    public async Task<GateDecision> AdmitAsync(IReadOnlyList<string> authorization, LookupRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(authorization);
        var needed = Charged(request, options.Value.MaxLookupBatch);
        if (needed == 0)
        {
            return GateDecision.Open;
        }

        List<Token> presented;
        try
        {
            presented = Parse(authorization);
        }
        catch (PrivacyPassException e) when (e.Error == PrivacyPassError.UnsupportedTokenType)
        {
            return await RefuseAsync("token-invalid", "a token is not of type 0x0002 (Blind RSA 2048); obtain tokens from this DP's issuer", cancellationToken).ConfigureAwait(false);
        }
        catch (PrivacyPassException)
        {
            return new GateDecision(new Problem("token-malformed", StatusCodes.Status400BadRequest,
                "an Authorization value is not PrivateToken credentials: send 'PrivateToken token=\"<base64url Token>\"' once per token"));
        }

        if (presented.Count < needed)
        {
            return await RefuseAsync("token-required",
                $"this lookup needs {needed} token(s), one per distinct valid CSI, and carried {presented.Count}; obtain tokens from the issuer in the challenge", cancellationToken).ConfigureAwait(false);
        }

        // Tokens beyond the number needed are neither checked nor spent.
        var redeemed = presented.Take(needed).ToList();
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

        if (!await store.SpendTokensAsync(spent, cancellationToken).ConfigureAwait(false))
        {
            return await RefuseAsync("token-spent", "a token was redeemed before; each token redeems once", cancellationToken).ConfigureAwait(false);
        }

        LogRedeemed(log, spent.Count);
        return new GateDecision(null, service);
    }

    /// <summary>
    /// The tokens a lookup costs: one per distinct valid CSI. Requests the lookup will refuse anyway
    /// (no CSIs, a null entry, over the batch limit, a bad service id) cost nothing here.
    /// </summary>
    internal static int Charged(LookupRequest? request, int maxBatch)
    {
        if (request?.Csis is not { Count: > 0 } queries || queries.Count > maxBatch || queries.Any(q => q is null)
            || (request.Service is not null && !MspEntry.IsValidServiceId(request.Service)))
        {
            return 0;
        }

        return queries.Select(q => CsiParser.Parse(q)).Where(p => p.Success).Select(p => p.Csi!.Uri).Distinct(StringComparer.Ordinal).Count();
    }

    /// <summary>Every PrivateToken credential in the Authorization values, in order; other schemes are skipped.</summary>
    private static List<Token> Parse(IReadOnlyList<string> authorization)
    {
        var found = new List<Token>();
        foreach (var value in authorization)
        {
            foreach (var (scheme, parameters) in AuthHeaderParser.Parse(value))
            {
                if (!scheme.Equals(PrivateTokenHeaders.Scheme, StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }

                found.Add(parameters.TryGetValue("token", out var token)
                    ? Token.Decode(PrivateTokenHeaders.Decode(token, "token"))
                    : throw new PrivacyPassException("A PrivateToken credential has no token parameter."));
            }
        }

        return found;
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

using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Mimi.Discovery.Crypto;
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Server.Hosting;
using Mimi.Discovery.Server.Storage;
using Base64Url = System.Buffers.Text.Base64Url;

namespace Mimi.Discovery.Server.Proofs;

/// <summary>
/// Proof of control, in the request-token / submit-token shape: a CSI and a public key start a
/// proof and a random code goes out through the CSI's channel; the right code, answered in time,
/// gets a credential for that key. Codes are 6 random digits, single-use, expire, allow a few
/// attempts, and are stored only as HMAC-SHA256 under the DP's secret, compared in constant time.
/// Sends are limited so that nobody can lock an owner out: codes outstanding per CSI (per code
/// lifetime, not per hour), codes per client address and CSI, per client address, and globally, all
/// counted in the store so every DP process sees the same counts. A start never touches the codes
/// already sent, so a code delivered stays answerable while it is valid.
/// </summary>
internal sealed partial class ProofService(
    IDiscoveryStore store,
    IRevocationStore issued,
    ChannelRouter channels,
    DataFolder folder,
    IOptions<DiscoveryOptions> options,
    TimeProvider time,
    ILogger<ProofService> logger)
{
    private readonly DiscoveryOptions _options = options.Value;

    public async Task<Outcome<ProofStarted>> StartAsync(ProofRequest? request, string client, CancellationToken cancellationToken)
    {
        if (request?.Csi is null || request.PublicKey is null)
        {
            return Problem.InvalidRequest("send {\"csi\": …, \"publicKey\": {\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":…,\"y\":…}}");
        }

        var parsed = CsiParser.Parse(request.Csi);
        if (!parsed.Success)
        {
            return Problem.InvalidCsi(parsed.Error);
        }

        if (!P256Jwk.TryImport(request.PublicKey, out var key, out var jwkError))
        {
            return new Problem("invalid-public-key", StatusCodes.Status400BadRequest,
                $"publicKey must be an EC P-256 public key as a JWK with kty EC, crv P-256 and base64url x, y of 32 bytes each ({P256Jwk.Describe(jwkError)})");
        }

        string publicKey;
        using (key)
        {
            publicKey = Convert.ToBase64String(key.ExportSubjectPublicKeyInfo());
        }

        var csi = parsed.Csi;
        var channel = channels.For(csi.Kind);
        if (channel is null)
        {
            return new Problem("channel-unavailable", StatusCodes.Status501NotImplemented,
                $"this DP has no delivery channel for {(csi.Kind == CsiKind.Email ? "email addresses" : "phone numbers")}; ask its operator, or use another DP");
        }

        var now = time.GetUtcNow();
        var code = RandomNumberGenerator.GetInt32(0, 1_000_000).ToString("D6", System.Globalization.CultureInfo.InvariantCulture);
        var proof = new StoredProof
        {
            Id = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(16)),
            Csi = csi.Uri,
            PublicKey = publicKey,
            Client = client,
            CodeHash = string.Empty,
            CreatedAt = now.ToUnixTimeSeconds(),
            ExpiresAt = (now + _options.CodeLifetime).ToUnixTimeSeconds(),
        };
        proof = proof with { CodeHash = HashCode(proof.Id, code) };

        var limits = Limits(proof.CreatedAt);
        var hit = await store.CreateProofAsync(proof, limits, cancellationToken).ConfigureAwait(false);
        if (hit != ProofLimitHit.None)
        {
            LogRateLimited(logger, hit);
            var wait = hit == ProofLimitHit.Csi
                ? limits.CsiWindowStart + (long)_options.CodeLifetime.TotalSeconds - proof.CreatedAt
                : limits.WindowStart + (long)_options.SendWindow.TotalSeconds - proof.CreatedAt;
            var minutes = Math.Max(1, (wait + 59) / 60);
            return new Problem("rate-limited", StatusCodes.Status429TooManyRequests, hit switch
            {
                ProofLimitHit.Csi => $"several codes were sent to this identifier recently; answer the one you received, or try again in {minutes} minute(s)",
                ProofLimitHit.ClientAndCsi => $"too many codes for this identifier were requested from your address; try again in {minutes} minute(s)",
                ProofLimitHit.Client => $"too many codes were requested from your address; try again in {minutes} minute(s)",
                _ => $"this DP is sending too many codes right now; try again in {minutes} minute(s)",
            }) { RetryAfterSeconds = wait };
        }

        var lifetime = (int)_options.CodeLifetime.TotalMinutes;
        var text = $"{_options.Name}: your code is {code}. It expires in {lifetime} minutes. If you did not ask for it, ignore this message.";
        try
        {
            await channel.SendAsync(new ChallengeMessage(csi, code, text), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            // Nothing was delivered: the proof goes and its counts come back, so failures never use up
            // a limit. A channel reports its failures as ChannelException; anything else it threw is a
            // failure to deliver all the same, never a 500 that keeps the counts.
            await store.CancelProofAsync(proof, limits, CancellationToken.None).ConfigureAwait(false);
            var reason = e is ChannelException ? e.Message : $"the {channel.Name} channel failed ({e.GetType().Name})";
            LogDeliveryFailed(logger, channel.Name, reason);
            // One sentence whatever failed: a refused recipient must not read differently from a server down.
            return new Problem("delivery-failed", StatusCodes.Status502BadGateway, "the code could not be sent; try again later");
        }

        LogStarted(logger, csi.Kind, channel.Name);
        return new ProofStarted(proof.Id, csi.Uri, channel.Name, DateTimeOffset.FromUnixTimeSeconds(proof.ExpiresAt));
    }

    public async Task<Outcome<CredentialIssued>> AnswerAsync(string id, ProofAnswer? answer, CancellationToken cancellationToken)
    {
        if (answer?.Code is not { Length: > 0 and <= 16 } code)
        {
            return Problem.InvalidRequest("send {\"code\": \"123456\"} with the code you received");
        }

        var now = time.GetUtcNow().ToUnixTimeSeconds();
        var proof = await store.CountAttemptAsync(id, _options.MaxCodeAttempts, now, cancellationToken).ConfigureAwait(false);
        if (proof is null)
        {
            var existing = await store.GetProofAsync(id, cancellationToken).ConfigureAwait(false);
            return existing switch
            {
                null => new Problem("proof-not-found", StatusCodes.Status404NotFound, "no proof has this id; start a new one"),
                { Consumed: true } => new Problem("proof-used", StatusCodes.Status410Gone, "this code was already used; start a new proof for another credential"),
                _ when existing.ExpiresAt <= now => new Problem("proof-expired", StatusCodes.Status410Gone, "the code has expired; start a new proof"),
                _ => new Problem("attempts-exhausted", StatusCodes.Status410Gone, "too many wrong codes; start a new proof"),
            };
        }

        var expected = Convert.FromBase64String(proof.CodeHash);
        var given = Convert.FromBase64String(HashCode(proof.Id, code.Trim()));
        if (!CryptographicOperations.FixedTimeEquals(expected, given))
        {
            var left = _options.MaxCodeAttempts - proof.Attempts;
            LogWrongCode(logger, left);
            return new Problem("code-mismatch", StatusCodes.Status400BadRequest,
                left > 0 ? $"the code is wrong; {left} attempt{(left == 1 ? "" : "s")} left" : "the code is wrong and no attempts are left; start a new proof");
        }

        if (!await store.ConsumeProofAsync(proof.Id, cancellationToken).ConfigureAwait(false))
        {
            return new Problem("proof-used", StatusCodes.Status410Gone, "this code was already used; start a new proof for another credential");
        }

        var csi = CsiParser.ParseOrThrow(proof.Csi);
        using var key = ECDsa.Create();
        key.ImportSubjectPublicKeyInfo(Convert.FromBase64String(proof.PublicKey), out _);
        using var credential = folder.Authority.IssueCredential(csi, key, _options.CredentialLifetime);
        // Recorded before it is handed out: a credential this DP issued can always be revoked here (docs/protocol.md §15).
        await issued.RecordIssuedAsync(new IssuedCredential
        {
            Thumbprint = Statements.Revocation.ThumbprintOf(credential),
            SerialNumber = credential.SerialNumber,
            NotAfter = new DateTimeOffset(credential.NotAfter.ToUniversalTime(), TimeSpan.Zero).ToUnixTimeSeconds(),
            Certificate = Convert.ToBase64String(credential.RawData),
        }, CancellationToken.None).ConfigureAwait(false);
        LogIssued(logger, csi.Kind);
        return new CredentialIssued(credential.ExportCertificatePem(), folder.Authority.ExportCertificatePem());
    }

    /// <summary>
    /// The limits a proof created at <paramref name="now"/> (Unix seconds) counts against: the CSI's
    /// outstanding codes in fixed windows of one code lifetime, the rest in fixed send windows.
    /// </summary>
    private ProofLimits Limits(long now)
    {
        var window = Math.Max(1, (long)_options.SendWindow.TotalSeconds);
        var lifetime = Math.Max(1, (long)_options.CodeLifetime.TotalSeconds);
        return new ProofLimits(now - (now % window), now - (now % lifetime),
            _options.MaxOutstandingPerCsi, _options.MaxSendsPerClientAndCsi, _options.MaxSendsPerClient, _options.MaxSendsGlobal);
    }

    private string HashCode(string proofId, string code) =>
        Convert.ToBase64String(HMACSHA256.HashData(folder.CodeSecret, Encoding.UTF8.GetBytes(proofId + ":" + code)));

    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "Proof of control started for a {Kind} CSI through {Channel}")]
    private static partial void LogStarted(ILogger logger, CsiKind kind, string channel);

    [LoggerMessage(EventId = 101, Level = LogLevel.Warning, Message = "Proof refused: send limit reached ({Limit})")]
    private static partial void LogRateLimited(ILogger logger, ProofLimitHit limit);

    [LoggerMessage(EventId = 102, Level = LogLevel.Error, Message = "Code delivery through {Channel} failed: {Reason}")]
    private static partial void LogDeliveryFailed(ILogger logger, string channel, string reason);

    [LoggerMessage(EventId = 103, Level = LogLevel.Information, Message = "Wrong code answered; {AttemptsLeft} attempts left")]
    private static partial void LogWrongCode(ILogger logger, int attemptsLeft);

    [LoggerMessage(EventId = 104, Level = LogLevel.Information, Message = "Credential issued for a {Kind} CSI")]
    private static partial void LogIssued(ILogger logger, CsiKind kind);
}

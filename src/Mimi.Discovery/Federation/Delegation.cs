// A delegation (docs/protocol.md §11): a DP that is not authoritative for a number prefix or an email
// domain names, in a compact JWS signed with its transparency-log key, the DP that is — its origin,
// the CAs its credentials chain to (accepted only inside the delegated scope), the TLS trust to reach
// it, and its transparency keys. The delegating DP commits every delegation to its log under one
// label per scope element (Labels.DelegationScope), so a silent redirection is visible to monitors.
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Text.Json.Serialization;
using Jose;
using Mimi.Discovery.Credentials;
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Transparency;
using Mimi.Discovery.Verification;
using Base64Url = System.Buffers.Text.Base64Url;

namespace Mimi.Discovery.Federation;

/// <summary>What a delegating DP signs: where the identifiers of <paramref name="Scope"/> are answered.</summary>
/// <param name="Issuer">The delegating DP's origin, e.g. <c>https://root.example/</c>.</param>
/// <param name="Scope">The number prefixes and email domains delegated.</param>
/// <param name="Dp">The delegate's origin.</param>
/// <param name="CredentialCas">The CAs the delegate issues credentials under (trusted only inside <paramref name="Scope"/>).</param>
/// <param name="Transparency">The delegate's transparency keys (its metadata's <c>transparency</c> member).</param>
/// <param name="TlsTrust">CA certificates to trust for the delegate's HTTPS; empty means the system's trust store.</param>
/// <param name="Lifetime">How long the delegation is valid from signing.</param>
/// <param name="Version">Increases with each change to the same delegation (<paramref name="Id"/>).</param>
/// <param name="Id">Names the delegation across versions; null draws a new one.</param>
public sealed record DelegationDraft(
    Uri Issuer,
    CsipScope Scope,
    Uri Dp,
    IReadOnlyList<X509Certificate2> CredentialCas,
    TransparencyKeys Transparency,
    IReadOnlyList<X509Certificate2> TlsTrust,
    TimeSpan Lifetime,
    long Version = 1,
    string? Id = null);

/// <summary>A delegation whose signature, shape and lifetime verified.</summary>
public sealed record Delegation
{
    /// <summary>The JWS <c>typ</c> of a delegation.</summary>
    public const string MediaType = "mimi-delegation+jwt";

    /// <summary>The longest lifetime a delegation may have (a year): a delegation is re-signed, not kept forever.</summary>
    public static readonly TimeSpan MaxLifetime = TimeSpan.FromDays(366);

    /// <summary>The delegating DP's origin.</summary>
    public required Uri Issuer { get; init; }

    /// <summary>Names the delegation across versions (16 random bytes, base64url).</summary>
    public required string Id { get; init; }

    /// <summary>The delegation's version.</summary>
    public required long Version { get; init; }

    /// <summary>What is delegated.</summary>
    public required CsipScope Scope { get; init; }

    /// <summary>The delegate's origin.</summary>
    public required Uri Dp { get; init; }

    /// <summary>The CAs the delegate's credentials chain to.</summary>
    public required IReadOnlyList<X509Certificate2> CredentialCas { get; init; }

    /// <summary>CA certificates for the delegate's HTTPS; empty: the system's.</summary>
    public required IReadOnlyList<X509Certificate2> TlsTrust { get; init; }

    /// <summary>The delegate's transparency keys.</summary>
    public required TransparencyKeys Transparency { get; init; }

    /// <summary>When it was signed.</summary>
    public required DateTimeOffset IssuedAt { get; init; }

    /// <summary>When it stops being valid.</summary>
    public required DateTimeOffset ExpiresAt { get; init; }

    /// <summary>The compact JWS as signed.</summary>
    public required string Token { get; init; }

    /// <summary>
    /// The transparency-log subjects a delegation of <paramref name="element"/> (a number prefix
    /// <c>+33</c> or an email domain <c>example.com</c>) is committed under: <c>tel:+33</c>,
    /// <c>mailto:example.com</c>. Neither is a CSI, so no subject is ever a CSI's label.
    /// </summary>
    public static string Subject(string element)
    {
        ArgumentException.ThrowIfNullOrEmpty(element);
        return element[0] == '+' ? "tel:" + element : "mailto:" + element;
    }

    /// <summary>The element a subject stands for, as an operator writes it: <c>tel:+33</c> → <c>+33</c>, <c>mailto:example.com</c> → <c>example.com</c>.</summary>
    public static string ElementOf(string subject)
    {
        ArgumentException.ThrowIfNullOrEmpty(subject);
        return subject[(subject.IndexOf(':', StringComparison.Ordinal) + 1)..];
    }

    /// <summary>The subjects of every element of <paramref name="scope"/>, in order.</summary>
    public static IReadOnlyList<string> Subjects(CsipScope scope)
    {
        ArgumentNullException.ThrowIfNull(scope);
        return scope.Elements.Select(Subject).ToList();
    }

    /// <summary>
    /// The subjects whose delegation would cover <paramref name="csi"/>, most specific first: for a
    /// phone number each of its prefixes from the whole number down to the country digit; for an
    /// email address its domain (subdomains are delegated on their own, as in <see cref="CsipScope"/>).
    /// </summary>
    public static IReadOnlyList<string> CoveringSubjects(Csi csi)
    {
        ArgumentNullException.ThrowIfNull(csi);
        return csi.Kind == CsiKind.Phone
            ? Enumerable.Range(2, csi.Value.Length - 1).Reverse().Select(n => "tel:" + csi.Value[..n]).ToList()
            : ["mailto:" + csi.EmailDomain];
    }

    /// <summary>Signs a delegation with the delegating DP's log key (ES256, RFC 7515 compact serialisation).</summary>
    /// <exception cref="ArgumentException">The lifetime is not positive or exceeds <see cref="MaxLifetime"/>, no CA is given, the version is below 1, or the keys are malformed.</exception>
    public static string Sign(ECDsa logKey, DelegationDraft draft, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(logKey);
        ArgumentNullException.ThrowIfNull(draft);
        if (draft.Lifetime <= TimeSpan.Zero || draft.Lifetime > MaxLifetime)
        {
            throw new ArgumentException($"A delegation lives more than nothing and at most {MaxLifetime.TotalDays} days.", nameof(draft));
        }

        if (draft.CredentialCas.Count == 0 || draft.Version < 1)
        {
            throw new ArgumentException("A delegation names at least one credential CA and has a version of at least 1.", nameof(draft));
        }

        using (var keys = TransparencyKeyset.FromWire(draft.Transparency))
        {
            if (keys is null)
            {
                throw new ArgumentException("The delegate's transparency keys are malformed.", nameof(draft));
            }
        }

        var now = (time ?? TimeProvider.System).GetUtcNow();
        var payload = new DelegationPayload
        {
            Issuer = HttpsOrigin.Of(draft.Issuer),
            Id = draft.Id ?? Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(16)),
            Version = draft.Version,
            IssuedAt = now.ToUnixTimeSeconds(),
            ExpiresAt = (now + draft.Lifetime).ToUnixTimeSeconds(),
            Scope = draft.Scope.Elements.ToList(),
            Dp = HttpsOrigin.Of(draft.Dp),
            CredentialCas = draft.CredentialCas.Select(c => Convert.ToBase64String(c.RawData)).ToList(),
            TlsTrust = draft.TlsTrust.Count == 0 ? null : draft.TlsTrust.Select(c => Convert.ToBase64String(c.RawData)).ToList(),
            VrfKey = draft.Transparency.VrfKey,
            LogKey = draft.Transparency.LogKey,
        };
        var headers = new Dictionary<string, object> { ["typ"] = MediaType };
        return Crypto.Es256LowS.Normalize(JWT.EncodeBytes(JsonSerializer.SerializeToUtf8Bytes(payload, FederationJson.Default.DelegationPayload), logKey, JwsAlgorithm.ES256, headers));
    }

    /// <summary>
    /// Verifies a delegation: compact JWS with <c>alg</c> ES256 and <c>typ</c> <see cref="MediaType"/>,
    /// the signature under <paramref name="issuerLogKey"/>, <c>iss</c> equal to <paramref name="issuer"/>'s
    /// origin, a well-formed scope, CAs and keys, and validity at <paramref name="now"/> (allowing
    /// <paramref name="maxClockSkew"/> for <c>iat</c>). Never throws for bad input.
    /// </summary>
    /// <param name="jws">The delegation as received.</param>
    /// <param name="issuerLogKey">The referring DP's log key (its metadata's <c>transparency.logKey</c>, or pinned).</param>
    /// <param name="issuer">The DP that referred.</param>
    /// <param name="now">The verifier's clock.</param>
    /// <param name="maxClockSkew">How far ahead of <paramref name="now"/> <c>iat</c> may be.</param>
    public static VerificationResult<Delegation> Verify(string? jws, ECDsa issuerLogKey, Uri issuer, DateTimeOffset now, TimeSpan maxClockSkew)
    {
        ArgumentNullException.ThrowIfNull(issuerLogKey);
        ArgumentNullException.ThrowIfNull(issuer);
        if (string.IsNullOrEmpty(jws) || jws.Length > MaxLength || jws.Split('.') is not { Length: 3 } parts || !parts.All(Crypto.CanonicalBase64Url.Is))
        {
            return Fail(VerificationStatus.Malformed, $"a delegation is a compact JWS (three canonical base64url parts) of at most {MaxLength} characters");
        }

        try
        {
            using var header = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[0]));
            var alg = header.RootElement.TryGetProperty("alg", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString() : null;
            var typ = header.RootElement.TryGetProperty("typ", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
            if (alg != "ES256")
            {
                return Fail(VerificationStatus.UnsupportedAlgorithm, $"algorithm '{HostName.Printable(alg ?? "")}' is not accepted; delegations are signed with ES256");
            }

            if (header.RootElement.TryGetProperty("crit", out _))
            {
                return Fail(VerificationStatus.UnsupportedCriticalHeader, "the header marks extensions critical (crit), and none is understood");
            }

            if (typ != MediaType)
            {
                return Fail(VerificationStatus.WrongType, $"typ is '{HostName.Printable(typ ?? "")}', expected '{MediaType}'");
            }
        }
        catch (Exception e) when (e is JsonException or FormatException)
        {
            return Fail(VerificationStatus.Malformed, "the delegation's protected header is not valid JSON");
        }

        DelegationPayload payload;
        try
        {
            payload = JsonSerializer.Deserialize(JWT.VerifyBytes(jws, issuerLogKey, JwsAlgorithm.ES256), FederationJson.Default.DelegationPayload)!;
        }
        catch (Exception e) when (e is IntegrityException or JoseException or CryptographicException or ArgumentException or FormatException)
        {
            return Fail(VerificationStatus.BadSignature, "the delegation is not signed by the referring DP's log key");
        }
        catch (JsonException)
        {
            return Fail(VerificationStatus.Malformed, "the delegation's payload is not of the expected form");
        }

        if (!string.Equals(payload.Issuer, HttpsOrigin.Of(issuer), StringComparison.Ordinal))
        {
            return Fail(VerificationStatus.InvalidContent, $"the delegation was issued by {HostName.Printable(payload.Issuer)}, not by the referring DP {HttpsOrigin.Of(issuer)}");
        }

        if (!CsipScope.TryParse(payload.Scope, out var scope, out var reason))
        {
            return Fail(VerificationStatus.InvalidContent, "the delegation's scope is malformed: " + reason);
        }

        if (!Uri.TryCreate(payload.Dp, UriKind.Absolute, out var dp) || !HttpsOrigin.Is(dp) || HttpsOrigin.Of(dp) != payload.Dp)
        {
            return Fail(VerificationStatus.InvalidContent, "the delegate is not an https origin");
        }

        if (TransparencyKeyset.FromWire(new TransparencyKeys(payload.VrfKey, payload.LogKey, 0)) is not { } keys)
        {
            return Fail(VerificationStatus.InvalidContent, "the delegate's transparency keys are malformed");
        }

        keys.Dispose();
        var cas = Certificates(payload.CredentialCas);
        var tls = Certificates(payload.TlsTrust ?? []);
        if (cas is not { Count: > 0 } || tls is null || cas.Any(c => !IsCa(c)))
        {
            return Fail(VerificationStatus.InvalidContent, "the delegate's CA or TLS certificates are malformed, missing, or not CA certificates");
        }

        var issued = DateTimeOffset.FromUnixTimeSeconds(payload.IssuedAt);
        var expires = DateTimeOffset.FromUnixTimeSeconds(payload.ExpiresAt);
        if (issued > now + maxClockSkew)
        {
            return Fail(VerificationStatus.NotYetValid, $"the delegation was signed at {issued:u}, after now");
        }

        if (expires <= now || expires - issued > MaxLifetime || payload.Version < 1)
        {
            return Fail(VerificationStatus.Expired, $"the delegation expired at {expires:u} (or claims a lifetime or version out of range)");
        }

        return VerificationResult<Delegation>.Valid(new Delegation
        {
            Issuer = new Uri(payload.Issuer),
            Id = payload.Id,
            Version = payload.Version,
            Scope = scope!,
            Dp = dp,
            CredentialCas = cas,
            TlsTrust = tls,
            Transparency = new TransparencyKeys(payload.VrfKey, payload.LogKey, 0),
            IssuedAt = issued,
            ExpiresAt = expires,
            Token = jws,
        });
    }

    /// <summary>The longest delegation accepted, in characters (a few CA certificates).</summary>
    public const int MaxLength = 32 * 1024;

    private static VerificationResult<Delegation> Fail(VerificationStatus status, string reason) => VerificationResult<Delegation>.Fail(status, reason);

    private static List<X509Certificate2>? Certificates(IReadOnlyList<string> der)
    {
        try
        {
            return der.Select(d => X509CertificateLoader.LoadCertificate(Convert.FromBase64String(d))).ToList();
        }
        catch (Exception e) when (e is FormatException or CryptographicException)
        {
            return null;
        }
    }

    private static bool IsCa(X509Certificate2 certificate) =>
        certificate.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault() is { CertificateAuthority: true };
}

internal sealed class DelegationPayload
{
    [JsonPropertyName("iss")]
    public required string Issuer { get; init; }

    [JsonPropertyName("jti")]
    public required string Id { get; init; }

    [JsonPropertyName("ver")]
    public required long Version { get; init; }

    [JsonPropertyName("iat")]
    public required long IssuedAt { get; init; }

    [JsonPropertyName("exp")]
    public required long ExpiresAt { get; init; }

    [JsonPropertyName("scope")]
    public required IReadOnlyList<string> Scope { get; init; }

    [JsonPropertyName("dp")]
    public required string Dp { get; init; }

    [JsonPropertyName("cas")]
    public required IReadOnlyList<string> CredentialCas { get; init; }

    [JsonPropertyName("tls")]
    public IReadOnlyList<string>? TlsTrust { get; init; }

    [JsonPropertyName("vrfKey")]
    public required string VrfKey { get; init; }

    [JsonPropertyName("logKey")]
    public required string LogKey { get; init; }
}

[JsonSourceGenerationOptions(
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    NumberHandling = JsonNumberHandling.Strict,
    RespectNullableAnnotations = true,
    AllowDuplicateProperties = false,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    MaxDepth = 8)]
[JsonSerializable(typeof(DelegationPayload))]
internal sealed partial class FederationJson : JsonSerializerContext;

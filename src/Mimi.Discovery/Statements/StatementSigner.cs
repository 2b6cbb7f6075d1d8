using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Jose;
using Mimi.Discovery.Credentials;
using Mimi.Discovery.Crypto;
using Mimi.Discovery.Identifiers;
using Base64Url = System.Buffers.Text.Base64Url;

namespace Mimi.Discovery.Statements;

/// <summary>
/// Signs mapping and removal statements as compact JWS (RFC 7515, ES256) with a recipient's or
/// CSIP's key, carrying the credential in the <c>x5c</c> header so any sender can verify it alone.
/// </summary>
public sealed partial class StatementSigner
{
    private readonly ECDsa _key;
    private readonly Credential _credential;
    private readonly string[] _x5c;
    private readonly TimeProvider _time;

    /// <summary>Creates a signer for a key and the credential that binds it.</summary>
    /// <param name="key">The private P-256 key.</param>
    /// <param name="credential">The credential issued for this key.</param>
    /// <param name="intermediates">Any intermediate CA certificates between the credential and a trust anchor.</param>
    /// <param name="time">Clock; the system clock when omitted.</param>
    /// <exception cref="ArgumentException">The credential is malformed or does not bind <paramref name="key"/>.</exception>
    public StatementSigner(ECDsa key, X509Certificate2 credential, IEnumerable<X509Certificate2>? intermediates = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(credential);
        if (!Credential.TryParse(credential, out var parsed, out var reason))
        {
            throw new ArgumentException("The credential is not usable: " + reason, nameof(credential));
        }

        if (!string.Equals(parsed.KeyThumbprint, JwkThumbprint.Compute(key), StringComparison.Ordinal))
        {
            throw new ArgumentException("The credential was issued for a different key.", nameof(credential));
        }

        _key = key;
        _credential = parsed;
        _x5c = [Convert.ToBase64String(credential.RawData), .. (intermediates ?? []).Select(c => Convert.ToBase64String(c.RawData))];
        _time = time ?? TimeProvider.System;
    }

    /// <summary>The credential this signer signs under.</summary>
    public Credential Credential => _credential;

    /// <summary>The mapping id statements from this signer get for <paramref name="audience"/>.</summary>
    public MappingId MappingIdFor(Audience audience)
    {
        ArgumentNullException.ThrowIfNull(audience);
        return new MappingId(_credential.KeyThumbprint, audience.Token);
    }

    /// <summary>Signs a mapping statement.</summary>
    /// <exception cref="ArgumentException">The draft is invalid (CSI not the credential's, bad entries, bad version or expiry).</exception>
    public string SignMapping(MappingDraft draft)
    {
        ArgumentNullException.ThrowIfNull(draft);
        if (_credential.Kind != CredentialKind.Csi || draft.Csi != _credential.Csi)
        {
            throw new ArgumentException($"The credential binds {_credential.Csi?.Uri ?? "a CSIP scope"}, not {draft.Csi}.", nameof(draft));
        }

        if (draft.Version < 1)
        {
            throw new ArgumentException("Versions start at 1.", nameof(draft));
        }

        // Tags are signed in NFC (docs/protocol.md §2, "Tags"), so one tag has one spelling.
        static List<MspEntry> Normalized(IReadOnlyList<MspEntry> list) =>
            list.Select(e => e is null ? null! : e with { Tags = e.Tags.Select(t => t is null ? null! : PreferenceTags.Normalize(t)).ToList() }).ToList();
        var entries = Normalized(draft.Entries);
        if ((PayloadCodec.ValidateEntries(entries) ?? PayloadCodec.ValidateEntryAudiences(draft.Audience, entries)) is { } problem)
        {
            throw new ArgumentException(problem, nameof(draft));
        }

        var now = _time.GetUtcNow();
        var expires = draft.ExpiresAt ?? _credential.NotAfter;
        if (expires <= now || expires > _credential.NotAfter)
        {
            throw new ArgumentException("The statement must expire after now and no later than its credential.", nameof(draft));
        }

        var payload = new MappingPayload
        {
            Csi = draft.Csi.Uri,
            Version = draft.Version,
            IssuedAt = now.ToUnixTimeSeconds(),
            ExpiresAt = expires.ToUnixTimeSeconds(),
            Supersede = draft.Supersede,
            Audience = PayloadCodec.EncodeAudience(draft.Audience),
            Entries = entries.Select(PayloadCodec.EncodeEntry).ToList(),
            Sealed = draft.SealedBoxes is { Count: > 0 } boxes ? boxes
                : draft.SealedRoutes is { Count: > 0 } groups
                ? SealedRoutes.Seal(draft.Csi, groups.Select(g => g is null ? null! : g with { Entries = Normalized(g.Entries ?? []) }).ToList())
                : null,
        };
        return Sign(JsonSerializer.SerializeToUtf8Bytes(payload, WireJson.Writer.MappingPayload), MappingStatement.MediaType,
            new Dictionary<string, object> { ["x5c"] = _x5c });
    }

    /// <summary>
    /// Signs a caller assertion (a PASSporT, RFC 8225): this credential's CSI is the originator of a
    /// communication to <paramref name="destinations"/>, now. Recipients check it with
    /// <see cref="Verification.CallerAssertionVerifier"/>.
    /// </summary>
    /// <param name="destinations">1 to <see cref="CallerAssertion.MaxDestinations"/> recipients.</param>
    /// <returns>The compact JWS.</returns>
    /// <exception cref="ArgumentException">A CSIP credential (it names no originator), or no or too many destinations.</exception>
    public string SignCallerAssertion(IReadOnlyList<Csi> destinations)
    {
        ArgumentNullException.ThrowIfNull(destinations);
        if (_credential.Kind != CredentialKind.Csi)
        {
            throw new ArgumentException("A caller assertion is signed under a single-CSI credential; a CSIP credential names no originator.", nameof(destinations));
        }

        if (destinations.Count is 0 or > CallerAssertion.MaxDestinations || destinations.Any(d => d is null))
        {
            throw new ArgumentException($"A caller assertion names 1 to {CallerAssertion.MaxDestinations} destinations.", nameof(destinations));
        }

        var orig = _credential.Csi!;
        var tn = destinations.Where(d => d.Kind == CsiKind.Phone).Select(CallerAssertion.TelephoneNumber).Distinct(StringComparer.Ordinal).ToList();
        var uri = destinations.Where(d => d.Kind == CsiKind.Email).Select(d => d.Uri).Distinct(StringComparer.Ordinal).ToList();
        var payload = new PassportPayload
        {
            Dest = new PassportDestinations { Tn = tn.Count > 0 ? tn : null, Uri = uri.Count > 0 ? uri : null },
            IssuedAt = _time.GetUtcNow().ToUnixTimeSeconds(),
            Orig = orig.Kind == CsiKind.Phone ? new PassportOriginator { Tn = CallerAssertion.TelephoneNumber(orig) } : new PassportOriginator { Uri = orig.Uri },
        };
        return Sign(JsonSerializer.SerializeToUtf8Bytes(payload, WireJson.Writer.PassportPayload), CallerAssertion.MediaType,
            new Dictionary<string, object> { ["x5c"] = _x5c });
    }

    /// <summary>Signs a removal under this signer's credential (owner, successor or CSIP removal).</summary>
    /// <exception cref="ArgumentException">The draft does not fit the credential (see <see cref="RemovalStatement.Covers(MappingStatement)"/>).</exception>
    public string SignRemoval(RemovalDraft draft)
    {
        ArgumentNullException.ThrowIfNull(draft);
        if (_credential.Kind == CredentialKind.Csi && draft.Csi != _credential.Csi)
        {
            throw new ArgumentException($"The credential binds {_credential.Csi}, not {draft.Csi}.", nameof(draft));
        }

        if (_credential.Kind == CredentialKind.Csip && !_credential.Scope!.Covers(draft.Csi))
        {
            throw new ArgumentException($"The CSIP scope ({_credential.Scope}) does not cover {draft.Csi}.", nameof(draft));
        }

        return Sign(EncodeRemoval(draft, _time), RemovalStatement.MediaType, new Dictionary<string, object> { ["x5c"] = _x5c });
    }

    /// <summary>
    /// Signs a reassignment feed (docs/protocol.md §16) under this signer's CSIP credential: the
    /// identifiers that changed hands, each with the time it did. CSIs outside the credential's scope
    /// are signed as given; the DP refuses each of them on its own and applies the rest.
    /// </summary>
    /// <param name="reassignments">1 to <see cref="ReassignmentFeed.MaxReassignments"/> identifiers, each once, none reassigned after now.</param>
    /// <param name="id">The feed's <c>jti</c> (1–128 of A–Z a–z 0–9 - _); a random one when omitted. A DP applies an id once.</param>
    /// <returns>The compact JWS (<c>typ</c> <c>mimi-reassignments+jws</c>).</returns>
    /// <exception cref="ArgumentException">Not a CSIP credential; no, too many or repeated identifiers; a time after now; a malformed id; or the feed longer than <see cref="ReassignmentFeed.MaxLength"/>.</exception>
    public string SignReassignmentFeed(IReadOnlyList<Reassignment> reassignments, string? id = null)
    {
        ArgumentNullException.ThrowIfNull(reassignments);
        if (_credential.Kind != CredentialKind.Csip)
        {
            throw new ArgumentException("A reassignment feed is signed under a CSIP credential.", nameof(reassignments));
        }

        if (reassignments.Count is 0 or > ReassignmentFeed.MaxReassignments || reassignments.Any(r => r is null || r.Csi is null))
        {
            throw new ArgumentException($"A feed lists 1 to {ReassignmentFeed.MaxReassignments} identifiers.", nameof(reassignments));
        }

        if (reassignments.Select(r => r.Csi.Uri).Distinct(StringComparer.Ordinal).Count() != reassignments.Count)
        {
            throw new ArgumentException("A feed lists each identifier once.", nameof(reassignments));
        }

        var now = _time.GetUtcNow();
        if (reassignments.Any(r => r.At.ToUnixTimeSeconds() > now.ToUnixTimeSeconds()))
        {
            throw new ArgumentException("A reassignment time lies after now.", nameof(reassignments));
        }

        id ??= Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(16));
        if (!ReassignmentFeed.IsValidId(id))
        {
            throw new ArgumentException("A feed id is 1–128 of A–Z a–z 0–9 - _.", nameof(id));
        }

        var payload = new ReassignmentPayload
        {
            Id = id,
            IssuedAt = now.ToUnixTimeSeconds(),
            Reassigned = reassignments.Select(r => new ReassignmentEntryPayload { At = r.At.ToUnixTimeSeconds(), Csi = r.Csi.Uri }).ToList(),
        };
        var token = Sign(JsonSerializer.SerializeToUtf8Bytes(payload, WireJson.Writer.ReassignmentPayload), ReassignmentFeed.MediaType,
            new Dictionary<string, object> { ["x5c"] = _x5c });
        return token.Length <= ReassignmentFeed.MaxLength ? token
            : throw new ArgumentException($"The feed is {token.Length} characters long; the limit is {ReassignmentFeed.MaxLength}: split it.", nameof(reassignments));
    }

    /// <summary>
    /// Signs an owner removal with the bare key, no credential: it stays possible after the
    /// credential has expired. The verifier matches the key against the mapping's own.
    /// </summary>
    /// <exception cref="ArgumentException">No version is given, or the key is not P-256.</exception>
    public static string SignOwnerRemoval(ECDsa key, RemovalDraft draft, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(draft);
        if (draft.Version is null || draft.Supersede)
        {
            throw new ArgumentException("An owner removal names the highest version it removes and does not supersede.", nameof(draft));
        }

        var publicJwk = P256Jwk.Export(key); // rejects keys not on P-256
        var jwk = new Dictionary<string, object> { ["kty"] = publicJwk.Kty, ["crv"] = publicJwk.Crv, ["x"] = publicJwk.X, ["y"] = publicJwk.Y };
        return Sign(key, EncodeRemoval(draft, time ?? TimeProvider.System), RemovalStatement.MediaType,
            new Dictionary<string, object> { ["jwk"] = jwk });
    }

    private static byte[] EncodeRemoval(RemovalDraft draft, TimeProvider time) =>
        JsonSerializer.SerializeToUtf8Bytes(new RemovalPayload
        {
            Csi = draft.Csi.Uri,
            IssuedAt = time.GetUtcNow().ToUnixTimeSeconds(),
            Target = draft.Target?.ToString() ?? "*",
            Version = draft.Version,
            Supersede = draft.Supersede,
        }, WireJson.Writer.RemovalPayload);

    private string Sign(byte[] payload, string type, Dictionary<string, object> headers) => Sign(_key, payload, type, headers);

    private static string Sign(ECDsa key, byte[] payload, string type, Dictionary<string, object> headers)
    {
        headers["typ"] = type;

        // One statement, one serialisation: the low-S form (docs/protocol.md §2, "Signature form").
        return Crypto.Es256LowS.Normalize(JWT.EncodeBytes(payload, key, JwsAlgorithm.ES256, headers));
    }
}

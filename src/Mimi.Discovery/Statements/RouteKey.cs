// Route keys: the secret a recipient hands to one contact or one group, out of band, so they can
// open the routes sealed for them (appendix B journeys 5 and 6). docs/protocol.md §2, "Sealed routes".
using System.Security.Cryptography;
using Mimi.Discovery.Identifiers;

namespace Mimi.Discovery.Statements;

/// <summary>
/// A route key: 32 random bytes that open the routes a recipient sealed for one contact or group
/// (<see cref="SealedRoutes"/>), for one CSI. Handed over as a <c>mimi-route:</c> link (<see cref="ToLink"/>),
/// as text, a file or a QR code.
/// </summary>
public sealed class RouteKey
{
    /// <summary>The key's length in bytes.</summary>
    public const int Length = 32;

    /// <summary>The link scheme.</summary>
    public const string Scheme = "mimi-route";

    internal const int MaxNameLength = 64;

    private readonly byte[] _secret;

    private RouteKey(string name, Csi csi, byte[] secret)
    {
        Name = name;
        Csi = csi;
        _secret = secret;
    }

    /// <summary>The contact's or group's name as the recipient chose it (<c>soccer-parents</c>): 1–64 of <c>A-Z a-z 0-9 . - _</c>. Never on the wire of a statement.</summary>
    public string Name { get; }

    /// <summary>The identifier whose sealed routes this key opens.</summary>
    public Csi Csi { get; }

    /// <summary>The secret.</summary>
    public ReadOnlySpan<byte> Secret => _secret;

    /// <summary>A fresh key for <paramref name="csi"/> from <see cref="RandomNumberGenerator"/>.</summary>
    /// <exception cref="ArgumentException">The name is not 1–64 of <c>A-Z a-z 0-9 . - _</c>.</exception>
    public static RouteKey Create(string name, Csi csi) => FromSecret(name, csi, RandomNumberGenerator.GetBytes(Length));

    /// <summary>A key from its 32 secret bytes.</summary>
    /// <exception cref="ArgumentException">The name is invalid or the secret is not 32 bytes.</exception>
    public static RouteKey FromSecret(string name, Csi csi, ReadOnlySpan<byte> secret)
    {
        ArgumentNullException.ThrowIfNull(csi);
        if (!IsValidName(name))
        {
            throw new ArgumentException($"a route key's name is 1–{MaxNameLength} of A-Z a-z 0-9 . - _", nameof(name));
        }

        return secret.Length == Length ? new RouteKey(name, csi, secret.ToArray()) : throw new ArgumentException($"a route key is {Length} bytes", nameof(secret));
    }

    /// <summary>Whether <paramref name="name"/> may name a route key.</summary>
    public static bool IsValidName(string? name) =>
        name is { Length: > 0 and <= MaxNameLength } && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_');

    /// <summary>
    /// The link form, <c>mimi-route:?v=1&amp;csi=&lt;CSI URI, percent-encoded&gt;&amp;name=&lt;name&gt;&amp;k=&lt;base64url key&gt;</c>:
    /// one line, fit for a QR code. Whoever holds it opens the routes sealed with this key; hand it over privately.
    /// </summary>
    public string ToLink() =>
        $"{Scheme}:?v=1&csi={Uri.EscapeDataString(Csi.Uri)}&name={Name}&k={System.Buffers.Text.Base64Url.EncodeToString(_secret)}";

    /// <summary>Reads a <see cref="ToLink"/> link; a malformed one is a reason, never an exception.</summary>
    public static bool TryParseLink(string? link, out RouteKey key, out string reason)
    {
        key = null!;
        var prefix = Scheme + ":?";
        if (link is null || !link.Trim().StartsWith(prefix, StringComparison.Ordinal) || link.Length > 1024)
        {
            reason = $"a route key link starts with '{prefix}'";
            return false;
        }

        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in link.Trim()[prefix.Length..].Split('&'))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || !fields.TryAdd(pair[..eq], pair[(eq + 1)..]))
            {
                reason = "a route key link holds v, csi, name and k once each, as key=value";
                return false;
            }
        }

        if (fields.Count != 4 || fields.GetValueOrDefault("v") != "1")
        {
            reason = "a route key link holds exactly v=1, csi, name and k";
            return false;
        }

        var csi = CsiParser.Parse(Uri.UnescapeDataString(fields.GetValueOrDefault("csi") ?? ""));
        if (!csi.Success || csi.Csi.Uri != Uri.UnescapeDataString(fields["csi"]))
        {
            reason = "the link's csi is not a canonical CSI URI";
            return false;
        }

        if (!IsValidName(fields.GetValueOrDefault("name")))
        {
            reason = $"the link's name is not 1–{MaxNameLength} of A-Z a-z 0-9 . - _";
            return false;
        }

        if (SealedRoutes.DecodeCanonical(fields.GetValueOrDefault("k") ?? "") is not { Length: Length } secret)
        {
            reason = $"the link's key is not {Length} bytes of canonical base64url";
            return false;
        }

        key = new RouteKey(fields["name"], csi.Csi, secret);
        reason = string.Empty;
        return true;
    }
}

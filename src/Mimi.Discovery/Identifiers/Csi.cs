namespace Mimi.Discovery.Identifiers;

/// <summary>The kind of a cross-service identifier.</summary>
public enum CsiKind
{
    /// <summary>An E.164 telephone number, written <c>tel:+15551234567</c>.</summary>
    Phone,

    /// <summary>An email address, written <c>mailto:bob@example.com</c>.</summary>
    Email,
}

/// <summary>
/// A cross-service identifier (CSI) in canonical form: an E.164 phone number or an email address.
/// Two CSIs are equal exactly when their canonical URIs are equal, so a CSI can key a directory.
/// </summary>
/// <remarks>Obtain one through <see cref="CsiParser"/>; the constructor is not public so every
/// instance is canonical. <c>docs/protocol.md</c> lists the canonicalisation rules.</remarks>
public sealed class Csi : IEquatable<Csi>
{
    internal Csi(CsiKind kind, string value)
    {
        Kind = kind;
        Value = value;
        Uri = kind == CsiKind.Phone ? "tel:" + value : "mailto:" + MailtoEscape(value);
    }

    /// <summary>Whether this is a phone number or an email address.</summary>
    public CsiKind Kind { get; }

    /// <summary>The bare canonical value: <c>+15551234567</c> or <c>bob@example.com</c>.</summary>
    public string Value { get; }

    /// <summary>The canonical URI: <c>tel:+15551234567</c> or <c>mailto:bob@example.com</c>.</summary>
    public string Uri { get; }

    /// <summary>For an email CSI, the domain (an IDNA A-label, lower case); otherwise <see langword="null"/>.</summary>
    public string? EmailDomain => Kind == CsiKind.Email ? Value[(Value.LastIndexOf('@') + 1)..] : null;

    /// <summary>Parses any string into a CSI; see <see cref="CsiParser.Parse"/>.</summary>
    public static CsiParseResult Parse(string? input, string? defaultRegion = null) => CsiParser.Parse(input, defaultRegion);

    /// <inheritdoc/>
    public bool Equals(Csi? other) => other is not null && string.Equals(Uri, other.Uri, StringComparison.Ordinal);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as Csi);

    /// <inheritdoc/>
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Uri);

    /// <summary>The canonical URI.</summary>
    public override string ToString() => Uri;

    /// <summary>Compares two CSIs by canonical URI.</summary>
    public static bool operator ==(Csi? left, Csi? right) => left is null ? right is null : left.Equals(right);

    /// <summary>Compares two CSIs by canonical URI.</summary>
    public static bool operator !=(Csi? left, Csi? right) => !(left == right);

    // RFC 6068 §2: in a mailto URI '%' introduces an escape, '?' the header fields and '#' a
    // fragment, so the local part's atext characters of those three are percent-encoded, and the
    // canonical URI parses back to itself.
    private static string MailtoEscape(string address) =>
        address.IndexOfAny(['%', '?', '#']) < 0 ? address
            : address.Replace("%", "%25", StringComparison.Ordinal).Replace("?", "%3F", StringComparison.Ordinal).Replace("#", "%23", StringComparison.Ordinal);
}

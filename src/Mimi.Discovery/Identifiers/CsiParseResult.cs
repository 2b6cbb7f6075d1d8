using System.Diagnostics.CodeAnalysis;

namespace Mimi.Discovery.Identifiers;

/// <summary>Why a string is not a CSI.</summary>
public enum CsiError
{
    /// <summary>Parsed successfully.</summary>
    None,

    /// <summary>The input was null, empty or white space.</summary>
    Empty,

    /// <summary>The input is longer than any identifier can be.</summary>
    TooLong,

    /// <summary>The input contains a control or otherwise invisible character.</summary>
    ControlCharacter,

    /// <summary>The input looks like neither a phone number nor an email address.</summary>
    UnrecognisedForm,

    /// <summary>A national phone number was given without a region to interpret it.</summary>
    PhoneRegionRequired,

    /// <summary>The phone number could not be parsed.</summary>
    PhoneUnparsable,

    /// <summary>The phone number parses but is not a valid, assignable number in its numbering plan.</summary>
    PhoneNotAssignable,

    /// <summary>The phone number carries an extension or URI parameters, which a CSI cannot.</summary>
    PhoneHasExtension,

    /// <summary>The local part of the email address is quoted; quoted forms are not supported.</summary>
    EmailQuotedLocalPart,

    /// <summary>The local part contains characters outside the RFC 5322 dot-atom form (ASCII only).</summary>
    EmailInvalidLocalPart,

    /// <summary>The local part exceeds 64 octets (RFC 5321 §4.5.3.1.1).</summary>
    EmailLocalPartTooLong,

    /// <summary>The domain is not a valid host name (IDNA, LDH rules, lengths) or is an address literal.</summary>
    EmailInvalidDomain,

    /// <summary>The address exceeds 254 octets (RFC 5321 path limit less the angle brackets).</summary>
    EmailTooLong,

    /// <summary>The mailto URI carries headers, several addresses or bad percent-encoding.</summary>
    EmailInvalidUri,
}

/// <summary>The outcome of parsing a CSI: either <see cref="Csi"/> or an <see cref="Error"/> with a reason.</summary>
public readonly record struct CsiParseResult
{
    private CsiParseResult(Csi? csi, CsiError error, string reason)
    {
        Csi = csi;
        Error = error;
        Reason = reason;
    }

    /// <summary>The canonical identifier, when parsing succeeded.</summary>
    public Csi? Csi { get; }

    /// <summary>Why parsing failed, or <see cref="CsiError.None"/>.</summary>
    public CsiError Error { get; }

    /// <summary>A sentence a person can act on; empty on success.</summary>
    public string Reason { get; }

    /// <summary>Whether <see cref="Csi"/> holds a value.</summary>
    [MemberNotNullWhen(true, nameof(Csi))]
    public bool Success => Csi is not null;

    internal static CsiParseResult Ok(Csi csi) => new(csi, CsiError.None, string.Empty);

    internal static CsiParseResult Fail(CsiError error, string reason) => new(null, error, reason);
}

namespace Mimi.Discovery.Privacy.Ohttp;

/// <summary>Why a Binary HTTP message (RFC 9292) could not be decoded.</summary>
public enum BinaryHttpError
{
    /// <summary>The message ends inside a length, a field line, the control data, a field section or the content.</summary>
    Truncated = 1,

    /// <summary>The bytes break the format: a bad status code, an invalid field name or value, or non-zero padding.</summary>
    Malformed,

    /// <summary>The message uses indeterminate-length framing (indicator 2 or 3), which this implementation does not accept.</summary>
    IndeterminateLength,

    /// <summary>A request was expected and a response came, or the other way round, or the framing indicator is unknown.</summary>
    UnexpectedMessageType,

    /// <summary>The message, a field section, the field count or the content is over the configured <see cref="BinaryHttpLimits"/>.</summary>
    TooLarge,
}

/// <summary>Size limits a decoder enforces before it allocates, so that a hostile length cannot exhaust memory.</summary>
public sealed record BinaryHttpLimits
{
    /// <summary>The limits used when none are given: 1 MiB messages and content, 64 KiB field sections of at most 256 lines.</summary>
    public static BinaryHttpLimits Default { get; } = new();

    /// <summary>The largest encoded message, padding included.</summary>
    public int MaxMessageLength { get; init; } = 1 << 20;

    /// <summary>The largest header or trailer section, in encoded bytes.</summary>
    public int MaxFieldSectionLength { get; init; } = 64 << 10;

    /// <summary>The most field lines in one section.</summary>
    public int MaxFieldLines { get; init; } = 256;

    /// <summary>The largest content.</summary>
    public int MaxContentLength { get; init; } = 1 << 20;

    /// <summary>The most informational (1xx) responses before the final response.</summary>
    public int MaxInformationalResponses { get; init; } = 8;
}

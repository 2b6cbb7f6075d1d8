namespace Mimi.Discovery.Privacy.Ohttp;

/// <summary>
/// One field line of a Binary HTTP header or trailer section. Names are tokens (RFC 9292 §3.6 with RFC 9110 §5.1),
/// conventionally lowercase; values are octets carried as Latin-1 characters, so any byte survives a round trip.
/// </summary>
/// <param name="Name">The field name, e.g. <c>content-type</c>.</param>
/// <param name="Value">The field value, without CR, LF or NUL and without whitespace at either end.</param>
public readonly record struct BinaryHttpField(string Name, string Value);

/// <summary>An informational (1xx) response that precedes a final response (RFC 9292 §3.5.1).</summary>
public sealed class BinaryHttpInformationalResponse
{
    /// <summary>Creates an informational response.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="statusCode"/> is not in 100–199.</exception>
    public BinaryHttpInformationalResponse(int statusCode, IEnumerable<BinaryHttpField>? fields = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(statusCode, 100);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(statusCode, 199);
        StatusCode = statusCode;
        Fields = [.. fields ?? []];
    }

    /// <summary>The 1xx status code.</summary>
    public int StatusCode { get; }

    /// <summary>The response's header fields.</summary>
    public IList<BinaryHttpField> Fields { get; }
}

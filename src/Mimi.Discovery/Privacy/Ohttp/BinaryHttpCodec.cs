// RFC 9292 §3: the known-length encoding. Integers are QUIC variable-length integers (RFC 9000 §16).
using System.Buffers;
using System.Text;

namespace Mimi.Discovery.Privacy.Ohttp;

/// <summary>Reads a known-length Binary HTTP message strictly, enforcing <see cref="BinaryHttpLimits"/>.</summary>
internal ref struct BinaryHttpReader
{
    private readonly ReadOnlySpan<byte> _input;
    private readonly BinaryHttpLimits _limits;
    private int _position;

    public BinaryHttpReader(ReadOnlySpan<byte> input, BinaryHttpLimits limits)
    {
        if (input.Length > limits.MaxMessageLength)
        {
            throw new ProtocolException<BinaryHttpError>(BinaryHttpError.TooLarge, $"The message is {input.Length} bytes; the limit is {limits.MaxMessageLength}.");
        }

        _input = input;
        _limits = limits;
    }

    public readonly bool AtEnd => _position == _input.Length;

    // §3.3: 0 and 1 are the known-length request and response, 2 and 3 their indeterminate-length forms.
    public void ReadFramingIndicator(int expected)
    {
        var framing = ReadVarInt("framing indicator");
        if (framing is 2 or 3)
        {
            throw new ProtocolException<BinaryHttpError>(BinaryHttpError.IndeterminateLength, "Indeterminate-length Binary HTTP messages are not accepted; send the known-length form.");
        }

        if (framing != (ulong)expected)
        {
            throw new ProtocolException<BinaryHttpError>(BinaryHttpError.UnexpectedMessageType, expected == 0
                ? "A Binary HTTP request was expected (framing indicator 0)."
                : "A Binary HTTP response was expected (framing indicator 1).");
        }
    }

    public ulong ReadVarInt(string what)
    {
        if (!QuicVarInt.TryRead(_input[_position..], out var value, out var length))
        {
            throw Truncated(what);
        }

        _position += length;
        return value;
    }

    public ReadOnlySpan<byte> ReadLengthPrefixed(string what, int limit)
    {
        var length = ReadVarInt(what);
        if (length > (ulong)limit)
        {
            throw new ProtocolException<BinaryHttpError>(BinaryHttpError.TooLarge, $"The {what} is {length} bytes; the limit is {limit}.");
        }

        if ((ulong)(_input.Length - _position) < length)
        {
            throw Truncated(what);
        }

        var value = _input.Slice(_position, (int)length);
        _position += (int)length;
        return value;
    }

    // §3.6 Known-Length Field Section: a length, then field lines that must fill it exactly.
    public List<BinaryHttpField> ReadFieldSection(string what)
    {
        var section = new BinaryHttpReader(ReadLengthPrefixed(what, _limits.MaxFieldSectionLength), _limits);
        var fields = new List<BinaryHttpField>();
        while (!section.AtEnd)
        {
            if (fields.Count == _limits.MaxFieldLines)
            {
                throw new ProtocolException<BinaryHttpError>(BinaryHttpError.TooLarge, $"The {what} has more than {_limits.MaxFieldLines} field lines.");
            }

            var name = section.ReadLengthPrefixed("field name", _limits.MaxFieldSectionLength);
            var value = section.ReadLengthPrefixed("field value", _limits.MaxFieldSectionLength);
            if (!BinaryHttpText.IsFieldName(name))
            {
                throw new ProtocolException<BinaryHttpError>(BinaryHttpError.Malformed, "A field name is not a token (RFC 9110 §5.1); pseudo-fields are not accepted.");
            }

            if (!BinaryHttpText.IsFieldValue(value))
            {
                throw new ProtocolException<BinaryHttpError>(BinaryHttpError.Malformed, "A field value contains CR, LF or NUL, or starts or ends with whitespace.");
            }

            fields.Add(new BinaryHttpField(Encoding.Latin1.GetString(name), Encoding.Latin1.GetString(value)));
        }

        return fields;
    }

    // §3.8: a message may end after the header section or the content (missing parts are empty); after the
    // trailers only zero padding may follow. We also accept an end right after the control data (empty header
    // section omitted too), because RFC 9458 Appendix A sends exactly that: the response 0x0140c8.
    public List<BinaryHttpField> ReadHeaderSectionOrEnd() => AtEnd ? [] : ReadFieldSection("header section");

    public (byte[] Content, List<BinaryHttpField> Trailers) ReadContentTrailersAndPadding()
    {
        if (AtEnd)
        {
            return ([], []);
        }

        var content = ReadLengthPrefixed("content", _limits.MaxContentLength).ToArray();
        if (AtEnd)
        {
            return (content, []);
        }

        var trailers = ReadFieldSection("trailer section");
        if (_input[_position..].IndexOfAnyExcept((byte)0) >= 0)
        {
            throw new ProtocolException<BinaryHttpError>(BinaryHttpError.Malformed, "Padding after the trailer section must be zero bytes.");
        }

        _position = _input.Length;
        return (content, trailers);
    }

    private static ProtocolException<BinaryHttpError> Truncated(string what) =>
        new(BinaryHttpError.Truncated, $"The message ends inside the {what}.");
}

/// <summary>Writes the known-length encoding.</summary>
internal sealed class BinaryHttpWriter
{
    private readonly ArrayBufferWriter<byte> _buffer = new();

    public void WriteVarInt(ulong value)
    {
        Span<byte> bytes = stackalloc byte[8];
        _buffer.Write<byte>(bytes[..QuicVarInt.Write(bytes, value)]);
    }

    public void WriteLengthPrefixed(ReadOnlySpan<byte> value)
    {
        WriteVarInt((ulong)value.Length);
        _buffer.Write(value);
    }

    public void WriteText(string value) => WriteLengthPrefixed(Encoding.Latin1.GetBytes(value));

    public void WriteFieldSection(IEnumerable<BinaryHttpField> fields, string what)
    {
        var section = new BinaryHttpWriter();
        foreach (var field in fields)
        {
            if (!BinaryHttpText.IsFieldName(field.Name))
            {
                throw new ArgumentException($"The {what} field name '{field.Name}' is not a token.", nameof(fields));
            }

            if (!BinaryHttpText.IsFieldValue(field.Value))
            {
                throw new ArgumentException($"The {what} field '{field.Name}' has a value with CR, LF, NUL, a character above U+00FF, or whitespace at either end.", nameof(fields));
            }

            section.WriteText(field.Name);
            section.WriteText(field.Value);
        }

        WriteLengthPrefixed(section.ToArray());
    }

    public void WritePadding(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        _buffer.GetSpan(length)[..length].Clear();
        _buffer.Advance(length);
    }

    public byte[] ToArray() => _buffer.WrittenSpan.ToArray();
}

/// <summary>The character rules for control data and fields (RFC 9110 §5.1, §5.5, §9.1).</summary>
internal static class BinaryHttpText
{
    private static readonly SearchValues<byte> Tchar = SearchValues.Create("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"u8);

    // RFC 9292 §3.6: a name is an RFC 9110 §5.1 token, so pseudo-fields (":status") are refused too.
    public static bool IsFieldName(ReadOnlySpan<byte> name) => IsToken(name);

    public static bool IsFieldName(string name) => IsToken(name);

    // RFC 9292 §3.6 takes the RFC 9113 §8.2.1 rule: no NUL, CR or LF, and no leading or trailing SP or HTAB.
    public static bool IsFieldValue(ReadOnlySpan<byte> value) =>
        value.IndexOfAny((byte)0, (byte)'\r', (byte)'\n') < 0 && (value.IsEmpty || (!IsBlank(value[0]) && !IsBlank(value[^1])));

    public static bool IsFieldValue(string value) =>
        value.All(c => c <= 0xff && c is not ('\0' or '\r' or '\n')) && (value.Length == 0 || (!IsBlank(value[0]) && !IsBlank(value[^1])));

    public static bool IsToken(ReadOnlySpan<byte> value) => !value.IsEmpty && !value.ContainsAnyExcept(Tchar);

    public static bool IsToken(string value) => value.Length > 0 && value.All(c => c < 0x80 && Tchar.Contains((byte)c));

    // Scheme, authority and path: visible ASCII only (no spaces or controls), possibly empty.
    public static bool IsVisible(ReadOnlySpan<byte> value) => !value.ContainsAnyExceptInRange((byte)0x21, (byte)0x7e);

    public static bool IsVisible(string value) => value.All(c => c is >= '!' and <= '~');

    private static bool IsBlank(int c) => c is ' ' or '\t';
}

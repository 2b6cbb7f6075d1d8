// RFC 9292 §3.5 (response control data, informational responses) in the known-length form: framing indicator 1.
using System.Diagnostics.CodeAnalysis;

namespace Mimi.Discovery.Privacy.Ohttp;

/// <summary>
/// An HTTP response in the known-length Binary HTTP encoding (RFC 9292). Informational (1xx) responses before
/// the final one are decoded and kept in <see cref="InformationalResponses"/>.
/// </summary>
public sealed class BinaryHttpResponse
{
    /// <summary>Creates a final response.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="statusCode"/> is not in 200–599.</exception>
    public BinaryHttpResponse(int statusCode)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(statusCode, 200);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(statusCode, 599);
        StatusCode = statusCode;
    }

    /// <summary>The final status code.</summary>
    public int StatusCode { get; }

    /// <summary>Informational responses sent before the final one, in order.</summary>
    public IList<BinaryHttpInformationalResponse> InformationalResponses { get; } = [];

    /// <summary>The header fields, in order.</summary>
    public IList<BinaryHttpField> Headers { get; } = [];

    /// <summary>The content.</summary>
    public ReadOnlyMemory<byte> Content { get; set; }

    /// <summary>The trailer fields, in order.</summary>
    public IList<BinaryHttpField> Trailers { get; } = [];

    /// <summary>Encodes the response, every section written out, followed by <paramref name="paddingLength"/> zero bytes.</summary>
    /// <exception cref="ArgumentException">A field name is not a token, or a value has CR, LF, NUL, a character above U+00FF, or whitespace at either end.</exception>
    public byte[] Encode(int paddingLength = 0)
    {
        var writer = new BinaryHttpWriter();
        writer.WriteVarInt(1);
        foreach (var informational in InformationalResponses)
        {
            writer.WriteVarInt((ulong)informational.StatusCode);
            writer.WriteFieldSection(informational.Fields, "informational");
        }

        writer.WriteVarInt((ulong)StatusCode);
        writer.WriteFieldSection(Headers, "header");
        writer.WriteLengthPrefixed(Content.Span);
        writer.WriteFieldSection(Trailers, "trailer");
        writer.WritePadding(paddingLength);
        return writer.ToArray();
    }

    /// <summary>Decodes a known-length response strictly.</summary>
    /// <param name="encoded">The <c>message/bhttp</c> bytes.</param>
    /// <param name="limits">Size limits; <see cref="BinaryHttpLimits.Default"/> when null.</param>
    /// <exception cref="ProtocolException{BinaryHttpError}">The bytes are not a valid known-length response; <see cref="ProtocolException{TError}.Error"/> says why.</exception>
    public static BinaryHttpResponse Decode(ReadOnlySpan<byte> encoded, BinaryHttpLimits? limits = null)
    {
        limits ??= BinaryHttpLimits.Default;
        var reader = new BinaryHttpReader(encoded, limits);
        reader.ReadFramingIndicator(1);
        var informational = new List<BinaryHttpInformationalResponse>();
        ulong status;
        while ((status = reader.ReadVarInt("status code")) is >= 100 and <= 199)
        {
            if (informational.Count == limits.MaxInformationalResponses)
            {
                throw new ProtocolException<BinaryHttpError>(BinaryHttpError.TooLarge, $"The response has more than {limits.MaxInformationalResponses} informational responses.");
            }

            informational.Add(new BinaryHttpInformationalResponse((int)status, reader.ReadFieldSection("informational response")));
        }

        if (status is < 200 or > 599)
        {
            throw new ProtocolException<BinaryHttpError>(BinaryHttpError.Malformed, $"The status code {status} is not a final status (200–599).");
        }

        var response = new BinaryHttpResponse((int)status);
        foreach (var i in informational)
        {
            response.InformationalResponses.Add(i);
        }

        foreach (var field in reader.ReadHeaderSectionOrEnd())
        {
            response.Headers.Add(field);
        }

        var (content, trailers) = reader.ReadContentTrailersAndPadding();
        response.Content = content;
        foreach (var field in trailers)
        {
            response.Trailers.Add(field);
        }

        return response;
    }

    /// <summary>Decodes a known-length response strictly (RFC 9292 §3); never throws for bad input.</summary>
    /// <param name="encoded">The <c>message/bhttp</c> bytes.</param>
    /// <param name="response">The decoded message.</param>
    /// <param name="error">Which check failed, with a sentence: the <see cref="BinaryHttpError"/> cases of <see cref="Decode"/>.</param>
    /// <param name="limits">Size limits; <see cref="BinaryHttpLimits.Default"/> when null.</param>
    /// <returns>Whether the bytes are a valid known-length message.</returns>
    public static bool TryDecode(ReadOnlySpan<byte> encoded, [NotNullWhen(true)] out BinaryHttpResponse? response, out ProtocolError<BinaryHttpError> error, BinaryHttpLimits? limits = null)
        => ProtocolErrors.Try(encoded, limits, static (bytes, l) => Decode(bytes, l), out response, out error);
}

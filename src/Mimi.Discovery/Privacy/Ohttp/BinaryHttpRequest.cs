// RFC 9292 §3.4 (request control data) in the known-length form (§3.2): framing indicator 0.
using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace Mimi.Discovery.Privacy.Ohttp;

/// <summary>An HTTP request in the known-length Binary HTTP encoding (RFC 9292), the <c>message/bhttp</c> an OHTTP request carries.</summary>
public sealed class BinaryHttpRequest
{
    /// <summary>Creates a request from its control data.</summary>
    /// <param name="method">The method token, e.g. <c>POST</c>.</param>
    /// <param name="scheme">The scheme, e.g. <c>https</c>.</param>
    /// <param name="authority">The authority (host and port), possibly empty when a <c>host</c> field carries it.</param>
    /// <param name="path">The path and query, e.g. <c>/lookup</c>.</param>
    /// <exception cref="ArgumentException">The method is not a token, or the others contain spaces or control characters.</exception>
    public BinaryHttpRequest(string method, string scheme, string authority, string path)
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(scheme);
        ArgumentNullException.ThrowIfNull(authority);
        ArgumentNullException.ThrowIfNull(path);
        if (!BinaryHttpText.IsToken(method))
        {
            throw new ArgumentException("The method must be a non-empty token.", nameof(method));
        }

        if (!BinaryHttpText.IsVisible(scheme) || !BinaryHttpText.IsVisible(authority) || !BinaryHttpText.IsVisible(path))
        {
            throw new ArgumentException("Scheme, authority and path must be visible ASCII characters.", nameof(path));
        }

        Method = method;
        Scheme = scheme;
        Authority = authority;
        Path = path;
    }

    /// <summary>The method.</summary>
    public string Method { get; }

    /// <summary>The scheme.</summary>
    public string Scheme { get; }

    /// <summary>The authority; empty when absent.</summary>
    public string Authority { get; }

    /// <summary>The path and query.</summary>
    public string Path { get; }

    /// <summary>The header fields, in order.</summary>
    public IList<BinaryHttpField> Headers { get; } = [];

    /// <summary>The content.</summary>
    public ReadOnlyMemory<byte> Content { get; set; }

    /// <summary>The trailer fields, in order.</summary>
    public IList<BinaryHttpField> Trailers { get; } = [];

    /// <summary>Encodes the request, every section written out, followed by <paramref name="paddingLength"/> zero bytes.</summary>
    /// <exception cref="ArgumentException">A field name is not a token, or a value has CR, LF, NUL, a character above U+00FF, or whitespace at either end.</exception>
    public byte[] Encode(int paddingLength = 0)
    {
        var writer = new BinaryHttpWriter();
        writer.WriteVarInt(0);
        writer.WriteText(Method);
        writer.WriteText(Scheme);
        writer.WriteText(Authority);
        writer.WriteText(Path);
        writer.WriteFieldSection(Headers, "header");
        writer.WriteLengthPrefixed(Content.Span);
        writer.WriteFieldSection(Trailers, "trailer");
        writer.WritePadding(paddingLength);
        return writer.ToArray();
    }

    /// <summary>Decodes a known-length request strictly.</summary>
    /// <param name="encoded">The <c>message/bhttp</c> bytes.</param>
    /// <param name="limits">Size limits; <see cref="BinaryHttpLimits.Default"/> when null.</param>
    /// <exception cref="ProtocolException{BinaryHttpError}">The bytes are not a valid known-length request; <see cref="ProtocolException{TError}.Error"/> says why.</exception>
    public static BinaryHttpRequest Decode(ReadOnlySpan<byte> encoded, BinaryHttpLimits? limits = null)
    {
        limits ??= BinaryHttpLimits.Default;
        var reader = new BinaryHttpReader(encoded, limits);
        reader.ReadFramingIndicator(0);
        var method = reader.ReadLengthPrefixed("method", limits.MaxFieldSectionLength);
        var scheme = reader.ReadLengthPrefixed("scheme", limits.MaxFieldSectionLength);
        var authority = reader.ReadLengthPrefixed("authority", limits.MaxFieldSectionLength);
        var path = reader.ReadLengthPrefixed("path", limits.MaxFieldSectionLength);
        if (!BinaryHttpText.IsToken(method))
        {
            throw new ProtocolException<BinaryHttpError>(BinaryHttpError.Malformed, "The request method is not a token.");
        }

        if (!BinaryHttpText.IsVisible(scheme) || !BinaryHttpText.IsVisible(authority) || !BinaryHttpText.IsVisible(path))
        {
            throw new ProtocolException<BinaryHttpError>(BinaryHttpError.Malformed, "The request scheme, authority or path contains a space or a control character.");
        }

        var request = new BinaryHttpRequest(Encoding.ASCII.GetString(method), Encoding.ASCII.GetString(scheme), Encoding.ASCII.GetString(authority), Encoding.ASCII.GetString(path));
        foreach (var field in reader.ReadHeaderSectionOrEnd())
        {
            request.Headers.Add(field);
        }

        var (content, trailers) = reader.ReadContentTrailersAndPadding();
        request.Content = content;
        foreach (var field in trailers)
        {
            request.Trailers.Add(field);
        }

        return request;
    }

    /// <summary>Decodes a known-length request strictly (RFC 9292 §3); never throws for bad input.</summary>
    /// <param name="encoded">The <c>message/bhttp</c> bytes.</param>
    /// <param name="request">The decoded message.</param>
    /// <param name="error">Which check failed, with a sentence: the <see cref="BinaryHttpError"/> cases of <see cref="Decode"/>.</param>
    /// <param name="limits">Size limits; <see cref="BinaryHttpLimits.Default"/> when null.</param>
    /// <returns>Whether the bytes are a valid known-length message.</returns>
    public static bool TryDecode(ReadOnlySpan<byte> encoded, [NotNullWhen(true)] out BinaryHttpRequest? request, out ProtocolError<BinaryHttpError> error, BinaryHttpLimits? limits = null)
        => ProtocolErrors.Try(encoded, limits, static (bytes, l) => Decode(bytes, l), out request, out error);
}

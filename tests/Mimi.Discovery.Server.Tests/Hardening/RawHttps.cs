using System.Net.Security;
using System.Net.Sockets;
using System.Text;

namespace Mimi.Discovery.Server.Tests.Hardening;

/// <summary>
/// Sends one request exactly as written over TLS (HTTP/1.1), for what HttpClient will not send:
/// a forged Host header, a NUL in the path, headers past every client limit.
/// </summary>
internal static class RawHttps
{
    /// <summary>The answer: its status (0 when the server closed without one), headers and body as text.</summary>
    internal sealed record Answer(int Status, IReadOnlyDictionary<string, string> Headers, string Body)
    {
        public string? ContentType => Headers.TryGetValue("content-type", out var value) ? value : null;
    }

    /// <summary>Sends to <paramref name="dp"/>, trusting exactly the certificate in <paramref name="certificateFile"/>.</summary>
    public static async Task<Answer> SendAsync(Uri dp, string certificateFile, string method, string target, IEnumerable<string>? headers = null, string? body = null, string? host = null)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(dp.Host, dp.Port);
        using var trusted = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(File.ReadAllText(certificateFile));
        await using var tls = new SslStream(tcp.GetStream(), false, (_, certificate, _, _) => certificate is not null && certificate.GetCertHashString() == trusted.Thumbprint);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            ApplicationProtocols = [SslApplicationProtocol.Http11],
        });
        var request = new StringBuilder();
        request.Append(method).Append(' ').Append(target).Append(" HTTP/1.1\r\n");
        request.Append("Host: ").Append(host ?? dp.Authority).Append("\r\n");
        foreach (var header in headers ?? [])
        {
            request.Append(header).Append("\r\n");
        }

        var content = Encoding.UTF8.GetBytes(body ?? string.Empty);
        if (body is not null)
        {
            request.Append("Content-Length: ").Append(content.Length).Append("\r\n");
        }

        request.Append("Connection: close\r\n\r\n");
        try
        {
            await tls.WriteAsync(Encoding.UTF8.GetBytes(request.ToString()));
            await tls.WriteAsync(content);
            await tls.FlushAsync();
        }
        catch (IOException)
        {
            // The server may answer and close before reading everything; read what it said.
        }

        using var received = new MemoryStream();
        try
        {
            await tls.CopyToAsync(received);
        }
        catch (IOException)
        {
            // A reset after the answer.
        }

        var text = Encoding.UTF8.GetString(received.ToArray());
        var split = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (split < 0)
        {
            return new Answer(0, new Dictionary<string, string>(), text);
        }

        var lines = text[..split].Split("\r\n");
        var status = int.Parse(lines[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        var fields = lines.Skip(1).Select(l => l.Split(':', 2)).GroupBy(p => p[0].Trim().ToLowerInvariant()).ToDictionary(g => g.Key, g => g.Last()[1].Trim());
        var payload = text[(split + 4)..];
        if (fields.TryGetValue("transfer-encoding", out var encoding) && encoding.Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            payload = Dechunk(payload);
        }

        return new Answer(status, fields, payload);
    }

    private static string Dechunk(string chunked)
    {
        var output = new StringBuilder();
        var position = 0;
        while (position < chunked.Length)
        {
            var end = chunked.IndexOf("\r\n", position, StringComparison.Ordinal);
            var size = Convert.ToInt32(chunked[position..end].Split(';')[0], 16);
            if (size == 0)
            {
                break;
            }

            output.Append(chunked, end + 2, size);
            position = end + 2 + size + 2;
        }

        return output.ToString();
    }
}

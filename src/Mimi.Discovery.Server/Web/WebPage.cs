using System.Collections.Frozen;
using System.Security.Cryptography;
using Microsoft.Net.Http.Headers;

namespace Mimi.Discovery.Server.Web;

/// <summary>
/// Serves the recipient's web page (<c>/app/</c>): static files embedded in this assembly
/// (<c>Web/app/</c>), each with a strict Content-Security-Policy — scripts, styles and requests
/// only from this origin, no inline code, never framed — so the page runs nothing but the code
/// the DP ships here (docs/privacy.md, "The web page"). The page needs no cookie.
/// </summary>
internal static class WebPage
{
    /// <summary>Where the page lives.</summary>
    public const string BasePath = "/app/";

    /// <summary>
    /// The policy on every file: only this origin's scripts, styles, images and fetches; no
    /// inline script or style, no plugins, no base-URI or form redirection, no framing.
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        + "font-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private const string ResourcePrefix = "mimi-web/";

    private static readonly FrozenDictionary<string, string> ContentTypes = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [".html"] = "text/html; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".svg"] = "image/svg+xml",
        [".txt"] = "text/plain; charset=utf-8",
    }.ToFrozenDictionary(StringComparer.Ordinal);

    private static readonly FrozenDictionary<string, StaticFile> Files = LoadFiles();

    /// <summary>Maps <c>GET /app/{file}</c>; <c>/app</c> redirects to <c>/app/</c>, so the page's relative links resolve.</summary>
    public static IEndpointRouteBuilder MapWebPage(this IEndpointRouteBuilder app)
    {
        app.MapGet(BasePath + "{file?}", Serve).ExcludeFromDescription();
        return app;
    }

    private static IResult Serve(string? file, HttpContext context)
    {
        if (string.IsNullOrEmpty(file) && !context.Request.Path.Value!.EndsWith('/'))
        {
            return Results.Redirect(BasePath);
        }

        if (!Files.TryGetValue(string.IsNullOrEmpty(file) ? "index.html" : file, out var found))
        {
            return new Problem("not-found", StatusCodes.Status404NotFound, "the web page has no such file; open " + BasePath).ToResult();
        }

        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers[HeaderNames.XFrameOptions] = "DENY";
        headers["Referrer-Policy"] = "no-referrer";
        headers["Cross-Origin-Opener-Policy"] = "same-origin";
        headers["Cross-Origin-Resource-Policy"] = "same-origin";
        headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=()";

        // Revalidated on every load, so a page open after an upgrade runs the new code, not a mix.
        headers.CacheControl = "no-cache";
        headers.ETag = found.ETag;
        if (context.Request.Headers.IfNoneMatch.Contains(found.ETag))
        {
            return Results.StatusCode(StatusCodes.Status304NotModified);
        }

        return Results.Bytes(found.Body, found.ContentType);
    }

    private static FrozenDictionary<string, StaticFile> LoadFiles()
    {
        var assembly = typeof(WebPage).Assembly;
        var files = new Dictionary<string, StaticFile>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            var body = buffer.ToArray();
            var fileName = name[ResourcePrefix.Length..];
            var type = ContentTypes.GetValueOrDefault(Path.GetExtension(fileName), "application/octet-stream");
            files[fileName] = new StaticFile(body, type, "\"" + Convert.ToHexStringLower(SHA256.HashData(body).AsSpan(0, 16)) + "\"");
        }

        return files.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private sealed record StaticFile(byte[] Body, string ContentType, string ETag);
}

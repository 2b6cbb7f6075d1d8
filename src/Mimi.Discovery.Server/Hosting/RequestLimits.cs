using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Mimi.Discovery.Server.Hosting;

/// <summary>
/// Header limits enforced in the pipeline, so that a request over them is answered 431 as
/// problem+json (<c>headers-too-large</c>) instead of Kestrel's bare 431 or an HTTP/2 stream reset.
/// Kestrel's own limits are raised to a hard ceiling above these; only a request beyond that
/// ceiling (or one Kestrel cannot parse at all, such as a NUL in the path) still gets Kestrel's
/// bare answer (docs/protocol.md, "Errors").
/// </summary>
internal static class RequestLimits
{
    /// <summary>Most bytes of all request headers together (names, values and 4 bytes of framing each), as Kestrel's default.</summary>
    public const int MaxHeaderBytes = 32 << 10;

    /// <summary>Most request header fields, as Kestrel's default.</summary>
    public const int MaxHeaderCount = 100;

    /// <summary>The ceiling Kestrel itself enforces for the headers' total size, and for one HTTP/2 field.</summary>
    public const int KestrelHeaderBytes = 1 << 20;

    public const string HeadersTooLargeDetail = "the request headers exceed this DP's limit (32 KiB, 100 fields); send fewer or shorter headers";

    /// <summary>Lets requests up to the hard ceiling reach the pipeline, where <see cref="UseRequestLimits"/> refuses them properly.</summary>
    public static void RaiseKestrelHeaderLimits(KestrelServerLimits limits)
    {
        limits.MaxRequestHeadersTotalSize = KestrelHeaderBytes;
        limits.MaxRequestHeaderCount = 4 * MaxHeaderCount;
        limits.Http2.MaxRequestHeaderFieldSize = KestrelHeaderBytes;
    }

    public static IApplicationBuilder UseRequestLimits(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        var headers = context.Request.Headers;
        var total = 0L;
        foreach (var (name, values) in headers)
        {
            total += name.Length + 4;
            foreach (var value in values)
            {
                total += value?.Length ?? 0;
            }
        }

        if (total > MaxHeaderBytes || headers.Count > MaxHeaderCount)
        {
            context.Response.StatusCode = StatusCodes.Status431RequestHeaderFieldsTooLarge;
            await context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
            {
                HttpContext = context,
                ProblemDetails = new Problem("headers-too-large", StatusCodes.Status431RequestHeaderFieldsTooLarge, HeadersTooLargeDetail).ToProblemDetails(),
            }).ConfigureAwait(false);
            return;
        }

        await next(context).ConfigureAwait(false);
    });
}

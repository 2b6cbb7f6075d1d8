namespace Mimi.Discovery.Server.Hosting;

/// <summary>
/// One log line per request: method, route pattern (never the raw path, which may hold a CSI),
/// the peer address, status and duration. Through a relay the peer is the relay, so the DP's
/// logs never pair a sender's address with a query that came obliviously. Logged at Debug (one
/// line per request is costly at thousands of lookups a second); turn it on with
/// <c>Logging:LogLevel:Mimi.Discovery.Server.Access=Debug</c>.
/// </summary>
internal static partial class AccessLog
{
    public static IApplicationBuilder UseAccessLog(this IApplicationBuilder app)
    {
        // One logger for the host's life: creating it per request takes the factory's lock on every lookup.
        var logger = app.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger("Mimi.Discovery.Server.Access");
        return app.Use(async (context, next) =>
        {
            if (!logger.IsEnabled(LogLevel.Debug))
            {
                await next(context).ConfigureAwait(false);
                return;
            }

            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            await next(context).ConfigureAwait(false);
            var route = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "(no route)";
            var peer = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
            var elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            LogRequest(logger, context.Request.Method, route, peer, context.Response.StatusCode, elapsed);
        });
    }

    [LoggerMessage(EventId = 500, Level = LogLevel.Debug, Message = "{Method} {Route} from {Peer} -> {Status} in {Milliseconds:F1} ms")]
    private static partial void LogRequest(ILogger logger, string method, string route, string peer, int status, double milliseconds);
}

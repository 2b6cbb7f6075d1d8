using System.Data.Common;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.Data.Sqlite;

namespace Mimi.Discovery.Server.Hosting;

/// <summary>
/// Turns a database that cannot be reached (PostgreSQL stopped or restarting, the network to it cut,
/// SQLite busy or out of disk) into 503 <c>store-unavailable</c> with <c>Retry-After</c>, instead of
/// a 500: the request can be repeated. (Only a change whose commit reached the database just before
/// it went away is kept; repeating it then answers <c>version-not-newer</c>.) Other failures stay 500
/// <c>server-error</c>.
/// </summary>
internal sealed partial class StoreOutage(IProblemDetailsService problems, ILogger<StoreOutage> logger) : IExceptionHandler
{
    /// <summary>What <c>Retry-After</c> says: a restart or fail-over takes seconds.</summary>
    public const int RetryAfterSeconds = 5;

    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (!IsOutage(exception))
        {
            return false;
        }

        LogOutage(logger, exception.GetType().Name);
        httpContext.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        httpContext.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var problem = new Problem("store-unavailable", StatusCodes.Status503ServiceUnavailable,
            $"the DP's database cannot be reached right now; retry in {RetryAfterSeconds} seconds (a change that reached the database just before is kept, and answers version-not-newer when repeated)");
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = problem.ToProblemDetails(),
        }).ConfigureAwait(false);
    }

    /// <summary>Whether <paramref name="exception"/> (or what it wraps) says the database is unreachable rather than that a request or the code is wrong.</summary>
    public static bool IsOutage(Exception exception) => exception switch
    {
        SqliteException e => e.SqliteErrorCode is 5 /* BUSY */ or 6 /* LOCKED */ or 10 /* IOERR */ or 13 /* FULL */ or 14 /* CANTOPEN */,
        DbException { IsTransient: true } => true,
        TimeoutException => true,
        AggregateException or InvalidOperationException when exception.InnerException is { } inner => IsOutage(inner),
        _ => false,
    };

    [LoggerMessage(EventId = 800, Level = LogLevel.Warning, Message = "The database cannot be reached ({Kind}); answered 503")]
    private static partial void LogOutage(ILogger logger, string kind);
}

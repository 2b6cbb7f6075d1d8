using Microsoft.AspNetCore.Diagnostics;

namespace Mimi.Discovery.Server.Hosting;

/// <summary>
/// The last exception handler: a request that failed is logged by the exception's type and stack
/// alone, never its message, which may quote a third party (a database, a mail server) or a CSI.
/// The framework's own line, which carries the message, is suppressed. A request the server
/// refused while reading it (<see cref="BadHttpRequestException"/>: a body over the limit, a
/// malformed header) answers its own status (413, 400, 408…) as problem+json, not 500.
/// </summary>
internal sealed partial class FailureLog(ILogger<FailureLog> logger) : IExceptionHandler
{
    /// <summary>Sets the status of a refused read and turns the framework's exception log line off.</summary>
    public static void Configure(ExceptionHandlerOptions options)
    {
        options.StatusCodeSelector = exception => exception is BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status500InternalServerError;
        options.SuppressDiagnosticsCallback = _ => true;
    }

    public ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is BadHttpRequestException bad)
        {
            LogRefused(logger, bad.StatusCode);
        }
        else
        {
            LogFailed(logger, Describe(exception));
        }

        // Not handled: the problem details service writes the answer.
        return ValueTask.FromResult(false);
    }

    /// <summary>The exception's type and stack trace, and those of what it wraps, without any message.</summary>
    internal static string Describe(Exception exception)
    {
        var text = new System.Text.StringBuilder();
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            text.Append(text.Length == 0 ? string.Empty : " <- ").Append(e.GetType().FullName).AppendLine().Append(e.StackTrace).AppendLine();
        }

        return text.ToString();
    }

    [LoggerMessage(EventId = 801, Level = LogLevel.Debug, Message = "A request was refused while it was read: HTTP {Status}")]
    private static partial void LogRefused(ILogger logger, int status);

    [LoggerMessage(EventId = 802, Level = LogLevel.Error, Message = "A request failed with an unhandled {Failure}")]
    private static partial void LogFailed(ILogger logger, string failure);
}

using System.Diagnostics.CodeAnalysis;

namespace Mimi.Discovery.Privacy;

/// <summary>
/// Why a decoder refused attacker-controlled bytes, returned by the <c>Try…</c> forms (for example
/// <see cref="Ohttp.OhttpGateway.TryDecapsulateRequest"/>): each area defines only its error enum
/// (<see cref="Hpke.HpkeError"/>, <see cref="Ohttp.OhttpError"/>, <see cref="Ohttp.BinaryHttpError"/>,
/// <see cref="Tokens.PrivacyPassError"/>), which a server maps to its own problem response.
/// </summary>
/// <typeparam name="TError">The area's error enum.</typeparam>
/// <param name="Code">Which check failed; stable.</param>
/// <param name="Message">One sentence saying what is wrong, for logs and problem details; never carries secrets.</param>
public readonly record struct ProtocolError<TError>(TError Code, string Message)
    where TError : struct, Enum
{
    /// <summary>The exception the throwing form raises for this error.</summary>
    public ProtocolException<TError> ToException() => new(Code, Message);
}

/// <summary>
/// The throwing form of <see cref="ProtocolError{TError}"/>, for callers that have no recovery:
/// an HPKE, Oblivious HTTP, Binary HTTP or Privacy Pass input was refused; <see cref="Error"/> says why.
/// </summary>
/// <typeparam name="TError">The area's error enum.</typeparam>
[SuppressMessage("Design", "CA1032:Implement standard exception constructors", Justification = "Every instance carries an error code; there is no meaningful default.")]
public sealed class ProtocolException<TError> : Exception
    where TError : struct, Enum
{
    /// <summary>Creates an exception with an error code and a sentence saying what is wrong.</summary>
    public ProtocolException(TError error, string message)
        : base(message) => Error = error;

    /// <summary>Creates an exception with an error code, a sentence and the cause.</summary>
    public ProtocolException(TError error, string message, Exception innerException)
        : base(message, innerException) => Error = error;

    /// <summary>What went wrong.</summary>
    public TError Error { get; }

    /// <summary>The error as a value, for the <c>Try…</c> forms.</summary>
    public ProtocolError<TError> ToError() => new(Error, Message);
}

/// <summary>A decoder over bytes and a state (limits, a count), so that <see cref="ProtocolErrors.Try"/> can run it.</summary>
internal delegate TResult SpanDecoder<in TState, out TResult>(ReadOnlySpan<byte> input, TState state);

/// <summary>The one bridge from a reader that reports its first failed check by throwing to a <c>Try…</c> form.</summary>
internal static class ProtocolErrors
{
    public static bool Try<TState, TResult, TError>(ReadOnlySpan<byte> input, TState state, SpanDecoder<TState, TResult> decode, [NotNullWhen(true)] out TResult? result, out ProtocolError<TError> error)
        where TResult : class
        where TError : struct, Enum
    {
        try
        {
            result = decode(input, state);
            error = default;
            return true;
        }
        catch (ProtocolException<TError> e)
        {
            result = null;
            error = e.ToError();
            return false;
        }
    }
}

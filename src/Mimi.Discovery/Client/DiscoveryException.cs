namespace Mimi.Discovery.Client;

/// <summary>A Discovery Provider refused a request (RFC 9457 problem details) or answered something unusable.</summary>
public sealed class DiscoveryException : Exception
{
    /// <summary>Creates an exception for a refused request.</summary>
    public DiscoveryException(int status, string code, string detail)
        : base($"{detail} ({code}, HTTP {status})")
    {
        Status = status;
        Code = code;
        Detail = detail;
    }

    /// <summary>Creates an exception with a message only.</summary>
    public DiscoveryException(string message)
        : this(0, "client-error", message)
    {
    }

    /// <summary>Creates an exception with a message and a cause.</summary>
    public DiscoveryException(string message, Exception innerException)
        : base(message, innerException)
    {
        Code = "transport-error";
        Detail = message;
    }

    /// <summary>Creates an empty exception.</summary>
    public DiscoveryException()
        : this("the Discovery Provider request failed")
    {
    }

    /// <summary>HTTP status, or 0 when the failure happened in the client.</summary>
    public int Status { get; }

    /// <summary>The DP's stable error code, e.g. <c>version-not-newer</c>.</summary>
    public string Code { get; }

    /// <summary>The DP's sentence saying what to fix.</summary>
    public string Detail { get; }
}

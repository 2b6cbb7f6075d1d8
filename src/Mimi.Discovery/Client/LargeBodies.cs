namespace Mimi.Discovery.Client;

/// <summary>
/// Large request bodies are sent with <c>Expect: 100-continue</c> (RFC 9110 §10.1.1). A relay or DP
/// that refuses the size answers 413 before the upload starts; without it the server answers while
/// the client is still writing and closes the connection, which the client sees as a broken pipe
/// rather than the refusal (so an address-book batch could not be halved and sent again).
/// </summary>
internal static class LargeBodies
{
    /// <summary>Bodies larger than this (bytes) wait for 100 Continue, one round trip; smaller ones are under any limit a relay or DP sets.</summary>
    public const int ExpectContinueAbove = 16 << 10;

    /// <summary>Asks for 100 Continue when a body of <paramref name="length"/> bytes is large.</summary>
    public static void ExpectContinueIfLarge(HttpRequestMessage request, long length)
    {
        if (length > ExpectContinueAbove)
        {
            request.Headers.ExpectContinue = true;
        }
    }
}

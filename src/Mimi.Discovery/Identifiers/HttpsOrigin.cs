namespace Mimi.Discovery.Identifiers;

/// <summary>
/// The origin of a Discovery Provider (RFC 6454 §4: scheme, host, port) as the protocol writes it
/// wherever one DP names another — delegations, peers, <c>_mimi-dp</c> records, referral chains:
/// <c>https://host[:port]/</c>, the port only when not 443.
/// </summary>
internal static class HttpsOrigin
{
    /// <summary>Whether <paramref name="url"/> is an absolute https URL with nothing after the authority (no path but "/", no query, fragment or user info).</summary>
    public static bool Is(Uri url)
    {
        ArgumentNullException.ThrowIfNull(url);
        return url.IsAbsoluteUri && url.Scheme == Uri.UriSchemeHttps && url.AbsolutePath == "/" && url.Query.Length == 0
               && url.Fragment.Length == 0 && url.UserInfo.Length == 0 && url.Host.Length > 0;
    }

    /// <summary>The origin of <paramref name="url"/> in the protocol's form, e.g. <c>https://dp.example/</c>.</summary>
    public static string Of(Uri url)
    {
        ArgumentNullException.ThrowIfNull(url);
        return url.GetLeftPart(UriPartial.Authority) + "/";
    }
}

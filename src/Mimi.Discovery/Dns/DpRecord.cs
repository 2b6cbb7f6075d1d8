namespace Mimi.Discovery.Dns;

/// <summary>
/// A TXT record naming the Discovery Provider authoritative for an email domain or a number range
/// (docs/protocol.md §11, "Named in the DNS"): <c>v=MIMIDP1; u=https://dp.example/</c>, at
/// <see cref="DiscoveryNames.DpTxtNames"/>. Fields are <c>key=value</c> separated by <c>;</c>;
/// <c>v</c> comes first; <c>u</c> is the DP's https origin; unknown keys are ignored, as MIMI records'.
/// </summary>
public static class DpRecord
{
    /// <summary>The version tag.</summary>
    public const string Version = "MIMIDP1";

    /// <summary>The record text naming <paramref name="dp"/>.</summary>
    public static string Format(Uri dp)
    {
        ArgumentNullException.ThrowIfNull(dp);
        return $"v={Version}; u={Identifiers.HttpsOrigin.Of(dp)}";
    }

    /// <summary>Reads a record; false with a reason when it is not one or is malformed.</summary>
    public static bool TryParse(string text, out Uri? dp, out string reason)
    {
        ArgumentNullException.ThrowIfNull(text);
        dp = null;
        var fields = text.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(f => f.Split('=', 2, StringSplitOptions.TrimEntries))
            .ToList();
        if (fields.Count == 0 || fields[0] is not ["v", Version])
        {
            reason = $"not a v={Version} record";
            return false;
        }

        var urls = fields.Where(f => f is ["u", _]).Select(f => f[1]).ToList();
        if (urls.Count != 1 || !Uri.TryCreate(urls[0], UriKind.Absolute, out var uri) || !Identifiers.HttpsOrigin.Is(uri))
        {
            reason = "u= must appear once and be an https origin such as https://dp.example/";
            return false;
        }

        dp = uri;
        reason = string.Empty;
        return true;
    }
}

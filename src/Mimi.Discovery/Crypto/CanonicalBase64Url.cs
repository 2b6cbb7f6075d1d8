namespace Mimi.Discovery.Crypto;

/// <summary>Canonical base64url (RFC 4648 §3.5), for the parts of a compact JWS.</summary>
internal static class CanonicalBase64Url
{
    // RFC 4648 §3.5: an encoder sets the unused low bits of the last character to zero. Decoders
    // ignore them, so without this check a statement would have up to 16 spellings that all verify
    // (a signature's last character changed from 'A' to 'B' still verifies): one statement, one text.
    public static bool Is(string part)
    {
        if (part.Length % 4 == 1)
        {
            return false;
        }

        var unusedBits = (part.Length % 4) switch { 2 => 4, 3 => 2, _ => 0 };
        if (unusedBits == 0)
        {
            return true;
        }

        var last = part[^1];
        var value = last switch
        {
            >= 'A' and <= 'Z' => last - 'A',
            >= 'a' and <= 'z' => last - 'a' + 26,
            >= '0' and <= '9' => last - '0' + 52,
            '-' => 62,
            _ => 63,
        };
        return (value & ((1 << unusedBits) - 1)) == 0;
    }
}

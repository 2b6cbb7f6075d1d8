using System.Buffers.Text;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Mimi.Discovery.Tests;

/// <summary>Builds compact JWS by hand, so tests can make statements no honest signer would.</summary>
internal static class Crafted
{
    public static string Jws(string headerJson, string payloadJson, ECDsa key)
    {
        var input = Encode(headerJson) + "." + Encode(payloadJson);
        return input + "." + Base64Url.EncodeToString(key.SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256));
    }

    public static string Hs256(string headerJson, string payloadJson, byte[] secret)
    {
        var input = Encode(headerJson) + "." + Encode(payloadJson);
        return input + "." + Base64Url.EncodeToString(HMACSHA256.HashData(secret, Encoding.ASCII.GetBytes(input)));
    }

    public static string Header(string typ, params X509Certificate2[] chain) =>
        $$"""{"alg":"ES256","typ":"{{typ}}","x5c":[{{string.Join(",", chain.Select(c => "\"" + Convert.ToBase64String(c.RawData) + "\""))}}]}""";

    public static string Encode(string json) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(json));

    public static string Decode(string part) => Encoding.UTF8.GetString(Base64Url.DecodeFromChars(part));

    public static string MappingPayload(string csi, long iat, long exp, string entries = "[]", string extra = "") =>
        $$"""{"csi":"{{csi}}","ver":1,"iat":{{iat}},"exp":{{exp}},"supersede":false,"audience":"any","entries":{{entries}}{{extra}}}""";
}

using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Mimi.Discovery.Client;

/// <summary>
/// HTTPS handlers for talking to a DP. With no extra roots the system trust store decides; with
/// roots (e.g. a development DP's self-signed certificate) the server chain must end at one of
/// them. Host name checks always apply: there is deliberately no way to turn verification off.
/// </summary>
public static class TlsTrust
{
    /// <summary>Creates a handler that trusts the system store, or only <paramref name="roots"/> when given.</summary>
    public static SocketsHttpHandler CreateHandler(X509Certificate2Collection? roots = null)
    {
        var handler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) };
        if (roots is { Count: > 0 })
        {
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
                ValidateAgainst(roots, certificate as X509Certificate2, chain, errors);
        }

        return handler;
    }

    /// <summary>Loads the certificates of a PEM file to trust as TLS roots.</summary>
    /// <exception cref="ArgumentException">The file holds no certificate.</exception>
    public static X509Certificate2Collection LoadRoots(string pemPath)
    {
        var roots = new X509Certificate2Collection();
        roots.ImportFromPemFile(pemPath);
        return roots.Count > 0 ? roots : throw new ArgumentException($"{pemPath} holds no PEM certificate.", nameof(pemPath));
    }

    private static bool ValidateAgainst(X509Certificate2Collection roots, X509Certificate2? certificate, X509Chain? presented, SslPolicyErrors errors)
    {
        if (certificate is null || (errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        if (presented is not null)
        {
            foreach (var element in presented.ChainElements.Skip(1))
            {
                chain.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        return chain.Build(certificate);
    }
}

using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Mimi.Discovery.Server.Hosting;

namespace Mimi.Discovery.Server.Tests.Federation;

/// <summary>What an operator writes for a peer: its URL, TLS trust, credential CAs and log keys (from its metadata).</summary>
internal static class PeerConfig
{
    public static async Task<PeerOptions> ForAsync(DpHost peer, string? apiKey = null, Uri? url = null)
    {
        var keys = (await peer.Client.GetMetadataAsync()).Transparency!;
        return new PeerOptions
        {
            Url = url ?? peer.BaseAddress,
            TlsCa = Path.Combine(peer.DataDirectory, "tls.crt"),
            CredentialCas = Path.Combine(peer.DataDirectory, "ca.crt"),
            VrfKey = keys.VrfKey,
            LogKey = keys.LogKey,
            ApiKey = apiKey,
        };
    }
}

/// <summary>Accepts TCP connections and never sends a byte.</summary>
internal sealed class SilentListener : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly ConcurrentBag<TcpClient> _held = [];

    public SilentListener()
    {
        _listener.Start();
        _ = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    _held.Add(await _listener.AcceptTcpClientAsync());
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // Stopped.
            }
        });
    }

    public Uri Url => new($"https://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");

    public void Dispose()
    {
        _listener.Stop();
        foreach (var c in _held)
        {
            c.Dispose();
        }
    }
}

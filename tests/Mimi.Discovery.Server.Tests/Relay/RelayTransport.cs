namespace Mimi.Discovery.Server.Tests.Relay;

/// <summary>Sends the encapsulated requests an <c>ObliviousHttpHandler</c> makes through a client of a test relay.</summary>
internal sealed class RelayTransport(HttpClient relay) : HttpMessageHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        relay.SendAsync(request, cancellationToken);
}

using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Mimi.Discovery.Client;
using Mimi.Discovery.Credentials;
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Server.Hosting;
using Mimi.Discovery.Statements;

namespace Mimi.Discovery.Server.Tests;

/// <summary>A real DP on an ephemeral loopback HTTPS port, with its own data folder and a controllable clock.</summary>
internal sealed class DpHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private DpHost(WebApplication app, string dataDirectory, TimeProvider clock)
    {
        _app = app;
        DataDirectory = dataDirectory;
        Clock = clock;
        BaseAddress = new Uri(app.Urls.First() + "/");
        Http = new HttpClient(TlsTrust.CreateHandler(TlsTrust.LoadRoots(Path.Combine(dataDirectory, "tls.crt")))) { BaseAddress = BaseAddress };
        Client = new DiscoveryClient(Http);
    }

    public string DataDirectory { get; }

    /// <summary>The DP's clock: a <see cref="FakeTimeProvider"/> unless the test brought its own.</summary>
    public TimeProvider Clock { get; }

    public FakeTimeProvider Time => Clock as FakeTimeProvider ?? throw new InvalidOperationException("this DP runs on the clock its test gave it");

    public Uri BaseAddress { get; }

    public HttpClient Http { get; }

    public DiscoveryClient Client { get; }

    public string OutboxDirectory => Path.Combine(DataDirectory, "outbox");

    /// <summary>
    /// A client whose connections come from another loopback address (e.g. 127.0.0.2: Linux routes
    /// all of 127.0.0.0/8 to loopback), so the DP sees a second client address.
    /// </summary>
    public HttpClient HttpFrom(string localAddress)
    {
        var local = System.Net.IPAddress.Parse(localAddress);
        var handler = TlsTrust.CreateHandler(TlsTrust.LoadRoots(Path.Combine(DataDirectory, "tls.crt")));
        handler.ConnectCallback = async (context, cancellationToken) =>
        {
            var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { NoDelay = true };
            try
            {
                socket.Bind(new System.Net.IPEndPoint(local, 0));
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken).ConfigureAwait(false);
                return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        };
        return new HttpClient(handler) { BaseAddress = BaseAddress };
    }

    /// <param name="configure">Option overrides.</param>
    /// <param name="database">A PostgreSQL connection string; SQLite in the data folder when null.</param>
    /// <param name="logs">When given, receives every log line at every level (the console shows errors only, so a failing test stays readable in CI's output).</param>
    /// <param name="clock">The DP's clock; a <see cref="FakeTimeProvider"/> at the current time when null.</param>
    /// <param name="customize">Applied to the builder last, e.g. to add a span exporter.</param>
    public static async Task<DpHost> StartAsync(Action<DiscoveryOptions>? configure = null, string? database = null, Relay.LogCapture? logs = null, TimeProvider? clock = null, Action<WebApplicationBuilder>? customize = null)
    {
        var data = Directory.CreateTempSubdirectory("mimi-dp-").FullName;
        var time = clock ?? new FakeTimeProvider(DateTimeOffset.UtcNow);
        string[] levels = logs is null ? ["--Logging:LogLevel:Default=Error"] : ["--Logging:LogLevel:Default=Debug", "--Logging:Console:LogLevel:Default=Error"];
        var app = await DiscoveryServer.BuildAsync(["--urls", "https://127.0.0.1:0", .. levels], o =>
        {
            o.DataDirectory = data;
            o.Dev = true;
            o.Database = database;
            configure?.Invoke(o);
            data = o.DataDirectory;
        }, time, customize, default).ConfigureAwait(false);
        if (logs is not null)
        {
            app.Services.GetRequiredService<Microsoft.Extensions.Logging.ILoggerFactory>().AddProvider(logs);
        }

        await app.StartAsync().ConfigureAwait(false);
        return new DpHost(app, data, time);
    }

    /// <summary>A service of the running DP (its transparency log, its store), for tests that drive it directly.</summary>
    public T Service<T>()
        where T : notnull => _app.Services.GetRequiredService<T>();

    /// <summary>The credential CA in the data folder, to issue CSIP or test credentials directly.</summary>
    public CredentialAuthority LoadAuthority() =>
        CredentialAuthority.FromPem(File.ReadAllText(Path.Combine(DataDirectory, "ca.crt")), File.ReadAllText(Path.Combine(DataDirectory, "ca.key")), Clock);

    /// <summary>The DP's transparency-log key from the data folder (it signs tree heads and delegations).</summary>
    public ECDsa LoadLogKey()
    {
        var key = ECDsa.Create();
        key.ImportFromPem(File.ReadAllText(Path.Combine(DataDirectory, "log.key")));
        return key;
    }

    /// <summary>Every outbox message so far, oldest first.</summary>
    public IReadOnlyList<JsonElement> Outbox() =>
        Directory.Exists(OutboxDirectory)
            ? Directory.GetFiles(OutboxDirectory, "*.json").Order(StringComparer.Ordinal)
                .Select(f => JsonDocument.Parse(File.ReadAllText(f)).RootElement.Clone()).ToList()
            : [];

    public string LastCode() => Outbox()[^1].GetProperty("code").GetString()!;

    /// <summary>Proves control through the outbox and returns a signer for the credential.</summary>
    public async Task<Recipient> RegisterAsync(string csi)
    {
        var parsed = CsiParser.ParseOrThrow(csi);
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var proof = await Client.StartProofAsync(parsed, key).ConfigureAwait(false);
        var issued = await Client.AnswerProofAsync(proof.ProofId, LastCode()).ConfigureAwait(false);
        var credential = X509Certificate2.CreateFromPem(issued.Credential);
        return new Recipient(parsed, key, credential, new StatementSigner(key, credential, time: Clock));
    }

    /// <summary>
    /// Posts JSON, sending the body only after the DP's "100 Continue": a body the DP refuses by its
    /// length is then never written into a connection the DP has closed (a race against the 413).
    /// </summary>
    public async Task<HttpResponseMessage> PostJsonAsync(string path, string json)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json") };
        request.Headers.ExpectContinue = true;
        return await Http.SendAsync(request).ConfigureAwait(false);
    }

    public async Task<JsonElement> LookupJsonAsync(string csi, string? service = null)
    {
        var response = await Client.LookupRawAsync([csi], service).ConfigureAwait(false);
        return JsonSerializer.SerializeToElement(response.Results[0], ProtocolJson.Default.LookupResult);
    }

    public ValueTask DisposeAsync() => DisposeAsync(deleteData: true);

    /// <summary>Stops the DP; keeps its data folder when asked, for a restart on it.</summary>
    public async ValueTask DisposeAsync(bool deleteData)
    {
        Http.Dispose();
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        if (!deleteData)
        {
            return;
        }

        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open by a closing connection; the temp folder is cleaned later.
        }
    }

    internal sealed record Recipient(Csi Csi, ECDsa Key, X509Certificate2 Credential, StatementSigner Signer)
    {
        public string Sign(long version, IReadOnlyList<MspEntry>? entries = null, Audience? audience = null, bool supersede = false) =>
            Signer.SignMapping(new MappingDraft(Csi, version, entries ?? [new MspEntry("wire") { Account = "@x", Priority = 10, Tags = ["default"] }])
            {
                Audience = audience ?? Audience.Any,
                Supersede = supersede,
            });
    }
}

internal static class ProblemAssert
{
    /// <summary>Asserts a problem+json response with the given status and stable code, and returns its detail.</summary>
    public static async Task<string> IsProblemAsync(HttpResponseMessage response, int status, string code)
    {
        var body = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
        Assert.True(status == (int)response.StatusCode, $"expected HTTP {status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(body).RootElement;
        Assert.Equal(code, problem.GetProperty("code").GetString());
        Assert.Equal("urn:mimi-discovery:problem:" + code, problem.GetProperty("type").GetString());
        var detail = problem.GetProperty("detail").GetString();
        Assert.False(string.IsNullOrWhiteSpace(detail));
        return detail!;
    }

    public static async Task<DiscoveryException> ThrowsAsync(int status, string code, Func<Task> action)
    {
        var e = await Assert.ThrowsAsync<DiscoveryException>(action).ConfigureAwait(false);
        Assert.Equal(status, e.Status);
        Assert.Equal(code, e.Code);
        return e;
    }
}

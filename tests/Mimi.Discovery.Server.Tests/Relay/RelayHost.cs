using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Mimi.Discovery.Client;
using Mimi.Discovery.Privacy.Hpke;
using Mimi.Discovery.Privacy.Ohttp;
using Mimi.Discovery.Server.Hosting;
using Mimi.Discovery.Server.Relay;

namespace Mimi.Discovery.Server.Tests.Relay;

/// <summary>A real relay on an ephemeral loopback HTTPS port, its logs captured, and clients that connect from chosen loopback addresses.</summary>
internal sealed class RelayHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly List<HttpClient> _clients = [];

    private RelayHost(WebApplication app, string dataDirectory, LogCapture logs)
    {
        _app = app;
        DataDirectory = dataDirectory;
        Logs = logs;
        BaseAddress = new Uri(app.Urls.Single() + "/");
    }

    public string DataDirectory { get; }

    public Uri BaseAddress { get; }

    public LogCapture Logs { get; }

    public static async Task<RelayHost> StartAsync(Uri gateway, string? gatewayCaFile, Action<RelayOptions>? configure = null)
    {
        var data = Directory.CreateTempSubdirectory("mimi-relay-").FullName;
        var app = await RelayServer.BuildAsync(["--urls", "https://127.0.0.1:0", "--Logging:LogLevel:Default=Debug", "--Logging:Console:LogLevel:Default=Error"], o =>
        {
            o.Gateway = gateway;
            o.GatewayCaFile = gatewayCaFile;
            o.DataDirectory = data;
            configure?.Invoke(o);
        }, TestContext.Current.CancellationToken);

        // Every log line the relay writes, at every level its filters let through.
        var logs = new LogCapture();
        app.Services.GetRequiredService<ILoggerFactory>().AddProvider(logs);
        await app.StartAsync(TestContext.Current.CancellationToken);
        return new RelayHost(app, data, logs);
    }

    /// <summary>A client of the relay whose connections come from <paramref name="from"/> (any 127.0.0.0/8 address on Linux).</summary>
    public HttpClient Client(string from = "127.0.0.2")
    {
        var local = IPAddress.Parse(from);
        var handler = TlsTrust.CreateHandler(TlsTrust.LoadRoots(Path.Combine(DataDirectory, "tls.crt")));
        handler.ConnectCallback = async (context, cancellationToken) =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                socket.Bind(new IPEndPoint(local, 0));
                await socket.ConnectAsync(new IPEndPoint(IPAddress.Parse(context.DnsEndPoint.Host), context.DnsEndPoint.Port), cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        };
        var client = new HttpClient(handler) { BaseAddress = BaseAddress };
        _clients.Add(client);
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        _clients.ForEach(c => c.Dispose());
        await _app.StopAsync();
        await _app.DisposeAsync();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // Cleaned with the temp folder later.
        }
    }
}

/// <summary>What the stand-in gateway received in one request.</summary>
internal sealed record GatewayCall(IReadOnlyList<KeyValuePair<string, string>> Headers, byte[] Body);

/// <summary>What the stand-in gateway answers.</summary>
internal sealed record GatewayAnswer(int Status, string ContentType, byte[] Body, TimeSpan Delay = default);

/// <summary>
/// A small real Kestrel HTTPS app in the gateway's place: it records every request and, by
/// default, answers as an Oblivious Gateway Resource would, with an X25519 key of its own.
/// </summary>
internal sealed class StandInGateway : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string _folder;
    private readonly HpkeKeyPair _key;
    private readonly OhttpGateway _ohttp;

    private StandInGateway(WebApplication app, string folder, HpkeKeyPair key, OhttpKeyConfig config)
    {
        _app = app;
        _folder = folder;
        _key = key;
        Config = config;
        _ohttp = new OhttpGateway([new OhttpGatewayKey(config, key)]);
        Url = new Uri(app.Urls.Single() + "/.well-known/ohttp-gateway");
        Answer = AnswerOhttp;
    }

    public Uri Url { get; }

    public string CaFile => Path.Combine(_folder, "tls.crt");

    public OhttpKeyConfig Config { get; }

    public ConcurrentQueue<GatewayCall> Calls { get; } = new();

    /// <summary>The last encapsulated response sent, to compare with what the client received.</summary>
    public byte[]? LastResponse { get; private set; }

    public Func<byte[], GatewayAnswer> Answer { get; set; }

    public static async Task<StandInGateway> StartAsync()
    {
        var folder = Directory.CreateTempSubdirectory("mimi-gateway-").FullName;
        TlsCertificateFiles.EnsureLocalhost(Path.Combine(folder, "tls.crt"), Path.Combine(folder, "tls.key"), TimeProvider.System);
        var certificate = TlsCertificateFiles.Load(null, null, Path.Combine(folder, "tls.crt"), Path.Combine(folder, "tls.key"));

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.UseUrls("https://127.0.0.1:0");
        builder.WebHost.ConfigureKestrel(k => k.ConfigureHttpsDefaults(h => h.ServerCertificate = certificate));
        var app = builder.Build();

        var key = HpkeKeyPair.Generate(HpkeKem.X25519HkdfSha256);
        var config = new OhttpKeyConfig(1, HpkeKem.X25519HkdfSha256, key.PublicKey.Span, [new OhttpSymmetricSuite(HpkeKdf.HkdfSha256, HpkeAead.Aes128Gcm)]);
        StandInGateway? gateway = null;
        app.MapPost("/.well-known/ohttp-gateway", async (HttpContext context) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body, context.RequestAborted);
            var bytes = body.ToArray();
            gateway!.Calls.Enqueue(new GatewayCall([.. context.Request.Headers.Select(h => KeyValuePair.Create(h.Key, h.Value.ToString()))], bytes));
            var answer = gateway.Answer(bytes);
            if (answer.Delay != TimeSpan.Zero) // Timeout.InfiniteTimeSpan: until the relay gives up
            {
                await Task.Delay(answer.Delay, context.RequestAborted);
            }

            gateway.LastResponse = answer.Body;
            context.Response.StatusCode = answer.Status;
            context.Response.ContentType = answer.ContentType;
            await context.Response.Body.WriteAsync(answer.Body, context.RequestAborted);
        });
        await app.StartAsync(TestContext.Current.CancellationToken);
        gateway = new StandInGateway(app, folder, key, config);
        return gateway;
    }

    /// <summary>Opens the request and answers 200 with the request's content echoed back in a Binary HTTP response.</summary>
    private GatewayAnswer AnswerOhttp(byte[] encapsulated)
    {
        using var request = _ohttp.DecapsulateRequest(encapsulated);
        var inner = BinaryHttpRequest.Decode(request.Request.Span);
        var response = new BinaryHttpResponse(200) { Content = inner.Content };
        return new GatewayAnswer(200, RelayServer.ResponseMediaType, request.EncapsulateResponse(response.Encode()));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _key.Dispose();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
            // Cleaned with the temp folder later.
        }
    }
}

/// <summary>Keeps every formatted log line (with its exception, if any) from every category.</summary>
internal sealed class LogCapture : ILoggerProvider
{
    private readonly ConcurrentQueue<(string Category, EventId Id, string Text)> _lines = new();

    public IReadOnlyList<(string Category, EventId Id, string Text)> Lines => [.. _lines];

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _lines);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, ConcurrentQueue<(string, EventId, string)> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull
        {
            // Scopes (e.g. ASP.NET's per-request scope) would reach a structured sink too.
            lines.Enqueue(("scope:" + category, default, string.Join(' ', state is IEnumerable<KeyValuePair<string, object?>> values ? values.Select(v => $"{v.Key}={v.Value}") : [state.ToString() ?? string.Empty])));
            return null;
        }

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var structured = state is IEnumerable<KeyValuePair<string, object?>> values ? string.Join(' ', values.Select(v => $"{v.Key}={v.Value}")) : string.Empty;
            lines.Enqueue((category, eventId, $"{formatter(state, exception)} {structured} {exception}"));
        }
    }
}

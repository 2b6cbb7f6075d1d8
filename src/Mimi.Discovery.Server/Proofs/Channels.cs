using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using MailKit.Net.Smtp;
using Microsoft.Extensions.Options;
using MimeKit;
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Server.Hosting;

namespace Mimi.Discovery.Server.Proofs;

/// <summary>A proof-of-control code (or an invitation's link code) on its way to a CSI; <paramref name="Subject"/> is an email's subject.</summary>
internal sealed record ChallengeMessage(Csi To, string Code, string Text, string Subject = "Your verification code");

/// <summary>Delivers proof-of-control codes: SMTP, an SMS gateway, or the development outbox.</summary>
internal interface IChallengeChannel
{
    /// <summary>Reported to the client: <c>email</c>, <c>sms</c> or <c>outbox</c>.</summary>
    string Name { get; }

    /// <exception cref="ChannelException">The message could not be handed over.</exception>
    Task SendAsync(ChallengeMessage message, CancellationToken cancellationToken);
}

/// <summary>Delivery failed; the message says why by a category and status code only: never the code, the CSI, or a server's own text.</summary>
internal sealed class ChannelException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Picks the channel for a CSI kind from the configuration.</summary>
internal sealed class ChannelRouter
{
    private readonly IChallengeChannel? _email;
    private readonly IChallengeChannel? _phone;

    public ChannelRouter(IOptions<DiscoveryOptions> options, DataFolder folder, IHttpClientFactory httpClients, TimeProvider time, ILogger<DevOutboxChannel> outboxLog, Observability.DiscoveryMetrics metrics)
    {
        var o = options.Value;
        if (o.Dev)
        {
            _email = _phone = new Observability.CountingChannel(new DevOutboxChannel(folder.OutboxDirectory, time, outboxLog), metrics);
            return;
        }

        _email = o.Smtp is { } smtp ? new Observability.CountingChannel(new SmtpChannel(smtp), metrics) : null;
        _phone = o.Sms is { Url: not null } sms ? new Observability.CountingChannel(new SmsGatewayChannel(sms, httpClients), metrics) : null;
    }

    public IChallengeChannel? For(CsiKind kind) => kind == CsiKind.Email ? _email : _phone;
}

/// <summary>
/// Email over SMTP with MailKit. TLS is required unless the settings say otherwise
/// (<see cref="SmtpOptions.EffectiveSecurity"/>), and credentials never cross a connection without
/// TLS unless <see cref="SmtpOptions.AllowPlaintextAuth"/>: the check is on the connection as it
/// is, so a server that offers no STARTTLS under <c>Auto</c> gets no password either.
/// </summary>
internal sealed class SmtpChannel(SmtpOptions options) : IChallengeChannel
{
    public string Name => "email";

    public async Task SendAsync(ChallengeMessage message, CancellationToken cancellationToken)
    {
        using var client = new SmtpClient { Timeout = 30_000 };
        try
        {
            using var mail = new MimeMessage();
            mail.From.Add(MailboxAddress.Parse(options.From));
            mail.To.Add(MailboxAddress.Parse(message.To.Value));
            mail.Subject = message.Subject;
            mail.Body = new TextPart("plain") { Text = message.Text };
            await client.ConnectAsync(options.Host, options.Port, options.EffectiveSecurity, cancellationToken).ConfigureAwait(false);
            if (options.Username is not null)
            {
                if (!client.IsSecure && !options.AllowPlaintextAuth)
                {
                    throw new ChannelException($"the mail server {options.Host}:{options.Port} offered no TLS, and the DP does not send its SMTP password in clear (set Discovery:Smtp:Security=StartTls or SslOnConnect)");
                }

                await client.AuthenticateAsync(options.Username, options.Password ?? string.Empty, cancellationToken).ConfigureAwait(false);
            }

            await client.SendAsync(mail, cancellationToken).ConfigureAwait(false);
            await client.DisconnectAsync(true, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not ChannelException && !cancellationToken.IsCancellationRequested)
        {
            // Whatever went wrong (refused connection, no STARTTLS, a TLS handshake or certificate
            // failure, authentication, a rejected recipient, a timeout), nothing was handed over.
            // The server's own text is never repeated: a reply such as "5.1.1 <bob@example.org>:
            // Recipient address rejected" names the CSI and tells whether the mailbox exists.
            throw new ChannelException(e is MailKit.Net.Smtp.SmtpCommandException command
                ? $"the mail server refused the message (SMTP {(int)command.StatusCode}, {command.ErrorCode})"
                : $"the mail server {options.Host}:{options.Port} did not accept the message ({e.GetType().Name})", e);
        }
    }
}

/// <summary>
/// SMS through an HTTP gateway with a configurable URL and body template. Its named HTTP client
/// (<see cref="AddTo"/>) sends no tracing headers: the gateway is a third party.
/// </summary>
internal sealed class SmsGatewayChannel : IChallengeChannel
{
    private readonly SmsGatewayOptions _options;
    private readonly IHttpClientFactory _httpClients;
    private readonly System.Net.Http.Headers.MediaTypeHeaderValue _mediaType;
    private readonly SmsGatewayOptions.BodyEscaping _escaping;

    /// <exception cref="InvalidOperationException">The settings are unusable (<see cref="SmsGatewayOptions.Validate"/>).</exception>
    public SmsGatewayChannel(SmsGatewayOptions options, IHttpClientFactory httpClients)
    {
        options.Validate();
        _options = options;
        _httpClients = httpClients;
        if (!SmsGatewayOptions.TryParseContentType(options.ContentType, out var mediaType, out _escaping, out var reason))
        {
            throw new InvalidOperationException(reason);
        }

        // The body is always UTF-8; other parameters go to the gateway as configured.
        _mediaType = new System.Net.Http.Headers.MediaTypeHeaderValue(mediaType.MediaType!, "utf-8");
        foreach (var parameter in mediaType.Parameters.Where(p => !p.Name.Equals("charset", StringComparison.OrdinalIgnoreCase)))
        {
            _mediaType.Parameters.Add(parameter);
        }
    }

    public string Name => "sms";

    /// <summary>Registers the gateway's HTTP client: no trace context propagation (no <c>traceparent</c>, <c>tracestate</c>, <c>baggage</c>), a 30 s timeout.</summary>
    public static void AddTo(IServiceCollection services) =>
        services.AddHttpClient(nameof(SmsGatewayChannel), client => client.Timeout = TimeSpan.FromSeconds(30))
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { ActivityHeadersPropagator = null, PooledConnectionLifetime = TimeSpan.FromMinutes(5) });

    public async Task SendAsync(ChallengeMessage message, CancellationToken cancellationToken)
    {
        var body = RenderBody(_escaping, _options.BodyTemplate, message);
        using var request = new HttpRequestMessage(HttpMethod.Post, _options.Url)
        {
            Content = new StringContent(body, Encoding.UTF8, _mediaType),
        };
        if (_options.Authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", _options.Authorization);
        }

        try
        {
            using var response = await _httpClients.CreateClient(nameof(SmsGatewayChannel)).SendAsync(request, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw new ChannelException($"the SMS gateway answered HTTP {(int)response.StatusCode}");
            }
        }
        catch (HttpRequestException e)
        {
            throw new ChannelException("the SMS gateway could not be reached", e);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ChannelException("the SMS gateway did not answer in time", e);
        }
    }

    /// <summary>The body for <paramref name="options"/>' template and content type.</summary>
    internal static string RenderBody(SmsGatewayOptions options, ChallengeMessage message) =>
        SmsGatewayOptions.TryParseContentType(options.ContentType, out _, out var escaping, out var reason)
            ? RenderBody(escaping, options.BodyTemplate, message)
            : throw new ArgumentException(reason, nameof(options));

    private static string RenderBody(SmsGatewayOptions.BodyEscaping escaping, string template, ChallengeMessage message)
    {
        Func<string, string> escape = escaping switch
        {
            SmsGatewayOptions.BodyEscaping.Json => v => JavaScriptEncoder.Default.Encode(v),
            SmsGatewayOptions.BodyEscaping.Form => Uri.EscapeDataString,
            _ => v => v,
        };
        return template
            .Replace("{to}", escape(message.To.Value), StringComparison.Ordinal)
            .Replace("{text}", escape(message.Text), StringComparison.Ordinal)
            .Replace("{code}", escape(message.Code), StringComparison.Ordinal);
    }
}

/// <summary>Development only: each message becomes <c>outbox/&lt;time&gt;-&lt;n&gt;.json</c> with <c>to</c>, <c>channel</c>, <c>text</c>, <c>code</c>.</summary>
internal sealed partial class DevOutboxChannel(string directory, TimeProvider time, ILogger<DevOutboxChannel> logger) : IChallengeChannel
{
    private static long _sequence;

    public string Name => "outbox";

    public async Task SendAsync(ChallengeMessage message, CancellationToken cancellationToken)
    {
        Mimi.Discovery.Crypto.PrivateFile.CreateDirectory(directory);
        var name = $"{time.GetUtcNow():yyyyMMddTHHmmssfff}-{Interlocked.Increment(ref _sequence):D6}.json";
        var path = Path.Combine(directory, name);
        var json = JsonSerializer.Serialize(new OutboxMessage(message.To.Uri, message.To.Kind == CsiKind.Email ? "email" : "sms", message.Text, message.Code), OutboxJson.Readable.OutboxMessage);
        var temporary = path + ".tmp";
        await Mimi.Discovery.Crypto.PrivateFile.WriteNewAsync(temporary, json, cancellationToken).ConfigureAwait(false);
        File.Move(temporary, path);
        LogWrote(logger, path);
    }

    [LoggerMessage(EventId = 300, Level = LogLevel.Information, Message = "Development outbox: wrote {Path}")]
    private static partial void LogWrote(ILogger logger, string path);
}

internal sealed record OutboxMessage(string To, string Channel, string Text, string Code);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = true)]
[System.Text.Json.Serialization.JsonSerializable(typeof(OutboxMessage))]
internal sealed partial class OutboxJson : System.Text.Json.Serialization.JsonSerializerContext
{
    public static OutboxJson Readable { get; } = new(new JsonSerializerOptions(JsonSerializerDefaults.Web) { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
}

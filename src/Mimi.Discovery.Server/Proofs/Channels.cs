using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using MailKit.Net.Smtp;
using Microsoft.Extensions.Options;
using MimeKit;
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Server.Hosting;

namespace Mimi.Discovery.Server.Proofs;

/// <summary>A proof-of-control code on its way to a CSI.</summary>
internal sealed record ChallengeMessage(Csi To, string Code, string Text);

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

    public ChannelRouter(IOptions<DiscoveryOptions> options, DataFolder folder, IHttpClientFactory httpClients, ILogger<DevOutboxChannel> outboxLog)
    {
        var o = options.Value;
        if (o.Dev)
        {
            _email = _phone = new DevOutboxChannel(folder.OutboxDirectory, outboxLog);
            return;
        }

        _email = o.Smtp is { } smtp ? new SmtpChannel(smtp) : null;
        _phone = o.Sms is { Url: not null } sms ? new SmsGatewayChannel(sms, httpClients) : null;
    }

    public IChallengeChannel? For(CsiKind kind) => kind == CsiKind.Email ? _email : _phone;
}

/// <summary>Email over SMTP with MailKit.</summary>
internal sealed class SmtpChannel(SmtpOptions options) : IChallengeChannel
{
    public string Name => "email";

    public async Task SendAsync(ChallengeMessage message, CancellationToken cancellationToken)
    {
        var mail = new MimeMessage();
        mail.From.Add(MailboxAddress.Parse(options.From));
        mail.To.Add(MailboxAddress.Parse(message.To.Value));
        mail.Subject = "Your verification code";
        mail.Body = new TextPart("plain") { Text = message.Text };

        using var client = new SmtpClient();
        try
        {
            await client.ConnectAsync(options.Host, options.Port, options.Security, cancellationToken).ConfigureAwait(false);
            if (options.Username is not null)
            {
                await client.AuthenticateAsync(options.Username, options.Password ?? string.Empty, cancellationToken).ConfigureAwait(false);
            }

            await client.SendAsync(mail, cancellationToken).ConfigureAwait(false);
            await client.DisconnectAsync(true, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or MailKit.ProtocolException or MailKit.CommandException or MailKit.Security.AuthenticationException or System.Security.Authentication.AuthenticationException)
        {
            // The server's own text is never repeated: a reply such as "5.1.1 <bob@example.org>:
            // Recipient address rejected" names the CSI and tells whether the mailbox exists.
            throw new ChannelException(e is MailKit.Net.Smtp.SmtpCommandException command
                ? $"the mail server refused the message (SMTP {(int)command.StatusCode}, {command.ErrorCode})"
                : $"the mail server could not be reached ({e.GetType().Name})", e);
        }
    }
}

/// <summary>SMS through an HTTP gateway with a configurable URL and body template.</summary>
internal sealed class SmsGatewayChannel(SmsGatewayOptions options, IHttpClientFactory httpClients) : IChallengeChannel
{
    public string Name => "sms";

    public async Task SendAsync(ChallengeMessage message, CancellationToken cancellationToken)
    {
        var body = RenderBody(options, message);
        using var request = new HttpRequestMessage(HttpMethod.Post, options.Url)
        {
            Content = new StringContent(body, Encoding.UTF8, options.ContentType),
        };
        if (options.Authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", options.Authorization);
        }

        try
        {
            using var response = await httpClients.CreateClient(nameof(SmsGatewayChannel)).SendAsync(request, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw new ChannelException($"the SMS gateway answered HTTP {(int)response.StatusCode}");
            }
        }
        catch (HttpRequestException e)
        {
            throw new ChannelException("the SMS gateway could not be reached", e);
        }
    }

    internal static string RenderBody(SmsGatewayOptions options, ChallengeMessage message)
    {
        Func<string, string> escape = options.ContentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase)
            ? v => JavaScriptEncoder.Default.Encode(v)
            : options.ContentType.StartsWith("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase)
                ? Uri.EscapeDataString
                : v => v;
        return options.BodyTemplate
            .Replace("{to}", escape(message.To.Value), StringComparison.Ordinal)
            .Replace("{text}", escape(message.Text), StringComparison.Ordinal)
            .Replace("{code}", escape(message.Code), StringComparison.Ordinal);
    }
}

/// <summary>Development only: each message becomes <c>outbox/&lt;time&gt;-&lt;n&gt;.json</c> with <c>to</c>, <c>channel</c>, <c>text</c>, <c>code</c>.</summary>
internal sealed partial class DevOutboxChannel(string directory, ILogger<DevOutboxChannel> logger) : IChallengeChannel
{
    private static long _sequence;

    public string Name => "outbox";

    public async Task SendAsync(ChallengeMessage message, CancellationToken cancellationToken)
    {
        Mimi.Discovery.Crypto.PrivateFile.CreateDirectory(directory);
        var name = $"{DateTime.UtcNow:yyyyMMddTHHmmssfff}-{Interlocked.Increment(ref _sequence):D6}.json";
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

using System.CommandLine;
using System.Net;
using System.Text.Encodings.Web;
using System.Text.Json;
using Mimi.Discovery.Client;
using Mimi.Discovery.Transparency;
using Mimi.Discovery.Verification;

namespace Mimi.Discovery.Cli;

/// <summary>Conventions every command shares: a one-line reason on standard error and a non-zero exit.</summary>
internal static class Cli
{
    public const int Failure = 1;
    public const int Usage = 2;
    public const int NotVerified = 3;

    /// <summary>Stopped by Ctrl+C or SIGTERM (128 + SIGINT, as shells report it).</summary>
    public const int Cancelled = 130;

    /// <summary>Every <c>--json</c> output: camelCase members (records and anonymous objects alike), '+' and non-ASCII unescaped.</summary>
    public static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>One JSON object a line, written as <see cref="Indented"/> writes members and characters (no <c>\u002B</c> for '+').</summary>
    public static readonly JsonSerializerOptions Lines = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>An enum value as <c>--json</c> writes it: kebab-case, as the protocol's own values (<c>opted-out</c>, <c>discovery-provider</c>).</summary>
    public static string JsonValue<T>(T value)
        where T : struct, Enum => JsonNamingPolicy.KebabCaseLower.ConvertName(value.ToString());

    public static int Fail(string reason, int exitCode = Failure)
    {
        Console.Error.WriteLine("mimi-discovery: " + reason);
        return exitCode;
    }

    public static Option<string> DpOption() => new("--dp") { Description = "The Discovery Provider's https:// URL.", Required = true };

    public static Option<FileInfo?> CaOption() => new("--ca") { Description = "PEM certificate to trust for the DP's TLS (e.g. mimi-data/tls.crt of a development DP)." };

    public static Option<FileInfo[]> TrustOption() =>
        new("--trust") { Description = "PEM file of credential CAs to trust (repeatable). Default: the CAs each DP advertises." };

    /// <summary>
    /// The credential CAs a sender verifies statements against: the <c>--trust</c> files when given,
    /// otherwise the CAs the DP advertises (fetched over its verified TLS connection).
    /// </summary>
    public static async Task<TrustAnchors> CredentialAnchorsAsync(DiscoveryClient? client, FileInfo[]? trustFiles, CancellationToken cancellationToken)
    {
        try
        {
            return trustFiles is { Length: > 0 }
                ? new TrustAnchors(trustFiles.SelectMany(f => TrustAnchors.FromPem(File.ReadAllText(f.FullName)).Certificates))
                : client is not null
                    ? TrustAnchors.FromPem(string.Join('\n', (await client.GetMetadataAsync(cancellationToken).ConfigureAwait(false)).CredentialCas))
                    : throw new UsageException("give --trust with the credential CAs you trust, or --dp to trust the ones that DP advertises");
        }
        catch (ArgumentException e)
        {
            throw new UsageException("--trust: " + e.Message);
        }
    }

    /// <summary>
    /// The DP's transparency keys from its metadata, with the tree heads remembered in the key
    /// folder (<c>trees.json</c>); null when the DP keeps no log.
    /// </summary>
    public static async Task<TransparencyCheck?> TransparencyAsync(DiscoveryClient client, CancellationToken cancellationToken)
    {
        var metadata = await client.GetMetadataAsync(cancellationToken).ConfigureAwait(false);
        if (metadata.Transparency is null)
        {
            return null;
        }

        var keys = TransparencyKeyset.FromWire(metadata.Transparency) ?? throw new DiscoveryException("the DP's transparency keys in its metadata are malformed");
        return new TransparencyCheck(keys, new TreeHeadMemory(Path.Combine(KeyStore.DefaultPath, "trees.json")));
    }

    /// <summary>Writes a table; when output is not a terminal, wide enough not to wrap cells.</summary>
    public static void WriteTable(Spectre.Console.Table table)
    {
        if (Console.IsOutputRedirected)
        {
            Spectre.Console.AnsiConsole.Profile.Width = 200;
        }

        Spectre.Console.AnsiConsole.Write(table);
    }

    /// <summary>An HTTPS client for the DP, trusting <paramref name="ca"/> when given, else the system store.</summary>
    public static DiscoveryClient Connect(string dp, FileInfo? ca)
    {
        if (!Uri.TryCreate(dp, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttps)
        {
            throw new UsageException($"--dp '{dp}' is not an https:// URL");
        }

        if (ca is { Exists: false })
        {
            throw new UsageException($"--ca {ca.FullName} does not exist");
        }

        var handler = TlsTrust.CreateHandler(ca is null ? null : TlsTrust.LoadRoots(ca.FullName));
        var http = new HttpClient(handler) { BaseAddress = new Uri(uri.GetLeftPart(UriPartial.Authority) + "/"), Timeout = TimeSpan.FromSeconds(30) };
        return new DiscoveryClient(http);
    }

    /// <summary>
    /// A DP client, optionally reaching the DP only through an Oblivious HTTP relay (the gateway's
    /// key configuration is fetched from the DP directly once: it is public) and optionally paying
    /// for lookups with Privacy Pass tokens of <paramref name="tokens"/> (<see cref="WalletFor"/>).
    /// </summary>
    public static async Task<DiscoveryClient> ConnectAsync(string dp, FileInfo? ca, string? relay, FileInfo? relayCa, ITokenSource? tokens, CancellationToken cancellationToken)
    {
        var direct = Connect(dp, ca);
        HttpMessageHandler handler = TlsTrust.CreateHandler(ca is null ? null : TlsTrust.LoadRoots(ca.FullName));
        if (relay is not null)
        {
            if (!Uri.TryCreate(relay, UriKind.Absolute, out var relayUri) || relayUri.Scheme != Uri.UriSchemeHttps)
            {
                throw new UsageException($"--relay '{relay}' is not an https:// URL");
            }

            if (relayCa is { Exists: false })
            {
                throw new UsageException($"--relay-ca {relayCa.FullName} does not exist");
            }

            var key = await ObliviousHttpHandler.FetchKeyAsync(direct.Http, cancellationToken).ConfigureAwait(false);
            handler = new ObliviousHttpHandler(relayUri, key, TlsTrust.CreateHandler(relayCa is null ? null : TlsTrust.LoadRoots(relayCa.FullName)));
        }

        if (tokens is not null)
        {
            handler = new PrivateTokenHandler(tokens, handler);
        }

        return new DiscoveryClient(new HttpClient(handler) { BaseAddress = direct.BaseAddress, Timeout = TimeSpan.FromSeconds(30) });
    }

    /// <summary>A token client for <paramref name="apiKey"/> talking to the DP directly (issuance is per account; redemption is not linked to it).</summary>
    public static TokenClient TokenClientFor(string dp, FileInfo? ca, string apiKey) =>
        string.IsNullOrWhiteSpace(apiKey)
            ? throw new UsageException("--token-account needs the account's API key (mdk_…), as `mimi-discovery accounts add` printed it")
            : new(Connect(dp, ca).Http, apiKey);

    /// <summary>
    /// The token wallet of <paramref name="apiKey"/> at <paramref name="dp"/>: obtained from the DP
    /// directly (issuance is per account; the lookups that spend them are not linked to it) in fixed
    /// batches, kept in the key folder (mode 0600) between runs.
    /// </summary>
    public static TokenWallet WalletFor(string dp, FileInfo? ca, string apiKey)
    {
        var issuer = TokenClientFor(dp, ca, apiKey);
        var name = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(new Uri(dp).GetLeftPart(UriPartial.Authority) + "\n" + apiKey)))[..16];
        var folder = Path.Combine(KeyStore.DefaultPath, "wallets");
        Mimi.Discovery.Crypto.PrivateFile.CreateDirectory(KeyStore.DefaultPath);
        Mimi.Discovery.Crypto.PrivateFile.CreateDirectory(folder);
        return new TokenWallet(issuer, Path.Combine(folder, name + ".json"));
    }

    /// <summary>Reads HOST:PORT or HOST (port 53); null means the system's first configured name server.</summary>
    public static IPEndPoint ParseDnsServer(string? text, string option)
    {
        if (text is null)
        {
            var system = ARSoft.Tools.Net.Dns.DnsClient.GetLocalConfiguredDnsServers().FirstOrDefault()
                         ?? throw new UsageException($"no system DNS server is configured; give {option} HOST:PORT");
            return new IPEndPoint(system, 53);
        }

        if (IPEndPoint.TryParse(text, out var endpoint))
        {
            return endpoint.Port == 0 ? new IPEndPoint(endpoint.Address, 53) : endpoint;
        }

        var colon = text.LastIndexOf(':');
        var host = colon > 0 ? text[..colon] : text;
        var port = colon > 0 && int.TryParse(text[(colon + 1)..], out var p) && p is > 0 and < 65536 ? p : colon > 0 ? -1 : 53;
        IPAddress? address;
        try
        {
            address = port > 0 ? System.Net.Dns.GetHostAddresses(host).FirstOrDefault() : null;
        }
        catch (System.Net.Sockets.SocketException)
        {
            address = null;
        }

        return address is not null ? new IPEndPoint(address, port) : throw new UsageException($"{option} '{text}' is not HOST:PORT");
    }

    /// <summary>A DP's refusal or a transport failure in one line.</summary>
    public static string Describe(DiscoveryException e) => e.Status == 0
        ? e.Detail + (e.Detail.Contains("remote certificate", StringComparison.OrdinalIgnoreCase) ? " (trust a DP's certificate with --ca, a relay's with --relay-ca)" : "")
        : e.Code switch
    {
        // Problem details speak HTTP; these say which option to use.
        "token-required" => $"the DP requires Privacy Pass tokens for lookups ({e.Code}); pass --token-account with a token account's API key",
        "account-unknown" => $"the DP does not know this token account ({e.Code}); check the --token-account key",
        _ => $"the DP refused: {e.Detail} ({e.Code})",
    };

    /// <summary>Runs a command body, turning the expected failures into one line and an exit code.</summary>
    public static async Task<int> RunAsync(Func<Task<int>> body)
    {
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (UsageException e)
        {
            return Fail(e.Message, Usage);
        }
        catch (DiscoveryException e)
        {
            return Fail(Describe(e));
        }
        catch (OperationCanceledException e) when (e.InnerException is not TimeoutException)
        {
            // Ctrl+C or SIGTERM: what an address book received until then is in its cache.
            return Fail("cancelled", Cancelled);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or TaskCanceledException)
        {
            return Fail(e.Message);
        }
    }
}

/// <summary>Bad command-line input; reported with exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message)
{
    /// <summary>A refusal worded by the library's argument check, without .NET's "(Parameter 'x')" suffix.</summary>
    public static UsageException From(ArgumentException e, string? prefix = null) =>
        new(prefix + (e.ParamName is { } name ? e.Message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal) : e.Message));
}

using System.CommandLine;
using System.Globalization;
using Mimi.Discovery.Client;

namespace Mimi.Discovery.Cli.Commands;

/// <summary><c>mimi-discovery tokens</c>: a token account's balance and the DP's key epoch; and the token-paying connection <c>lookup --token-account</c> uses.</summary>
internal static class TokensCommand
{
    public static Command Create()
    {
        var dp = Cli.DpOption();
        var ca = Cli.CaOption();
        var account = AccountOption();
        account.Required = true;
        var command = new Command("tokens", "Show a token account's quota, use and the DP's current key epoch.") { dp, account, ca };
        command.SetAction((result, cancellationToken) => Cli.RunAsync(async () =>
        {
            using var http = Http(result.GetValue(dp)!, result.GetValue(ca), null);
            using var tokens = new TokenClient(http, result.GetValue(account)!);
            var balance = await tokens.GetBalanceAsync(cancellationToken).ConfigureAwait(false);
            Console.WriteLine($"service:    {balance.Service ?? "(none: a person's account, general key)"}");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"used:       {balance.Used} of {balance.Quota} tokens this window ({balance.Quota - balance.Used} left)"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"window end: {balance.WindowEndsAt:u}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"key epoch:  {balance.KeyEpoch}"));
            return 0;
        }));
        return command;
    }

    public static Option<string?> AccountOption() => new("--token-account") { Description = "API key of a token account (mdk_…) to obtain Privacy Pass tokens with." };

    /// <summary>
    /// A DP client whose lookups pay with tokens of <paramref name="apiKey"/> (fetched as needed), and
    /// the account's sponsoring service: the DP answers such lookups for that service, so the
    /// answers are verified as that service's.
    /// </summary>
    public static async Task<(DiscoveryClient Client, string? Service)> ConnectWithTokensAsync(string dp, FileInfo? ca, string apiKey, CancellationToken cancellationToken)
    {
        var tokens = new TokenClient(Http(dp, ca, null), apiKey);
        var balance = await tokens.GetBalanceAsync(cancellationToken).ConfigureAwait(false);
        return (new DiscoveryClient(Http(dp, ca, tokens)), balance.Service);
    }

    private static HttpClient Http(string dp, FileInfo? ca, TokenClient? tokens)
    {
        if (!Uri.TryCreate(dp, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttps)
        {
            throw new UsageException($"--dp '{dp}' is not an https:// URL");
        }

        if (ca is { Exists: false })
        {
            throw new UsageException($"--ca {ca.FullName} does not exist");
        }

        HttpMessageHandler handler = TlsTrust.CreateHandler(ca is null ? null : TlsTrust.LoadRoots(ca.FullName));
        if (tokens is not null)
        {
            handler = new PrivateTokenHandler(tokens, handler);
        }

        return new HttpClient(handler) { BaseAddress = new Uri(uri.GetLeftPart(UriPartial.Authority) + "/"), Timeout = TimeSpan.FromSeconds(30) };
    }
}

using System.CommandLine;
using System.Globalization;

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
            var tokens = Cli.TokenClientFor(result.GetValue(dp)!, result.GetValue(ca), result.GetValue(account)!);
            var balance = await tokens.GetBalanceAsync(cancellationToken).ConfigureAwait(false);
            Console.WriteLine($"service:    {balance.Service ?? "(none: a person's account, general key)"}");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"used:       {balance.Used} of {balance.Quota} tokens this window ({balance.Quota - balance.Used} left)"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"window end: {balance.WindowEndsAt:u}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"key epoch:  {balance.KeyEpoch}"));
            return 0;
        }));
        return command;
    }

    public static Option<string?> AccountOption() => new("--token-account")
    {
        Description = "API key of a token account (mdk_…) to obtain Privacy Pass tokens with; default: the MIMI_TOKEN_ACCOUNT environment variable (kept out of the process list and shell history).",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("MIMI_TOKEN_ACCOUNT") is { Length: > 0 } key ? key : null,
    };

}

namespace Mimi.Discovery.Cli.Tests;

/// <summary>
/// <c>accounts add/list/remove</c> on a data folder, then a DP that requires tokens: <c>lookup</c>
/// is refused without <c>--token-account</c> and admitted with it, and <c>tokens</c> shows the use.
/// </summary>
public sealed class TokenCommandTests : IDisposable
{
    private readonly CliHarness _cli = new("mimi-tokens-");

    private string Data => _cli.Data;

    public void Dispose() => _cli.Dispose();

    [Fact]
    public async Task Accounts_AddListRemove_AndTheKeyPaysForLookups()
    {
        var (exit, key, error) = await RunAsync("accounts", "add", "--name", "wire-prod", "--service", "wire", "--quota", "3", "--window", "1h", "--data", Data);
        Assert.True(exit == 0, error);
        key = key.Trim();
        Assert.StartsWith("mdk_", key, StringComparison.Ordinal);
        Assert.Contains("shown only now", error, StringComparison.Ordinal);

        Assert.Equal(1, (await RunAsync("accounts", "add", "--name", "wire-prod", "--quota", "1", "--data", Data)).Exit);
        var list = await RunAsync("accounts", "list", "--data", Data);
        Assert.Contains("wire-prod", list.Out, StringComparison.Ordinal);
        Assert.Contains("1h", list.Out, StringComparison.Ordinal);
        Assert.DoesNotContain(key, list.Out, StringComparison.Ordinal);

        await _cli.ServeAsync(new Dictionary<string, string> { ["Discovery__RequireTokens"] = "true" });
        var (dp, ca) = (_cli.Dp, _cli.Ca);

        var refused = await RunAsync("lookup", "+33612345678", "--dp", dp, "--ca", ca);
        Assert.Equal(1, refused.Exit);
        Assert.Contains("token-required", refused.Err, StringComparison.Ordinal);

        var admitted = await RunAsync("lookup", "+33612345678", "bob@example.com", "--dp", dp, "--ca", ca, "--json", "--token-account", key);
        Assert.True(admitted.Exit == 0, admitted.Err);

        // The wallet asked for a whole batch, and got the 3 the quota had left; the lookup (2 CSIs) cost 1.
        var balance = await RunAsync("tokens", "--dp", dp, "--ca", ca, "--token-account", key);
        Assert.True(balance.Exit == 0, balance.Err);
        Assert.Contains("wire", balance.Out, StringComparison.Ordinal);
        Assert.Contains("3 of 3 tokens", balance.Out, StringComparison.Ordinal);
        Assert.Contains("key epoch:", balance.Out, StringComparison.Ordinal);
        var wallet = Directory.GetFiles(Path.Combine(_cli.Work, "home", "wallets"), "*.json").Single();
        Assert.True(OperatingSystem.IsWindows() || File.GetUnixFileMode(wallet) == (UnixFileMode.UserRead | UnixFileMode.UserWrite));
        Assert.Equal(2, System.Text.Json.JsonDocument.Parse(await File.ReadAllTextAsync(wallet)).RootElement.GetProperty("tokens").GetArrayLength());

        // The next lookup spends from the wallet, with no issuance (the quota is spent).
        Assert.Equal(0, (await RunAsync("lookup", "+33612345679", "--dp", dp, "--ca", ca, "--token-account", key)).Exit);
        Assert.Equal(1, System.Text.Json.JsonDocument.Parse(await File.ReadAllTextAsync(wallet)).RootElement.GetProperty("tokens").GetArrayLength());

        Assert.Equal(0, (await RunAsync("accounts", "remove", "wire-prod", "--data", Data)).Exit);
        var gone = await RunAsync("tokens", "--dp", dp, "--ca", ca, "--token-account", key);
        Assert.Equal(1, gone.Exit);
        Assert.Contains("account-unknown", gone.Err, StringComparison.Ordinal);
        Assert.Equal(1, (await RunAsync("accounts", "remove", "wire-prod", "--data", Data)).Exit);
        Assert.Contains("No token accounts", (await RunAsync("accounts", "list", "--data", Data)).Out, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("accounts|add|--name|x|--quota|0", "--quota")]
    [InlineData("accounts|add|--name|x|--quota|5|--window|5 minutes", "--window")]
    [InlineData("accounts|add|--name|x|--quota|5|--window|10s", "--window")]
    [InlineData("accounts|add|--name|x|--quota|5|--service|Not Valid", "--service")]
    [InlineData("tokens|--dp|http://localhost:1|--token-account|mdk_x", "not an https:// URL")]
    public async Task BadInput_ExitsTwoWithAReason_AndCreatesNothing(string args, string reason)
    {
        var (exit, _, error) = await RunAsync([.. args.Split('|'), .. args.StartsWith("accounts", StringComparison.Ordinal) ? new[] { "--data", Data } : []]);

        Assert.Equal(2, exit);
        Assert.Contains(reason, error, StringComparison.Ordinal);
        if (args.StartsWith("accounts", StringComparison.Ordinal))
        {
            Assert.Contains("No token accounts", (await RunAsync("accounts", "list", "--data", Data)).Out, StringComparison.Ordinal);
        }
    }

    private Task<(int Exit, string Out, string Err)> RunAsync(params string[] args) => _cli.RunAsync(args);
}

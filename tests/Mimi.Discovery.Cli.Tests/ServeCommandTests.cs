namespace Mimi.Discovery.Cli.Tests;

public sealed class ServeCommandTests
{
    [Theory]
    [InlineData("Discovery__Sms__ContentType", "text/xml", "Discovery:Sms:ContentType 'text/xml' is not a body the SMS channel can escape values for")]
    [InlineData("Discovery__Sms__ContentType", "application/json; charset=iso-8859-1", "charset 'iso-8859-1' is not supported")]
    [InlineData("Discovery__Smtp__Security", "None", "Discovery:Smtp:Security=None would send Discovery:Smtp:Username and its password in clear")]
    public async Task Serve_UnusableChannelSetting_ExitsOneWithOneLineAndCreatesNothing(string name, string value, string expected)
    {
        using var harness = new CliHarness("mimi-serve-");
        using var process = harness.Start("home", ["serve", "--data", harness.Data, "--urls", "https://127.0.0.1:0"], new Dictionary<string, string>
        {
            ["Discovery__Sms__Url"] = "https://sms-gateway.example/messages",
            ["Discovery__Smtp__Host"] = "smtp.example",
            ["Discovery__Smtp__Username"] = "dp",
            ["Discovery__Smtp__Password"] = "secret",
            [name] = value,
        });
        process.StandardInput.Close();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);

        Assert.Equal(1, process.ExitCode);
        var line = Assert.Single((await error).Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("mimi-discovery: cannot start: ", line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.False(Directory.Exists(harness.Data));
    }
}

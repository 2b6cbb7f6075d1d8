using System.Text.Json;

namespace Mimi.Discovery.Cli.Tests;

/// <summary>
/// <c>lookup --file</c> against a <c>serve --dev</c> DP that requires tokens: a CSV address book of
/// 253 contacts (national forms, repeats, an invalid one) answered in one paid request, one JSON line
/// per contact and a summary; the second run answered from the cache with no request and no token.
/// </summary>
public sealed class AddressBookCommandTests : IAsyncLifetime
{
    private const string Bob = "+33612345678";
    private readonly CliHarness _cli = new("mimi-book-");
    private string _key = null!;

    public async ValueTask InitializeAsync()
    {
        var (exit, key, error) = await _cli.RunAsync("accounts", "add", "--name", "app", "--service", "wire", "--quota", "1000", "--data", _cli.Data);
        Assert.True(exit == 0, error);
        _key = key.Trim();
        await _cli.ServeAsync(new Dictionary<string, string> { ["Discovery__RequireTokens"] = "true" });
        var register = await _cli.RunAsync("bob", true, "register", Bob, "--dp", _cli.Dp, "--ca", _cli.Ca, "--service", "wire,account=@bob");
        Assert.True(register.Exit == 0, register.Err);
    }

    public ValueTask DisposeAsync()
    {
        _cli.Dispose();
        return ValueTask.CompletedTask;
    }

    private Task<(int Exit, string Out, string Err)> LookupFileAsync(params string[] args) =>
        _cli.RunAsync(["lookup", "--dp", _cli.Dp, "--ca", _cli.Ca, "--token-account", _key, .. args]);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_cli.Work, name);
        File.WriteAllText(path, text);
        return path;
    }

    private int WalletTokens() =>
        JsonDocument.Parse(File.ReadAllText(Directory.GetFiles(Path.Combine(_cli.Work, "home", "wallets"), "*.json").Single())).RootElement.GetProperty("tokens").GetArrayLength();

    [Fact]
    public async Task LookupFile_Csv_OneLinePerContact_ThenFromTheCache()
    {
        var others = Enumerable.Range(0, 250).Select(i => $"Contact {i},+33 6 10 00 {i / 100:D2} {i % 100:D2},");
        var book = Write("contacts.csv", string.Join('\n', ["Name,Mobile,Email", "Bob,06 12 34 56 78,", "Bob (work),\"+33 6 12 34 56 78\",bob@example.com", "Nobody,not a number,", .. others]) + "\n");

        var (exit, output, error) = await LookupFileAsync("--file", book, "--column", "Mobile", "--region", "FR", "--json");

        Assert.True(exit == 0, error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(253, lines.Count);
        Assert.All(lines.Take(2), l =>
        {
            Assert.Equal(("found", "tel:" + Bob), (l.GetProperty("result").GetString(), l.GetProperty("csi").GetString()));
            Assert.Equal("@bob", l.GetProperty("mappings")[0].GetProperty("entries")[0].GetProperty("account").GetString());
            Assert.True(l.GetProperty("transparency").GetProperty("complete").GetBoolean());
        });
        Assert.Equal(("not a number", "invalid"), (lines[2].GetProperty("query").GetString(), lines[2].GetProperty("result").GetString()));
        Assert.All(lines.Skip(3), l => Assert.Equal("none", l.GetProperty("result").GetString()));
        Assert.Contains("253 contacts: 2 found, 0 opted out, 250 none, 1 invalid; 251 asked in 1 request(s), 0 from the cache", error, StringComparison.Ordinal);
        var tokens = WalletTokens(); // one batch of 64 obtained, 26 spent (251 CSIs at 10 a token)
        Assert.Equal(64 - 26, tokens);

        var again = await LookupFileAsync("--file", book, "--column", "Mobile", "--region", "FR", "--json");

        Assert.True(again.Exit == 0, again.Err);
        static string Answer(JsonElement l) => l.GetProperty("query") + " " + l.GetProperty("result") + " " + l.GetProperty("mappings");
        Assert.Equal(lines.Select(Answer), again.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => Answer(JsonDocument.Parse(l).RootElement)));
        Assert.Contains("251 from the cache", again.Err, StringComparison.Ordinal);
        Assert.Contains("0 asked in 0 request(s)", again.Err, StringComparison.Ordinal);
        Assert.Equal(tokens, WalletTokens());
        var cache = Path.Combine(_cli.Work, "home", "lookups.json");
        Assert.True(OperatingSystem.IsWindows() || File.GetUnixFileMode(cache) == (UnixFileMode.UserRead | UnixFileMode.UserWrite));
    }

    [Fact]
    public async Task LookupFile_Text_OneIdentifierPerLine_CommentsAndBlanksSkipped_TableOfTheReachable()
    {
        var book = Write("contacts.txt", $"# family\n{Bob}\n\nnobody@example.com\n");

        var (exit, output, error) = await LookupFileAsync("--file", book);

        Assert.True(exit == 0, error);
        Assert.Contains("2 contacts: 1 found, 0 opted out, 1 none, 0 invalid; 2 asked in 1 request(s)", error, StringComparison.Ordinal);
        Assert.Contains("tel:" + Bob, output, StringComparison.Ordinal); // the table lists who is reachable…
        Assert.Contains("@bob", output, StringComparison.Ordinal);
        Assert.DoesNotContain("nobody@example.com", output, StringComparison.Ordinal); // …the others are counted only
    }

    [Theory]
    [InlineData("missing.csv", null, "does not exist")]
    [InlineData("contacts.csv", "Phone", "--column 'Phone' is not a header")]
    [InlineData("broken.csv", null, "is not valid CSV")]
    [InlineData("contacts.txt", "Mobile", "--column applies to a .csv or .tsv --file only")]
    [InlineData("invalid.txt", null, "no identifier given is a phone number or email address ('not a number'")]
    [InlineData("empty.txt", null, "holds no identifier")]
    [InlineData("header-only.csv", null, "holds no identifier")]
    [InlineData("folder.csv", null, "is a directory")]
    public async Task LookupFile_BadFile_ExitsTwoWithAReason_AndSpendsNothing(string name, string? column, string reason)
    {
        Write("contacts.csv", "Name,Mobile\nBob,+33612345678\n");
        Write("broken.csv", "Name,Mobile\nBob,\"+33612345678\n");
        Write("contacts.txt", Bob + "\n");
        Write("invalid.txt", "not a number\nnor this\n");
        Write("empty.txt", "\n# nothing\n");
        Write("header-only.csv", "Name,Mobile\n");
        Directory.CreateDirectory(Path.Combine(_cli.Work, "folder.csv"));

        var (exit, _, error) = await LookupFileAsync(["--file", Path.Combine(_cli.Work, name), .. column is null ? Array.Empty<string>() : ["--column", column]]);

        Assert.Equal(2, exit);
        Assert.Contains(reason, error, StringComparison.Ordinal);
        var wallets = Path.Combine(_cli.Work, "home", "wallets");
        Assert.Empty(Directory.Exists(wallets) ? Directory.GetFiles(wallets) : []); // no token obtained, none spent
    }

    [Fact]
    public async Task LookupFile_UnknownRegion_IsAUsageError_BeforeAnythingIsAsked()
    {
        var (exit, _, error) = await LookupFileAsync("--file", Write("contacts.txt", "06 12 34 56 78\n"), "--region", "France");

        Assert.Equal(2, exit);
        Assert.Contains("--region 'France' is not an ISO 3166 region code", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LookupFile_Tsv_IsReadAsCsv_WithItsHeaderRow()
    {
        var (exit, _, error) = await LookupFileAsync("--file", Write("contacts.tsv", $"Mobile\tName\n{Bob}\tBob\n"));

        Assert.Equal(0, exit);
        Assert.Contains("1 contacts: 1 found", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Lookup_IdentifiersAndFileTogether_IsAUsageError()
    {
        var (exit, _, error) = await LookupFileAsync(Bob, "--file", Write("contacts.txt", Bob + "\n"));

        Assert.Equal(2, exit);
        Assert.Contains("not both", error, StringComparison.Ordinal);
    }
}

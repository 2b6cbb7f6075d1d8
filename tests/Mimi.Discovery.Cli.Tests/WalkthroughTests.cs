using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace Mimi.Discovery.Cli.Tests;

/// <summary>
/// The README walk-through, verbatim, with <c>mimi-discovery</c> installed as the README installs
/// it (packed and installed as a .NET tool) in separate processes: <c>serve --dev</c>, then
/// <c>register</c> (code read from the outbox), <c>lookup</c>, <c>register --opt-out</c>,
/// <c>remove</c>, a second key, and a supersede takeover.
/// </summary>
public sealed class WalkthroughTests(InstalledTool tool) : IAsyncLifetime, IClassFixture<InstalledTool>
{
    private const string Csi = "+33612345678";
    private readonly CliHarness _cli = new("mimi-walk-", tool.Command);
    private string _work = null!;
    private string _dp = null!;

    private string Ca => _cli.Ca;

    private string Outbox => _cli.Outbox;

    public async ValueTask InitializeAsync()
    {
        await _cli.ServeAsync();
        (_work, _dp) = (_cli.Work, _cli.Dp);
    }

    public ValueTask DisposeAsync()
    {
        _cli.Dispose();
        return ValueTask.CompletedTask;
    }

    private Process Start(string home, params string[] args) => _cli.Start(home, args);

    private Task<(int Exit, string Out, string Err)> RunAsync(string home, bool? answerFromOutbox, params string[] args) => _cli.RunAsync(home, answerFromOutbox == true, args);

    private async Task<JsonElement> LookupJsonAsync(params string[] extra)
    {
        var (exit, output, error) = await RunAsync("sender", null, ["lookup", Csi, "--dp", _dp, "--ca", Ca, "--json", .. extra]);
        Assert.True(exit == 0, error);
        var answer = JsonDocument.Parse(output).RootElement;
        AssertOneNamingPolicy(answer);
        return answer[0];
    }

    [Fact]
    public async Task ReadmeWalkthrough_RegisterLookupOptOutRemoveTwoKeysAndSupersede()
    {
        var register = await RunAsync("bob", true, "register", Csi, "--dp", _dp, "--ca", Ca,
            "--service", "wire,account=@bob,priority=10,tags=default", "--service", "matrix.org,account=@bob:matrix.example,priority=20");
        Assert.True(register.Exit == 0, register.Err);
        Assert.Contains("version 1", register.Out, StringComparison.Ordinal);

        var table = await RunAsync("sender", null, "lookup", Csi, "--dp", _dp, "--ca", Ca);
        Assert.True(table.Exit == 0, table.Err);
        Assert.Contains("found", table.Out, StringComparison.Ordinal);
        Assert.Contains("@bob:matrix.example", table.Out, StringComparison.Ordinal);

        var found = await LookupJsonAsync();
        Assert.Equal("found", found.GetProperty("result").GetString());
        Assert.True(found.GetProperty("consistent").GetBoolean());
        Assert.Equal(["wire", "matrix.org"], found.GetProperty("mappings")[0].GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("service").GetString()));

        // Registering again reuses the credential (no code) and publishes version 2.
        var optOut = await RunAsync("bob", false, "register", Csi, "--dp", _dp, "--ca", Ca, "--opt-out");
        Assert.True(optOut.Exit == 0, optOut.Err);
        Assert.Contains("version 2", optOut.Out, StringComparison.Ordinal);
        Assert.Equal("opted-out", (await LookupJsonAsync()).GetProperty("result").GetString());

        var remove = await RunAsync("bob", null, "remove", Csi, "--dp", _dp, "--ca", Ca);
        Assert.True(remove.Exit == 0, remove.Err);
        Assert.Equal("none", (await LookupJsonAsync()).GetProperty("result").GetString());

        // Two keys (two devices) for one CSI: two mappings.
        Assert.Equal(0, (await RunAsync("bob", false, "register", Csi, "--dp", _dp, "--ca", Ca, "--service", "wire,account=@bob")).Exit);
        Assert.Equal(0, (await RunAsync("bob-laptop", true, "register", Csi, "--dp", _dp, "--ca", Ca, "--service", "signal")).Exit);
        Assert.Equal(2, (await LookupJsonAsync()).GetProperty("mappings").GetArrayLength());

        // The number is reassigned: the new owner's newer credential supersedes both.
        await Task.Delay(1100);
        var takeover = await RunAsync("carol", true, "register", Csi, "--dp", _dp, "--ca", Ca, "--service", "threema", "--supersede");
        Assert.True(takeover.Exit == 0, takeover.Err);
        Assert.Contains("Superseded 2", takeover.Out, StringComparison.Ordinal);
        var after = await LookupJsonAsync();
        Assert.Equal("threema", after.GetProperty("mappings").EnumerateArray().Single().GetProperty("entries")[0].GetProperty("service").GetString());

        // Bob's old credential can no longer publish.
        var refused = await RunAsync("bob", false, "register", Csi, "--dp", _dp, "--ca", Ca, "--service", "wire");
        Assert.Equal(1, refused.Exit);
        Assert.Contains("credential-superseded", refused.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Transparency_LookupIsComplete_OwnerMonitors_AuditorAudits()
    {
        Assert.Equal(0, (await RunAsync("bob", true, "register", Csi, "--dp", _dp, "--ca", Ca, "--service", "wire,account=@bob")).Exit);

        var lookup = await RunAsync("sender", null, "lookup", Csi, "--dp", _dp, "--ca", Ca);
        Assert.Equal(0, lookup.Exit);
        Assert.Contains("complete (epoch", lookup.Out, StringComparison.Ordinal);

        var monitor = await RunAsync("bob", null, "monitor", Csi, "--dp", _dp, "--ca", Ca);
        Assert.True(monitor.Exit == 0, monitor.Out + monitor.Err);
        Assert.Contains("v1 by you", monitor.Out, StringComparison.Ordinal);
        Assert.Contains("publish of version 1", monitor.Out, StringComparison.Ordinal);
        Assert.Contains("sealed at epoch", monitor.Out, StringComparison.Ordinal);

        // A receipt the DP did not keep (here: Bob's record of a version it never sealed) is a violation.
        var receipts = Directory.GetFiles(Path.Combine(_work, "bob"), "receipts.json", SearchOption.AllDirectories).Single();
        var kept = await File.ReadAllTextAsync(receipts);
        await File.WriteAllTextAsync(receipts, System.Text.RegularExpressions.Regex.Replace(kept, "\"version\":1", "\"version\":7"));
        var broken = await RunAsync("bob", null, "monitor", Csi, "--dp", _dp, "--ca", Ca);
        Assert.True(broken.Exit == 3, broken.Out + broken.Err);
        Assert.Contains("version 7 was acknowledged", broken.Out.Replace("\n", " ", StringComparison.Ordinal), StringComparison.Ordinal);
        await File.WriteAllTextAsync(receipts, kept);

        // Someone who does not hold Bob's key sees a version signed by a stranger.
        var stranger = Path.Combine(_work, "stranger.pem");
        using (var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256))
        {
            await File.WriteAllTextAsync(stranger, key.ExportSubjectPublicKeyInfoPem());
        }

        var foreign = await RunAsync("sender", null, "monitor", Csi, "--dp", _dp, "--ca", Ca, "--key", stranger);
        Assert.Equal(3, foreign.Exit);
        Assert.Contains("violation", foreign.Err, StringComparison.Ordinal);

        var state = Path.Combine(_work, "audit.json");
        var audit = await RunAsync("auditor", null, "audit", "--dp", _dp, "--ca", Ca, "--state", state);
        Assert.True(audit.Exit == 0, audit.Out + audit.Err);
        Assert.Contains("audited epochs 1..", audit.Out, StringComparison.Ordinal);
        Assert.Equal(0, (await RunAsync("bob", false, "register", Csi, "--dp", _dp, "--ca", Ca, "--service", "signal")).Exit);
        var again = await RunAsync("auditor", null, "audit", "--dp", _dp, "--ca", Ca, "--state", state);
        Assert.True(again.Exit == 0, again.Out + again.Err);
        Assert.DoesNotContain("audited epochs 1..", again.Out, StringComparison.Ordinal);

        // Nothing changed since: the auditor says so instead of an empty range such as "5..4".
        var idle = await RunAsync("auditor", null, "audit", "--dp", _dp, "--ca", Ca, "--state", state);
        Assert.True(idle.Exit == 0, idle.Out + idle.Err);
        Assert.Contains("nothing new to audit", idle.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("audited epochs", idle.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Lookup_ThroughTheRelay_IsVerifiedAndComplete()
    {
        Assert.Equal(0, (await RunAsync("bob", true, "register", Csi, "--dp", _dp, "--ca", Ca, "--service", "wire,account=@bob")).Exit);
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        var relayData = Path.Combine(_work, "relay-data");
        using var relay = Start("unused", "relay", "--gateway", _dp + "/.well-known/ohttp-gateway", "--gateway-ca", Ca, "--urls", $"https://127.0.0.1:{port}", "--data", relayData);
        try
        {
            string? line;
            while ((line = await relay.StandardError.ReadLineAsync(TestContext.Current.CancellationToken)) is not null && !line.StartsWith("Oblivious relay on ", StringComparison.Ordinal))
            {
            }

            var lookup = await RunAsync("sender", null, "lookup", Csi, "--dp", _dp, "--ca", Ca, "--relay", $"https://127.0.0.1:{port}/", "--relay-ca", Path.Combine(relayData, "tls.crt"));
            Assert.True(lookup.Exit == 0, lookup.Out + lookup.Err);
            Assert.Contains("@bob", lookup.Out, StringComparison.Ordinal);
            Assert.Contains("complete (epoch", lookup.Out, StringComparison.Ordinal);

            var badRelay = await RunAsync("sender", null, "lookup", Csi, "--dp", _dp, "--ca", Ca, "--relay", "http://127.0.0.1:1/");
            Assert.Equal(2, badRelay.Exit);
            Assert.Contains("--relay", badRelay.Err, StringComparison.Ordinal);
        }
        finally
        {
            relay.Kill(entireProcessTree: true);
            await relay.WaitForExitAsync(TestContext.Current.CancellationToken);
        }
    }

    [Fact]
    public async Task Register_WrongCode_FailsWithOneLineAndPublishesNothing()
    {
        var before = Directory.Exists(Outbox) ? Directory.GetFiles(Outbox).Length : 0;
        using var process = Start("mallory", "register", "+33612345670", "--dp", _dp, "--ca", Ca, "--service", "wire");
        while ((Directory.Exists(Outbox) ? Directory.GetFiles(Outbox, "*.json").Length : 0) <= before)
        {
            await Task.Delay(100);
        }

        await process.StandardInput.WriteLineAsync("not-the-code");
        process.StandardInput.Close();
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);

        Assert.Equal(1, process.ExitCode);
        Assert.Single(error.Trim().Split('\n'), l => l.StartsWith("mimi-discovery: ", StringComparison.Ordinal));
        Assert.Contains("code-mismatch", error, StringComparison.Ordinal);
        var lookup = await RunAsync("sender", null, "lookup", "+33612345670", "--dp", _dp, "--ca", Ca, "--json");
        Assert.Equal("none", JsonDocument.Parse(lookup.Out).RootElement[0].GetProperty("result").GetString());
    }

    [Fact]
    public async Task Resolve_DnsFirstThenTheDp_SaysWhereEachAnswerCameFrom()
    {
        await using var knot = new Mimi.Discovery.Tests.Dns.KnotServer();
        await knot.InitializeAsync();
        Assert.SkipWhen(knot.Unavailable is not null, knot.Unavailable ?? "");
        var dns = $"127.0.0.1:{knot.Port}";

        // In the DNS: a MUI, an email through MIMIX, a phone number through ENUM.
        var mui = await RunAsync("sender", null, "resolve", "bob.example.net", "--dns", dns, "--dns-timeout", "30");
        Assert.True(mui.Exit == 0, mui.Err);
        Assert.Contains("bob.example.net: found via DNS bob.example.net", mui.Out, StringComparison.Ordinal);
        Assert.Contains("not DNSSEC-validated", mui.Out, StringComparison.Ordinal);
        Assert.Contains("telegram", mui.Out, StringComparison.Ordinal);

        var email = await RunAsync("sender", null, "resolve", "mailbox@example.com", "--dns", dns, "--dns-timeout", "30", "--dp", _dp, "--ca", Ca, "--json");
        Assert.True(email.Exit == 0, email.Err);
        var emailJson = JsonDocument.Parse(email.Out).RootElement;
        Assert.Equal("dns", emailJson.GetProperty("source").GetString());
        Assert.Equal("mailbox.mimi.example.net", emailJson.GetProperty("sourceName").GetString());

        AssertOneNamingPolicy(emailJson);
        AssertOneNamingPolicy(JsonDocument.Parse(email.Out).RootElement);

        var phone = await RunAsync("sender", null, "resolve", "+33 6 12 34 56 78", "--dns", dns, "--dns-timeout", "30", "--json");
        Assert.Equal("whatsapp", JsonDocument.Parse(phone.Out).RootElement.GetProperty("services")[0].GetProperty("service").GetString());

        // Not in the DNS: the DP answers with a verified signed mapping.
        Assert.Equal(0, (await RunAsync("dana", true, "register", "dana@nomimix.example", "--dp", _dp, "--ca", Ca, "--service", "wire,account=@dana")).Exit);
        var fromDp = await RunAsync("sender", null, "resolve", "dana@nomimix.example", "--dns", dns, "--dns-timeout", "30", "--dp", _dp, "--ca", Ca, "--json");
        Assert.True(fromDp.Exit == 0, fromDp.Err);
        var dpJson = JsonDocument.Parse(fromDp.Out).RootElement;
        Assert.Equal("discovery-provider", dpJson.GetProperty("source").GetString());
        Assert.Equal("signed-mapping", dpJson.GetProperty("authentication").GetString());
        Assert.Contains(dpJson.GetProperty("sources").EnumerateArray(), s => s.GetProperty("kind").GetString() == "dns" && s.GetProperty("detail").GetString() == "NoMimix");

        // Nowhere.
        var none = await RunAsync("sender", null, "resolve", "nobody@nomimix.example", "--dns", dns, "--dns-timeout", "30", "--dp", _dp, "--ca", Ca);
        Assert.Equal(0, none.Exit);
        Assert.Contains("none (no source has it)", none.Out, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("resolve|not an identifier!|--dns|127.0.0.1:1", "neither a CSI nor a MUI")]
    [InlineData("resolve|bob.example.net|--dns|nonsense:port", "is not HOST:PORT")]
    [InlineData("lookup|+33612345678|--dp|http://localhost:1", "not an https:// URL")]
    [InlineData("lookup|+33612345678|--dp|https://localhost:1|--trust|/etc/hostname", "--trust")]
    [InlineData("resolve|+33612345678|--dns|127.0.0.1:1|--dp|https://localhost:1|--trust|/etc/hostname", "--trust")]
    [InlineData("register|+33612345678|--dp|https://localhost:1|--opt-out|--service|wire", "not both")]
    [InlineData("register|nonsense|--dp|https://localhost:1|--service|wire", "is not a CSI")]
    [InlineData("register|+33612345678|--dp|https://localhost:1|--service|wire,priority=high", "priority 'high'")]
    [InlineData("register|+33612345678|--dp|https://localhost:1|--service|wire|--audience|Not+Valid", "--audience")]
    [InlineData("remove|+33612345678|--dp|https://localhost:1", "no key")]
    public async Task BadInput_ExitsTwoWithAReason(string args, string reason)
    {
        var (exit, _, error) = await RunAsync("nobody", null, args.Split('|'));

        Assert.Equal(2, exit);
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Lookup_WithoutTrustingTheDevCertificate_FailsTls()
    {
        var (exit, _, error) = await RunAsync("sender", null, "lookup", Csi, "--dp", _dp);

        Assert.Equal(1, exit);
        Assert.Contains("remote certificate is invalid", error, StringComparison.Ordinal); // the cause, not "see inner exception"…
        Assert.Contains("--ca", error, StringComparison.Ordinal); // …and what to do
    }

    /// <summary>
    /// One naming policy in every <c>--json</c> output: camelCase members, nested records included,
    /// and the values that name a kind or status in kebab-case (as the protocol's own "opted-out").
    /// </summary>
    private static void AssertOneNamingPolicy(JsonElement json)
    {
        Assert.All(Members(json), name => Assert.True(char.IsLower(name[0]) && !name.Contains('_', StringComparison.Ordinal), $"member '{name}' is not camelCase"));
        Assert.All(Values(json, ["result", "kind", "status", "source", "authentication"]), value =>
            Assert.False(value.Any(char.IsUpper), $"value '{value}' is not kebab-case"));
    }

    private static IEnumerable<string> Values(JsonElement element, string[] names) => element.ValueKind switch
    {
        JsonValueKind.Object => element.EnumerateObject().SelectMany(p =>
            names.Contains(p.Name) && p.Value.ValueKind == JsonValueKind.String ? [p.Value.GetString()!] : Values(p.Value, names)),
        JsonValueKind.Array => element.EnumerateArray().SelectMany(e => Values(e, names)),
        _ => [],
    };

    private static IEnumerable<string> Members(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => element.EnumerateObject().SelectMany(p => Members(p.Value).Prepend(p.Name)),
        JsonValueKind.Array => element.EnumerateArray().SelectMany(Members),
        _ => [],
    };
}

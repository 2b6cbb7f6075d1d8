using System.Text.Json;

namespace Mimi.Discovery.Cli.Tests;

/// <summary>
/// The README's sealed-routes walk-through with the real <c>mimi-discovery</c> processes: Bob publishes a
/// public Wire route tagged Business and a WhatsApp route sealed for the soccer parents; Alice, who holds
/// the group's key, sees WhatsApp; Carol, who does not, sees Wire only; <c>--pick</c> chooses one.
/// </summary>
public sealed class SealedRoutesWalkthroughTests : IAsyncLifetime
{
    private const string Csi = "+33612345678";
    private readonly CliHarness _cli = new("mimi-sealed-");

    public async ValueTask InitializeAsync() => await _cli.ServeAsync();

    public ValueTask DisposeAsync()
    {
        _cli.Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task<string> OkAsync(string home, bool code, params string[] args)
    {
        var (exit, output, error) = await _cli.RunAsync(home, code, args);
        Assert.True(exit == 0, $"{string.Join(' ', args)}: exit {exit}: {error}");
        return output;
    }

    private string[] Dp => ["--dp", _cli.Dp, "--ca", _cli.Ca];

    [Fact]
    public async Task ReadmeSealedRoutes_AliceWithTheGroupKeySeesWhatsAppCarolSeesWireAndPickChoosesOne()
    {
        var link = (await OkAsync("bob", false, "route-keys", "create", "soccer-parents", "--csi", Csi)).Trim();
        Assert.StartsWith("mimi-route:?v=1&csi=tel%3A%2B33612345678&name=soccer-parents&k=", link, StringComparison.Ordinal);
        var register = await OkAsync("bob", true, ["register", Csi, .. Dp, "--service", "wire,account=@bob,priority=20,tags=Business",
            "--service", "whatsapp,account=+33612345678,priority=10,sealed-for=soccer-parents"]);
        Assert.Contains("whatsapp sealed for soccer-parents", register, StringComparison.Ordinal);

        // Alice got the link from Bob (a QR code at the pitch); Carol did not.
        var file = Path.Combine(_cli.Work, "soccer-parents.key");
        await OkAsync("bob", false, "route-keys", "export", "soccer-parents", "--csi", Csi, "--out", file);
        await OkAsync("alice", false, "route-keys", "import", "--file", file);
        Assert.Contains("soccer-parents\ttel:+33612345678\theld\tcurrent", await OkAsync("alice", false, "route-keys", "list"), StringComparison.Ordinal);

        var alice = JsonDocument.Parse(await OkAsync("alice", false, ["lookup", Csi, .. Dp, "--json"])).RootElement[0];
        var carol = JsonDocument.Parse(await OkAsync("carol", false, ["lookup", Csi, .. Dp, "--json"])).RootElement[0];
        Assert.True(alice.GetProperty("transparency").GetProperty("complete").GetBoolean());
        Assert.Equal("whatsapp", alice.GetProperty("sealedRoutes")[0].GetProperty("service").GetString());
        Assert.Equal("soccer-parents", alice.GetProperty("sealedRoutes")[0].GetProperty("sealedWith").GetString());
        Assert.Equal(0, carol.GetProperty("sealedRoutes").GetArrayLength());
        Assert.Equal(["wire"], carol.GetProperty("mappings")[0].GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("service").GetString()));
        Assert.DoesNotContain("whatsapp", carol.GetRawText(), StringComparison.Ordinal);

        var alicePick = await OkAsync("alice", false, ["lookup", Csi, .. Dp, "--pick"]);
        var carolPick = await OkAsync("carol", false, ["lookup", Csi, .. Dp, "--pick", "--context", "business"]);
        var carolCannot = await OkAsync("carol", false, ["lookup", Csi, .. Dp, "--pick", "--can", "signal"]);
        Assert.Contains("tel:+33612345678: whatsapp +33612345678 (sealed, opened with soccer-parents)", alicePick, StringComparison.Ordinal);
        Assert.Contains("tel:+33612345678: wire @bob [Business]", carolPick, StringComparison.Ordinal);
        Assert.Contains("no route (none on a service you can use)", carolCannot, StringComparison.Ordinal);

        // Bob revokes the key and publishes again: Alice's old key no longer opens anything.
        await OkAsync("bob", false, "route-keys", "revoke", "soccer-parents", "--csi", Csi);
        await OkAsync("bob", false, ["register", Csi, .. Dp, "--service", "wire,account=@bob,priority=20,tags=Business",
            "--service", "whatsapp,account=+33612345678,priority=10,sealed-for=soccer-parents"]);
        var revoked = JsonDocument.Parse(await OkAsync("alice", false, ["lookup", Csi, .. Dp, "--json"])).RootElement[0];
        Assert.Equal(0, revoked.GetProperty("sealedRoutes").GetArrayLength());
        Assert.Equal(1, revoked.GetProperty("mappings")[0].GetProperty("sealedBoxes").GetInt32());
    }

    [Theory]
    [InlineData("mimi-route:?v=2&csi=tel%3A%2B33612345678&name=x&k=AAAA", "v=1")]
    [InlineData("https://example.com/", "starts with")]
    [InlineData("mimi-route:?v=1&csi=tel%3A%2B33612345678&name=x&k=AAAA", "32 bytes")]
    public async Task RouteKeysImport_MalformedLink_ExitsTwoWithAReason(string link, string reason)
    {
        var (exit, _, error) = await _cli.RunAsync("alice", false, "route-keys", "import", link);

        Assert.Equal(2, exit);
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Register_SealedForAnUnknownKey_ExitsTwoAndPublishesNothing()
    {
        var (exit, _, error) = await _cli.RunAsync("bob", false, ["register", Csi, .. Dp, "--service", "whatsapp,sealed-for=nobody"]);

        Assert.Equal(2, exit);
        Assert.Contains("no route key 'nobody'", error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_cli.Outbox) && Directory.EnumerateFiles(_cli.Outbox).Any());
    }
}

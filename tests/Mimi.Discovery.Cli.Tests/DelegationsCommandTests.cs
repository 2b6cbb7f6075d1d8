using System.Text.Json;

namespace Mimi.Discovery.Cli.Tests;

/// <summary>
/// The README's three-DP example with real <c>serve</c> processes: a root delegates a number prefix
/// and an email domain to two operators with <c>delegations add</c>, and a sender who knows only the
/// root finds people registered with either operator, verified along the referral chain.
/// </summary>
public sealed class DelegationsCommandTests : IAsyncLifetime
{
    private const string Alice = "+33612345678";
    private const string Dave = "dave@example.org";

    private readonly CliHarness _root = new("mimi-root-");
    private readonly CliHarness _op1 = new("mimi-op1-");
    private readonly CliHarness _op2 = new("mimi-op2-");

    public async ValueTask InitializeAsync()
    {
        await Task.WhenAll(_root.ServeAsync(), _op1.ServeAsync(), _op2.ServeAsync());
    }

    public ValueTask DisposeAsync()
    {
        _root.Dispose();
        _op1.Dispose();
        _op2.Dispose();
        return ValueTask.CompletedTask;
    }

    [Fact]
    public async Task RootDelegates_SenderKnowingOnlyTheRoot_FindsEachOperatorsUsers()
    {
        var alice = await _op1.RunAsync("alice", true, "register", Alice, "--dp", _op1.Dp, "--ca", _op1.Ca, "--service", "wire,account=@alice");
        Assert.True(alice.Exit == 0, alice.Err);
        var dave = await _op2.RunAsync("dave", true, "register", Dave, "--dp", _op2.Dp, "--ca", _op2.Ca, "--service", "signal,account=@dave");
        Assert.True(dave.Exit == 0, dave.Err);

        var toOp1 = await Delegate("+3361", _op1);
        Assert.True(toOp1.Exit == 0, toOp1.Err);
        Assert.Contains("Delegated +3361 to " + _op1.Dp + "/", toOp1.Err, StringComparison.Ordinal);
        var toOp2 = await Delegate("example.org", _op2);
        Assert.True(toOp2.Exit == 0, toOp2.Err);

        var list = await _root.RunAsync("delegations", "list", "--data", _root.Data);
        Assert.True(list.Exit == 0, list.Err);
        Assert.Contains("+3361", list.Out, StringComparison.Ordinal);
        Assert.Contains("example.org", list.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("tel:", list.Out, StringComparison.Ordinal);

        // The root seals the delegations within its epoch interval; then its lookups refer.
        var answers = await LookupUntilAsync(a => a.All(x => x.GetProperty("result").GetString() == "found"));
        Assert.Equal("@alice", answers[0].GetProperty("mappings")[0].GetProperty("entries")[0].GetProperty("account").GetString());
        Assert.Equal([_root.Dp + "/", _op1.Dp + "/"], answers[0].GetProperty("chain").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal([_root.Dp + "/", _op2.Dp + "/"], answers[1].GetProperty("chain").EnumerateArray().Select(e => e.GetString()));
        Assert.All(answers, a => Assert.True(a.GetProperty("transparency").GetProperty("complete").GetBoolean()));

        var table = await _root.RunAsync("sender", false, "lookup", Alice, "--dp", _root.Dp, "--ca", _root.Ca);
        Assert.True(table.Exit == 0, table.Err);
        Assert.Contains($"via {_root.Dp}/ → {_op1.Dp}/", table.Out, StringComparison.Ordinal);

        // Removing a delegation: lookups of Alice stop at the root again.
        var id = toOp1.Out.Trim();
        var removed = await _root.RunAsync("delegations", "remove", "--id", id, "--data", _root.Data);
        Assert.True(removed.Exit == 0, removed.Err);
        var after = await LookupUntilAsync(a => a[0].GetProperty("result").GetString() == "none");
        Assert.Equal(JsonValueKind.Null, after[0].GetProperty("chain").ValueKind);
    }

    [Fact]
    public async Task BadDelegations_AreRefused_WithAReason_AndChangeNothing()
    {
        Assert.Equal(0, (await Delegate("+3361", _op1)).Exit);
        foreach (var (args, exit, reason) in new (string[], int, string)[]
        {
            (["--scope", "33", "--to", _op1.Dp, "--to-ca", _op1.Ca], 2, "not an E.164 prefix"),
            (["--scope", "+3361", "--to", _op2.Dp, "--to-ca", _op2.Ca], 1, "is delegated already"),
            (["--scope", "+44", "--to", _root.Dp, "--to-ca", _root.Ca], 2, "names this DP itself"),
            (["--scope", "+44", "--to", "http://localhost:1", "--to-ca", _op1.Ca], 2, "not an https:// origin"),
            (["--scope", "+44", "--to", _op1.Dp, "--to-ca", _op1.Ca, "--lifetime", "400d"], 2, "--lifetime is at most 366d"),
            (["--scope", "+44", "--to", _op1.Dp, "--to-ca", _op1.Ca, "--renew", "no-such-id"], 2, "no such delegation"),
        })
        {
            var result = await _root.RunAsync(["delegations", "add", "--data", _root.Data, "--origin", _root.Dp, .. args]);
            Assert.True(result.Exit == exit, $"{string.Join(' ', args)}: {result.Exit} {result.Err}");
            Assert.Contains(reason, result.Err, StringComparison.Ordinal);
        }

        var list = await _root.RunAsync("delegations", "list", "--data", _root.Data);
        Assert.Single(list.Out.Split('\n'), l => l.Contains("+3361", StringComparison.Ordinal));
        var unknown = await _root.RunAsync("delegations", "remove", "--id", "nope", "--data", _root.Data);
        Assert.Equal(1, unknown.Exit);
        Assert.Contains("no delegation with id 'nope'", unknown.Err, StringComparison.Ordinal);
    }

    private Task<(int Exit, string Out, string Err)> Delegate(string scope, CliHarness to) =>
        _root.RunAsync("delegations", "add", "--data", _root.Data, "--origin", _root.Dp, "--scope", scope, "--to", to.Dp, "--to-ca", to.Ca);

    private async Task<List<JsonElement>> LookupUntilAsync(Func<List<JsonElement>, bool> done)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var (exit, output, error) = await _root.RunAsync("sender", false, "lookup", Alice, Dave, "--dp", _root.Dp, "--ca", _root.Ca, "--json");
            Assert.True(exit == 0, error);
            var answers = JsonDocument.Parse(output).RootElement.EnumerateArray().Select(e => e.Clone()).ToList();
            if (done(answers))
            {
                return answers;
            }

            Assert.True(DateTime.UtcNow < deadline, "the root did not seal the change: " + output);
            await Task.Delay(500);
        }
    }
}

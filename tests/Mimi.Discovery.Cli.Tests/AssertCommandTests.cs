namespace Mimi.Discovery.Cli.Tests;

/// <summary>
/// <c>assert</c> and <c>assert verify</c> against a real <c>serve --dev</c>: Alice, registered, signs
/// that she is calling Bob; Bob checks it with the CAs the DP advertises; every refusal exits 3 with
/// its reason, and a usage mistake exits 2.
/// </summary>
public sealed class AssertCommandTests : IAsyncLifetime
{
    private const string Bob = "+33612345678";
    private const string Alice = "alice@example.com";
    private readonly CliHarness _cli = new("mimi-assert-");

    public async ValueTask InitializeAsync()
    {
        await _cli.ServeAsync();
        var register = await _cli.RunAsync("alice", true, "register", Alice, "--dp", _cli.Dp, "--ca", _cli.Ca, "--service", "wire,account=@alice");
        Assert.True(register.Exit == 0, register.Err);
    }

    public ValueTask DisposeAsync()
    {
        _cli.Dispose();
        return ValueTask.CompletedTask;
    }

    private Task<(int Exit, string Out, string Err)> VerifyAsync(string assertion, string recipient, params string[] extra) =>
        _cli.RunAsync("bob", false, ["assert", "verify", assertion, "--as", recipient, "--dp", _cli.Dp, "--ca", _cli.Ca, .. extra]);

    [Fact]
    public async Task AliceAsserts_BobVerifies_AndEachForgeryIsRefused()
    {
        var signed = await _cli.RunAsync("alice", false, "assert", "--from", Alice, "--to", Bob);
        Assert.True(signed.Exit == 0, signed.Err);
        var assertion = signed.Out.Trim();
        Assert.Equal(3, assertion.Split('.').Length);

        var valid = await VerifyAsync(assertion, Bob);
        Assert.True(valid.Exit == 0, valid.Err);
        Assert.Contains($"valid: mailto:{Alice} to tel:{Bob}", valid.Out, StringComparison.Ordinal);

        var forSomeoneElse = await VerifyAsync(assertion, "+33612345679");
        Assert.Equal(3, forSomeoneElse.Exit);
        Assert.Contains("not verified (not-for-recipient)", forSomeoneElse.Err, StringComparison.Ordinal);

        var tampered = assertion[..^4] + (assertion[^4] == 'A' ? "B" : "A") + assertion[^3..];
        var forged = await VerifyAsync(tampered, Bob);
        Assert.Equal(3, forged.Exit);
        Assert.Contains("not verified", forged.Err, StringComparison.Ordinal);

        var stale = await VerifyAsync(assertion, Bob, "--max-age", "1");
        if (stale.Exit == 0)
        {
            // Signed and checked within the same second: wait it out rather than depend on timing.
            await Task.Delay(TimeSpan.FromSeconds(2.5), TestContext.Current.CancellationToken);
            stale = await VerifyAsync(assertion, Bob, "--max-age", "1");
        }

        Assert.Equal(3, stale.Exit);
        Assert.Contains("not verified (expired)", stale.Err, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("assert --from +33612345678 --to alice@example.com", "holds no credential for tel:+33612345678")]
    [InlineData("assert --from alice@example.com --to not-a-csi", "'not-a-csi' is not a CSI")]
    [InlineData("assert verify x.y.z --as +33612345678", "give --trust")]
    public async Task UsageMistakes_ExitTwoWithAReason(string args, string reason)
    {
        var (exit, _, error) = await _cli.RunAsync("alice", false, args.Split(' '));

        Assert.Equal(2, exit);
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }
}

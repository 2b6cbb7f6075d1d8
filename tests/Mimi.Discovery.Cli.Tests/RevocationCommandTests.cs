namespace Mimi.Discovery.Cli.Tests;

/// <summary>
/// The README's "Renewal and revocation" against a real <c>serve --dev</c>: status shows days left,
/// monitor warns before expiry, a bad revoke sends nothing, a revoke lists the credential in the DP's
/// CRL and removes the mapping, and register --renew gets a new credential and republishes it.
/// </summary>
public sealed class RevocationCommandTests : IAsyncLifetime
{
    private const string Bob = "+33612345678";
    private readonly CliHarness _cli = new("mimi-revoke-");

    public async ValueTask InitializeAsync()
    {
        await _cli.ServeAsync();
        var register = await _cli.RunAsync("bob", true, "register", Bob, "--dp", _cli.Dp, "--ca", _cli.Ca, "--service", "wire,account=@bob");
        Assert.True(register.Exit == 0, register.Err);
    }

    public ValueTask DisposeAsync()
    {
        _cli.Dispose();
        return ValueTask.CompletedTask;
    }

    private Task<(int Exit, string Out, string Err)> Bob_(params string[] args) => _cli.RunAsync("bob", false, args);

    [Fact]
    public async Task StatusAndMonitor_ShowDaysLeft_AndWarnOnlyWithinTheWindow()
    {
        var status = await Bob_("status", "--dp", _cli.Dp, "--ca", _cli.Ca);
        Assert.True(status.Exit == 0, status.Err);
        Assert.Contains("tel:+33612345678  valid", status.Out, StringComparison.Ordinal);
        Assert.Contains("(29 day(s) left)", status.Out, StringComparison.Ordinal);
        Assert.Contains("not revoked", status.Out, StringComparison.Ordinal);

        var warned = await Bob_("monitor", Bob, "--dp", _cli.Dp, "--ca", _cli.Ca, "--warn-days", "30");
        Assert.True(warned.Exit == 0, warned.Err);
        Assert.Contains("warning: your credential for tel:+33612345678 expires", warned.Err, StringComparison.Ordinal);
        var quiet = await Bob_("monitor", Bob, "--dp", _cli.Dp, "--ca", _cli.Ca, "--warn-days", "5");
        Assert.True(quiet.Exit == 0, quiet.Err);
        Assert.DoesNotContain("warning", quiet.Err, StringComparison.Ordinal);

        var empty = await _cli.RunAsync("nobody", false, "status");
        Assert.Equal(1, empty.Exit);
        Assert.Contains("no identifier has a credential", empty.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Revoke_BadReason_SendsNothing_ThenRevokes_ThenRenewRepublishes()
    {
        var bad = await Bob_("revoke", Bob, "--dp", _cli.Dp, "--ca", _cli.Ca, "--reason", "lost");
        Assert.Equal(2, bad.Exit);
        Assert.Single(bad.Err.Trim().Split('\n'));
        Assert.Contains("--reason 'lost' is not one of", bad.Err, StringComparison.Ordinal);
        var noCredential = await Bob_("revoke", Bob, "--dp", _cli.Dp, "--ca", _cli.Ca, "--as-csip", Path.Combine(_cli.Work, "csip.key"));
        Assert.Equal(2, noCredential.Exit);
        Assert.Contains("--as-csip needs --credential", noCredential.Err, StringComparison.Ordinal);
        var stray = await Bob_("revoke", Bob, "--dp", _cli.Dp, "--ca", _cli.Ca, "--thumbprint", "x");
        Assert.Equal(2, stray.Exit);
        Assert.Contains("not revoked", (await Bob_("status", "--dp", _cli.Dp, "--ca", _cli.Ca)).Out, StringComparison.Ordinal);

        var revoked = await Bob_("revoke", Bob, "--dp", _cli.Dp, "--ca", _cli.Ca, "--reason", "key-compromise");
        Assert.True(revoked.Exit == 0, revoked.Err);
        Assert.Contains("as owner: keyCompromise; removed 1 mapping(s)", revoked.Out, StringComparison.Ordinal);
        Assert.Contains("revoked by its DP", (await Bob_("status", "--dp", _cli.Dp, "--ca", _cli.Ca)).Out, StringComparison.Ordinal);
        var lookup = await Bob_("lookup", Bob, "--dp", _cli.Dp, "--ca", _cli.Ca, "--json");
        Assert.DoesNotContain("@bob", lookup.Out, StringComparison.Ordinal);
        var again = await Bob_("revoke", Bob, "--dp", _cli.Dp, "--ca", _cli.Ca);
        Assert.NotEqual(0, again.Exit);
        Assert.Contains("credential-already-revoked", again.Err, StringComparison.Ordinal);

        var renewed = await _cli.RunAsync("bob", true, "register", Bob, "--renew", "--dp", _cli.Dp, "--ca", _cli.Ca);
        Assert.True(renewed.Exit == 0, renewed.Err);
        Assert.Contains("republished 1 mapping(s)", renewed.Out, StringComparison.Ordinal);
        Assert.Contains("version 2", renewed.Out, StringComparison.Ordinal);
        Assert.Contains("not revoked", (await Bob_("status", "--dp", _cli.Dp, "--ca", _cli.Ca)).Out, StringComparison.Ordinal);
        Assert.Contains("@bob", (await Bob_("lookup", Bob, "--dp", _cli.Dp, "--ca", _cli.Ca, "--json")).Out, StringComparison.Ordinal);

        var mixed = await Bob_("register", Bob, "--renew", "--service", "wire", "--dp", _cli.Dp, "--ca", _cli.Ca);
        Assert.Equal(2, mixed.Exit);
    }
}

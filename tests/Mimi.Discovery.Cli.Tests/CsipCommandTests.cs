using System.Globalization;
using System.Security.Cryptography;

namespace Mimi.Discovery.Cli.Tests;

/// <summary>
/// The operator onboards a CSIP with <c>csip add</c> on a real <c>serve</c> process's data folder;
/// the CSIP sends a reassignment feed with <c>csip feed</c> and removes with <c>remove --as-csip</c>;
/// the operator revokes it with <c>csip revoke</c>.
/// </summary>
public sealed class CsipCommandTests : IAsyncLifetime
{
    private const string Bob = "+33612345678";
    private const string Dave = "+33698765432";
    private const string Carol = "+447911123456";
    private const string Erin = "+33611112222";

    private readonly CliHarness _cli = new("mimi-csip-");

    public ValueTask InitializeAsync() => new(_cli.ServeAsync());

    public ValueTask DisposeAsync()
    {
        _cli.Dispose();
        return ValueTask.CompletedTask;
    }

    private string File(string name, string text)
    {
        var path = Path.Combine(_cli.Work, name);
        System.IO.File.WriteAllText(path, text);
        return path;
    }

    /// <summary>A CSIP key pair: the private key file the CSIP keeps, the public one it gives the operator.</summary>
    private (string Private, string Public) KeyFiles()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return (File("csip.key", key.ExportPkcs8PrivateKeyPem()), File("csip.pub", key.ExportSubjectPublicKeyInfoPem()));
    }

    private async Task RegisterAsync(string csi, string home)
    {
        var register = await _cli.RunAsync(home, true, "register", csi, "--dp", _cli.Dp, "--ca", _cli.Ca, "--service", "wire,account=@" + home);
        Assert.True(register.Exit == 0, register.Err);
    }

    [Fact]
    public async Task Csip_AddFeedRemoveRevoke_EachStepDoesWhatItSays()
    {
        await RegisterAsync(Bob, "bob");
        await RegisterAsync(Dave, "dave");
        // The numbers change hands after the holders' credentials were issued (whole seconds).
        await Task.Delay(TimeSpan.FromSeconds(1.1), TestContext.Current.CancellationToken);
        var (privateKey, publicKey) = KeyFiles();
        var credential = Path.Combine(_cli.Work, "telco.crt");

        var add = await _cli.RunAsync("csip", "add", "--name", "telco", "--scope", "+336", "--key", publicKey, "--out", credential, "--data", _cli.Data);
        Assert.True(add.Exit == 0, add.Err);
        Assert.Contains("Onboarded CSIP 'telco' for +336", add.Err, StringComparison.Ordinal);
        Assert.StartsWith("-----BEGIN CERTIFICATE-----", System.IO.File.ReadAllText(credential), StringComparison.Ordinal);

        var list = await _cli.RunAsync("csip", "list", "--data", _cli.Data);
        Assert.True(list.Exit == 0, list.Err);
        Assert.Matches("telco.*\\+336.*active", list.Out);

        var now = DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        var feedFile = File("ported.txt", $"# numbers ported out today\n{Bob} {now}\n{Carol} {now}\n");
        var feed = await _cli.RunAsync("csip", "feed", feedFile, "--key", privateKey, "--credential", credential, "--dp", _cli.Dp, "--ca", _cli.Ca);
        Assert.Equal(1, feed.Exit);
        Assert.Contains($"tel:{Bob} applied (1 mapping(s) removed)", feed.Out, StringComparison.Ordinal);
        Assert.Contains($"tel:{Carol} not-in-scope", feed.Out, StringComparison.Ordinal);
        Assert.Contains("1 number(s) refused: outside the CSIP's scope", feed.Err, StringComparison.Ordinal);

        var monitor = await _cli.RunAsync("bob", false, "monitor", Bob, "--dp", _cli.Dp, "--ca", _cli.Ca);
        Assert.NotEqual(2, monitor.Exit);
        Assert.Matches("\\(yours\\).*telco", monitor.Out);
        Assert.Contains("1 mapping(s) removed by the identifier's operator", monitor.Err, StringComparison.Ordinal);

        var remove = await _cli.RunAsync("remove", Dave, "--as-csip", privateKey, "--credential", credential, "--dp", _cli.Dp, "--ca", _cli.Ca);
        Assert.True(remove.Exit == 0, remove.Err);
        Assert.Contains($"Removed 1 mapping(s) of tel:{Dave} as its CSIP", remove.Out, StringComparison.Ordinal);

        // The CSIP revokes a credential of a number in its scope: listed in the CRL, its mapping gone.
        await RegisterAsync(Erin, "erin");
        var revokeErin = await _cli.RunAsync("revoke", Erin, "--reason", "affiliation-changed", "--as-csip", privateKey, "--credential", credential, "--dp", _cli.Dp, "--ca", _cli.Ca);
        Assert.True(revokeErin.Exit == 0, revokeErin.Err);
        Assert.Contains($"of tel:{Erin}", revokeErin.Out, StringComparison.Ordinal);
        Assert.Contains("as csip: affiliationChanged; removed 1 mapping(s)", revokeErin.Out, StringComparison.Ordinal);
        var erinStatus = await _cli.RunAsync("erin", false, "status", "--dp", _cli.Dp, "--ca", _cli.Ca);
        Assert.Matches("tel:\\+33611112222.* revoked", erinStatus.Out);

        var again = await _cli.RunAsync("csip", "feed", feedFile, "--key", privateKey, "--credential", credential, "--dp", _cli.Dp, "--ca", _cli.Ca);
        Assert.Contains($"tel:{Bob} nothing-to-remove", again.Out, StringComparison.Ordinal);

        var revoke = await _cli.RunAsync("csip", "revoke", "telco", "--data", _cli.Data);
        Assert.True(revoke.Exit == 0, revoke.Err);
        Assert.Matches("telco.*revoked", (await _cli.RunAsync("csip", "list", "--data", _cli.Data)).Out);

        var refused = await _cli.RunAsync("remove", Bob, "--as-csip", privateKey, "--credential", credential, "--dp", _cli.Dp, "--ca", _cli.Ca);
        Assert.Equal(1, refused.Exit);
        Assert.Contains("(csip-revoked)", refused.Err, StringComparison.Ordinal);
        Assert.Single(refused.Err.Trim().Split('\n'));
    }

    [Fact]
    public async Task Csip_BadInput_IsOneLineAndChangesNothing()
    {
        var (privateKey, publicKey) = KeyFiles();

        var scope = await _cli.RunAsync("csip", "add", "--name", "telco", "--scope", "33", "--key", publicKey, "--data", _cli.Data);
        Assert.Equal(2, scope.Exit);
        Assert.Contains("--scope", scope.Err, StringComparison.Ordinal);
        Assert.Contains("No CSIPs.", (await _cli.RunAsync("csip", "list", "--data", _cli.Data)).Out, StringComparison.Ordinal);

        var credential = Path.Combine(_cli.Work, "telco.crt");
        Assert.Equal(0, (await _cli.RunAsync("csip", "add", "--name", "telco", "--scope", "+336", "--key", publicKey, "--out", credential, "--data", _cli.Data)).Exit);
        var badLine = File("bad.txt", $"{Bob} 2026-12-01T09:30:00Z\nnot-a-number 2026-12-01T09:30:00Z\n");
        var feed = await _cli.RunAsync("csip", "feed", badLine, "--key", privateKey, "--credential", credential, "--dp", _cli.Dp, "--ca", _cli.Ca);
        Assert.Equal(2, feed.Exit);
        Assert.StartsWith("mimi-discovery: bad.txt:2:", feed.Err, StringComparison.Ordinal);

        var unknown = await _cli.RunAsync("csip", "revoke", "nobody", "--data", _cli.Data);
        Assert.Equal(1, unknown.Exit);
        Assert.Contains("no active CSIP named 'nobody'", unknown.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Feed_CsipNotOnboarded_IsRefusedInOneLine()
    {
        await RegisterAsync(Bob, "bob");
        var (privateKey, publicKey) = KeyFiles();
        // Issued with the DP's CA but never stored: a copy of the data folder stands in for a second DP.
        var other = Path.Combine(_cli.Work, "other-data");
        Directory.CreateDirectory(other);
        System.IO.File.Copy(Path.Combine(_cli.Data, "ca.crt"), Path.Combine(other, "ca.crt"));
        System.IO.File.Copy(Path.Combine(_cli.Data, "ca.key"), Path.Combine(other, "ca.key"));
        var credential = Path.Combine(_cli.Work, "telco.crt");
        Assert.Equal(0, (await _cli.RunAsync("csip", "add", "--name", "telco", "--scope", "+336", "--key", publicKey, "--out", credential, "--data", other)).Exit);
        var feedFile = File("ported.txt", $"{Bob} {DateTimeOffset.UtcNow.ToUnixTimeSeconds()}\n");

        var feed = await _cli.RunAsync("csip", "feed", feedFile, "--key", privateKey, "--credential", credential, "--dp", _cli.Dp, "--ca", _cli.Ca);

        Assert.Equal(1, feed.Exit);
        Assert.Contains("(csip-not-onboarded)", feed.Err, StringComparison.Ordinal);
        Assert.Single(feed.Err.Trim().Split('\n'));
    }
}

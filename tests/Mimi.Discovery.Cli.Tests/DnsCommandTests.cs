using Mimi.Discovery.Tests.Dns;

namespace Mimi.Discovery.Cli.Tests;

public sealed class DnsCommandTests(KnotServer knot) : IClassFixture<KnotServer>
{
    private static Task<(int Exit, string Out, string Err)> RunAsync(params string[] args) => CliProcess.RunAsync(args);

    private string SecretFile()
    {
        var path = Path.GetTempFileName();
        File.WriteAllText(path, Convert.ToBase64String(knot.Key.Secret));
        return path;
    }

    [Fact]
    public async Task Publish_ThenResolve_ThenDelete()
    {
        Assert.SkipWhen(knot.Unavailable is not null, knot.Unavailable ?? "");
        string[] common = ["--server", $"127.0.0.1:{knot.Port}", "--zone", "dyn.example", "--tsig-name", knot.Key.Name, "--tsig-secret-file", SecretFile()];

        var publish = await RunAsync(["dns", "publish", "frank.dyn.example", "--record", "a=frank; e=chat.example; p=1; s=wire", "--record", "a=@frank:m; e=matrix.example; p=2", .. common]);
        Assert.True(publish.Exit == 0, publish.Err);
        Assert.Contains("2 MIMI record(s) published", publish.Out, StringComparison.Ordinal);

        var resolve = await RunAsync("resolve", "frank.dyn.example", "--dns", $"127.0.0.1:{knot.Port}", "--dns-timeout", "30");
        Assert.Contains("found via DNS", resolve.Out, StringComparison.Ordinal);
        Assert.Contains("@frank:m", resolve.Out, StringComparison.Ordinal);

        var delete = await RunAsync(["dns", "publish", "frank.dyn.example", .. common]);
        Assert.True(delete.Exit == 0, delete.Err);
        Assert.Contains("none", (await RunAsync("resolve", "frank.dyn.example", "--dns", $"127.0.0.1:{knot.Port}", "--dns-timeout", "30")).Out, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    public async Task Publish_Sha512Key_IsAcceptedByKnot(int index)
    {
        Assert.SkipWhen(knot.Unavailable is not null, knot.Unavailable ?? "");
        var key = knot.UpdateKeys[index];
        var secret = Path.GetTempFileName();

        // The secret as key generators print it: base64 wrapped at 64 columns, with a final newline.
        await File.WriteAllTextAsync(secret, Convert.ToBase64String(key.Secret, Base64FormattingOptions.InsertLineBreaks) + "\n");

        var result = await RunAsync("dns", "publish", $"sha512-{index}.dyn.example", "--record", "a=k; e=k.example",
            "--server", $"127.0.0.1:{knot.Port}", "--zone", "dyn.example", "--tsig-name", key.Name, "--tsig-secret-file", secret, "--tsig-algorithm", key.Algorithm.ToUpperInvariant());

        Assert.True(result.Exit == 0, result.Err);
        Assert.Equal("hmac-sha512", key.Algorithm);
    }

    [Fact]
    public async Task Publish_Sha384_IsRefusedBeforeAnythingIsSent()
    {
        var result = await RunAsync("dns", "publish", "x.dyn.example", "--record", "a=k; e=k.example",
            "--server", "127.0.0.1:1", "--zone", "dyn.example", "--tsig-name", "k", "--tsig-secret-file", SecretFile(), "--tsig-algorithm", "hmac-sha384");

        Assert.Equal(2, result.Exit);
        Assert.Contains("hmac-sha384 is not supported", result.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Resolve_TrustAnchorBelowTheRoot_IsAUsageError()
    {
        var result = await RunAsync("resolve", "bob.example.net", "--dns", "127.0.0.1:1", "--trust-anchor", "example.net. DS 1 13 2 " + new string('A', 64));

        Assert.Equal(2, result.Exit);
        Assert.Contains("below the root", result.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Publish_WrongSecret_FailsWithTheServersAnswer()
    {
        Assert.SkipWhen(knot.Unavailable is not null, knot.Unavailable ?? "");
        var wrong = Path.GetTempFileName();
        await File.WriteAllTextAsync(wrong, Convert.ToBase64String(new byte[32]));

        var result = await RunAsync("dns", "publish", "mallory.dyn.example", "--record", "a=m; e=evil.example",
            "--server", $"127.0.0.1:{knot.Port}", "--zone", "dyn.example", "--tsig-name", knot.Key.Name, "--tsig-secret-file", wrong);

        Assert.Equal(1, result.Exit);
        Assert.Contains("refused the update", result.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Zone_PrintsBothEncodingsForAPhoneAndMimix()
    {
        var phone = await RunAsync("dns", "zone", "+33612345678", "--record", "a=+33612345678; e=wa.example; s=whatsapp", "--ttl", "600");
        Assert.True(phone.Exit == 0, phone.Err);
        var lines = phone.Out.Trim().Split('\n');
        Assert.Equal(2, lines.Length);
        Assert.Equal("_mimi.8.7.6.5.4.3.2.1.6.3.3.e164.arpa. 600 IN TXT \"v=MIMI1; a=+33612345678; e=wa.example; s=whatsapp\"", lines[0]);
        var generic = lines[1].Split(' ');
        Assert.Equal(["8.7.6.5.4.3.2.1.6.3.3.e164.arpa.", "600", "IN", "TYPE65280", "\\#"], generic[..5]);
        var rdata = Convert.FromHexString(generic[6]);
        Assert.Equal(int.Parse(generic[5], System.Globalization.CultureInfo.InvariantCulture), rdata.Length);
        Assert.True(Mimi.Discovery.Dns.TxtWire.TryDecode(rdata, out var text));
        Assert.Equal("v=MIMI1; a=+33612345678; e=wa.example; s=whatsapp", text);

        var mimix = await RunAsync("dns", "zone", "example.com", "--mimix", "mimi.example.net", "--encoding", "txt");
        Assert.Equal("_mimix.example.com. 300 IN TXT \"mimi.example.net\"", mimix.Out.Trim());
    }

    [Theory]
    [InlineData("dns|zone|bob.example.net|--record|a=bob", "no endpoint")]
    [InlineData("dns|zone|bob@example.com|--record|a=bob; e=x.example", "--resolution-domain")]
    [InlineData("dns|zone|bob.example.net|--record|a=b; e=x.example|--encoding|xml", "--encoding")]
    [InlineData("dns|zone|example.com|--mimix|not a domain!", "--mimix")]
    [InlineData("dns|publish|x.dyn.example|--server|127.0.0.1:1|--zone|dyn.example|--tsig-name|k", "MIMI_DNS_TSIG_SECRET")]
    public async Task BadInput_ExitsTwoWithAReason(string args, string reason)
    {
        var (exit, _, error) = await RunAsync(args.Split('|'));

        Assert.Equal(2, exit);
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }
}

using Mimi.Discovery.Tests.Dns;

namespace Mimi.Discovery.Cli.Tests;

public sealed class ResolveDnssecTests(SignedKnotServer knot) : IClassFixture<SignedKnotServer>
{
    private Task<(int Exit, string Out, string Err)> ResolveAsync(string name, params string[] extra)
    {
        Assert.SkipWhen(knot.Unavailable is not null, knot.Unavailable ?? "");
        return CliProcess.RunAsync(["resolve", name, "--dns", $"127.0.0.1:{knot.Port}", "--dns-timeout", "30", .. extra]);
    }

    private string Anchor => $". DS {knot.Anchor!.KeyTag} {knot.Anchor.Algorithm} {knot.Anchor.DigestType} {Convert.ToHexString(knot.Anchor.Digest)}";

    [Fact]
    public async Task Resolve_ReportsValidatedInsecureAndDiscardsBogus()
    {
        var signed = await ResolveAsync("alice.signed.example", "--trust-anchor", Anchor);
        Assert.True(signed.Exit == 0, signed.Err);
        Assert.Contains("(DNS, DNSSEC-validated)", signed.Out, StringComparison.Ordinal);

        var insecure = await ResolveAsync("alice.insecure.example", "--trust-anchor", Anchor);
        Assert.Contains("(DNS, unsigned zone (DNSSEC-insecure))", insecure.Out, StringComparison.Ordinal);

        var bogus = await ResolveAsync("alice.bogus.example", "--trust-anchor", Anchor);
        Assert.Contains("none (no source has it)", bogus.Out, StringComparison.Ordinal);
        Assert.Contains("failed DNSSEC validation", bogus.Err, StringComparison.Ordinal);

        var plain = await ResolveAsync("alice.bogus.example");
        Assert.Contains("(DNS, not DNSSEC-validated)", plain.Out, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--doh|http://127.0.0.1/dns-query", "not an https:// URL")]
    [InlineData("--doh|https://127.0.0.1/dns-query|--dnssec", "needs --dns")]
    public async Task Resolve_BadDohUse_ExitsTwo(string extra, string reason)
    {
        Assert.SkipWhen(knot.Unavailable is not null, knot.Unavailable ?? "");
        var (exit, _, error) = await CliProcess.RunAsync(["resolve", "bob.example.net", .. extra.Split('|')]);

        Assert.Equal(2, exit);
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Resolve_MalformedTrustAnchor_ExitsTwo()
    {
        var result = await ResolveAsync("alice.signed.example", "--trust-anchor", ". DS nope");
        Assert.Equal(2, result.Exit);
        Assert.Contains("--trust-anchor", result.Err, StringComparison.Ordinal);
    }
}

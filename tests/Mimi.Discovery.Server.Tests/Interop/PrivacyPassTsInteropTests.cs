using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Reflection;
using Mimi.Discovery.Privacy.Tokens;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Server.Tests.Tokens;

namespace Mimi.Discovery.Server.Tests.Interop;

/// <summary>
/// An independent Privacy Pass client — Cloudflare's privacypass-ts, run by Node from
/// <c>tests/interop/privacypass-ts</c> — obtains tokens from the DP in one generic batched issuance
/// request (draft-ietf-privacypass-batched-tokens §6), and the DP accepts them in a lookup's body.
/// </summary>
public sealed class PrivacyPassTsInteropTests : IAsyncLifetime
{
    private static readonly string Directory = Path.Combine(
        typeof(PrivacyPassTsInteropTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "InteropDirectory").Value!,
        "privacypass-ts");

    private DpHost _dp = null!;

    public async ValueTask InitializeAsync() => _dp = await TokenKit.StartAsync(o => o.CsisPerToken = 10);

    public ValueTask DisposeAsync() => _dp.DisposeAsync();

    /// <summary>Why the Node client cannot run here, or null when it can.</summary>
    private static string? Unavailable =>
        System.IO.Directory.Exists(Path.Combine(Directory, "node_modules", "@cloudflare", "privacypass-ts"))
            ? null
            : $"privacypass-ts is not installed: run `npm ci --prefix {Directory}` (.ci/run does)";

    private async Task<(int ExitCode, string[] Tokens, string Error)> IssueWithNodeAsync(string apiKey, int count)
    {
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = Directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            ArgumentList = { "batched-issue.mjs", _dp.BaseAddress.GetLeftPart(UriPartial.Authority), apiKey, count.ToString(System.Globalization.CultureInfo.InvariantCulture), _dp.BaseAddress.Host },
            Environment = { ["NODE_EXTRA_CA_CERTS"] = Path.Combine(_dp.DataDirectory, "tls.crt") },
        };
        using var node = Process.Start(start)!;
        var output = node.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var error = node.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await node.WaitForExitAsync(TestContext.Current.CancellationToken);
        return (node.ExitCode, (await output).Split('\n', StringSplitOptions.RemoveEmptyEntries), await error);
    }

    [Fact]
    public async Task BatchIssuedToPrivacyPassTs_IsRedeemedInALookupBody_AndCountedOnce()
    {
        Assert.SkipWhen(Unavailable is not null, Unavailable ?? "");
        var apiKey = await TokenKit.AddAccountAsync(_dp, "wire-users", "wire", 100);

        var (exitCode, encoded, error) = await IssueWithNodeAsync(apiKey, 12);

        Assert.True(exitCode == 0, error);
        Assert.Equal(12, encoded.Length);
        var tokens = encoded.Select(t => Token.Decode(System.Buffers.Text.Base64Url.DecodeFromChars(t))).ToList();
        Assert.Equal(12, (await TokenKit.Tokens(_dp, apiKey).GetBalanceAsync(TestContext.Current.CancellationToken)).Used);

        // 25 distinct CSIs cost ceil(25 / 10) = 3 tokens, carried in the body.
        var csis = Enumerable.Range(0, 25).Select(i => "+3361234" + i.ToString("D4", System.Globalization.CultureInfo.InvariantCulture)).ToList();
        var paid = await TokenKit.LookupAsync(_dp, csis, [], bodyTokens: tokens.Take(3));
        Assert.Equal(HttpStatusCode.OK, paid.StatusCode);
        Assert.Equal(25, (await paid.Content.ReadFromJsonAsync(ProtocolJson.Default.LookupResponse, TestContext.Current.CancellationToken))!.Results.Count);

        // Each token is spent once: the same three again are refused.
        await ProblemAssert.IsProblemAsync(await TokenKit.LookupAsync(_dp, csis, [], bodyTokens: tokens.Take(3)), 401, "token-spent");
    }

    [Fact]
    public async Task BatchLargerThanTheRemainingQuota_IsPartlyAnswered_PrivacyPassTsFinalizesWhatWasGranted()
    {
        Assert.SkipWhen(Unavailable is not null, Unavailable ?? "");
        var apiKey = await TokenKit.AddAccountAsync(_dp, "small", "wire", 5);

        var (exitCode, encoded, error) = await IssueWithNodeAsync(apiKey, 8);

        Assert.True(exitCode == 0, error);
        Assert.Equal(5, encoded.Length); // 206: five answered, three absent
        var tokens = encoded.Select(t => Token.Decode(System.Buffers.Text.Base64Url.DecodeFromChars(t))).ToList();
        Assert.Equal(HttpStatusCode.OK, (await TokenKit.LookupAsync(_dp, ["+33612345678"], [], bodyTokens: tokens.Take(1))).StatusCode);
    }
}

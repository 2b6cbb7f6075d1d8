using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Mimi.Discovery.Client;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Statements;
using Mimi.Discovery.Transparency;
using Mimi.Discovery.Verification;

namespace Mimi.Discovery.Server.Tests.Mappings;

/// <summary>
/// The recipient journeys of the requirements draft's appendix B, end to end over HTTPS against a
/// real DP: Bob publishes, senders look him up and verify the answer with its completeness proof.
/// </summary>
public sealed class RecipientJourneyTests : IAsyncLifetime
{
    private DpHost _dp = null!;

    public async ValueTask InitializeAsync() => _dp = await DpHost.StartAsync();

    public ValueTask DisposeAsync() => _dp.DisposeAsync();

    /// <summary>Looks <paramref name="csi"/> up as a sender of <paramref name="service"/> would, verified and proven complete.</summary>
    private async Task<VerifiedLookup> LookupAsync(string csi, string? service)
    {
        var metadata = await _dp.Client.GetMetadataAsync();
        var verifier = new StatementVerifier(TrustAnchors.FromPem(string.Join('\n', metadata.CredentialCas)), _dp.Clock);
        var check = new TransparencyCheck(TransparencyKeyset.FromWire(metadata.Transparency!)!, new TreeHeadMemory(), TimeSpan.FromDays(1), _dp.Clock);
        var answer = (await _dp.Client.LookupAsync([csi], verifier, service, check)).Single();
        Assert.True(answer.Proof?.IsComplete, answer.Proof?.Reason);
        Assert.False(answer.Inconsistent, string.Join("; ", answer.Rejected.Select(r => r.Reason)));
        return answer;
    }

    /// <summary>A statement signed by hand, for content an honest signer refuses to write.</summary>
    private static string Craft(DpHost.Recipient bob, string entriesJson, DateTimeOffset now)
    {
        static string B64(string json) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(json));
        var header = $$"""{"alg":"ES256","typ":"mimi-mapping+jws","x5c":["{{Convert.ToBase64String(bob.Credential.RawData)}}"]}""";
        var payload = $$"""{"csi":"{{bob.Csi.Uri}}","ver":1,"iat":{{now.ToUnixTimeSeconds()}},"exp":{{now.ToUnixTimeSeconds() + 3600}},"supersede":false,"audience":"any","entries":{{entriesJson}}}""";
        var input = B64(header) + "." + B64(payload);
        return input + "." + Base64Url.EncodeToString(bob.Key.SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256));
    }

    [Fact]
    public async Task Journey7_TagsAsPeopleWriteThem_RoundTripAndMatchIgnoringCase()
    {
        var bob = await _dp.RegisterAsync("+33612345678");
        await _dp.Client.PublishAsync(bob.Sign(1,
        [
            new MspEntry("wire") { Account = "@bob", Priority = 20, Tags = ["Business"] },
            new MspEntry("whatsapp") { Account = "+33612345678", Priority = 10, Tags = ["Basketball Friends", "Personal"] },
        ]));

        var answer = await LookupAsync("+33612345678", "wire");

        var entries = answer.Mappings.Single().Entries;
        Assert.Equal(["Business"], entries.Single(e => e.Service == "wire").Tags);
        Assert.Equal(["Basketball Friends", "Personal"], entries.Single(e => e.Service == "whatsapp").Tags);
        Assert.True(entries.Single(e => e.Service == "wire").HasTag("business"));
    }

    [Theory]
    [InlineData("Cafe\u0301")]
    [InlineData("Busi\u200Bness")]
    [InlineData("Default")]
    public async Task Publish_InvalidTag_IsInvalidTagAndChangesNothing(string tag)
    {
        var bob = await _dp.RegisterAsync("+33612345678");
        var statement = Craft(bob, $$"""[{"service":"wire","priority":1,"tags":["{{tag}}"]}]""", _dp.Clock.GetUtcNow());

        var e = await ProblemAssert.ThrowsAsync(422, "invalid-tag", () => _dp.Client.PublishAsync(statement));

        Assert.Contains("tags of 'wire'", e.Detail, StringComparison.Ordinal);
        Assert.Equal(LookupResultKinds.None, (await _dp.LookupJsonAsync("+33612345678")).GetProperty("result").GetString());
    }
}

using Mimi.Discovery.Statements;

namespace Mimi.Discovery.Tests.Statements;

public class AudienceTests
{
    private static readonly MspEntry[] WireOnly = [new("wire")];

    [Theory]
    [InlineData(null, "any")]
    [InlineData("any", "any")]
    [InlineData("same-service", "same-service")]
    [InlineData("wire+matrix.org", "only:matrix.org+wire")]
    [InlineData("only:wire+wire", "only:wire")]
    public void TryParse_ValidText_ReturnsCanonicalToken(string? text, string token)
    {
        Assert.True(Audience.TryParse(text, out var audience, out var reason), reason);
        Assert.Equal(token, audience.Token);
    }

    [Theory]
    [InlineData("Wire")]
    [InlineData("wire+")]
    [InlineData("only:")]
    [InlineData("a b")]
    public void TryParse_InvalidText_ReturnsReason(string text)
    {
        Assert.False(Audience.TryParse(text, out _, out var reason));
        Assert.NotEmpty(reason);
    }

    [Theory]
    [InlineData("any", null, true)]
    [InlineData("any", "signal", true)]
    [InlineData("same-service", "wire", true)]
    [InlineData("same-service", "signal", false)]
    [InlineData("same-service", null, false)]
    [InlineData("signal+wire", "signal", true)]
    [InlineData("signal+wire", "matrix.org", false)]
    [InlineData("signal+wire", null, false)]
    public void Admits_QueryingService_FollowsAudience(string audienceText, string? querying, bool expected)
    {
        Assert.True(Audience.TryParse(audienceText, out var audience, out _));
        Assert.Equal(expected, audience.Admits(querying, WireOnly));
    }

    [Fact]
    public void Only_InvalidService_Throws()
    {
        Assert.Throws<ArgumentException>(() => Audience.Only(["ok", "NOT OK"]));
        Assert.Throws<ArgumentException>(() => Audience.Only([]));
    }

    [Fact]
    public void MappingId_RoundTripsThroughText()
    {
        var id = new MappingId(new string('A', 43), "only:signal+wire");
        Assert.True(MappingId.TryParse(id.ToString(), out var parsed));
        Assert.Equal(id, parsed);
        Assert.False(MappingId.TryParse("short/any", out _));
        Assert.False(MappingId.TryParse(new string('A', 43) + "/only:wire+signal", out _));
        Assert.False(MappingId.TryParse(new string('!', 43) + "/any", out _));
    }
}

using Mimi.Discovery.Identifiers;

namespace Mimi.Discovery.Tests.Identifiers;

public class MuiTests
{
    [Theory]
    [InlineData("bob.example.net", "bob.example.net")]
    [InlineData("Bob.Example.NET.", "bob.example.net")]
    [InlineData("bob.bücher.example", "bob.xn--bcher-kva.example")]
    [InlineData("  bob.example.net ", "bob.example.net")]
    public void TryParse_ValidName_ReturnsCanonicalName(string input, string expected)
    {
        Assert.True(Mui.TryParse(input, out var mui, out var reason), reason);
        Assert.Equal(expected, mui.Name);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("localhost")]
    [InlineData("bob..example.net")]
    [InlineData("-bob.example.net")]
    [InlineData("bob_.example.net")]
    [InlineData("bob.example.net\n")]
    [InlineData("[2001:db8::1]")]
    [InlineData("192.0.2.1")]
    public void TryParse_InvalidName_ReturnsReason(string? input)
    {
        Assert.False(Mui.TryParse(input, out var mui, out var reason));
        Assert.Null(mui);
        Assert.NotEmpty(reason);
    }

    [Fact]
    public void TryParse_NameOver253Octets_IsRejected()
    {
        var name = string.Join('.', Enumerable.Repeat(new string('a', 63), 4)) + ".net";
        Assert.False(Mui.TryParse(name, out _, out var reason));
        Assert.Contains("253", reason, StringComparison.Ordinal);
    }
}

using Mimi.Discovery.Dns;
using Mimi.Discovery.Identifiers;

namespace Mimi.Discovery.Tests.Dns;

public class DiscoveryNamesTests
{
    [Theory]
    [InlineData("+16502530000", "e164.arpa", "0.0.0.0.3.5.2.0.5.6.1.e164.arpa")]
    [InlineData("+33612345678", "enum.operator.example.", "8.7.6.5.4.3.2.1.6.3.3.enum.operator.example")]
    public void EnumName_ReversesDigitsUnderTheApex(string phone, string apex, string expected)
    {
        Assert.Equal(expected, DiscoveryNames.EnumName(CsiParser.ParseOrThrow(phone), apex));
    }

    // RFC 6116 §2.4's own example.
    [Fact]
    public void EnumName_Rfc6116Example()
    {
        Assert.Equal("8.4.1.0.6.4.9.7.0.2.4.4.e164.arpa", DiscoveryNames.EnumName(CsiParser.ParseOrThrow("+44 20 7946 0148")));
    }

    [Theory]
    [InlineData("mailbox@example.com", "mimi.example.net", "mailbox.mimi.example.net")]
    [InlineData("first.last@example.com", "mimi.example.net", "first.last.mimi.example.net")]
    [InlineData("bob+tag@example.com", "mimi.example.net", "x--mjxwek3umftq.mimi.example.net")]
    [InlineData("x--sneaky@example.com", "mimi.example.net", "x--paws243omvqww6i.mimi.example.net")]
    public void EmailMui_LocalPartBecomesTheFirstLabels(string email, string domain, string expected)
    {
        Assert.Equal(expected, DiscoveryNames.EmailMui(CsiParser.ParseOrThrow(email), domain));
    }

    [Fact]
    public void EmailMui_TooLongForALabel_IsNull()
    {
        Assert.Null(DiscoveryNames.EmailMui(CsiParser.ParseOrThrow(new string('!', 60) + "@example.com"), "mimi.example.net"));
    }

    [Theory]
    [InlineData("", "")]
    [InlineData("f", "my")]
    [InlineData("fo", "mzxq")]
    [InlineData("foo", "mzxw6")]
    [InlineData("foob", "mzxw6yq")]
    [InlineData("fooba", "mzxw6ytb")]
    [InlineData("foobar", "mzxw6ytboi")]
    public void Base32_Rfc4648Section10Vectors(string input, string expected)
    {
        Assert.Equal(expected, DiscoveryNames.Base32Lower(System.Text.Encoding.ASCII.GetBytes(input)));
    }

    [Fact]
    public void TxtNames_UseTheUnderscoreLabels()
    {
        Assert.Equal("_mimi.bob.example.net", DiscoveryNames.MimiTxtName("bob.example.net"));
        Assert.Equal("_mimix.example.com", DiscoveryNames.MimixTxtName("example.com"));
    }
}

using CsCheck;
using Mimi.Discovery.Identifiers;

namespace Mimi.Discovery.Tests.Identifiers;

public class CsiParserTests
{
    [Theory]
    [InlineData("+33 6 12 34 56 78", null, "tel:+33612345678")]
    [InlineData("tel:+33-6-12-34-56-78", null, "tel:+33612345678")]
    [InlineData("TEL:+16502530000", null, "tel:+16502530000")]
    [InlineData("06 12 34 56 78", "FR", "tel:+33612345678")]
    [InlineData("(650) 253-0000", "us", "tel:+16502530000")]
    [InlineData("020 7946 0958", "GB", "tel:+442079460958")]
    [InlineData("  +4930123456  ", null, "tel:+4930123456")]
    [InlineData("＋１ ２０１ ５５５ ０１２３", null, "tel:+12015550123")]
    [InlineData("＋１\u3000２０１\u3000５５５\u3000０１２３", null, "tel:+12015550123")]
    [InlineData("+٣٣ ٦ ١٢ ٣٤ ٥٦ ٧٨", null, "tel:+33612345678")]
    [InlineData("０６ １２ ３４ ５６ ７８", "FR", "tel:+33612345678")]
    [InlineData("+1 (201) 555–0123", null, "tel:+12015550123")]
    [InlineData("+1 800 FLOWERS", null, "tel:+18003569377")]
    public void Parse_ValidPhone_ReturnsE164Uri(string input, string? region, string expected)
    {
        var result = CsiParser.Parse(input, region);

        Assert.True(result.Success, result.Reason);
        Assert.Equal(CsiKind.Phone, result.Csi.Kind);
        Assert.Equal(expected, result.Csi.Uri);
        Assert.Equal(expected[4..], result.Csi.Value);
    }

    [Theory]
    [InlineData("06 12 34 56 78", null, CsiError.PhoneRegionRequired)]
    [InlineData("06 12 34 56 78", "ZZ", CsiError.PhoneUnparsable)]
    [InlineData("+999 1234 5678", null, CsiError.PhoneUnparsable)]
    [InlineData("+1 555 0000", null, CsiError.PhoneNotAssignable)]
    [InlineData("+1 200 555 0123", null, CsiError.PhoneNotAssignable)]
    [InlineData("+33 1", null, CsiError.PhoneUnparsable)]
    [InlineData("mailto:", null, CsiError.EmailInvalidLocalPart)]
    [InlineData("+44 20 7946 0958 1234 5678 9012", null, CsiError.PhoneUnparsable)]
    [InlineData("tel:+33612345678;ext=12", null, CsiError.PhoneHasExtension)]
    [InlineData("tel:0612345678;phone-context=+33", null, CsiError.PhoneRegionRequired)]
    [InlineData("tel:+33612345678;isub=1234", null, CsiError.PhoneUnparsable)]
    [InlineData("+44 7911 1234 5678 90", null, CsiError.PhoneUnparsable)]
    [InlineData("+1 201 555 0123 4567", null, CsiError.PhoneUnparsable)]
    [InlineData("tel:0612345678", null, CsiError.PhoneRegionRequired)]
    [InlineData("tel:+33 6 12", null, CsiError.PhoneUnparsable)]
    public void Parse_InvalidPhone_ReturnsTypedRejection(string input, string? region, CsiError expected)
    {
        var result = CsiParser.Parse(input, region);

        Assert.False(result.Success);
        Assert.Equal(expected, result.Error);
        Assert.NotEmpty(result.Reason);
    }

    [Theory]
    [InlineData("+1 201 555 0123 ext. 5", "5")]
    [InlineData("+1 201 555 0123 x5", "5")]
    [InlineData("+12015550123;ext=5", "5")]
    [InlineData("＋１ ２０１ ５５５ ０１２３ ｅｘｔ ５", "５")]
    [InlineData("tel:+1-201-555-0123;ext=5", "ext")]
    public void Parse_PhoneWithExtension_SaysSo(string input, string named)
    {
        var result = CsiParser.Parse(input);

        Assert.Equal(CsiError.PhoneHasExtension, result.Error);
        Assert.Contains("extension", result.Reason, StringComparison.Ordinal);
        Assert.Contains(named, result.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Bob@Example.COM", "mailto:bob@example.com")]
    [InlineData("mailto:Bob@example.com", "mailto:bob@example.com")]
    [InlineData("mailto:bob%2Btag@example.com", "mailto:bob+tag@example.com")]
    [InlineData("first.last+tag@mail.example.co.uk", "mailto:first.last+tag@mail.example.co.uk")]
    [InlineData("bob@bücher.example", "mailto:bob@xn--bcher-kva.example")]
    [InlineData("bob@BÜCHER.example.", "mailto:bob@xn--bcher-kva.example")]
    [InlineData("o'neil!#$%&*/=?^_`{|}~-@example.org", "mailto:o'neil!%23$%25&*/=%3F^_`{|}~-@example.org")]
    [InlineData("a&I4?Yu@0yYD.8x", "mailto:a&i4%3Fyu@0yyd.8x")] // found by the property test below: '?' must be escaped to re-parse
    [InlineData("mailto:a&i4%3Fyu@0yyd.8x", "mailto:a&i4%3Fyu@0yyd.8x")]
    public void Parse_ValidEmail_ReturnsCanonicalMailto(string input, string expected)
    {
        var result = CsiParser.Parse(input);

        Assert.True(result.Success, result.Reason);
        Assert.Equal(CsiKind.Email, result.Csi.Kind);
        Assert.Equal(expected, result.Csi.Uri);
    }

    public static TheoryData<string, CsiError> InvalidEmails => new()
    {
        { "\"bob smith\"@example.com", CsiError.EmailQuotedLocalPart },
        { "bob..smith@example.com", CsiError.EmailInvalidLocalPart },
        { ".bob@example.com", CsiError.EmailInvalidLocalPart },
        { "bob.@example.com", CsiError.EmailInvalidLocalPart },
        { "@example.com", CsiError.EmailInvalidLocalPart },
        { "bøb@example.com", CsiError.EmailInvalidLocalPart },
        { "bob smith@example.com", CsiError.EmailInvalidLocalPart },
        { "a@b@example.com", CsiError.EmailInvalidLocalPart },
        { new string('a', 65) + "@example.com", CsiError.EmailLocalPartTooLong },
        { "bob@[192.0.2.1]", CsiError.EmailInvalidDomain },
        { "bob@localhost", CsiError.EmailInvalidDomain },
        { "bob@", CsiError.EmailInvalidDomain },
        { "bob@exa_mple.com", CsiError.EmailInvalidDomain },
        { "bob@-example.com", CsiError.EmailInvalidDomain },
        { "bob@example..com", CsiError.EmailInvalidDomain },
        { "bob@192.0.2.1", CsiError.EmailInvalidDomain },
        { "bob@" + new string('a', 64) + ".com", CsiError.EmailInvalidDomain },
        { "bob@" + string.Join('.', Enumerable.Repeat(new string('a', 60), 5)) + ".com", CsiError.EmailInvalidDomain },
        { new string('a', 64) + "@" + string.Join('.', Enumerable.Repeat(new string('b', 60), 4)) + ".com", CsiError.EmailTooLong },
        { "mailto:bob@example.com?subject=hi", CsiError.EmailInvalidUri },
        { "mailto:bob@example.com,eve@example.com", CsiError.EmailInvalidUri },
        { "mailto:bob%00@example.com", CsiError.ControlCharacter },
        { "bob@example.com\u0000", CsiError.ControlCharacter },
        { "bo\u200Bb@example.com", CsiError.ControlCharacter },
    };

    [Theory]
    [MemberData(nameof(InvalidEmails))]
    public void Parse_InvalidEmail_ReturnsTypedRejection(string input, CsiError expected)
    {
        var result = CsiParser.Parse(input);

        Assert.False(result.Success, $"accepted as {result.Csi}");
        Assert.Equal(expected, result.Error);
        Assert.NotEmpty(result.Reason);
    }

    [Theory]
    [InlineData(null, CsiError.Empty)]
    [InlineData("", CsiError.Empty)]
    [InlineData("   ", CsiError.Empty)]
    [InlineData("bob", CsiError.UnrecognisedForm)]
    [InlineData("https://example.com/", CsiError.UnrecognisedForm)]
    public void Parse_NeitherPhoneNorEmail_ReturnsTypedRejection(string? input, CsiError expected)
    {
        Assert.Equal(expected, CsiParser.Parse(input).Error);
    }

    [Fact]
    public void Parse_HugeInput_ReturnsTooLong()
    {
        Assert.Equal(CsiError.TooLong, CsiParser.Parse(new string('1', 1_000_000)).Error);
    }

    [Fact]
    public void ParseOrThrow_Invalid_ThrowsFormatExceptionWithReason()
    {
        var e = Assert.Throws<FormatException>(() => CsiParser.ParseOrThrow("bob@localhost"));
        Assert.Contains("two labels", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Csi_Equality_IsByCanonicalUri()
    {
        var a = CsiParser.ParseOrThrow("BOB@example.com");
        var b = CsiParser.ParseOrThrow("mailto:bob@EXAMPLE.com");

        Assert.Equal(a, b);
        Assert.True(a == b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.Equal("example.com", a.EmailDomain);
        Assert.NotEqual(a, CsiParser.ParseOrThrow("+33612345678"));
    }

    private static readonly string[] Prefixes = ["+", "tel:", "mailto:", "@", "a@", "+33 6", "mailto:%", "tel:+;"];

    [Fact]
    public void Parse_AnyString_NeverThrowsAndCanonicalFormIsAFixedPoint()
    {
        var alphabet = Gen.OneOf(Gen.Char["+0123456789 -().@abcXYZ:;%/é\u0000\u200B\"[]"], Gen.Char);
        Gen.OneOf(
                alphabet.Array[0, 40].Select(chars => new string(chars)),
                Gen.Int[0, Prefixes.Length - 1].Select(i => Prefixes[i]).SelectMany(p => alphabet.Array[0, 20].Select(c => p + new string(c))))
            .Sample(input =>
            {
                var result = CsiParser.Parse(input, "FR");
                if (result.Success)
                {
                    var again = CsiParser.Parse(result.Csi.Uri);
                    Assert.True(again.Success && again.Csi == result.Csi, $"'{input}' → {result.Csi} does not re-parse to itself");
                }
                else
                {
                    Assert.NotEqual(CsiError.None, result.Error);
                }
            }, iter: 20_000);
    }
}

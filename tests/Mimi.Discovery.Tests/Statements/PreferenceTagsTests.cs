using System.Text;
using Mimi.Discovery.Statements;
using Mimi.Discovery.Verification;

namespace Mimi.Discovery.Tests.Statements;

public sealed class PreferenceTagsTests : IDisposable
{
    private readonly TestPki _pki = new();

    public void Dispose() => _pki.Dispose();

    [Theory]
    [InlineData("Business")]
    [InlineData("Basketball Friends")]
    [InlineData("WhatsApp")]
    [InlineData("Fußball-Eltern")]
    [InlineData("商务")]
    [InlineData("default")]
    [InlineData("work")]
    public void Validate_TagsAsPeopleWriteThem_AreValid(string tag)
    {
        Assert.Null(PreferenceTags.Validate(tag));
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("a\u0000b", "U+0000")]
    [InlineData("Busi\u200Bness", "U+200B")]     // zero-width space (format)
    [InlineData("\u202Eesenisub", "U+202E")]     // right-to-left override (format)
    [InlineData("line\u2028break", "U+2028")]
    [InlineData("priv\uE000", "U+E000")]
    [InlineData("Cafe\u0301", "NFC")]            // decomposed é
    [InlineData(" Business", "white space")]
    [InlineData("Business ", "white space")]
    [InlineData("Default", "lower case")]
    [InlineData("DEFAULT", "lower case")]
    public void Validate_InvalidTag_SaysWhy(string tag, string why)
    {
        var reason = PreferenceTags.Validate(tag);

        Assert.NotNull(reason);
        Assert.Contains(why, reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_LoneSurrogate_IsRefused()
    {
        Assert.Contains("surrogate", PreferenceTags.Validate("lone" + (char)0xD800), StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_LengthLimits_CountCharactersAndBytes()
    {
        Assert.Null(PreferenceTags.Validate(new string('a', PreferenceTags.MaxCharacters)));
        Assert.NotNull(PreferenceTags.Validate(new string('a', PreferenceTags.MaxCharacters + 1)));
        // 42 three-byte characters are 126 bytes; 43 are 129, over the byte limit though under the character limit.
        Assert.Null(PreferenceTags.Validate(new string('商', 42)));
        Assert.Contains("UTF-8 bytes", PreferenceTags.Validate(new string('商', 43)), StringComparison.Ordinal);
        // 64 emoji are 64 characters (128 UTF-16 units): counted as characters, not code units.
        Assert.Null(PreferenceTags.Validate(string.Concat(Enumerable.Repeat("😀", 32))));
    }

    [Theory]
    [InlineData("Business", "business", true)]
    [InlineData("Business", "BUSINESS", true)]
    [InlineData("Basketball Friends", "basketball friends", true)]
    [InlineData("ÉQUIPE", "équipe", true)]
    [InlineData("straße", "STRASSE", false)]      // simple case mapping only, no full folding
    [InlineData("Business", "Busines", false)]
    public void Matches_IgnoresCaseBySimpleMapping(string a, string b, bool same)
    {
        Assert.Equal(same, PreferenceTags.Matches(a, b));
        Assert.Equal(same, new MspEntry("wire") { Tags = [a] }.HasTag(b));
    }

    [Fact]
    public void SignMapping_DecomposedTag_IsSignedInNfcAndVerifies()
    {
        var bob = _pki.NewRecipient("+33612345678");

        var jws = bob.Publish(entries: [new MspEntry("wire") { Tags = ["Cafe\u0301", "Basketball Friends"] }]);

        var verified = _pki.Verifier().VerifyMapping(jws);
        Assert.True(verified.IsValid, verified.Reason);
        Assert.Equal(["Caf\u00E9", "Basketball Friends"], verified.Statement.Entries[0].Tags);
    }

    [Fact]
    public void SignMapping_SameTagTwiceIgnoringCase_Throws()
    {
        var bob = _pki.NewRecipient("+33612345678");

        var e = Assert.Throws<ArgumentException>(() => bob.Publish(entries: [new MspEntry("wire") { Tags = ["Business", "business"] }]));
        Assert.Contains("same tag twice", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Cafe\u0301")]
    [InlineData("Busi\u200Bness")]
    [InlineData("Default")]
    [InlineData("Business\", \"BUSINESS")]
    [InlineData("a\", \"a")]
    public void VerifyMapping_CraftedInvalidTag_IsInvalidTag(string tag)
    {
        var bob = _pki.NewRecipient("+33612345678");
        var entries = $$"""[{"service":"wire","priority":1,"tags":["{{tag}}"]}]""";
        var jws = Crafted.Jws(Crafted.Header(MappingStatement.MediaType, bob.Credential), Crafted.MappingPayload(bob.Csi.Uri, _pki.Time.GetUtcNow().ToUnixTimeSeconds(), _pki.Time.GetUtcNow().ToUnixTimeSeconds() + 3600, entries), bob.Key);

        var verified = _pki.Verifier().VerifyMapping(jws);

        Assert.Equal(VerificationStatus.InvalidTag, verified.Status);
        Assert.Contains("tags of 'wire'", verified.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void VerifyMapping_LowerCaseAsciiTag_IsTheSameStatementAsBefore()
    {
        // Wire compatibility: a statement whose tags the old rule allowed is unchanged, byte for byte.
        var bob = _pki.NewRecipient("+33612345678");

        var jws = bob.Publish(entries: [new MspEntry("wire") { Tags = ["default", "work.2"] }]);

        var payload = Encoding.UTF8.GetString(System.Buffers.Text.Base64Url.DecodeFromChars(jws.Split('.')[1]));
        Assert.Contains("\"tags\":[\"default\",\"work.2\"]", payload, StringComparison.Ordinal);
    }
}

using Mimi.Discovery.Dns;

namespace Mimi.Discovery.Tests.Dns;

public class MimiRecordTests
{
    [Theory]
    [InlineData("v=MIMI1; a=myuser; e=mimiserver.example.com", "myuser", "mimiserver.example.com", null, null, null)]
    [InlineData("v=MIMI1; p=2; a=+15551234567; e=mimi.whatsapp.com; s=whatsapp", "+15551234567", "mimi.whatsapp.com", 2, "whatsapp", null)]
    [InlineData("v=MIMI1;p=1;a=myname99;e=im.telegram.org;s=telegram;pv=1.0;", "myname99", "im.telegram.org", 1, "telegram", "1.0")]
    [InlineData("  a = bob ;  v=MIMI1 ; e = chat.example ", "bob", "chat.example", null, null, null)]
    [InlineData("v=MIMI1;\ta=bob;\te=chat.example", "bob", "chat.example", null, null, null)]
    [InlineData("v\t=\tMIMI1\t;\r\n a=bob;\r\n\te=chat.example;\t", "bob", "chat.example", null, null, null)]
    [InlineData("v=MIMI1; a=érin; e=chat.example", "érin", "chat.example", null, null, null)]
    public void TryParse_DraftExamples_AreRead(string text, string account, string endpoint, int? priority, string? service, string? pv)
    {
        Assert.True(MimiRecord.TryParse(text, out var record, out var diagnostic), diagnostic);

        Assert.Equal(new MimiRecord(account, endpoint, priority, service, pv), record);
    }

    [Fact]
    public void TryParse_UnknownTag_IsIgnoredWithADiagnostic()
    {
        Assert.True(MimiRecord.TryParse("v=MIMI1; a=bob; e=x.example; zz=future", out var record, out var diagnostic));
        Assert.Equal("bob", record.Account);
        Assert.Contains("zz", diagnostic, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("v=MIMI2; a=bob; e=x.example", "version")]
    [InlineData("v=mimi1; a=bob; e=x.example", "version")]
    [InlineData("a=bob; e=x.example", "no version")]
    [InlineData("v=MIMI1; e=x.example", "no account")]
    [InlineData("v=MIMI1; a=; e=x.example", "no account")]
    [InlineData("v=MIMI1; a=bob", "no endpoint")]
    [InlineData("v=MIMI1; a=bob; a=eve; e=x.example", "twice")]
    [InlineData("v=MIMI1; a=bob; e=x.example; p=-1", "priority")]
    [InlineData("v=MIMI1; a=bob; e=x.example; p=70000", "priority")]
    [InlineData("v=MIMI1; a=bob; e=x.example; p=one", "priority")]
    [InlineData("v=MIMI1; a=bob;; e=x.example", "empty tag")]
    [InlineData("v=MIMI1; a=bob; e=x.example; garbage", "not tag=value")]
    [InlineData("v=MIMI1; =bob; e=x.example", "not tag=value")]
    [InlineData("v=MIMI1; a b=bob; e=x.example", "not a tag name")]
    [InlineData("", "empty")]
    [InlineData("v=MIMI1; a=bo\u0001b; e=x.example", "U+0001")]
    [InlineData("v=MIMI1; a=bob;\ne=x.example", "U+000A")]
    [InlineData("v=MIMI1; a=bob;\r\ne=x.example", "U+000D")]
    [InlineData("v=MIMI1; a=bob;\u00A0e=x.example", "not a tag name")]
    public void TryParse_Malformed_IsIgnoredWithAReason(string text, string reason)
    {
        Assert.False(MimiRecord.TryParse(text, out var record, out var diagnostic));
        Assert.Null(record);
        Assert.Contains(reason, diagnostic, StringComparison.Ordinal);
    }

    [Fact]
    public void ToString_RoundTrips()
    {
        var record = new MimiRecord("+15551234567", "mimi.whatsapp.com", 2, "whatsapp", "1");
        Assert.True(MimiRecord.TryParse(record.ToString(), out var again, out _));
        Assert.Equal(record, again);
    }

    [Fact]
    public void ByPreference_SortsByPriorityWithUnprioritisedLast()
    {
        MimiRecord[] records = [new("a", "e", null, "none", null), new("b", "e", 2, "two", null), new("c", "e", 1, "one", null)];
        Assert.Equal(["one", "two", "none"], MimiRecord.ByPreference(records).Select(r => r.Service));
    }
}

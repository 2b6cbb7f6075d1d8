using Mimi.Discovery.Dns;

namespace Mimi.Discovery.Tests.Dns;

public class TxtWireTests
{
    [Theory]
    [InlineData("v=MIMI1; a=bob; e=x.example")]
    [InlineData("")]
    public void EncodeDecode_RoundTrips(string text)
    {
        Assert.True(TxtWire.TryDecode(TxtWire.Encode(text), out var decoded) || text.Length == 0);
        if (text.Length > 0)
        {
            Assert.Equal(text, decoded);
        }
    }

    [Fact]
    public void Encode_LongText_SplitsInto255OctetStrings()
    {
        var text = new string('a', 600);
        var data = TxtWire.Encode(text);

        Assert.Equal([255, 255, 90], new[] { data[0], data[256], data[512] });
        Assert.True(TxtWire.TryDecode(data, out var decoded));
        Assert.Equal(text, decoded);
    }

    [Theory]
    [InlineData(new byte[] { 5, 0x61 })]
    [InlineData(new byte[] { 1, 0xFF })]
    [InlineData(new byte[0])]
    public void TryDecode_Malformed_IsFalse(byte[] data)
    {
        Assert.False(TxtWire.TryDecode(data, out _));
    }
}

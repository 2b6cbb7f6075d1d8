using System.Buffers.Text;
using System.Numerics;
using Mimi.Discovery.Crypto;
using Mimi.Discovery.Verification;

namespace Mimi.Discovery.Tests.Crypto;

public sealed class Es256LowSTests : IDisposable
{
    private static readonly BigInteger Order = BigInteger.Parse("115792089210356248762697446949407573529996955224135760342422259061068512044369", System.Globalization.CultureInfo.InvariantCulture);

    private readonly TestPki _pki = new();

    public void Dispose() => _pki.Dispose();

    /// <summary>The same JWS with S replaced by n - S: what a signer that does not normalise (WebCrypto) produces half the time.</summary>
    internal static string OtherS(string jws)
    {
        var dot = jws.LastIndexOf('.');
        var signature = Base64Url.DecodeFromChars(jws.AsSpan(dot + 1));
        var s = Order - new BigInteger(signature.AsSpan(32), isUnsigned: true, isBigEndian: true);
        Array.Clear(signature, 32, 32);
        s.TryWriteBytes(signature.AsSpan(64 - s.GetByteCount(isUnsigned: true)), out _, isUnsigned: true, isBigEndian: true);
        return jws[..(dot + 1)] + Base64Url.EncodeToString(signature);
    }

    private static byte[] Signature(string jws) => Base64Url.DecodeFromChars(jws.AsSpan(jws.LastIndexOf('.') + 1));

    [Fact]
    public void SignMapping_ManyStatements_AreAllLowS()
    {
        var bob = _pki.NewRecipient("+33612345678");

        // Without normalisation about half of the signatures are high-S; 64 all low is no accident.
        var statements = Enumerable.Range(1, 64).Select(v => bob.Publish(v)).ToList();

        Assert.All(statements, jws => Assert.True(Es256LowS.IsLowS(Signature(jws))));
    }

    [Fact]
    public void VerifyMapping_HighSForm_IsAcceptedAsTheSameStatement()
    {
        var bob = _pki.NewRecipient("+33612345678");
        var low = bob.Publish();
        var high = OtherS(low);
        Assert.NotEqual(low, high);
        Assert.False(Es256LowS.IsLowS(Signature(high)));

        var verified = _pki.Verifier().VerifyMapping(high);

        Assert.Equal(VerificationStatus.Valid, verified.Status);
        Assert.Equal(low, Es256LowS.Normalize(high));
        Assert.Equal(low, Es256LowS.Normalize(low));
    }

    [Theory]
    [InlineData("")]
    [InlineData("a.b")]
    [InlineData("a.b.c.d")]
    [InlineData("a.b.!!!")]
    [InlineData("a.b.AAAA")]
    public void Normalize_NotAnEs256CompactJws_IsLeftAlone(string text)
    {
        Assert.Equal(text, Es256LowS.Normalize(text));
    }
}

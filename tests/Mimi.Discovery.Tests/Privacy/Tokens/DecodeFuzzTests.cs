using CsCheck;
using Mimi.Discovery.Privacy;
using Mimi.Discovery.Privacy.Tokens;

namespace Mimi.Discovery.Tests.Privacy.Tokens;

/// <summary>Property tests: any input to a Privacy Pass decoder or parser either decodes or fails with <see cref="ProtocolException{PrivacyPassError}"/>, nothing else.</summary>
public class DecodeFuzzTests
{
    private static void OnlyTyped(Action decode)
    {
        try
        {
            decode();
        }
        catch (ProtocolException<PrivacyPassError> e)
        {
            Assert.True(Enum.IsDefined(e.Error));
            Assert.False(string.IsNullOrWhiteSpace(e.Message));
        }
    }

    private static readonly byte[] ValidChallenge = new TokenChallenge(PrivateTokenTypes.BlindRsa2048, "issuer.example", new byte[32], ["a.example", "b.example"]).Encode();

    // Random bytes, often starting like a real structure (type 0x0002) so that decoders get past the first check.
    private static readonly Gen<byte[]> Bytes = Gen.OneOf(
        Gen.Byte.Array[0, 600],
        Gen.Byte.Array[0, 600].Select(b => (byte[])[0x00, 0x02, .. b]),
        Gen.Int[0, Token.EncodedLength + 2].Select(n => (byte[])[0x00, 0x02, .. new byte[n]]),
        Gen.Select(Gen.Int[0, ValidChallenge.Length - 1], Gen.Byte).Select((i, b) =>
        {
            var mutated = ValidChallenge.ToArray();
            mutated[i] = b;
            return mutated;
        }));

    [Fact]
    public void BinaryDecoders_RandomBytes_OnlyThrowTyped() =>
        Bytes.Sample(bytes =>
        {
            OnlyTyped(() => Token.Decode(bytes));
            OnlyTyped(() => TokenRequest.Decode(bytes));
            OnlyTyped(() => TokenResponse.Decode(bytes));
            OnlyTyped(() => TokenChallenge.Decode(bytes));
            OnlyTyped(() => TokenPublicKey.Decode(bytes));
        }, iter: 3000);

    [Fact]
    public void TokenKeyDecoder_MutatedDer_OnlyThrowsTyped()
    {
        using var rsa = System.Security.Cryptography.RSA.Create(2048);
        var spki = TokenPublicKey.FromKey(BlindRsaPublicKey.FromRsa(rsa)).Encoded.ToArray();
        Gen.Select(Gen.Int[0, spki.Length - 1], Gen.Byte, Gen.Int[0, spki.Length]).Sample((i, b, cut) =>
        {
            var mutated = spki.ToArray();
            mutated[i] = b;
            OnlyTyped(() => TokenPublicKey.Decode(mutated.AsSpan(0, cut)));
            OnlyTyped(() => TokenPublicKey.Decode(mutated));
        }, iter: 2000);
    }

    [Fact]
    public void TextParsers_RandomStrings_OnlyThrowTyped()
    {
        var pieces = Gen.OneOf(
            Gen.Const("PrivateToken "), Gen.Const("challenge="), Gen.Const("token-key="), Gen.Const("token="), Gen.Const("max-age="),
            Gen.Const("\""), Gen.Const(", "), Gen.Const("="), Gen.Const("AAIAAWkAAAA"), Gen.Const("\\"), Gen.Const("{"), Gen.Const("}"),
            Gen.Const("\"token-keys\":["), Gen.Const("\"issuer-request-uri\":\"https://a/\""), Gen.Const("\"token-type\":2"),
            Gen.Char.Select(c => c.ToString()), Gen.String);
        pieces.Array[0, 12].Select(p => string.Concat(p)).Sample(text =>
        {
            OnlyTyped(() => PrivateTokenHeaders.ParseChallenges(text));
            OnlyTyped(() => PrivateTokenHeaders.ParseAuthorization(text));
            OnlyTyped(() => IssuerDirectory.Parse(text));
        }, iter: 5000);
    }
}

using System.Text.Json;
using Mimi.Discovery.Privacy.Hpke;

namespace Mimi.Discovery.Tests.Privacy.Hpke;

/// <summary>
/// RFC 9180 Appendix A, every base-mode vector for DHKEM(X25519)/DHKEM(P-256), HKDF-SHA256 and each AEAD
/// (Vectors/Hpke, copied verbatim from the CFRG test-vectors.json): keys are derived from ikmE/ikmR, then
/// enc, the key schedule, all 257 encryptions and every export are checked on both sides.
/// </summary>
public class HpkeVectorTests
{
    private static readonly JsonElement[] Vectors = [.. JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Vectors", "Hpke", "rfc9180-base-mode.json"))).RootElement.EnumerateArray()];

    public static TheoryData<int, int> Suites => new(Vectors.Select(v => (v.GetProperty("kem_id").GetInt32(), v.GetProperty("aead_id").GetInt32())));

    private static JsonElement Vector(int kem, int aead) =>
        Vectors.Single(v => v.GetProperty("kem_id").GetInt32() == kem && v.GetProperty("aead_id").GetInt32() == aead);

    private static byte[] Hex(JsonElement e, string name) => Convert.FromHexString(e.GetProperty(name).GetString()!);

    private static HpkeSuite Suite(JsonElement v) =>
        new((HpkeKem)v.GetProperty("kem_id").GetInt32(), (HpkeKdf)v.GetProperty("kdf_id").GetInt32(), (HpkeAead)v.GetProperty("aead_id").GetInt32());

    [Fact]
    public void Vectors_CoverEveryImplementedSuite()
    {
        Assert.Equal(8, Vectors.Length);
        Assert.All(Vectors, v => Assert.Equal(0, v.GetProperty("mode").GetInt32()));
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void DeriveKeyPair_Rfc9180AppendixA_MatchesSerializedKeys(int kem, int aead)
    {
        var v = Vector(kem, aead);

        using var recipient = HpkeKeyPair.Derive((HpkeKem)kem, Hex(v, "ikmR"));
        using var ephemeral = HpkeKeyPair.Derive((HpkeKem)kem, Hex(v, "ikmE"));

        Assert.Equal(Hex(v, "skRm"), recipient.ExportPrivateKey());
        Assert.Equal(Hex(v, "pkRm"), recipient.PublicKey.ToArray());
        Assert.Equal(Hex(v, "skEm"), ephemeral.ExportPrivateKey());
        Assert.Equal(Hex(v, "pkEm"), ephemeral.PublicKey.ToArray());
        using var imported = HpkeKeyPair.Import((HpkeKem)kem, Hex(v, "skRm"));
        Assert.Equal(Hex(v, "pkRm"), imported.PublicKey.ToArray());
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void SetupBase_Rfc9180AppendixA_ReproducesKeySchedule(int kem, int aead)
    {
        var v = Vector(kem, aead);
        var suite = Suite(v);
        using var recipient = HpkeKeyPair.Derive(suite.Kem, Hex(v, "ikmR"));
        using var ephemeral = HpkeKeyPair.Derive(suite.Kem, Hex(v, "ikmE"));

        using var sender = global::Mimi.Discovery.Privacy.Hpke.Hpke.SetupBaseSender(suite, recipient.PublicKey.Span, Hex(v, "info"), ephemeral, out var enc);
        using var receiver = global::Mimi.Discovery.Privacy.Hpke.Hpke.SetupBaseReceiver(suite, enc, recipient, Hex(v, "info"));

        Assert.Equal(Hex(v, "enc"), enc);
        foreach (var context in new[] { sender, receiver })
        {
            Assert.Equal(Hex(v, "key"), context.Key.ToArray());
            Assert.Equal(Hex(v, "base_nonce"), context.BaseNonce.ToArray());
            Assert.Equal(Hex(v, "exporter_secret"), context.ExporterSecret.ToArray());
        }
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void SealOpen_Rfc9180AppendixA_EveryEncryptionMatches(int kem, int aead)
    {
        var v = Vector(kem, aead);
        var suite = Suite(v);
        using var recipient = HpkeKeyPair.Derive(suite.Kem, Hex(v, "ikmR"));
        using var ephemeral = HpkeKeyPair.Derive(suite.Kem, Hex(v, "ikmE"));
        using var sender = global::Mimi.Discovery.Privacy.Hpke.Hpke.SetupBaseSender(suite, recipient.PublicKey.Span, Hex(v, "info"), ephemeral, out var enc);
        using var receiver = global::Mimi.Discovery.Privacy.Hpke.Hpke.SetupBaseReceiver(suite, Hex(v, "enc"), recipient, Hex(v, "info"));

        var encryptions = v.GetProperty("encryptions").EnumerateArray().ToArray();
        Assert.Equal(suite.Aead == HpkeAead.ExportOnly ? 0 : 257, encryptions.Length);
        foreach (var e in encryptions)
        {
            Assert.Equal(Hex(e, "ct"), sender.Seal(Hex(e, "aad"), Hex(e, "pt")));
            Assert.True(receiver.TryOpen(Hex(e, "aad"), Hex(e, "ct"), out var pt));
            Assert.Equal(Hex(e, "pt"), pt);
        }

        Assert.Equal((ulong)encryptions.Length, sender.SequenceNumber);
        Assert.Equal((ulong)encryptions.Length, receiver.SequenceNumber);
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void Export_Rfc9180AppendixA_EveryExportMatches(int kem, int aead)
    {
        var v = Vector(kem, aead);
        var suite = Suite(v);
        using var recipient = HpkeKeyPair.Derive(suite.Kem, Hex(v, "ikmR"));
        using var ephemeral = HpkeKeyPair.Derive(suite.Kem, Hex(v, "ikmE"));
        using var sender = global::Mimi.Discovery.Privacy.Hpke.Hpke.SetupBaseSender(suite, recipient.PublicKey.Span, Hex(v, "info"), ephemeral, out var enc);
        using var receiver = global::Mimi.Discovery.Privacy.Hpke.Hpke.SetupBaseReceiver(suite, enc, recipient, Hex(v, "info"));

        var exports = v.GetProperty("exports").EnumerateArray().ToArray();
        Assert.Equal(3, exports.Length);
        foreach (var x in exports)
        {
            var length = x.GetProperty("L").GetInt32();
            Assert.Equal(Hex(x, "exported_value"), sender.Export(Hex(x, "exporter_context"), length));
            Assert.Equal(Hex(x, "exported_value"), receiver.Export(Hex(x, "exporter_context"), length));
        }
    }
}

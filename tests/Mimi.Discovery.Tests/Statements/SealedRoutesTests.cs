using System.Buffers.Text;
using System.Text;
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Statements;
using Mimi.Discovery.Verification;

namespace Mimi.Discovery.Tests.Statements;

public sealed class SealedRoutesTests : IDisposable
{
    private readonly TestPki _pki = new();
    private readonly TestPki.Recipient _bob;
    private readonly RouteKey _parents;
    private readonly RouteKey _alice;

    public SealedRoutesTests()
    {
        _bob = _pki.NewRecipient("+33612345678");
        _parents = RouteKey.Create("soccer-parents", _bob.Csi);
        _alice = RouteKey.Create("alice", _bob.Csi);
    }

    public void Dispose() => _pki.Dispose();

    private static readonly MspEntry Wire = new("wire") { Account = "@bob", Priority = 20, Tags = ["Business"] };
    private static readonly MspEntry WhatsApp = new("whatsapp") { Account = "+33699999999", Priority = 10 };
    private static readonly MspEntry Signal = new("signal") { Account = "+33688888888", Priority = 10 };

    private MappingStatement Publish(params SealedRouteDraft[] groups) => Verify(_bob.Signer.SignMapping(new MappingDraft(_bob.Csi, 1, [Wire]) { SealedRoutes = groups }));

    private MappingStatement Verify(string jws)
    {
        var verified = _pki.Verifier().VerifyMapping(jws);
        Assert.True(verified.IsValid, verified.Reason);
        return verified.Statement!;
    }

    /// <summary>Bob's statement with <paramref name="boxes"/> as its sealed member, signed by him.</summary>
    private string Craft(IEnumerable<string> boxes)
    {
        var now = _pki.Time.GetUtcNow().ToUnixTimeSeconds();
        var sealedJson = ",\"sealed\":[" + string.Join(',', boxes.Select(b => "\"" + b + "\"")) + "]";
        return Crafted.Jws(Crafted.Header(MappingStatement.MediaType, _bob.Credential),
            Crafted.MappingPayload(_bob.Csi.Uri, now, now + 3600, """[{"service":"wire","priority":1,"tags":[]}]""", sealedJson), _bob.Key);
    }

    [Fact]
    public void Open_TheGroupsKey_OpensItsRoutesOnly()
    {
        var statement = Publish(new SealedRouteDraft(_parents, [WhatsApp]), new SealedRouteDraft(_alice, [Signal]));

        var parents = SealedRoutes.Open([statement], [_parents]);
        var alice = SealedRoutes.Open([statement], [_alice]);
        var both = SealedRoutes.Open([statement], [_alice, _parents]);

        Assert.Equal([WhatsApp], parents.Select(r => r.Entry));
        Assert.Equal("soccer-parents", parents.Single().SealedWith);
        Assert.Equal([Signal], alice.Select(r => r.Entry));
        Assert.Equal(2, both.Count);
        Assert.Empty(SealedRoutes.Open([statement], []));
        Assert.False(statement.IsOptOut);
    }

    [Fact]
    public void Open_WrongOrRevokedKey_OpensNothing()
    {
        var statement = Publish(new SealedRouteDraft(_parents, [WhatsApp]));
        var stranger = RouteKey.Create("soccer-parents", _bob.Csi);
        // The same secret for another identifier: the CSI is in the key derivation.
        var elsewhere = RouteKey.FromSecret("soccer-parents", CsiParser.ParseOrThrow("+33611111111"), _parents.Secret);

        Assert.Empty(SealedRoutes.Open([statement], [stranger]));
        Assert.Empty(SealedRoutes.Open([statement], [elsewhere]));

        // Revocation: Bob rotates the key and publishes again; the old key opens nothing new.
        var rotated = RouteKey.Create("soccer-parents", _bob.Csi);
        var republished = Verify(_bob.Signer.SignMapping(new MappingDraft(_bob.Csi, 2, [Wire]) { SealedRoutes = [new SealedRouteDraft(rotated, [WhatsApp])] }));
        Assert.Empty(SealedRoutes.Open([republished], [_parents]));
        Assert.Single(SealedRoutes.Open([republished], [rotated]));
    }

    [Fact]
    public void Open_TamperedBox_OpensNothingAndNeverThrows()
    {
        var statement = Publish(new SealedRouteDraft(_parents, [WhatsApp]));
        var box = Base64Url.DecodeFromChars(statement.SealedRoutes.Single());
        for (var at = 0; at < box.Length; at += 37)
        {
            var tampered = (byte[])box.Clone();
            tampered[at] ^= 0x01;

            var forged = Verify(Craft([Base64Url.EncodeToString(tampered)]));

            Assert.Empty(SealedRoutes.Open([forged], [_parents]));
        }
    }

    [Theory]
    [InlineData("nonzero padding")]
    [InlineData("length past the bucket")]
    [InlineData("not JSON")]
    [InlineData("invalid entry")]
    [InlineData("entry with an audience")]
    [InlineData("no entry")]
    public void Open_KeyOpensAMalformedPlaintext_ShowsNothing(string flaw)
    {
        var json = flaw switch
        {
            "not JSON" => "[{\"service\":",
            "invalid entry" => """[{"service":"WhatsApp","priority":1,"tags":[]}]""",
            "entry with an audience" => """[{"service":"whatsapp","priority":1,"tags":[],"audience":"same-service"}]""",
            "no entry" => "[]",
            _ => """[{"service":"whatsapp","priority":1,"tags":[]}]""",
        };
        var plaintext = new byte[512];
        var bytes = Encoding.UTF8.GetBytes(json);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(plaintext, (ushort)(flaw == "length past the bucket" ? 600 : bytes.Length));
        bytes.CopyTo(plaintext, 2);
        if (flaw == "nonzero padding")
        {
            plaintext[^1] = 1;
        }

        var statement = Verify(Craft([Base64Url.EncodeToString(SealedRoutes.SealPlaintext(_bob.Csi, _parents, plaintext))]));

        Assert.Empty(SealedRoutes.Open([statement], [_parents]));
    }

    [Fact]
    public void Seal_HidesHowManyGroupsAndEntriesWithinABucket()
    {
        var one = Publish(new SealedRouteDraft(_parents, [WhatsApp]));
        var three = Publish(new SealedRouteDraft(_parents, [WhatsApp, Signal, Wire]), new SealedRouteDraft(_alice, [Signal]),
            new SealedRouteDraft(RouteKey.Create("carol", _bob.Csi), [Signal]));

        Assert.Single(one.SealedRoutes);
        Assert.Equal(4, three.SealedRoutes.Count);
        Assert.Single(three.SealedRoutes.Concat(one.SealedRoutes).Select(b => b.Length).Distinct());
    }

    [Fact]
    public void Seal_KeyForAnotherIdentifierOrTooMuch_Throws()
    {
        var other = RouteKey.Create("x", CsiParser.ParseOrThrow("+33611111111"));
        Assert.Throws<ArgumentException>(() => Publish(new SealedRouteDraft(other, [WhatsApp])));
        Assert.Throws<ArgumentException>(() => Publish(new SealedRouteDraft(_parents, [])));
        var many = Enumerable.Range(0, 9).Select(i => new SealedRouteDraft(RouteKey.Create("g" + i, _bob.Csi), [WhatsApp])).ToArray();
        Assert.Contains("at most 8192 bytes", Assert.Throws<ArgumentException>(() => Publish(many)).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(3, 512, "not 3")]
    [InlineData(1, 4096, "bucket")]
    [InlineData(2, 1024, "bucket")]
    [InlineData(0, 512, "not 0")]
    public void VerifyMapping_MalformedSealedMember_IsInvalidSealedRoute(int count, int bucket, string why)
    {
        var boxes = Enumerable.Range(0, count).Select(_ => Base64Url.EncodeToString(new byte[32 + bucket]));

        var verified = _pki.Verifier().VerifyMapping(Craft(boxes));

        Assert.Equal(VerificationStatus.InvalidSealedRoute, verified.Status);
        Assert.Contains(why, verified.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void VerifyMapping_BoxesOfTwoLengthsOrNotBase64_IsInvalidSealedRoute()
    {
        Assert.Equal(VerificationStatus.InvalidSealedRoute, _pki.Verifier().VerifyMapping(Craft([Base64Url.EncodeToString(new byte[544]), Base64Url.EncodeToString(new byte[2080])])).Status);
        Assert.Equal(VerificationStatus.InvalidSealedRoute, _pki.Verifier().VerifyMapping(Craft(["!!!!"])).Status);
    }

    [Fact]
    public void Link_RoundTrips_AndMalformedLinksSayWhy()
    {
        Assert.True(RouteKey.TryParseLink(_parents.ToLink(), out var back, out var reason), reason);
        Assert.Equal(_parents.Name, back.Name);
        Assert.Equal(_parents.Csi, back.Csi);
        Assert.True(back.Secret.SequenceEqual(_parents.Secret));

        Assert.False(RouteKey.TryParseLink(_parents.ToLink().Replace("name=soccer-parents", "name=soccer parents", StringComparison.Ordinal), out _, out reason));
        Assert.Contains("name", reason, StringComparison.Ordinal);
        Assert.False(RouteKey.TryParseLink(_parents.ToLink() + "&k=AAAA", out _, out reason));
        Assert.False(RouteKey.TryParseLink(_parents.ToLink().Replace("tel%3A%2B", "tel%3A", StringComparison.Ordinal), out _, out reason));
        Assert.Contains("csi", reason, StringComparison.Ordinal);
    }
}

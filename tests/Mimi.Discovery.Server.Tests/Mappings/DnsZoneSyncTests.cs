using Mimi.Discovery.Dns;
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Server.Hosting;
using Mimi.Discovery.Statements;
using Mimi.Discovery.Tests.Dns;

namespace Mimi.Discovery.Server.Tests.Mappings;

public sealed class DnsZoneSyncTests(KnotServer knot) : IClassFixture<KnotServer>
{
    private Task<DpHost> StartDpAsync(byte[] tsigSecret)
    {
        Assert.SkipWhen(knot.Unavailable is not null, knot.Unavailable ?? "");
        return DpHost.StartAsync(o => o.Dns = new DnsSyncOptions
        {
            Server = $"127.0.0.1:{knot.Port}",
            Zone = "e164.test",
            EnumApex = "e164.test",
            TsigName = knot.Key.Name,
            TsigSecret = Convert.ToBase64String(tsigSecret),
        });
    }

    [Fact]
    public async Task PublishAndRemove_KeepThePrivateEnumZoneInStep()
    {
        await using var dp = await StartDpAsync(knot.Key.Secret);
        using var resolver = new DnsDiscoveryResolver(knot.EndPoint, KnotServer.Patient(new DnsDiscoveryOptions { EnumApex = "e164.test" }));
        var phone = CsiParser.ParseOrThrow("+33 6 12 34 56 79");
        var bob = await dp.RegisterAsync(phone.Uri);

        await dp.Client.PublishAsync(bob.Sign(1, [new MspEntry("whatsapp") { Account = "+33612345679", Endpoint = new Uri("https://wa.example/"), Priority = 5 }]));
        await dp.Client.PublishAsync(bob.Sign(1, [new MspEntry("wire") { Account = "@bob", Endpoint = new Uri("https://wire.example/") }], Audience.SameService));

        var published = await resolver.ResolveAsync(phone);
        var record = Assert.Single(published.Records).Record;
        Assert.Equal(new MimiRecord("+33612345679", "wa.example", 5, "whatsapp", null), record);

        await dp.Client.PublishAsync(bob.Sign(2, []));
        Assert.NotEqual(DnsOutcome.Found, (await resolver.ResolveAsync(phone)).Outcome);

        await dp.Client.PublishAsync(bob.Sign(3, [new MspEntry("signal") { Account = "+33612345679", Endpoint = new Uri("https://signal.example/") }]));
        Assert.Equal("signal", Assert.Single((await resolver.ResolveAsync(phone)).Records).Record.Service);

        await dp.Client.RemoveAsync(bob.Signer.SignRemoval(new RemovalDraft(phone) { Version = 3 }));
        Assert.NotEqual(DnsOutcome.Found, (await resolver.ResolveAsync(phone)).Outcome);
    }

    [Fact]
    public async Task WrongTsigKey_PublishStillSucceedsAndTheZoneIsUntouched()
    {
        await using var dp = await StartDpAsync(new byte[32]);
        using var resolver = new DnsDiscoveryResolver(knot.EndPoint, KnotServer.Patient(new DnsDiscoveryOptions { EnumApex = "e164.test" }));
        var phone = CsiParser.ParseOrThrow("+33 6 12 34 56 70");
        var bob = await dp.RegisterAsync(phone.Uri);

        var receipt = await dp.Client.PublishAsync(bob.Sign(1, [new MspEntry("whatsapp") { Account = "a", Endpoint = new Uri("https://wa.example/") }]));

        Assert.Equal(1, receipt.Version);
        Assert.Equal(DnsOutcome.NameNotFound, (await resolver.ResolveAsync(phone)).Outcome);
    }
}

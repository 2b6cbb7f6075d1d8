using Mimi.Discovery.Client;
using Mimi.Discovery.Statements;

namespace Mimi.Discovery.Tests.Client;

public sealed class RoutePickerTests : IDisposable
{
    private readonly TestPki _pki = new();

    public void Dispose() => _pki.Dispose();

    private List<Route> RoutesOf(params MspEntry[] entries)
    {
        var bob = _pki.NewRecipient("+33612345678");
        var statement = _pki.Verifier().VerifyMapping(bob.Publish(entries: entries)).Statement!;
        return statement.Entries.Select(e => new Route(statement, e)).ToList();
    }

    [Fact]
    public void Pick_DefaultBeforePriority()
    {
        var routes = RoutesOf(new MspEntry("signal") { Priority = 1 }, new MspEntry("wire") { Priority = 50, Tags = ["default"] });

        Assert.Equal("wire", RoutePicker.Pick(routes)!.Entry.Service);
    }

    [Fact]
    public void Pick_ContextTagBeforeDefault_MatchedIgnoringCase()
    {
        var routes = RoutesOf(
            new MspEntry("whatsapp") { Priority = 1, Tags = ["default", "Personal"] },
            new MspEntry("wire") { Priority = 50, Tags = ["Business"] });

        Assert.Equal("wire", RoutePicker.Pick(routes, new RoutePreferences { Context = ["business"] })!.Entry.Service);
        Assert.Equal("whatsapp", RoutePicker.Pick(routes, new RoutePreferences { Context = ["basketball friends"] })!.Entry.Service);
    }

    [Fact]
    public void Pick_OnlyServicesTheSenderCanUse_NullWhenNone()
    {
        var routes = RoutesOf(new MspEntry("whatsapp") { Priority = 1, Tags = ["default"] }, new MspEntry("wire") { Priority = 50 });

        Assert.Equal("wire", RoutePicker.Pick(routes, new RoutePreferences { Services = ["wire", "signal"] })!.Entry.Service);
        Assert.Null(RoutePicker.Pick(routes, new RoutePreferences { Services = ["telegram"] }));
    }

    [Fact]
    public void Pick_SealedBeforePublic()
    {
        var routes = RoutesOf(new MspEntry("wire") { Priority = 1, Tags = ["default"] }, new MspEntry("whatsapp") { Priority = 50 });
        var sealedRoute = routes[1] with { SealedWith = "soccer-parents" };

        Assert.Equal("whatsapp", RoutePicker.Pick([routes[0], sealedRoute])!.Entry.Service);
    }

    [Fact]
    public void Pick_Ties_TheSameWhateverTheOrderAndDependOnTheSeedOnly()
    {
        var routes = RoutesOf(Enumerable.Range(0, 8).Select(i => new MspEntry("svc" + i) { Priority = 10 }).ToArray());

        var first = RoutePicker.Pick(routes)!;
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(first.Entry, RoutePicker.Pick(routes.OrderBy(_ => Random.Shared.Next()).ToList())!.Entry);
        }

        // Another sender (seed) may land elsewhere among equals, but always on the same one for itself.
        var seeds = Enumerable.Range(0, 20).Select(i => RoutePicker.Pick(routes, new RoutePreferences { TieBreakSeed = "sender" + i })!.Entry.Service).ToList();
        Assert.True(seeds.Distinct().Count() > 1);
        Assert.Equal(seeds, Enumerable.Range(0, 20).Select(i => RoutePicker.Pick(Enumerable.Reverse(routes).ToList(), new RoutePreferences { TieBreakSeed = "sender" + i })!.Entry.Service));
    }

    [Fact]
    public void Rank_NoRoutes_IsEmpty()
    {
        Assert.Empty(RoutePicker.Rank([]));
        Assert.Null(RoutePicker.Pick([]));
    }
}

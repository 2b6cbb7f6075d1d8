using Mimi.Discovery.Server.Hosting;
using Mimi.Discovery.Server.Transparency;
using Mimi.Discovery.Verification;

namespace Mimi.Discovery.Server.Tests.Consistency;

/// <summary>
/// Several DP processes on one database and one data folder (shared keys), as an operator runs them
/// behind a load balancer. Each seals only when a test says so (the interval is an hour on a clock
/// that does not move), so races are placed, not hoped for.
/// </summary>
internal sealed class DpCluster : IAsyncDisposable
{
    private DpCluster(IReadOnlyList<DpHost> hosts) => Hosts = hosts;

    public IReadOnlyList<DpHost> Hosts { get; }

    public DpHost this[int index] => Hosts[index];

    /// <param name="processes">How many DP processes.</param>
    /// <param name="database">A PostgreSQL connection string, or null for SQLite in the shared data folder.</param>
    /// <param name="configure">Further options, for every process.</param>
    public static async Task<DpCluster> StartAsync(int processes, string? database, Action<DiscoveryOptions>? configure = null)
    {
        var hosts = new List<DpHost>();
        string? data = null;
        for (var i = 0; i < processes; i++)
        {
            hosts.Add(await DpHost.StartAsync(o =>
            {
                if (data is not null)
                {
                    o.DataDirectory = data;
                }

                o.EpochInterval = TimeSpan.FromHours(1);
                configure?.Invoke(o);
            }, database));
            data = hosts[0].DataDirectory;
        }

        return new DpCluster(hosts);
    }

    /// <summary>Seals on <paramref name="host"/>; the epoch, or null when nothing was sealed there.</summary>
    public static Task<long?> SealAsync(DpHost host) => host.Service<TransparencyLog>().SealAsync(CancellationToken.None);

    /// <summary>Seals until nothing is pending anywhere.</summary>
    public async Task DrainAsync()
    {
        while (await SealAsync(Hosts[0]) is not null)
        {
        }
    }

    public StatementVerifier Verifier() => new(new TrustAnchors([Hosts[0].LoadAuthority().Certificate]), Hosts[0].Clock);

    public async ValueTask DisposeAsync()
    {
        for (var i = Hosts.Count - 1; i >= 0; i--)
        {
            await Hosts[i].DisposeAsync(deleteData: i == 0);
        }
    }
}

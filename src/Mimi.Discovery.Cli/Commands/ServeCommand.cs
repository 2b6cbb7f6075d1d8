using System.CommandLine;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;
using Mimi.Discovery.Server.Hosting;

namespace Mimi.Discovery.Cli.Commands;

/// <summary><c>mimi-discovery serve</c>: runs a Discovery Provider.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var data = new Option<string>("--data") { Description = "Data folder (database, CA, TLS certificate, outbox).", DefaultValueFactory = _ => "mimi-data" };
        var urls = new Option<string>("--urls") { Description = "https:// URLs to listen on, separated by ';'.", DefaultValueFactory = _ => DiscoveryServer.DefaultUrl };
        var database = new Option<string?>("--database") { Description = "PostgreSQL connection string or URI; SQLite in the data folder when omitted." };
        var replica = new Option<string?>("--read-replica") { Description = "PostgreSQL hot standby of --database to serve lookups from; this process then never seals." };
        var dev = new Option<bool>("--dev") { Description = "Development mode: codes are written to <data>/outbox/ instead of being sent." };
        var command = new Command("serve", "Run a Discovery Provider over HTTPS.") { data, urls, database, replica, dev };
        command.SetAction((result, cancellationToken) => Cli.RunAsync(async () =>
        {
            WebApplication app;
            try
            {
                app = await DiscoveryServer.BuildAsync(["--urls", result.GetValue(urls)!], o =>
                {
                    o.DataDirectory = result.GetValue(data)!;
                    o.Database = result.GetValue(database) ?? o.Database;
                    o.ReadReplica = result.GetValue(replica) ?? o.ReadReplica;
                    o.Dev = result.GetValue(dev) || o.Dev;
                }, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is InvalidOperationException or ArgumentException or System.Data.Common.DbException)
            {
                return Cli.Fail("cannot start: " + e.Message);
            }

            try
            {
                await app.StartAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (InvalidOperationException e)
            {
                // A bound address that is not HTTPS, or a wildcard address with no public origin.
                await app.DisposeAsync().ConfigureAwait(false);
                return Cli.Fail("cannot start: " + e.Message);
            }

            var folder = Path.GetFullPath(result.GetValue(data)!);
            Console.Error.WriteLine($"Discovery Provider on {string.Join(' ', app.Urls)}; data in {folder}; clients trust its TLS with --ca {Path.Combine(folder, "tls.crt")}");
            if (result.GetValue(replica) is not null)
            {
                Console.Error.WriteLine("Lookups read the --read-replica database; writes go to --database, and this process never seals (a DP process without --read-replica seals)");
            }
            if (result.GetValue(dev))
            {
                Console.Error.WriteLine($"Development mode: codes are written to {Path.Combine(folder, "outbox")}");
            }

            await app.WaitForShutdownAsync(cancellationToken).ConfigureAwait(false);
            return 0;
        }));
        return command;
    }
}

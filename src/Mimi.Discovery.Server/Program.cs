using Mimi.Discovery.Server.Hosting;

var app = await DiscoveryServer.BuildAsync(args).ConfigureAwait(false);
await app.RunAsync().ConfigureAwait(false);

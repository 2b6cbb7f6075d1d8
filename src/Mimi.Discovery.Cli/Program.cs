using System.CommandLine;
using Mimi.Discovery.Cli.Commands;

var root = new RootCommand("mimi-discovery: publish and look up verifiable MIMI discovery mappings.")
{
    ServeCommand.Create(),
    RelayCommand.Create(),
    RegisterCommand.Create(),
    LookupCommand.Create(),
    ResolveCommand.Create(),
    DnsCommand.Create(),
    RemoveCommand.Create(),
    RouteKeysCommand.Create(),
    TransparencyCommands.Monitor(),
    TransparencyCommands.Audit(),
    DemoCommand.Create(),
    AccountsCommand.Create(),
    DelegationsCommand.Create(),
    CsipCommand.Create(),
    PeersCommand.Create(),
    TokensCommand.Create(),
    AssertCommand.Create(),
    InvitationCommand.Create(),
    RevocationCommands.Status(),
    RevocationCommands.Revoke(),
};

// Ctrl+C and SIGTERM cancel the running command (every network call takes the token); it has 2 s to stop.
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(2) }).ConfigureAwait(false);

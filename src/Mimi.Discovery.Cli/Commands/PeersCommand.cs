using System.CommandLine;
using Mimi.Discovery.Server.Tokens;

namespace Mimi.Discovery.Cli.Commands;

/// <summary><c>mimi-discovery peers</c>: what an operator hands to the DPs it federates with (docs/operations.md, "Federation").</summary>
internal static class PeersCommand
{
    public static Command Create() => new("peers", "Keys for the DPs you federate with.")
    {
        MirrorKey(),
    };

    private static Command MirrorKey()
    {
        var command = new Command("mirror-key", "Make a key that lets another DP mirror this one: the key for its operator (standard output), the hash for your configuration (standard error).");
        command.SetAction(_ =>
        {
            var (key, hash) = ApiKeys.Create();
            Console.Error.WriteLine("Give the key below to the mirroring DP's operator (their Discovery:Peers:N:MirrorKey), and add this to your Discovery:MirrorKeyHashes:");
            Console.Error.WriteLine(hash);
            Console.WriteLine(key);
            return 0;
        });
        return command;
    }
}

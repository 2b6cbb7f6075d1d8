using System.CommandLine;
using Mimi.Discovery.Client;

namespace Mimi.Discovery.Cli.Commands;

/// <summary>
/// <c>mimi-discovery remove</c>: signs an owner removal of every mapping your key published for a
/// CSI, under your credential while it is valid and with the bare key after it expired; or, with
/// <c>--as-csip</c>, a CSIP removal of every mapping of a CSI in the CSIP's scope (R10).
/// </summary>
internal static class RemoveCommand
{
    public static Command Create()
    {
        var csiArgument = new Argument<string>("csi") { Description = "The CSI whose mappings (signed by your key) to remove." };
        var dp = Cli.DpOption();
        var ca = Cli.CaOption();
        var home = RegisterCommand.KeysOption();
        var (asCsip, credential) = CsipCommand.CsipSigningOptions("--as-csip", required: false);
        asCsip.Description = "As the identifier's operator: PEM file of the CSIP's private key; removes every mapping of the CSI (needs --credential).";
        var command = new Command("remove", "Remove your mappings of a CSI (or, as its CSIP, all of them).") { csiArgument, dp, ca, home, asCsip, credential };
        command.SetAction((result, cancellationToken) => Cli.RunAsync(async () =>
        {
            var csi = RegisterCommand.ParseCsi(result.GetValue(csiArgument)!);
            if (result.GetValue(asCsip) is { } csipKey)
            {
                var csipCredential = result.GetValue(credential) ?? throw new UsageException("--as-csip needs --credential, the CSIP credential the DP's operator issued");
                var signer = CsipCommand.Signer(csipKey, csipCredential, csi);

                var removal = await Cli.Connect(result.GetValue(dp)!, result.GetValue(ca))
                    .RemoveAsync(signer.SignRemoval(new Statements.RemovalDraft(csi)), cancellationToken).ConfigureAwait(false);
                Console.WriteLine($"Removed {removal.Removed.Count} mapping(s) of {removal.Csi} as its CSIP" + (removal.Epoch is { } due ? $"; due in transparency epoch {due} at the latest" : ""));
                return 0;
            }

            var store = new KeyStore(result.GetValue(home)!.FullName);
            using var key = store.LoadKey() ?? throw new UsageException($"no key in {store.Path}; nothing of yours can be published there");
            var client = Cli.Connect(result.GetValue(dp)!, result.GetValue(ca));
            var receipt = await new MappingPublisher(client, store, key).RemoveAsync(csi, cancellationToken).ConfigureAwait(false)
                ?? throw new UsageException($"{store.Path} records no mapping of {csi}; register it first (or use the key folder you published with)");
            Console.WriteLine($"Removed {receipt.Removed.Count} mapping(s) of {receipt.Csi}" + (receipt.Epoch is { } epoch ? $"; due in transparency epoch {epoch} at the latest" : ""));
            return 0;
        }));
        return command;
    }
}

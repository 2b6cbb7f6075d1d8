using System.CommandLine;
using System.Text.Json;
using Mimi.Discovery.Client;
using Mimi.Discovery.Statements;

namespace Mimi.Discovery.Cli.Commands;

/// <summary>
/// <c>mimi-discovery route-keys create|list|export|import|revoke</c>: the keys that open sealed routes
/// (docs/protocol.md §2, "Sealed routes"), kept in <c>route-keys.json</c> in the key folder.
/// </summary>
internal static class RouteKeysCommand
{
    public static Command Create()
    {
        var command = new Command("route-keys", "Route keys: a recipient creates one per contact or group and hands it over; senders import it and lookups open the routes sealed for them.");
        command.Subcommands.Add(CreateKey());
        command.Subcommands.Add(List());
        command.Subcommands.Add(Export());
        command.Subcommands.Add(Import());
        command.Subcommands.Add(Revoke());
        return command;
    }

    private static Task<int> Run(Func<int> body) => Cli.RunAsync(() => Task.FromResult(body()));

    private static Argument<string> NameArgument() => new("name") { Description = "The contact's or group's name (1–64 of A-Z a-z 0-9 . - _), e.g. soccer-parents." };

    private static Option<string> CsiOption() => new("--csi") { Description = "Your phone number or email address the key seals routes of.", Required = true };

    private static Command CreateKey()
    {
        var name = NameArgument();
        var csi = CsiOption();
        var home = RegisterCommand.KeysOption();
        var command = new Command("create", "Create a route key for a contact or group; seal routes for it with register --service …,sealed-for=NAME.") { name, csi, home };
        command.SetAction((result, _) => Run(() =>
        {
            var (store, parsed, keyName) = Open(result, home, csi, name);
            RouteKey key;
            try
            {
                key = store.Create(parsed, keyName);
            }
            catch (InvalidOperationException e)
            {
                throw new UsageException(e.Message);
            }

            Console.Error.WriteLine($"Created route key '{keyName}' for {parsed}. Hand this link (or its QR code) privately to each person who may see the routes sealed for it:");
            Console.WriteLine(key.ToLink());
            return 0;
        }));
        return command;
    }

    private static Command List()
    {
        var home = RegisterCommand.KeysOption();
        var json = new Option<bool>("--json") { Description = "Print JSON." };
        var command = new Command("list", "List your own route keys and those handed to you (never the secrets).") { home, json };
        command.SetAction((result, _) => Run(() =>
        {
            var keys = new RouteKeyStore(result.GetValue(home)!.FullName).List();
            if (result.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(keys.Select(k => new
                {
                    name = k.Key.Name,
                    csi = k.Key.Csi.Uri,
                    role = k.Role.ToString().ToLowerInvariant(),
                    createdAt = k.CreatedAt,
                    revokedAt = k.RevokedAt,
                }), Cli.Indented));
                return 0;
            }

            foreach (var k in keys)
            {
                Console.WriteLine($"{k.Key.Name}\t{k.Key.Csi}\t{k.Role.ToString().ToLowerInvariant()}\t{(k.RevokedAt is { } at ? FormattableString.Invariant($"revoked {at:u}") : "current")}");
            }

            return 0;
        }));
        return command;
    }

    private static Command Export()
    {
        var name = NameArgument();
        var csi = CsiOption();
        var home = RegisterCommand.KeysOption();
        var output = new Option<FileInfo?>("--out") { Description = "Write the link to this file (mode 0600) instead of standard output." };
        var command = new Command("export", "Print the mimi-route: link of one of your route keys, to hand over as text, a file or a QR code.") { name, csi, home, output };
        command.SetAction((result, _) => Run(() =>
        {
            var (store, parsed, keyName) = Open(result, home, csi, name);
            var key = store.Own(parsed, keyName) ?? throw new UsageException($"no current route key '{keyName}' of yours for {parsed} (route-keys list shows them)");
            if (result.GetValue(output) is { } file)
            {
                Mimi.Discovery.Crypto.PrivateFile.Write(file.FullName, key.ToLink() + "\n");
                Console.Error.WriteLine($"Wrote route key '{keyName}' to {file.FullName}");
            }
            else
            {
                Console.WriteLine(key.ToLink());
            }

            return 0;
        }));
        return command;
    }

    private static Command Import()
    {
        var link = new Argument<string?>("link") { Description = "The mimi-route: link someone handed you.", Arity = ArgumentArity.ZeroOrOne };
        var file = new Option<FileInfo?>("--file") { Description = "Read the link from this file instead." };
        var home = RegisterCommand.KeysOption();
        var command = new Command("import", "Keep a route key someone handed you; lookups of their identifier then open the routes sealed for you.") { link, file, home };
        command.SetAction((result, _) => Run(() =>
        {
            var text = result.GetValue(file) is { } f
                ? f.Exists ? File.ReadAllText(f.FullName).Trim() : throw new UsageException($"--file {f.FullName} does not exist")
                : result.GetValue(link) ?? throw new UsageException("give the mimi-route: link, or --file");
            if (!RouteKey.TryParseLink(text, out var key, out var reason))
            {
                throw new UsageException("not a route key: " + reason);
            }

            new RouteKeyStore(result.GetValue(home)!.FullName).Import(key);
            Console.Error.WriteLine($"Kept route key '{key.Name}' for {key.Csi}");
            return 0;
        }));
        return command;
    }

    private static Command Revoke()
    {
        var name = NameArgument();
        var csi = CsiOption();
        var home = RegisterCommand.KeysOption();
        var command = new Command("revoke", "Replace one of your route keys by a new one: publish again (register) so routes are sealed with the new key, and hand it to those who keep access.") { name, csi, home };
        command.SetAction((result, _) => Run(() =>
        {
            var (store, parsed, keyName) = Open(result, home, csi, name);
            var key = store.Revoke(parsed, keyName) ?? throw new UsageException($"no current route key '{keyName}' of yours for {parsed} (route-keys list shows them)");
            Console.Error.WriteLine($"Revoked route key '{keyName}' for {parsed}. Run register again to seal your routes with its successor, then hand this link to those who keep access:");
            Console.WriteLine(key.ToLink());
            return 0;
        }));
        return command;
    }

    private static (RouteKeyStore Store, Identifiers.Csi Csi, string Name) Open(ParseResult result, Option<DirectoryInfo> home, Option<string> csi, Argument<string> name)
    {
        var keyName = result.GetValue(name)!;
        if (!RouteKey.IsValidName(keyName))
        {
            throw new UsageException($"'{keyName}' is not a route key name: 1–64 of A-Z a-z 0-9 . - _");
        }

        return (new RouteKeyStore(result.GetValue(home)!.FullName), RegisterCommand.ParseCsi(result.GetValue(csi)!), keyName);
    }

    /// <summary>
    /// For <c>register</c>: the <c>--service</c> specs split into public entries and the routes sealed with the
    /// own route keys their <c>sealed-for=NAME</c> names.
    /// </summary>
    public static (List<MspEntry> Entries, List<SealedRouteDraft> Sealed) Split(IEnumerable<string> specs, string keyFolder, Identifiers.Csi csi)
    {
        var store = new RouteKeyStore(keyFolder);
        var parsed = specs.Select(ServiceSpec.ParseSealed).ToList();
        var groups = parsed.Where(p => p.SealedFor is not null).GroupBy(p => p.SealedFor!, StringComparer.Ordinal)
            .Select(g => new SealedRouteDraft(
                store.Own(csi, g.Key) ?? throw new UsageException($"no route key '{g.Key}' of yours for {csi}: create it with route-keys create {g.Key} --csi {csi.Value}"),
                g.Select(p => p.Entry).ToList()))
            .ToList();
        return (parsed.Where(p => p.SealedFor is null).Select(p => p.Entry).ToList(), groups);
    }

    /// <summary>What <c>register</c> published, for its one line: the services, the sealed ones with their key's name.</summary>
    public static string Describe(IReadOnlyList<MspEntry> entries, IReadOnlyList<SealedRouteDraft> sealedRoutes) =>
        entries.Count + sealedRoutes.Count == 0 ? "opted out"
        : string.Join(", ", entries.Select(e => e.Service).Concat(sealedRoutes.SelectMany(g => g.Entries.Select(e => $"{e.Service} sealed for {g.Key.Name}"))));
}

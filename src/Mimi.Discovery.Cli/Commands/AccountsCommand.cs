using System.CommandLine;
using System.Globalization;
using Mimi.Discovery.Crypto;
using Mimi.Discovery.Server.Storage;
using Mimi.Discovery.Server.Tokens;
using Mimi.Discovery.Statements;
using Spectre.Console;

namespace Mimi.Discovery.Cli.Commands;

/// <summary>
/// <c>mimi-discovery accounts</c>: the operator's token accounts, managed on the server machine
/// directly in the DP's database (the same <c>--data</c> and <c>--database</c> as <c>serve</c>).
/// An account's API key is printed once; the DP keeps only its hash.
/// </summary>
internal static class AccountsCommand
{
    public static Command Create() => new("accounts", "Manage the token accounts of a DP you operate (run on the server, like serve).")
    {
        Add(),
        List(),
        Remove(),
    };

    private static Command Add()
    {
        var name = new Option<string>("--name") { Description = "A name for the account (unique).", Required = true };
        var service = new Option<string?>("--service") { Description = "The sponsoring service id whose users the tokens are for; omit for a person's account." };
        var quota = new Option<long>("--quota") { Description = "Tokens the account may obtain per window.", Required = true };
        var window = new Option<string>("--window") { Description = "The quota window: e.g. 90s, 30m, 1h, 1d.", DefaultValueFactory = _ => "1h" };
        var (data, database) = StoreOptions();
        var command = new Command("add", "Create an account and print its API key (shown once).") { name, service, quota, window, data, database };
        command.SetAction((result, cancellationToken) => Cli.RunAsync(async () =>
        {
            var accountName = result.GetValue(name)!.Trim();
            if (accountName.Length is 0 or > 64 || accountName.Any(char.IsWhiteSpace))
            {
                throw new UsageException("--name is 1–64 characters without spaces");
            }

            var sponsor = result.GetValue(service);
            if (sponsor is not null && !MspEntry.IsValidServiceId(sponsor))
            {
                throw new UsageException($"--service '{sponsor}' is not a service id (1–64 of a-z 0-9 . - _)");
            }

            var limit = result.GetValue(quota);
            if (limit < 1)
            {
                throw new UsageException("--quota is a number of tokens, at least 1");
            }

            var length = ParseWindow(result.GetValue(window)!);
            var (key, hash) = ApiKeys.Create();
            var store = await OpenAsync(result.GetValue(data)!, result.GetValue(database), cancellationToken).ConfigureAwait(false);
            try
            {
                var created = await store.CreateAccountAsync(new TokenAccount
                {
                    Name = accountName,
                    KeyHash = hash,
                    Service = sponsor,
                    Quota = limit,
                    WindowSeconds = (long)length.TotalSeconds,
                    CreatedAt = TimeProvider.System.GetUtcNow().ToUnixTimeSeconds(),
                }, cancellationToken).ConfigureAwait(false);
                if (!created)
                {
                    return Cli.Fail($"an account named '{accountName}' exists already");
                }
            }
            finally
            {
                (store as IDisposable)?.Dispose();
            }

            Console.Error.WriteLine($"Created account '{accountName}' ({Sponsor(sponsor)}, {limit} tokens per {Format(length)}). Its API key, shown only now:");
            Console.WriteLine(key);
            return 0;
        }));
        return command;
    }

    private static Command List()
    {
        var (data, database) = StoreOptions();
        var command = new Command("list", "List the accounts and their use in the current window.") { data, database };
        command.SetAction((result, cancellationToken) => Cli.RunAsync(async () =>
        {
            var store = await OpenAsync(result.GetValue(data)!, result.GetValue(database), cancellationToken).ConfigureAwait(false);
            IReadOnlyList<TokenAccount> accounts;
            try
            {
                accounts = await store.ListAccountsAsync(cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                (store as IDisposable)?.Dispose();
            }

            if (accounts.Count == 0)
            {
                Console.WriteLine("No token accounts.");
                return 0;
            }

            var now = TimeProvider.System.GetUtcNow().ToUnixTimeSeconds();
            var table = new Table().AddColumns("name", "service", "quota", "window", "used", "created");
            foreach (var a in accounts)
            {
                table.AddRow(Markup.Escape(a.Name), Markup.Escape(a.Service ?? "(person)"), a.Quota.ToString(CultureInfo.InvariantCulture),
                    Format(TimeSpan.FromSeconds(a.WindowSeconds)), a.UsedAt(now).ToString(CultureInfo.InvariantCulture),
                    DateTimeOffset.FromUnixTimeSeconds(a.CreatedAt).ToString("u", CultureInfo.InvariantCulture));
            }

            Cli.WriteTable(table);
            return 0;
        }));
        return command;
    }

    private static Command Remove()
    {
        var name = new Argument<string>("name") { Description = "The account to remove; its key stops working at once." };
        var (data, database) = StoreOptions();
        var command = new Command("remove", "Remove an account.") { name, data, database };
        command.SetAction((result, cancellationToken) => Cli.RunAsync(async () =>
        {
            var store = await OpenAsync(result.GetValue(data)!, result.GetValue(database), cancellationToken).ConfigureAwait(false);
            try
            {
                return await store.RemoveAccountAsync(result.GetValue(name)!, cancellationToken).ConfigureAwait(false)
                    ? Print($"Removed account '{result.GetValue(name)}'")
                    : Cli.Fail($"no account named '{result.GetValue(name)}'");
            }
            finally
            {
                (store as IDisposable)?.Dispose();
            }
        }));
        return command;
    }

    private static int Print(string line)
    {
        Console.WriteLine(line);
        return 0;
    }

    internal static (Option<string> Data, Option<string?> Database) StoreOptions() =>
        (new Option<string>("--data") { Description = "The DP's data folder (as given to serve).", DefaultValueFactory = _ => "mimi-data" },
         new Option<string?>("--database") { Description = "The DP's PostgreSQL connection string or URI; SQLite in the data folder when omitted." });

    internal static async Task<IDiscoveryStore> OpenAsync(string data, string? database, CancellationToken cancellationToken)
    {
        var folder = Path.GetFullPath(data);
        if (!Directory.Exists(folder))
        {
            PrivateFile.CreateDirectory(folder);
        }

        IDiscoveryStore store;
        try
        {
            store = StoreFactory.Create(database, folder);
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }

        try
        {
            await store.MigrateAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (System.Data.Common.DbException e)
        {
            (store as IDisposable)?.Dispose();
            throw new IOException("cannot open the DP's database: " + e.Message, e);
        }

        return store;
    }

    internal static TimeSpan ParseWindow(string text, string option = "--window")
    {
        var unit = text.Length > 1 ? text[^1] : ' ';
        var seconds = unit switch { 's' => 1, 'm' => 60, 'h' => 3600, 'd' => 86400, _ => 0 };
        if (seconds > 0 && long.TryParse(text[..^1], NumberStyles.None, CultureInfo.InvariantCulture, out var count) && count is > 0 and <= 3650L * 86400)
        {
            var window = TimeSpan.FromSeconds(count * seconds);
            if (window >= TimeSpan.FromMinutes(1) && window <= TimeSpan.FromDays(3650))
            {
                return window;
            }
        }

        throw new UsageException($"{option} '{text}' is not a duration of at least a minute such as 90s, 30m, 1h or 1d");
    }

    private static string Format(TimeSpan window) =>
        window.TotalSeconds % 86400 == 0 ? $"{window.TotalDays:0}d"
        : window.TotalSeconds % 3600 == 0 ? $"{window.TotalHours:0}h"
        : window.TotalSeconds % 60 == 0 ? $"{window.TotalMinutes:0}m"
        : $"{window.TotalSeconds:0}s";

    private static string Sponsor(string? service) => service is null ? "a person, general key" : $"sponsored by service '{service}'";
}

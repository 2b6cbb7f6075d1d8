using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Mimi.Discovery.Client;
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Statements;
using Mimi.Discovery.Verification;

namespace Mimi.Discovery.Cli.Commands;

/// <summary>
/// <c>mimi-discovery status</c> (each identifier of the key folder: its credential's end and days left,
/// and with <c>--dp</c> whether the DP's CRL lists it) and <c>mimi-discovery revoke</c> (docs/protocol.md §15).
/// </summary>
internal static class RevocationCommands
{
    public static Command Status()
    {
        var dp = new Option<string?>("--dp") { Description = "A Discovery Provider's https:// URL: also check its revocation list (verified against the CAs it advertises)." };
        var ca = Cli.CaOption();
        var home = RegisterCommand.KeysOption();
        var json = new Option<bool>("--json") { Description = "One JSON object per identifier." };
        var command = new Command("status", "Show each identifier in your key folder: when its credential ends, days left, and (with --dp) whether it is revoked.") { dp, ca, home, json };
        command.SetAction((result, cancellationToken) => Cli.RunAsync(async () =>
        {
            var store = new KeyStore(result.GetValue(home)!.FullName);
            var csis = store.ListCsis();
            if (csis.Count == 0)
            {
                return Cli.Fail($"no identifier has a credential in {store.Path}; register one first");
            }

            RevocationSet? revocations = null;
            if (result.GetValue(dp) is { } url)
            {
                var client = Cli.Connect(url, result.GetValue(ca));
                revocations = new RevocationSet();
                await client.UpdateRevocationsAsync(revocations, await Cli.CredentialAnchorsAsync(client, null, cancellationToken).ConfigureAwait(false), cancellationToken: cancellationToken).ConfigureAwait(false);
            }

            var now = TimeProvider.System.GetUtcNow();
            foreach (var csi in csis)
            {
                using var credential = store.LoadCredential(csi)!;
                var notAfter = new DateTimeOffset(credential.NotAfter.ToUniversalTime(), TimeSpan.Zero);
                var days = DaysLeft(notAfter, now);
                bool? revoked = revocations?.IsRevoked(credential);
                if (result.GetValue(json))
                {
                    Console.WriteLine(JsonSerializer.Serialize(new { csi = csi.Uri, notAfter, daysLeft = days, expired = notAfter <= now, revoked }, Cli.Lines));
                    continue;
                }

                var state = notAfter <= now ? "expired" : revoked == true ? "revoked" : "valid";
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{csi}  {state}  credential until {notAfter:u}  ({days} day(s) left)")
                    + (revoked is null ? "" : revoked.Value ? "  revoked by its DP" : "  not revoked"));
            }

            return 0;
        }));
        return command;
    }

    public static Command Revoke()
    {
        var csiArgument = new Argument<string>("csi") { Description = "The phone number or email address whose credential is revoked." };
        var dp = Cli.DpOption();
        var ca = Cli.CaOption();
        var reason = new Option<string>("--reason") { Description = "Why (RFC 5280): unspecified, key-compromise (a lost device), affiliation-changed (reassigned), superseded, cessation-of-operation.", DefaultValueFactory = _ => "unspecified" };
        var asCsip = new Option<FileInfo?>("--as-csip") { Description = "Revoke as the CSIP: its PEM private key (with --credential)." };
        var credentialFile = new Option<FileInfo?>("--credential") { Description = "With --as-csip: the CSIP's credential (PEM certificate)." };
        var thumbprint = new Option<string?>("--thumbprint") { Description = "With --as-csip: the x5t#S256 of the credential to revoke; default: every credential the DP's mappings of the CSI are signed under." };
        var home = RegisterCommand.KeysOption();
        var command = new Command("revoke", "Revoke a credential at the DP that issued it: your own (a lost device, a compromised key), or as the CSIP (reassignment). The DP lists it in its CRL and removes the mappings signed under it.")
        {
            csiArgument, dp, reason, asCsip, credentialFile, thumbprint, ca, home,
        };
        command.SetAction((result, cancellationToken) => Cli.RunAsync(async () =>
        {
            var csi = RegisterCommand.ParseCsi(result.GetValue(csiArgument)!);
            var why = ParseReason(result.GetValue(reason)!);
            StatementSigner signer;
            IReadOnlyList<string>? targets = null;
            if (result.GetValue(asCsip) is { } keyFile)
            {
                var certificateFile = result.GetValue(credentialFile) ?? throw new UsageException("--as-csip needs --credential, the CSIP's credential (PEM)");
                signer = CsipCommand.Signer(keyFile, certificateFile, csi);

                if (result.GetValue(thumbprint) is { } given)
                {
                    targets = [given];
                }
            }
            else
            {
                if (result.GetValue(credentialFile) is not null || result.GetValue(thumbprint) is not null)
                {
                    throw new UsageException("--credential and --thumbprint go with --as-csip; without it you revoke your own credential");
                }

                var store = new KeyStore(result.GetValue(home)!.FullName);
                using var key = store.LoadKey();
                var own = store.LoadCredential(csi);
                if (key is null || own is null)
                {
                    throw new UsageException($"your key folder {store.Path} holds no credential for {csi}; register it first (or revoke --as-csip)");
                }

                if (own.NotAfter.ToUniversalTime() <= TimeProvider.System.GetUtcNow().UtcDateTime)
                {
                    throw new UsageException($"your credential for {csi} expired at {own.NotAfter.ToUniversalTime():u}; an expired credential needs no revocation");
                }

                signer = new StatementSigner(ECDsa.Create(key.ExportParameters(true)), own);
                targets = [Revocation.ThumbprintOf(own)];
            }

            if (targets is not null && targets.Any(t => t.Length != 43))
            {
                throw new UsageException("--thumbprint is the credential's x5t#S256: SHA-256 of its DER certificate in base64url, 43 characters");
            }

            var client = Cli.Connect(result.GetValue(dp)!, result.GetValue(ca));
            targets ??= await CredentialsServedAsync(client, csi, cancellationToken).ConfigureAwait(false);
            if (targets.Count == 0)
            {
                return Cli.Fail($"the DP serves no mapping of {csi} to take a credential from; give --thumbprint");
            }

            foreach (var target in targets)
            {
                var receipt = await client.RevokeAsync(signer.SignRevocation(csi, target, why), cancellationToken).ConfigureAwait(false);
                Console.WriteLine($"Revoked credential {receipt.Credential} of {receipt.Csi} (serial {receipt.SerialNumber}) as {receipt.Authority}: {receipt.Reason}; removed {receipt.Removed.Count} mapping(s)");
            }

            return 0;
        }));
        return command;
    }

    /// <summary>Whole days from <paramref name="now"/> to <paramref name="notAfter"/>, rounded down; negative once past.</summary>
    public static long DaysLeft(DateTimeOffset notAfter, DateTimeOffset now) => (long)Math.Floor((notAfter - now).TotalDays);

    /// <summary>An RFC 5280 reason, as its wire name (keyCompromise) or in kebab-case (key-compromise).</summary>
    internal static RevocationReason ParseReason(string text)
    {
        foreach (var reason in Enum.GetValues<RevocationReason>())
        {
            var name = Revocation.ReasonName(reason);
            if (string.Equals(text, name, StringComparison.Ordinal) || string.Equals(text, JsonNamingPolicy.KebabCaseLower.ConvertName(name), StringComparison.Ordinal))
            {
                return reason;
            }
        }

        throw new UsageException($"--reason '{text}' is not one of unspecified, key-compromise, affiliation-changed, superseded, cessation-of-operation");
    }

    /// <summary>The x5t#S256 of each credential the DP's current statements of <paramref name="csi"/> are signed under (x5c[0]).</summary>
    private static async Task<IReadOnlyList<string>> CredentialsServedAsync(DiscoveryClient client, Csi csi, CancellationToken cancellationToken)
    {
        var response = await client.LookupRawAsync([csi.Uri], cancellationToken: cancellationToken).ConfigureAwait(false);
        var thumbprints = new List<string>();
        foreach (var statement in response.Results.SelectMany(r => r.Statements ?? []))
        {
            try
            {
                using var header = JsonDocument.Parse(System.Buffers.Text.Base64Url.DecodeFromChars(statement.Split('.')[0]));
                using var certificate = X509CertificateLoader.LoadCertificate(Convert.FromBase64String(header.RootElement.GetProperty("x5c")[0].GetString()!));
                thumbprints.Add(Revocation.ThumbprintOf(certificate));
            }
            catch (Exception e) when (e is JsonException or FormatException or CryptographicException or KeyNotFoundException or InvalidOperationException or IndexOutOfRangeException)
            {
                // Not a statement with a credential; the DP checks every revocation anyway.
            }
        }

        return [.. thumbprints.Distinct(StringComparer.Ordinal)];
    }
}

using System.CommandLine;
using System.Security.Cryptography;
using System.Text;
using Mimi.Discovery.Credentials;
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Statements;
using Mimi.Discovery.Verification;
using Spectre.Console;

namespace Mimi.Discovery.Cli.Commands;

/// <summary>
/// <c>mimi-discovery demo</c>: runs the whole statement life cycle in memory — CA, credential,
/// mapping, verification, removal — and prints every artefact, so a newcomer sees the wire
/// formats without any server. <c>docs/protocol.md</c> shows its output.
/// </summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var csiArgument = new Argument<string>("csi") { Description = "Identifier to map (phone or email).", DefaultValueFactory = _ => "+33612345678" };
        var command = new Command("demo", "Issue a credential, sign a mapping and a removal, and verify them, all in memory.") { csiArgument };
        command.SetAction(result => Run(result.GetValue(csiArgument)!));
        return command;
    }

    private static int Run(string input)
    {
        var parsed = CsiParser.Parse(input);
        if (!parsed.Success)
        {
            return Cli.Fail($"'{input}' is not a CSI: {parsed.Reason}");
        }

        var csi = parsed.Csi;
        using var authority = CredentialAuthority.Create("Demo DP credential CA", TimeSpan.FromDays(365));
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var credential = authority.IssueCredential(csi, key);
        var signer = new StatementSigner(key, credential);
        var verifier = new StatementVerifier(new TrustAnchors([authority.Certificate]));

        var mapping = signer.SignMapping(new MappingDraft(csi, 1,
        [
            new MspEntry("wire") { Account = "@bob", Priority = 10, Tags = [MspEntry.DefaultTag] },
            new MspEntry("matrix.org") { Endpoint = new Uri("https://matrix.example/"), Account = "@bob:matrix.example", Priority = 20, Tags = ["work"], ProtocolVersion = "1.12" },
        ]));
        var removal = signer.SignRemoval(new RemovalDraft(csi) { Version = 1, Target = signer.MappingIdFor(Audience.Any) });

        Section("CSI", csi.Uri);
        Section("Credential CA certificate (trust anchor)", authority.ExportCertificatePem());
        Section("Credential (recipient key bound to the CSI)", credential.ExportCertificatePem());
        Section("Mapping statement (compact JWS)", mapping);
        Section("  protected header", Decode(mapping, 0));
        Section("  payload", Decode(mapping, 1));
        var verified = verifier.VerifyMapping(mapping);
        Section("  verification", verified.IsValid ? $"valid; mapping id {verified.Statement.Id}" : verified.ToString());
        Section("Removal statement (compact JWS)", removal);
        Section("  payload", Decode(removal, 1));
        var verifiedRemoval = verifier.VerifyRemoval(removal);
        Section("  verification", verifiedRemoval.IsValid
            ? $"valid; authority {verifiedRemoval.Statement.Authority}; removes the mapping: {(verifiedRemoval.Statement.Covers(verified.Statement!) ? "yes" : "no")}"
            : verifiedRemoval.ToString());
        return verified.IsValid && verifiedRemoval.IsValid ? 0 : 1;
    }

    private static void Section(string title, string body)
    {
        AnsiConsole.MarkupLine($"[bold]{Markup.Escape(title)}[/]");
        Console.WriteLine(body.TrimEnd());
        Console.WriteLine();
    }

    private static string Decode(string jws, int part)
    {
        var json = Encoding.UTF8.GetString(System.Buffers.Text.Base64Url.DecodeFromChars(jws.Split('.')[part]));
        using var document = System.Text.Json.JsonDocument.Parse(json);
        return System.Text.Json.JsonSerializer.Serialize(document.RootElement, Cli.Indented);
    }
}

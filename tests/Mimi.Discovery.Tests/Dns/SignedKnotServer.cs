using Mimi.Discovery.Dns;

namespace Mimi.Discovery.Tests.Dns;

/// <summary>
/// Knot serving a private DNSSEC tree: a signed root whose DS records make <c>signed.example</c>
/// secure, leave <c>insecure.example</c> unsigned, and give <c>bogus.example</c> a DS whose digest
/// matches none of its keys. The root's DS is the trust anchor (<see cref="Anchor"/>).
/// </summary>
public sealed class SignedKnotServer : KnotServer
{
    private static readonly string Record =
        "_mimi.alice TXT \"v=MIMI1; a=alice; e=chat.example\"\nalice TYPE65280 " + Generic("v=MIMI1; a=alice; e=chat.example")
        + "\n_mimi.carl CNAME _mimi.alice\ncarl CNAME alice"
        + "\n_mimi.erin TXT \"v=MIMI1; a=\\195\\169rin; e=chat.example\"\nerin TYPE65280 " + Generic("v=MIMI1; a=érin; e=chat.example");

    public DnsTrustAnchor? Anchor { get; private set; }

    protected override IReadOnlyDictionary<string, string> Zones { get; } = new Dictionary<string, string>
    {
        ["."] = """
            signed.example. NS ns.signed.example.
            ns.signed.example. A 127.0.0.1
            insecure.example. NS ns.insecure.example.
            ns.insecure.example. A 127.0.0.1
            bogus.example. NS ns.bogus.example.
            ns.bogus.example. A 127.0.0.1
            """,
        ["signed.example"] = Record,
        ["insecure.example"] = Record,
        ["bogus.example"] = Record,
    };

    protected override string ProbeName => "alice.insecure.example";

    protected override string ExtraConfig => """
        policy:
          - id: fast
            algorithm: ecdsap256sha256
        """;

    protected override string ZoneSettings(string zone) =>
        zone == "insecure.example" ? string.Empty : "    dnssec-signing: on\n    dnssec-policy: fast\n";

    protected override async Task AfterStartAsync()
    {
        var signed = Sha256Ds(await ToolAsync("keymgr", "signed.example", "ds"));
        var bogus = Sha256Ds(await ToolAsync("keymgr", "bogus.example", "ds"));
        await ToolAsync("knotc", "zone-begin", ".");
        await ToolAsync("knotc", ["zone-set", ".", "signed.example.", "300", "DS", .. signed]);
        await ToolAsync("knotc", ["zone-set", ".", "bogus.example.", "300", "DS", bogus[0], bogus[1], bogus[2], new string('0', 62) + "aa"]);
        await ToolAsync("knotc", "zone-commit", ".");
        var root = Sha256Ds(await ToolAsync("keymgr", ".", "ds"));
        Anchor = DnsTrustAnchor.Parse($". DS {string.Join(' ', root)}");

        // The root is re-signed asynchronously after the commit: wait until the new DS answers.
        // Waited for by asking, with a bound only for a server that never gets there.
        using var probe = new DnsDiscoveryResolver(EndPoint, Patient(new DnsDiscoveryOptions { TrustAnchors = [Anchor] }));
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while ((await probe.ResolveMuiAsync("alice.signed.example")).Dnssec != DnssecStatus.Validated)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("the re-signed root never validated alice.signed.example");
            }

            await Task.Delay(100);
        }
    }

    // keymgr prints "zone. DS tag alg 2 digest" lines; take the SHA-256 one as "tag alg 2 digest".
    private static string[] Sha256Ds(string output) =>
        output.Split('\n').Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .First(f => f.Length == 6 && f[4] == "2").Skip(2).ToArray();
}

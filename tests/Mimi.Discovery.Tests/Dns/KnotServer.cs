using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Mimi.Discovery.Dns;

namespace Mimi.Discovery.Tests.Dns;

/// <summary>
/// A real authoritative DNS server for the tests: Knot DNS (Debian package <c>knot</c>) started
/// unprivileged on 127.0.0.1 at a free high port, serving zones this fixture writes. Locally the
/// DNS tests skip with a reason when <c>knotd</c> is absent; CI installs it.
/// </summary>
public class KnotServer : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("mimi-knot-").FullName;
    private Process? _process;

    public int Port { get; private set; }

    public string? Unavailable { get; private set; }

    public IPEndPoint EndPoint => new(IPAddress.Loopback, Port);

    /// <summary>The TSIG key the server accepts dynamic updates under (zones <c>dyn.example</c> and <c>e164.test</c>).</summary>
    internal TsigKey Key { get; } = new("mimi-update", System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    /// <summary>
    /// Every key the server accepts updates under: <see cref="Key"/>, then one of each other
    /// algorithm and secret length the publisher offers (each works with Knot, or is refused up front).
    /// </summary>
    internal IReadOnlyList<TsigKey> UpdateKeys { get; } =
    [
        .. new[] { ("mimi-update-sha512", 64, "hmac-sha512"), ("mimi-update-short", 16, "hmac-sha256"), ("mimi-update-long", 100, "hmac-sha256"), ("mimi-update-long512", 200, "hmac-sha512") }
            .Select(k => new TsigKey(k.Item1, System.Security.Cryptography.RandomNumberGenerator.GetBytes(k.Item2), k.Item3)),
    ];

    /// <summary>Zones that accept updates signed with <see cref="Key"/> or <see cref="UpdateKeys"/>.</summary>
    public static readonly string[] UpdatableZones = ["dyn.example", "e164.test"];

    private static string? FindKnotd() =>
        new[] { "/usr/sbin/knotd", "/usr/local/sbin/knotd" }.FirstOrDefault(File.Exists)
        ?? Environment.GetEnvironmentVariable("PATH")?.Split(':').Select(p => Path.Combine(p, "knotd")).FirstOrDefault(File.Exists);

    /// <summary>RFC 3597 generic form of a private-type record holding <paramref name="text"/> as TXT RDATA.</summary>
    public static string Generic(string text)
    {
        var data = TxtWire.Encode(text);
        return $"\\# {data.Length} {Convert.ToHexString(data)}";
    }

    /// <summary>Zone name → records (the SOA, NS and glue are added).</summary>
    protected virtual IReadOnlyDictionary<string, string> Zones => DefaultZones;

    /// <summary>Extra lines under each zone's entry in knot.conf.</summary>
    protected virtual string ZoneSettings(string zone) => UpdatableZones.Contains(zone) ? "    acl: update\n" : string.Empty;

    /// <summary>Extra top-level knot.conf sections.</summary>
    protected virtual string ExtraConfig => string.Empty;

    /// <summary>Runs after the server answers.</summary>
    protected virtual Task AfterStartAsync() => Task.CompletedTask;

    protected string ConfigPath => Path.Combine(_directory, "knot.conf");

    private static readonly Dictionary<string, string> DefaultZones = new()
    {
        ["example.net"] = $"""
            _mimi.bob TXT "v=MIMI1; p=2; a=+15551234567; e=mimi.whatsapp.com; s=whatsapp"
            _mimi.bob TXT "v=MIMI1; p=1; a=myname99; e=im.telegram.org; s=telegram"
            bob TYPE65280 {Generic("v=MIMI1; p=3; a=bob; e=mimi.example.net; s=matrix")}
            bob TYPE65280 {Generic("v=MIMI1; p=1; a=myname99; e=im.telegram.org; s=telegram")}
            _mimi.broken TXT "v=MIMI2; a=x; e=y.example"
            _mimi.broken TXT "v=MIMI1; a=x"
            _mimi.broken TXT "v=MIMI1; a=ok; e=ok.example"
            _mimi.empty TXT "not a mimi record"
            _mimi.split TXT "v=MIMI1; a=split;" " e=split.example"
            _mimi.mailbox.mimi TXT "v=MIMI1; a=mailbox; e=mail.example"
            _mimi.x--mjxwek3umftq.mimi TXT "v=MIMI1; a=bob+tag; e=mail.example"
            _mimi.carl CNAME _mimi.bob
            carl CNAME bob
            _mimi.dave CNAME _mimi.alice.lines.example.
            dave CNAME alice.lines.example.
            _mimi.loop CNAME _mimi.loop2
            _mimi.loop2 CNAME _mimi.loop
            _mimi.erin TXT "v=MIMI1; a=\195\169rin; e=chat.example"
            erin TYPE65280 {Generic("v=MIMI1; a=érin; e=chat.example")}
            {string.Join('\n', Enumerable.Range(1, 30).Select(i => $"_mimi.many TXT \"v=MIMI1; p={i}; a=account-number-{i:D2}-with-a-long-name; e=endpoint-{i:D2}.service.example\""))}
            """,
        ["example.com"] = """
            _mimix TXT "mimi.example.net"
            """,
        ["example.org"] = $"""
            @ TYPE65281 {Generic("mimi.example.net")}
            """,
        ["badmimix.example"] = """
            _mimix TXT "not a domain!"
            """,
        ["nomimix.example"] = "",
        // A zone whose file does not load: Knot answers SERVFAIL for names in it.
        ["servfail.example"] = "@ TXT",
        ["lines.example"] = string.Join('\n', DnsPublisher.MimiZoneLines("alice.lines.example",
            [new MimiRecord("alice", "chat.example", 1, "wire", null), new MimiRecord("al\"ice", "x.example", 2, null, "2"), new MimiRecord("érin", "y.example", 3, null, null)])),
        ["dyn.example"] = "",
        ["e164.test"] = "",
        ["e164.arpa"] = """
            _mimi.8.7.6.5.4.3.2.1.6.3.3 TXT "v=MIMI1; a=+33612345678; e=wa.example; s=whatsapp"
            8.7.6.5.4.3.2.1.6.3.3 TYPE65280 \# 4 03613d62
            """,
    };

    public async ValueTask InitializeAsync()
    {
        var knotd = FindKnotd();
        if (knotd is null)
        {
            Unavailable = "Knot DNS is not installed: apt-get install knot (CI does)";
            return;
        }

        var zones = Path.Combine(_directory, "zones");
        Directory.CreateDirectory(zones);
        Directory.CreateDirectory(Path.Combine(_directory, "run"));
        Directory.CreateDirectory(Path.Combine(_directory, "db"));
        foreach (var (zone, records) in Zones)
        {
            var origin = zone == "." ? "." : zone + ".";
            var ns = zone == "." ? "ns.root." : "ns." + origin;
            var content = $"""
                $ORIGIN {origin}
                $TTL 300
                @ SOA {ns} hostmaster.{(zone == "." ? "root." : origin)} 1 3600 600 86400 300
                @ NS {ns}
                {ns} A 127.0.0.1
                {records}

                """;
            await File.WriteAllTextAsync(Path.Combine(zones, (zone == "." ? "root" : zone) + ".zone"), content);
        }

        // The free port is only free when it was picked: another process (a parallel test run) may
        // take it before knotd binds, and knotd then exits. That race is retried on a new port.
        for (var attempt = 1; ; attempt++)
        {
            Port = FreePort();
            var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
            if (await StartOnPortAsync(knotd, zones, output))
            {
                return;
            }

            if (attempt == 5 || !output.Any(l => l.Contains("address already in use", StringComparison.Ordinal)))
            {
                throw new InvalidOperationException("knotd exited; check the zone files in " + _directory + ":\n" + string.Join('\n', output));
            }

            _process?.Dispose();
            _process = null;
        }
    }

    // Writes knot.conf for Port, starts knotd and waits until it answers: true when it does,
    // false when it exited.
    private async Task<bool> StartOnPortAsync(string knotd, string zones, System.Collections.Concurrent.ConcurrentQueue<string> output)
    {
        var config = new StringBuilder($"""
            server:
                rundir: "{_directory}/run"
                listen: 127.0.0.1@{Port}
            database:
                storage: "{_directory}/db"
            key:
            {string.Join('\n', new[] { Key }.Concat(UpdateKeys).Select(k => $"  - id: {k.Name}\n    algorithm: {k.Algorithm}\n    secret: {Convert.ToBase64String(k.Secret)}"))}
            acl:
              - id: update
                key: [{string.Join(", ", new[] { Key }.Concat(UpdateKeys).Select(k => k.Name))}]
                action: update
            {ExtraConfig}
            template:
              - id: default
                storage: "{zones}"
            zone:

            """);
        foreach (var zone in Zones.Keys)
        {
            config.Append("  - domain: ").Append(zone).Append('\n');
            config.Append("    file: ").Append(zone == "." ? "root" : zone).Append(".zone\n");
            config.Append(ZoneSettings(zone));
        }

        var configPath = ConfigPath;
        await File.WriteAllTextAsync(configPath, config.ToString());
        _process = Process.Start(new ProcessStartInfo(knotd, ["-c", configPath]) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        _process.OutputDataReceived += (_, e) => output.Enqueue(e.Data ?? "");
        _process.ErrorDataReceived += (_, e) => output.Enqueue(e.Data ?? "");
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();

        // Start-up is waited for by asking, not by timing: a slow, loaded machine only waits longer.
        using var probe = new DnsDiscoveryResolver(EndPoint, new DnsDiscoveryOptions { Timeout = TimeSpan.FromSeconds(2) });
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (DateTime.UtcNow < deadline)
        {
            // Found from our own knotd only: another fixture's server may hold the port we lost.
            if ((await probe.ResolveMuiAsync(ProbeName)).Outcome == DnsOutcome.Found && !_process.HasExited)
            {
                await AfterStartAsync();
                return true;
            }

            if (_process.HasExited)
            {
                _process.WaitForExit(); // drains the output handlers
                return false;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException("knotd did not answer");
    }

    /// <summary>A MUI with records, to know the server is up.</summary>
    protected virtual string ProbeName => "bob.example.net";

    /// <summary>Runs a Knot tool (knotc, keymgr) against this server's configuration and returns its output.</summary>
    protected async Task<string> ToolAsync(string tool, params string[] args)
    {
        var path = new[] { "/usr/sbin/" + tool, "/usr/bin/" + tool }.First(File.Exists);
        using var process = Process.Start(new ProcessStartInfo(path, ["-c", ConfigPath, .. args]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = await process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return process.ExitCode == 0 ? output : throw new InvalidOperationException($"{tool} {string.Join(' ', args)}: {error}{output}");
    }

    /// <summary>
    /// Options for resolvers and publishers that talk to this server. The timeout only bounds a
    /// failure, so it is generous: under CPU contention (a full CI run) Knot and the test host can
    /// take seconds to answer, and a tight timeout turns a slow answer into a wrong one.
    /// </summary>
    public static DnsDiscoveryOptions Patient(DnsDiscoveryOptions? options = null) =>
        (options ?? new DnsDiscoveryOptions()) with { Timeout = TimeSpan.FromSeconds(30) };

    public static int FreePort()
    {
        // Knot listens on UDP and TCP; a port free for TCP is taken, and UDP checked too.
        while (true)
        {
            using var tcp = new TcpListener(IPAddress.Loopback, 0);
            tcp.Start();
            var port = ((IPEndPoint)tcp.LocalEndpoint).Port;
            try
            {
                using var udp = new UdpClient(new IPEndPoint(IPAddress.Loopback, port));
                return port;
            }
            catch (SocketException)
            {
                // taken for UDP; try another
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        _process?.Dispose();
        Directory.Delete(_directory, recursive: true);
        return ValueTask.CompletedTask;
    }
}

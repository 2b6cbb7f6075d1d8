using System.Buffers.Text;
using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using Deque.AxeCore.Playwright;
using Microsoft.Playwright;
using Mimi.Discovery.Server.Transparency;
using Mimi.Discovery.Server.Web;
using Mimi.Discovery.Statements;
using Mimi.Discovery.Verification;
using static Microsoft.Playwright.Assertions;

namespace Mimi.Discovery.Server.Tests.Web;

/// <summary>One headless Chromium (Debian's, at /usr/bin/chromium) for the class; no browser download.</summary>
public sealed class ChromiumFixture : IAsyncLifetime
{
    public const string ExecutablePath = "/usr/bin/chromium";

    public IPlaywright? Playwright { get; private set; }

    public IBrowser? Browser { get; private set; }

    public async ValueTask InitializeAsync()
    {
        if (!File.Exists(ExecutablePath))
        {
            return;
        }

        Playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        // --no-sandbox: CI runs as root, where Chromium's sandbox cannot start.
        Browser = await Playwright.Chromium.LaunchAsync(new() { ExecutablePath = ExecutablePath, Headless = true, Args = ["--no-sandbox"] });
        // Waits are on page state, never on time: generous, so a loaded CI machine is slow, not failing.
        SetDefaultExpectTimeout(60_000);
    }

    public async ValueTask DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        Playwright?.Dispose();
    }
}

/// <summary>
/// The recipient's page (/app/) end to end in a real browser against a real DP over HTTPS: register
/// with the outbox code, publish, reorder, opt out, remove, see yourself as a sender, the history's
/// foreign-signer alarm, a tampered answer caught, bad input answered with sentences, and axe-core
/// finding no serious or critical accessibility violation. Epochs are sealed by the test (the DP's
/// timer is set to an hour), so nothing waits on time.
/// </summary>
public sealed class WebPageTests(ChromiumFixture chromium) : IClassFixture<ChromiumFixture>
{
    private const string Csi = "tel:+33612345678";

    // The run always takes the screenshots; they replace docs/screenshots only when asked
    // (MIMI_UPDATE_SCREENSHOTS=1), so an ordinary test run leaves the checkout clean.
    private static readonly string ScreenshotDirectory = Environment.GetEnvironmentVariable("MIMI_UPDATE_SCREENSHOTS") == "1"
        ? typeof(WebPageTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "ScreenshotDirectory").Value!
        : Path.Combine(AppContext.BaseDirectory, "screenshots");

    [Fact]
    public async Task App_Served_StrictPolicyAndNoInlineCode()
    {
        await using var host = await StartDpAsync();

        using var response = await host.Http.GetAsync(new Uri("app/", UriKind.Relative), TestContext.Current.CancellationToken);
        response.EnsureSuccessStatusCode();
        var policy = string.Join(' ', response.Headers.GetValues("Content-Security-Policy"));
        Assert.Equal(WebPage.ContentSecurityPolicy, policy);
        Assert.Contains("default-src 'self'", policy, StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", policy, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe", policy, StringComparison.Ordinal);
        Assert.False(response.Headers.Contains("Set-Cookie"));
        var html = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.DoesNotMatch(new Regex("<script(?![^>]*\\bsrc=)", RegexOptions.IgnoreCase), html);
        Assert.DoesNotMatch(new Regex("<style|\\sstyle=|\\son[a-z]+=", RegexOptions.IgnoreCase), html);
        Assert.DoesNotMatch(new Regex("(src|href)=\"(https?:)?//", RegexOptions.IgnoreCase), html);

        using var redirect = await host.Http.GetAsync(new Uri("app", UriKind.Relative), TestContext.Current.CancellationToken);
        Assert.Equal("/app/", redirect.RequestMessage!.RequestUri!.AbsolutePath);

        using var missing = await host.Http.GetAsync(new Uri("app/nothing.js", UriKind.Relative), TestContext.Current.CancellationToken);
        await ProblemAssert.IsProblemAsync(missing, 404, "not-found");
    }

    [Fact]
    public async Task Recipient_RegisterPublishReorderOptOutRemove_HistoryFlagsAForeignSigner()
    {
        await using var host = await StartDpAsync();
        var (context, page, errors) = await OpenAsync(host, phone: false);
        await using var _ = context;

        await RegisterAsync(host, page);
        await ShotAsync(page, "01-registered");

        await AddServiceAsync(host, page, "wire", "@bob", "default", version: 1);
        await AddServiceAsync(host, page, "matrix.org", "@bob:matrix.example", "Business, Basketball Friends", version: 2);
        await Expect(page.Locator("#services > li")).ToHaveCountAsync(2);

        // Reorder: matrix.org first; the DP now holds version 3, signed in the browser, with matrix.org at priority 10.
        await page.GetByRole(AriaRole.Button, new() { Name = "Move matrix.org up" }).ClickAsync();
        await SealedAsync(host, page, "Published version 3: matrix.org, wire");
        var statement = await CurrentStatementAsync(host);
        Assert.Equal(3, statement.Version);
        Assert.Equal(["matrix.org", "wire"], statement.Entries.OrderBy(e => e.Priority).Select(e => e.Service));
        Assert.Equal(10, statement.Entries.Single(e => e.Service == "matrix.org").Priority);
        Assert.True(statement.Entries.Single(e => e.Service == "wire").IsDefault);
        Assert.Equal(["Business", "Basketball Friends"], statement.Entries.Single(e => e.Service == "matrix.org").Tags); // as people write them
        await Expect(page.Locator("#services > li").First).ToContainTextAsync("matrix.org");
        await ShotAsync(page, "02-services");
        await AssertAccessibleAsync(page);

        // Seen as a sender on wire would: found, every check passed in the browser.
        await page.GetByLabel("Look up as someone on this service").FillAsync("wire");
        await page.GetByRole(AriaRole.Button, new() { Name = "Look me up" }).ClickAsync();
        await Expect(page.Locator("#lookup-result")).ToContainTextAsync("Someone on wire finds you");
        await Expect(page.Locator("#lookup-result")).ToContainTextAsync("complete at epoch");
        await Expect(page.Locator("#lookup-result")).ToContainTextAsync("signed by this browser");
        await ShotAsync(page, "03-lookup");
        await AssertAccessibleAsync(page);

        // Only wire may find it: a new mapping (audience only:wire), the old one removed.
        await page.GetByLabel("Only people looking from these services:").CheckAsync();
        await page.GetByLabel("Services, separated by commas").FillAsync("wire");
        await page.GetByRole(AriaRole.Button, new() { Name = "Publish this choice" }).ClickAsync();
        await SealedAsync(host, page, "Published version 4");
        Assert.Equal("none", (await host.LookupJsonAsync(Csi)).GetProperty("result").GetString());
        Assert.Equal("found", (await host.LookupJsonAsync(Csi, "wire")).GetProperty("result").GetString());

        await page.GetByRole(AriaRole.Button, new() { Name = "Be reachable nowhere (opt out)" }).ClickAsync();
        await SealedAsync(host, page, "You are now reachable nowhere");
        Assert.Equal("opted-out", (await host.LookupJsonAsync(Csi, "wire")).GetProperty("result").GetString());
        Assert.Empty((await CurrentStatementAsync(host, "wire")).Entries);

        await page.GetByRole(AriaRole.Button, new() { Name = "Remove my mapping" }).ClickAsync();
        await SealedAsync(host, page, "Your mapping is removed");
        Assert.Equal("none", (await host.LookupJsonAsync(Csi, "wire")).GetProperty("result").GetString());

        // Another key — the DP's own CA issuing itself a credential, say — publishes for the number.
        var intruder = await host.RegisterAsync(Csi);
        await host.Client.PublishAsync(intruder.Sign(1, [new MspEntry("signal") { Account = "@mallory", Priority = 1 }]), TestContext.Current.CancellationToken);
        await SealAsync(host);

        await page.GetByRole(AriaRole.Button, new() { Name = "Show the history" }).ClickAsync();
        var history = page.Locator("#history-result");
        await Expect(history.GetByRole(AriaRole.Alert)).ToContainTextAsync("not signed by this browser");
        await Expect(history.GetByRole(AriaRole.Alert)).ToContainTextAsync(intruder.Signer.Credential.KeyThumbprint);
        await Expect(history.Locator("tr.alarm-row")).ToHaveCountAsync(1);
        await Expect(history.Locator("tr.alarm-row")).ToContainTextAsync("signal");
        // Versions of the page's own mapping: label "any" had v1–v3 (erased after the audience moved), svc:wire v1–v3.
        await Expect(history.Locator("table")).ToHaveCountAsync(2);
        await Expect(history).ToContainTextAsync("Erased after a removal");
        await ShotAsync(page, "04-history");
        await AssertAccessibleAsync(page);

        // The same journey fits a phone.
        await page.SetViewportSizeAsync(390, 844);
        await ShotAsync(page, "05-history-phone");
        Assert.Empty(errors);
    }

    [Fact]
    public async Task Lookup_TamperedAnswer_PageRefusesIt()
    {
        await using var host = await StartDpAsync();
        var (context, page, errors) = await OpenAsync(host, phone: true);
        await using var _ = context;
        await RegisterAsync(host, page);
        await AddServiceAsync(host, page, "wire", "@bob", "default", version: 1);

        // A changed account in the statement (the payload re-encoded): the signature no longer holds.
        await page.RouteAsync("**/v1/lookup", route => TamperAsync(route, result =>
        {
            var statements = result["statements"]!.AsArray();
            var parts = statements[0]!.GetValue<string>().Split('.');
            var payload = System.Text.Encoding.UTF8.GetString(Base64Url.DecodeFromChars(parts[1])).Replace("@bob", "@eve", StringComparison.Ordinal);
            statements[0] = parts[0] + "." + Base64Url.EncodeToString(System.Text.Encoding.UTF8.GetBytes(payload)) + "." + parts[2];
        }));
        await LookUpAsync(page);
        var alarm = page.Locator("#lookup-result").GetByRole(AriaRole.Alert);
        await Expect(alarm).ToContainTextAsync("This answer did not verify");
        await Expect(alarm).ToContainTextAsync("BadSignature");
        await ShotAsync(page, "06-tampered-phone");
        await AssertAccessibleAsync(page);

        // The statement left out (a DP hiding a mapping): the completeness proof catches it.
        await page.UnrouteAllAsync();
        await page.RouteAsync("**/v1/lookup", route => TamperAsync(route, result =>
        {
            result["statements"] = new System.Text.Json.Nodes.JsonArray();
            result["result"] = "none";
        }));
        await LookUpAsync(page);
        await Expect(alarm).ToContainTextAsync("SetMismatch");

        // Untouched, the same answer verifies.
        await page.UnrouteAllAsync();
        await LookUpAsync(page);
        await Expect(page.Locator("#lookup-result")).ToContainTextAsync("finds you");

        // Keys other than those pinned at first use (here: the pinned log key's record altered) raise an alarm.
        await page.EvaluateAsync("() => { const p = JSON.parse(localStorage.getItem('mimi.pins.v1')); p.logFingerprint = '00'; localStorage.setItem('mimi.pins.v1', JSON.stringify(p)); }");
        await page.ReloadAsync();
        await Expect(page.Locator("#trust-alarm")).ToBeVisibleAsync();
        await Expect(page.Locator("#trust-alarm")).ToContainTextAsync("different keys from the ones this page pinned");
        await page.GetByRole(AriaRole.Button, new() { Name = "Trust the new keys" }).ClickAsync();
        await Expect(page.Locator("#trust-alarm")).ToBeHiddenAsync();
        Assert.Empty(errors);
    }

    [Fact]
    public async Task Register_BadInput_SaysTheNextStep()
    {
        await using var host = await StartDpAsync();
        var (context, page, errors) = await OpenAsync(host, phone: true);
        await using var _ = context;

        await page.GetByLabel("Phone number or email address").FillAsync("+1 200 555 0123");
        await page.GetByRole(AriaRole.Button, new() { Name = "Send me a code" }).ClickAsync();
        await Expect(page.Locator("#csi-error")).ToContainTextAsync("not a valid number in its numbering plan");
        await Expect(page.Locator("#csi-error")).ToContainTextAsync("country code");

        await page.GetByLabel("Phone number or email address").FillAsync(Csi);
        await page.GetByRole(AriaRole.Button, new() { Name = "Send me a code" }).ClickAsync();
        await Expect(page.Locator("#code-form")).ToBeVisibleAsync();
        var wrong = host.LastCode() == "000000" ? "111111" : "000000";
        await page.GetByLabel("The code you received").FillAsync(wrong);
        await page.GetByRole(AriaRole.Button, new() { Name = "Confirm" }).ClickAsync();
        await Expect(page.Locator("#code-error")).ToContainTextAsync("Check the code and type it again.");
        await Expect(page.Locator("#code-error")).ToContainTextAsync("4");
        await ShotAsync(page, "07-wrong-code-phone");
        await AssertAccessibleAsync(page);

        await page.GetByLabel("The code you received").FillAsync("not a code");
        await page.GetByRole(AriaRole.Button, new() { Name = "Confirm" }).ClickAsync();
        await Expect(page.Locator("#code-error")).ToContainTextAsync("The code is the digits we sent you");

        // Every attempt used: even the right code is refused, and the page says to ask for a new one.
        for (var left = 3; left >= 0; left--)
        {
            await page.GetByLabel("The code you received").FillAsync(wrong);
            await page.GetByRole(AriaRole.Button, new() { Name = "Confirm" }).ClickAsync();
            await Expect(page.Locator("#code-error")).ToContainTextAsync(left > 0 ? $"{left} attempt" : "no attempts are left");
        }

        await page.GetByLabel("The code you received").FillAsync(host.LastCode());
        await page.GetByRole(AriaRole.Button, new() { Name = "Confirm" }).ClickAsync();
        await Expect(page.Locator("#code-error")).ToContainTextAsync("Ask for a new code.");
        Assert.Empty(await MappingsAsync(host));

        var codes = host.Outbox().Count;
        await page.GetByRole(AriaRole.Button, new() { Name = "Send a new code" }).ClickAsync();
        await Expect(page.GetByLabel("The code you received")).ToHaveValueAsync(string.Empty);
        await Expect(page.Locator("#code-error")).ToBeHiddenAsync();
        Assert.Equal(codes + 1, host.Outbox().Count);
        await page.GetByLabel("The code you received").FillAsync(host.LastCode());
        await page.GetByRole(AriaRole.Button, new() { Name = "Confirm" }).ClickAsync();
        await Expect(page.Locator("#manage")).ToBeVisibleAsync();

        // A new browser (another profile) holds no key: it says so, and how to go on.
        await using var other = await chromium.Browser!.NewContextAsync(new() { IgnoreHTTPSErrors = true, BaseURL = host.BaseAddress.ToString() });
        var fresh = await other.NewPageAsync();
        await fresh.GotoAsync("app/");
        await Expect(fresh.Locator("#register")).ToBeVisibleAsync();
        await Expect(fresh.Locator("#register-note")).ToContainTextAsync("your old mapping stays until you replace it");
        Assert.Empty(errors);
    }

    private async Task<DpHost> StartDpAsync()
    {
        Assert.SkipWhen(chromium.Browser is null, $"no Chromium at {ChromiumFixture.ExecutablePath} (apt-get install chromium; .ci/run installs it)");
        // The browser signs and checks with the real clock, so the DP runs on it too (a fake clock would drift
        // from the browser's as the test runs); epochs are sealed by the test, never by the timer.
        return await DpHost.StartAsync(o => o.EpochInterval = TimeSpan.FromHours(1), clock: TimeProvider.System);
    }

    private async Task<(IBrowserContext Context, IPage Page, List<string> Errors)> OpenAsync(DpHost host, bool phone)
    {
        // The test DP's certificate is self-signed; this context (and only it) accepts it.
        var context = await chromium.Browser!.NewContextAsync(new()
        {
            IgnoreHTTPSErrors = true,
            BaseURL = host.BaseAddress.ToString(),
            ViewportSize = phone ? new() { Width = 390, Height = 844 } : new() { Width = 1280, Height = 900 },
        });
        var page = await context.NewPageAsync();
        var errors = new List<string>();
        page.PageError += (_, message) => errors.Add("uncaught: " + message);
        page.Console += (_, message) =>
        {
            if (message.Text.Contains("Content Security Policy", StringComparison.Ordinal))
            {
                errors.Add("CSP: " + message.Text);
            }
        };
        await page.GotoAsync("app/");
        await Expect(page.Locator("#trust")).ToBeVisibleAsync();
        return (context, page, errors);
    }

    private static async Task RegisterAsync(DpHost host, IPage page)
    {
        await page.GetByLabel("Phone number or email address").FillAsync("+33 6 12 34 56 78");
        await page.GetByRole(AriaRole.Button, new() { Name = "Send me a code" }).ClickAsync();
        await Expect(page.Locator("#code-sent")).ToContainTextAsync("development outbox");
        await page.GetByLabel("The code you received").FillAsync(host.LastCode());
        await page.GetByRole(AriaRole.Button, new() { Name = "Confirm" }).ClickAsync();
        await Expect(page.Locator("#manage")).ToBeVisibleAsync();
        await Expect(page.Locator("#identity")).ToContainTextAsync(Csi);
    }

    private static async Task AddServiceAsync(DpHost host, IPage page, string service, string account, string tags, int version)
    {
        await page.GetByLabel("Service (like wire, signal or matrix.org)").FillAsync(service);
        await page.GetByLabel("Your account there (optional)").FillAsync(account);
        await page.GetByLabel("Tags, separated by commas").FillAsync(tags);
        await page.GetByRole(AriaRole.Button, new() { Name = "Add and publish" }).ClickAsync();
        await SealedAsync(host, page, $"Published version {version}");
    }

    /// <summary>Waits until the page shows it waits for the receipt's epoch, seals, and waits until the page says it is sealed.</summary>
    private static async Task SealedAsync(DpHost host, IPage page, string what)
    {
        var waiting = page.Locator("#publish-status");
        await Expect(waiting).ToBeVisibleAsync();
        await Expect(waiting).ToContainTextAsync(what);
        await Expect(waiting).ToContainTextAsync("Waiting for epoch");
        await SealAsync(host);
        await Expect(page.Locator("#published")).ToContainTextAsync(new Regex(Regex.Escape(what) + ".*Sealed in epoch \\d+"));
        await Expect(waiting).ToBeHiddenAsync();
    }

    private static async Task SealAsync(DpHost host) =>
        await host.Service<TransparencyLog>().SealAsync(TestContext.Current.CancellationToken);

    private static async Task LookUpAsync(IPage page)
    {
        await page.GetByRole(AriaRole.Button, new() { Name = "Look me up" }).ClickAsync();
        await Expect(page.Locator("#lookup-progress")).ToBeHiddenAsync();
    }

    /// <summary>Passes the lookup to the real DP and alters its first result on the way back.</summary>
    private static async Task TamperAsync(IRoute route, Action<System.Text.Json.Nodes.JsonObject> alter)
    {
        var response = await route.FetchAsync();
        var body = System.Text.Json.Nodes.JsonNode.Parse(await response.TextAsync())!;
        alter(body["results"]![0]!.AsObject());
        await route.FulfillAsync(new() { Response = response, Body = body.ToJsonString() });
    }

    /// <summary>The CSI's statement the DP serves to a lookup by <paramref name="service"/>, verified by the SDK as any sender would.</summary>
    private static async Task<MappingStatement> CurrentStatementAsync(DpHost host, string? service = null)
    {
        var result = await host.LookupJsonAsync(Csi, service);
        var jws = Assert.Single(result.GetProperty("statements").EnumerateArray()).GetString();
        var verifier = new StatementVerifier(new TrustAnchors([host.LoadAuthority().Certificate]), host.Clock);
        var verified = verifier.VerifyMapping(jws);
        Assert.True(verified.IsValid, verified.Reason);
        return verified.Statement;
    }

    private static async Task<IReadOnlyList<JsonElement>> MappingsAsync(DpHost host)
    {
        var result = await host.LookupJsonAsync(Csi);
        return [.. result.GetProperty("statements").EnumerateArray()];
    }

    private static async Task AssertAccessibleAsync(IPage page)
    {
        var results = await page.RunAxe();
        var serious = results.Violations.Where(v => v.Impact is "serious" or "critical").ToList();
        Assert.True(serious.Count == 0, string.Join("\n", serious.Select(v => $"{v.Id} ({v.Impact}): {v.Help} — {string.Join(", ", v.Nodes.Select(n => n.Html))}")));
    }

    private static async Task ShotAsync(IPage page, string name)
    {
        Directory.CreateDirectory(ScreenshotDirectory);
        await page.ScreenshotAsync(new() { Path = Path.Combine(ScreenshotDirectory, name + ".png"), FullPage = true });
    }
}

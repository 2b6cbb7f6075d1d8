using System.Text.Json;
using System.Text.RegularExpressions;

namespace Mimi.Discovery.Cli.Tests;

/// <summary>
/// The README's "Inviting someone" against a real <c>serve --dev</c>: Alice invites Bob, whose lookup
/// said none; Bob shows and verifies the link, registers from it and so tells Alice, once; Carol
/// refuses invitations and gets none, while Alice is answered as for anyone else.
/// </summary>
public sealed partial class InvitationCommandTests : IAsyncLifetime
{
    private const string Alice = "alice@example.com";
    private const string Bob = "+33612345678";
    private readonly CliHarness _cli = new("mimi-invite-");

    public async ValueTask InitializeAsync()
    {
        await _cli.ServeAsync();
        var register = await _cli.RunAsync("alice", true, "register", Alice, "--dp", _cli.Dp, "--ca", _cli.Ca, "--service", "wire,account=@alice");
        Assert.True(register.Exit == 0, register.Err);
    }

    public ValueTask DisposeAsync()
    {
        _cli.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>The invitation message to <paramref name="csi"/> once it arrived (the DP sends after answering).</summary>
    private async Task<JsonElement?> MessageToAsync(string csi, bool wait = true)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var messages = Directory.Exists(_cli.Outbox)
                ? Directory.GetFiles(_cli.Outbox, "*.json").Order(StringComparer.Ordinal).Select(f => JsonDocument.Parse(File.ReadAllText(f)).RootElement.Clone())
                    .Where(m => m.GetProperty("to").GetString() == csi && m.GetProperty("text").GetString()!.Contains("invites you", StringComparison.Ordinal)).ToList()
                : [];
            if (messages.Count > 0 || !wait)
            {
                return messages.Count > 0 ? messages[^1] : null;
            }

            Assert.True(DateTime.UtcNow < deadline, "no invitation arrived in the outbox");
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
    }

    [GeneratedRegex(@"https://\S+/v1/invitations#[A-Za-z0-9_-]{22}")]
    private static partial Regex Link();

    [Fact]
    public async Task AliceInvitesBob_BobVerifiesRegistersAndAnswersOnce_AliceSeesTheAnswer()
    {
        var sent = await _cli.RunAsync("alice", false, "invitation", "send", Bob, "--from", Alice, "--dp", _cli.Dp, "--ca", _cli.Ca);
        Assert.True(sent.Exit == 0, sent.Err);
        var id = Regex.Match(sent.Out, @"Invitation ([A-Za-z0-9_-]{22}) ").Groups[1].Value;
        Assert.NotEmpty(id);
        var link = Link().Match((await MessageToAsync("tel:" + Bob))!.Value.GetProperty("text").GetString()!).Value;

        var shown = await _cli.RunAsync("bob", false, "invitation", "show", link, "--ca", _cli.Ca);
        Assert.True(shown.Exit == 0, shown.Err);
        Assert.Contains($"mailto:{Alice} invites tel:{Bob}", shown.Out, StringComparison.Ordinal);
        Assert.Contains("reach them on wire @alice", shown.Out, StringComparison.Ordinal);
        var verified = await _cli.RunAsync("bob", false, "invitation", "verify", link, "--as", Bob, "--ca", _cli.Ca);
        Assert.True(verified.Exit == 0, verified.Err);
        Assert.StartsWith($"valid: invitation from mailto:{Alice} to tel:{Bob}", verified.Out, StringComparison.Ordinal);
        var notMine = await _cli.RunAsync("bob", false, "invitation", "verify", link, "--as", "+33612345679", "--ca", _cli.Ca);
        Assert.Equal(3, notMine.Exit);
        Assert.Contains("not verified (not-for-recipient)", notMine.Err, StringComparison.Ordinal);
        var unanswered = await _cli.RunAsync("alice", false, "invitation", "answer", id, "--dp", _cli.Dp, "--ca", _cli.Ca);
        Assert.Contains("no answer yet", unanswered.Out, StringComparison.Ordinal);

        var registered = await _cli.RunAsync("bob", true, "register", "--from-invitation", link, "--dp", _cli.Dp, "--ca", _cli.Ca, "--service", "signal,account=+33612345678");
        Assert.True(registered.Exit == 0, registered.Err);
        Assert.Contains($"Published tel:{Bob} version 1", registered.Out, StringComparison.Ordinal);
        Assert.Contains($"Told mailto:{Alice} (who invited you) that you registered", registered.Out, StringComparison.Ordinal);

        var answered = await _cli.RunAsync("alice", false, "invitation", "answer", id, "--dp", _cli.Dp, "--ca", _cli.Ca);
        Assert.True(answered.Exit == 0, answered.Err);
        Assert.Contains($"answered by tel:{Bob}", answered.Out, StringComparison.Ordinal);

        var again = await _cli.RunAsync("bob", false, "register", "--from-invitation", link, "--dp", _cli.Dp, "--ca", _cli.Ca, "--service", "signal,account=+33612345678");
        Assert.Equal(1, again.Exit);
        Assert.Contains("could not be told", again.Err, StringComparison.Ordinal);
        Assert.Contains("(invitation-answered)", again.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CarolRefusesInvitations_AliceIsAnsweredAlike_AndCarolGetsNone()
    {
        const string Carol = "carol@example.org";
        var refused = await _cli.RunAsync("carol", true, "invitation", "refuse", Carol, "--dp", _cli.Dp, "--ca", _cli.Ca);
        Assert.True(refused.Exit == 0, refused.Err);
        Assert.Contains("this DP delivers no invitation to you any more", refused.Out, StringComparison.Ordinal);

        var toCarol = await _cli.RunAsync("alice", false, "invitation", "send", Carol, "--from", Alice, "--dp", _cli.Dp, "--ca", _cli.Ca, "--service", "wire,account=@alice");
        var toDave = await _cli.RunAsync("alice", false, "invitation", "send", "dave@example.org", "--from", Alice, "--dp", _cli.Dp, "--ca", _cli.Ca, "--service", "wire,account=@alice");

        Assert.True(toCarol.Exit == 0, toCarol.Err);
        Assert.True(toDave.Exit == 0, toDave.Err);
        Assert.Equal(Regex.Replace(toCarol.Out, "[A-Za-z0-9_-]{22}|carol@example.org|dave@example.org", "X"), Regex.Replace(toDave.Out, "[A-Za-z0-9_-]{22}|carol@example.org|dave@example.org", "X"));
        // Messages go out in order: once Dave's arrived, Carol's would have.
        Assert.NotNull(await MessageToAsync("mailto:dave@example.org"));
        Assert.Null(await MessageToAsync("mailto:" + Carol, wait: false));
    }

    [Theory]
    [InlineData("invitation show https://127.0.0.1:1/v1/lookup/x", 2, "not an invitation link")]
    [InlineData("invitation send +33612345678 --from +33600000000 --dp https://127.0.0.1:1", 2, "holds no credential for tel:+33600000000")]
    [InlineData("invitation answer short --dp https://127.0.0.1:1", 2, "an invitation id is 22 base64url characters")]
    public async Task UsageMistakes_ExitTwoWithAReason(string args, int exit, string reason)
    {
        var result = await _cli.RunAsync("alice", false, args.Split(' '));

        Assert.Equal(exit, result.Exit);
        Assert.Contains(reason, result.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Send_LongerThanTheDpDelivers_IsOutOfScope_OneLine_AndNothingSent()
    {
        var result = await _cli.RunAsync("alice", false, "invitation", "send", "erin@example.org", "--from", Alice, "--dp", _cli.Dp, "--ca", _cli.Ca, "--valid-days", "8");

        Assert.Equal(1, result.Exit);
        Assert.Contains("(invitation-out-of-scope)", result.Err, StringComparison.Ordinal);
        Assert.Single(result.Err.Trim().Split('\n'));
        Assert.Null(await MessageToAsync("mailto:erin@example.org", wait: false));
    }

    [Fact]
    public async Task Show_UnknownLink_IsOneLineAndExitsOne()
    {
        var result = await _cli.RunAsync("bob", false, "invitation", "show", _cli.Dp.TrimEnd('/') + "/v1/invitations#AAAAAAAAAAAAAAAAAAAAAA", "--ca", _cli.Ca);

        Assert.Equal(1, result.Exit);
        Assert.Contains("(invitation-not-found)", result.Err, StringComparison.Ordinal);
        Assert.Single(result.Err.Trim().Split('\n'));
    }
}

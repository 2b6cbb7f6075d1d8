using System.Net.Http.Json;
using System.Text.Json;
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Server.Invitations;
using Mimi.Discovery.Statements;
using Mimi.Discovery.Verification;

namespace Mimi.Discovery.Server.Tests.Invitations;

/// <summary>Helpers for the invitation tests: signing as the SDK does, raw submission, and what the DP sent.</summary>
internal static class InvitationKit
{
    public static readonly IReadOnlyList<MspEntry> AliceReach = [new MspEntry("wire") { Account = "@alice", Priority = 10, Tags = ["default"] }];

    /// <summary>An invitation from <paramref name="sender"/> to <paramref name="to"/>, answerable at <paramref name="dp"/>.</summary>
    public static string Sign(DpHost dp, DpHost.Recipient sender, string to, TimeSpan? lifetime = null, Uri? callback = null, string? id = null)
    {
        id ??= Invitation.NewId();
        return sender.Signer.SignInvitation(new InvitationDraft(CsiParser.ParseOrThrow(to), AliceReach)
        {
            Id = id,
            Lifetime = lifetime,
            Callback = callback ?? Invitation.CallbackAt(dp.BaseAddress + "v1", id),
        });
    }

    /// <summary>Submits an invitation as raw JSON, with the given Authorization values.</summary>
    public static async Task<HttpResponseMessage> PostAsync(DpHost dp, string invitation, params string[] authorization)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/invitations")
        {
            Content = JsonContent.Create(new InvitationRequest(invitation), InvitationJson.Default.InvitationRequest),
        };
        foreach (var value in authorization)
        {
            request.Headers.TryAddWithoutValidation("Authorization", value);
        }

        var response = await dp.Http.SendAsync(request).ConfigureAwait(false);

        // Messages go out after the answer; wait for them, so the outbox holds them (and only then a proof's code).
        await dp.Service<InvitationDelivery>().WhenIdleAsync().WaitAsync(TimeSpan.FromMinutes(1)).ConfigureAwait(false);
        return response;
    }

    /// <summary>Submits and returns the accepted answer's JSON, asserting a 202.</summary>
    public static async Task<JsonElement> AcceptedAsync(DpHost dp, string invitation, params string[] authorization)
    {
        using var response = await PostAsync(dp, invitation, authorization).ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
        Assert.True((int)response.StatusCode == 202, body);
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    /// <summary>The invitation messages the DP sent to <paramref name="csi"/>, once every queued one was handed over.</summary>
    public static async Task<IReadOnlyList<JsonElement>> SentToAsync(DpHost dp, string csi)
    {
        await dp.Service<InvitationDelivery>().WhenIdleAsync().WaitAsync(TimeSpan.FromMinutes(1)).ConfigureAwait(false);
        var uri = CsiParser.ParseOrThrow(csi).Uri;
        return dp.Outbox().Where(m => m.GetProperty("to").GetString() == uri && m.GetProperty("text").GetString()!.Contains("invites you", StringComparison.Ordinal)).ToList();
    }

    /// <summary>The link a message carries.</summary>
    public static string LinkIn(JsonElement message)
    {
        var match = System.Text.RegularExpressions.Regex.Match(message.GetProperty("text").GetString()!, @"https://\S+/v1/invitations#[A-Za-z0-9_-]{22}");
        Assert.True(match.Success, message.GetProperty("text").GetString());
        return match.Value;
    }

    /// <summary>The verifier a recipient uses: the CAs the DP advertises.</summary>
    public static async Task<StatementVerifier> RecipientVerifierAsync(DpHost dp) =>
        new(TrustAnchors.FromPem(string.Join('\n', (await dp.Client.GetMetadataAsync().ConfigureAwait(false)).CredentialCas)), dp.Clock);

    /// <summary>Asserts two accepted answers say the same but for the invitation's id: same members, same status, the answer URL of each id.</summary>
    public static void AssertAlike(JsonElement delivered, JsonElement other)
    {
        Assert.Equal(delivered.EnumerateObject().Select(p => p.Name), other.EnumerateObject().Select(p => p.Name));
        Assert.Equal("accepted", delivered.GetProperty("status").GetString());
        Assert.Equal("accepted", other.GetProperty("status").GetString());
        Assert.Equal(delivered.GetProperty("answer").GetString()!.Replace(delivered.GetProperty("id").GetString()!, "ID", StringComparison.Ordinal),
            other.GetProperty("answer").GetString()!.Replace(other.GetProperty("id").GetString()!, "ID", StringComparison.Ordinal));
    }
}

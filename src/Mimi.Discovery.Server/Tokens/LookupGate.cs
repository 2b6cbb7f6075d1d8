using Microsoft.AspNetCore.Http.HttpResults;
using Mimi.Discovery.Protocol;

namespace Mimi.Discovery.Server.Tokens;

/// <summary>
/// Decides whether a lookup may proceed, from the request's <c>Authorization</c> values. The
/// direct lookup routes and the Oblivious HTTP gateway both ask it, so a lookup costs the same
/// whichever way it arrives.
/// </summary>
internal interface ILookupGate
{
    /// <summary>Admits the lookup (with the querying service a token vouches for, if any) or refuses it.</summary>
    Task<GateDecision> AdmitAsync(IReadOnlyList<string> authorization, LookupRequest request, CancellationToken cancellationToken);
}

/// <summary>A gate's answer.</summary>
/// <param name="Problem">Null when admitted; otherwise why not.</param>
/// <param name="Service">When admitted on a token: the sponsoring service the token's key belongs to.</param>
/// <param name="Challenge">With a refusal for a missing or spent token: the <c>WWW-Authenticate</c> value to send.</param>
internal sealed record GateDecision(Problem? Problem, string? Service = null, string? Challenge = null)
{
    public static GateDecision Open { get; } = new((Problem?)null);
}

/// <summary>The gate when lookups need no token (development, or a DP configured so).</summary>
internal sealed class OpenLookupGate : ILookupGate
{
    public Task<GateDecision> AdmitAsync(IReadOnlyList<string> authorization, LookupRequest request, CancellationToken cancellationToken) =>
        Task.FromResult(GateDecision.Open);
}

/// <summary>The gate over HTTP: the request's <c>Authorization</c> values in, a problem (with its <c>WWW-Authenticate</c> challenge set) out.</summary>
internal static class LookupGateHttp
{
    /// <summary>Null and the vouched-for service when admitted; otherwise the refusal to send.</summary>
    public static async Task<(ProblemHttpResult? Refused, string? Service)> AdmitAsync(this ILookupGate gate, HttpContext context, LookupRequest request, CancellationToken cancellationToken)
    {
        var authorization = context.Request.Headers.Authorization.Where(a => a is not null).Select(a => a!).ToList();
        var decision = await gate.AdmitAsync(authorization, request, cancellationToken).ConfigureAwait(false);
        if (decision.Problem is not { } refused)
        {
            return (null, decision.Service);
        }

        if (decision.Challenge is not null)
        {
            context.Response.Headers.WWWAuthenticate = decision.Challenge;
        }

        return (refused.ToResult(), null);
    }
}

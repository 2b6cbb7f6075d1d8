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

using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Server.Mappings;
using Mimi.Discovery.Server.Tokens;

namespace Mimi.Discovery.Server.Apis;

/// <summary>A lookup route: what the request asks, whichever way it arrived.</summary>
/// <param name="Request">The lookup, or null for the metadata document.</param>
/// <param name="Problem">Why the request is not a lookup the DP can serve (a bad body).</param>
internal sealed record LookupRoute(LookupRequest? Request, Problem? Problem = null);

/// <summary>What a lookup answers: the response or the problem, and the <c>WWW-Authenticate</c> challenge a token refusal carries.</summary>
internal sealed record LookupAnswer(Outcome<LookupResponse> Outcome, string? Challenge);

/// <summary>
/// The one way lookups are served, directly over HTTPS (<see cref="DiscoveryApi"/>) or inside
/// Oblivious HTTP (<see cref="Privacy.ObliviousGateway"/>): the route table of what is reachable,
/// then the gate (<see cref="ILookupGate"/>, which prices the lookup with <see cref="LookupPrice"/>),
/// then the lookup. A refusal at the gate spends nothing and looks nothing up.
/// </summary>
internal sealed class LookupPipeline(ILookupGate gate, MappingService mappings, Federation.PeerSet peers, Observability.DiscoveryMetrics metrics)
{
    /// <summary>The batch lookup route.</summary>
    public const string LookupPath = "/v1/lookup";

    /// <summary>The single-CSI lookup route, <c>GET /v1/lookup/{csi}[?service=…]</c>.</summary>
    public const string LookupOnePrefix = "/v1/lookup/";

    /// <summary>The metadata document.</summary>
    public const string MetadataPath = "/.well-known/mimi-discovery";

    /// <summary>
    /// The routes a private (oblivious) request may reach: the metadata, a batch lookup with a JSON
    /// body, a single lookup. Null for anything else.
    /// </summary>
    public static LookupRoute? Match(string method, string pathAndQuery, ReadOnlySpan<byte> body)
    {
        var parts = pathAndQuery.Split('?', 2);
        var (path, query) = (parts[0], parts.Length > 1 ? Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(parts[1]) : []);
        switch (method)
        {
            case "GET" when path == MetadataPath:
                return new LookupRoute(null);
            case "POST" when path == LookupPath:
                LookupRequest? request;
                try
                {
                    request = System.Text.Json.JsonSerializer.Deserialize(body, ProtocolJson.Default.LookupRequest);
                }
                catch (System.Text.Json.JsonException)
                {
                    request = null;
                }

                return request is null
                    ? new LookupRoute(null, Problem.InvalidRequest("send {\"csis\": [\"+15551234567\", …], \"service\": \"optional-querying-service\", \"tokens\": […]}"))
                    : new LookupRoute(request);
            case "GET" when path.StartsWith(LookupOnePrefix, StringComparison.Ordinal) && path.Length > LookupOnePrefix.Length:
                return new LookupRoute(One(Uri.UnescapeDataString(path[LookupOnePrefix.Length..]), query.TryGetValue("service", out var service) ? service.ToString() : null));
            default:
                return null;
        }
    }

    /// <summary>The lookup a <c>GET /v1/lookup/{csi}</c> makes.</summary>
    public static LookupRequest One(string csi, string? service) => new([csi], service);

    /// <summary>
    /// Admits (or refuses) the lookup with the request's <c>Authorization</c> values, then answers it —
    /// with <paramref name="askPeers"/>, together with this DP's peers' answers (not for a lookup a peer
    /// asked: federation is one hop).
    /// </summary>
    public async Task<LookupAnswer> LookupAsync(LookupRequest request, IReadOnlyList<string> authorization, CancellationToken cancellationToken, bool askPeers = true)
    {
        var path = !askPeers ? Observability.LookupPath.Federated : Observability.GatewayScope.Active ? Observability.LookupPath.Gateway : Observability.LookupPath.Direct;
        using var span = Observability.DiscoveryTracing.Source.StartActivity("lookup");
        span?.SetTag("mimi.discovery.path", Observability.DiscoveryMetrics.PathName(path));
        span?.SetTag("mimi.discovery.queries", request.Csis?.Count ?? 0);
        var answer = await AnswerAsync(request, authorization, askPeers, cancellationToken).ConfigureAwait(false);
        if (answer.Outcome.Value is { } response)
        {
            metrics.Lookup(response, path);
        }

        span?.SetTag("mimi.discovery.outcome", answer.Outcome.Problem?.Code ?? "answered");
        return answer;
    }

    private async Task<LookupAnswer> AnswerAsync(LookupRequest request, IReadOnlyList<string> authorization, bool askPeers, CancellationToken cancellationToken)
    {
        // Checked before the gate, so a malformed request spends no token.
        if (request.KnownTreeSize is < 1)
        {
            return new LookupAnswer(new Problem("invalid-known-tree-size", StatusCodes.Status400BadRequest,
                FormattableString.Invariant($"knownTreeSize is {request.KnownTreeSize}; send the size of a tree head you hold (an integer of at least 1), or leave it out")), null);
        }

        var decision = await gate.AdmitAsync(authorization, request, cancellationToken).ConfigureAwait(false);
        if (decision.Problem is { } refused)
        {
            return new LookupAnswer(refused, decision.Challenge);
        }

        var admitted = request with { Tokens = null, Service = decision.Service ?? request.Service };
        if (!askPeers || !peers.Any || admitted.Csis is not { Count: > 0 } queries || queries.Any(q => q is null))
        {
            return new LookupAnswer(await mappings.LookupAsync(admitted, cancellationToken).ConfigureAwait(false), null);
        }

        // The peers are asked while this DP looks up; they see this DP, never the sender.
        var csis = queries.Select(q => CsiParser.Parse(q)).Where(p => p.Success).Select(p => p.Csi!.Uri).Distinct(StringComparer.Ordinal).ToList();
        var asked = peers.AskAsync(csis, admitted.Service, cancellationToken);
        var local = await mappings.LookupAsync(admitted, cancellationToken).ConfigureAwait(false);
        var fromPeers = await asked.ConfigureAwait(false);
        return new LookupAnswer(local.Value is { } own ? (Outcome<LookupResponse>)(own with { Peers = fromPeers }) : local, null);
    }
}

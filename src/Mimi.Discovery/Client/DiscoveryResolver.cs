using Mimi.Discovery.Dns;
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Verification;

namespace Mimi.Discovery.Client;

/// <summary>Where an answer came from.</summary>
public enum AnswerSource
{
    /// <summary>MIMI records in the DNS.</summary>
    Dns,

    /// <summary>A Discovery Provider (an "oracle" in draft-bertola-mimi-discovery).</summary>
    DiscoveryProvider,
}

/// <summary>How an answer was authenticated.</summary>
public enum AnswerAuthentication
{
    /// <summary>DNS records taken as the server sent them, without DNSSEC validation.</summary>
    DnsNotValidated,

    /// <summary>DNS records validated by DNSSEC from the caller's trust anchors.</summary>
    DnsValidated,

    /// <summary>DNS records under a provably unsigned delegation: as good as plain DNS.</summary>
    DnsInsecure,

    /// <summary>Signed mapping statements that verified against the caller's trust anchors.</summary>
    SignedMapping,
}

/// <summary>One way to reach the identifier's owner.</summary>
/// <param name="Service">Service id or brand, when the source names one.</param>
/// <param name="Account">The account on that service.</param>
/// <param name="Endpoint">The service endpoint, when given.</param>
/// <param name="Priority">Lower is preferred; null when the source gives none.</param>
/// <param name="Tags">Preference tags (DP answers only).</param>
/// <param name="ProtocolVersion">Protocol version, when given.</param>
public sealed record ReachableAt(string? Service, string? Account, string? Endpoint, int? Priority, IReadOnlyList<string> Tags, string? ProtocolVersion);

/// <summary>The answer of <see cref="DiscoveryResolver.ResolveAsync"/>.</summary>
/// <param name="Identifier">As asked.</param>
/// <param name="Kind">What the identifier is: a CSI (phone, email) or a MUI.</param>
/// <param name="Outcome">Found, opted out, none, or invalid.</param>
/// <param name="Source">Which source answered; null when none did.</param>
/// <param name="SourceName">The DNS name queried or the DP's URL.</param>
/// <param name="Authentication">How the answer was authenticated; null when none.</param>
/// <param name="Services">Where the owner can be reached, in the order to try.</param>
/// <param name="Notes">What each source said on the way, and ignored records.</param>
public sealed record Resolution(
    string Identifier,
    string Kind,
    LookupOutcome Outcome,
    AnswerSource? Source,
    string? SourceName,
    AnswerAuthentication? Authentication,
    IReadOnlyList<ReachableAt> Services,
    IReadOnlyList<string> Notes);

/// <summary>A Discovery Provider the resolver may ask, with the verifier for its answers and, when it keeps a log, the check of its completeness proofs.</summary>
/// <param name="Url">The DP.</param>
/// <param name="Client">A client whose stack decides how lookups travel and pay (relay, tokens).</param>
/// <param name="Verifier">Verifies statements against the CAs the sender trusts.</param>
/// <param name="Transparency">Checks the DP's completeness proofs; an answer that fails them is not used.</param>
public sealed record ProviderEndpoint(Uri Url, DiscoveryClient Client, StatementVerifier Verifier, TransparencyCheck? Transparency = null);

/// <summary>
/// One resolution as draft-bertola-mimi-discovery §5.1.2 prescribes: the DNS first (MUI records;
/// MIMIX for email; ENUM for phone numbers), and only when the DNS says there is nothing (no MIMI
/// record, no such name, no MIMIX, or no DNS name for the identifier) each configured Discovery
/// Provider in turn — not when the DNS failed (timeout, SERVFAIL, REFUSED), which is reported as
/// such. The answer says where it came from and how it was authenticated.
/// </summary>
public sealed class DiscoveryResolver(DnsDiscoveryResolver? dns, IReadOnlyList<ProviderEndpoint> providers)
{
    /// <summary>Resolves a phone number, an email address or a MUI.</summary>
    /// <param name="identifier">Any accepted CSI form, or a domain name (MUI).</param>
    /// <param name="service">The querying service, for DP audiences.</param>
    /// <param name="cancellationToken">Cancels the queries.</param>
    public async Task<Resolution> ResolveAsync(string identifier, string? service = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(identifier);
        ArgumentNullException.ThrowIfNull(providers);
        var notes = new List<string>();
        var csi = CsiParser.Parse(identifier);
        Mui? mui = null;
        if (!csi.Success && (identifier.Contains('@', StringComparison.Ordinal) || !Mui.TryParse(identifier, out mui, out _)))
        {
            return new Resolution(identifier, "invalid", LookupOutcome.Invalid, null, null, null, [], [csi.Reason]);
        }

        var kind = csi.Success ? (csi.Csi.Kind == CsiKind.Phone ? "phone" : "email") : "mui";
        if (dns is not null)
        {
            var answer = csi.Success
                ? await dns.ResolveAsync(csi.Csi, cancellationToken).ConfigureAwait(false)
                : await dns.ResolveMuiAsync(mui!.Name, cancellationToken).ConfigureAwait(false);
            notes.AddRange(answer.Diagnostics);
            if (answer.Outcome == DnsOutcome.Found)
            {
                var services = answer.Records.Select(r => new ReachableAt(r.Record.Service, r.Record.Account, r.Record.Endpoint, r.Record.Priority, [], r.Record.ProtocolVersion)).ToList();
                var authentication = answer.Dnssec switch
                {
                    DnssecStatus.Validated => AnswerAuthentication.DnsValidated,
                    DnssecStatus.Insecure => AnswerAuthentication.DnsInsecure,
                    _ => AnswerAuthentication.DnsNotValidated,
                };
                return new Resolution(identifier, kind, LookupOutcome.Found, AnswerSource.Dns, answer.Name, authentication, services, notes);
            }

            notes.Add($"DNS: {answer.Outcome} at {answer.Name}");
            if (answer.Outcome is DnsOutcome.ServerFailure or DnsOutcome.Refused or DnsOutcome.Timeout)
            {
                // The DNS may hold records it could not give: asking an oracle now could contradict them.
                notes.Add("the DNS failed rather than saying there is nothing: Discovery Providers were not asked");
                return new Resolution(identifier, kind, LookupOutcome.None, null, null, null, [], notes);
            }
        }

        if (csi.Success)
        {
            foreach (var provider in providers)
            {
                VerifiedLookup result;
                try
                {
                    result = (await provider.Client.LookupAsync([csi.Csi.Uri], provider.Verifier, service, provider.Transparency, cancellationToken).ConfigureAwait(false))[0];
                }
                catch (DiscoveryException e)
                {
                    notes.Add($"{provider.Url}: {e.Message}");
                    continue;
                }

                notes.AddRange(result.Rejected.Select(r => $"{provider.Url}: statement refused: {r.Status}: {r.Reason}"));
                if (result.Proof is { IsComplete: false } proof)
                {
                    notes.Add($"{provider.Url}: answer refused: its transparency proof failed ({proof.Status}: {proof.Reason})");
                    continue;
                }

                if (result.Outcome is LookupOutcome.Found or LookupOutcome.OptedOut)
                {
                    var services = result.EntriesByPreference
                        .Select(p => new ReachableAt(p.Entry.Service, p.Entry.Account, p.Entry.Endpoint?.ToString(), p.Entry.Priority, p.Entry.Tags, p.Entry.ProtocolVersion))
                        .ToList();
                    return new Resolution(identifier, kind, result.Outcome, AnswerSource.DiscoveryProvider, provider.Url.ToString(), AnswerAuthentication.SignedMapping, services, notes);
                }

                notes.Add($"{provider.Url}: {VerifiedLookup.OutcomeName(result.Outcome)}");
            }
        }

        return new Resolution(identifier, kind, LookupOutcome.None, null, null, null, [], notes);
    }
}

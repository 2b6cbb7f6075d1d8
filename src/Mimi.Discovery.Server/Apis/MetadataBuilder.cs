using Microsoft.Extensions.Options;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Server.Hosting;
using Mimi.Discovery.Server.Privacy;
using Mimi.Discovery.Server.Proofs;
using Mimi.Discovery.Server.Tokens;
using Mimi.Discovery.Server.Transparency;
using Mimi.Discovery.Verification;

namespace Mimi.Discovery.Server.Apis;

/// <summary>Builds the <c>/.well-known/mimi-discovery</c> document, for the direct route and the gateway alike.</summary>
internal sealed class MetadataBuilder(DataFolder folder, ChannelRouter channels, TransparencyLog transparency, OhttpKeyRing ohttpKeys, IssuerKeyRing tokenKeys, PublicOrigin publicOrigin, Federation.PeerSet peers, Federation.MirrorPuller mirrors, IOptions<DiscoveryOptions> options)
{
    /// <summary>The document, its URLs on the configured <see cref="PublicOrigin"/> whatever <c>Host</c> a request named.</summary>
    public DiscoveryMetadata Build()
    {
        var o = options.Value;
        var origin = publicOrigin.Value;
        var channelNames = new Dictionary<string, string>();
        if (channels.For(Identifiers.CsiKind.Phone) is { } phone)
        {
            channelNames["tel"] = phone.Name;
        }

        if (channels.For(Identifiers.CsiKind.Email) is { } email)
        {
            channelNames["mailto"] = email.Name;
        }

        return new DiscoveryMetadata(
            origin + "/v1",
            ["tel", "mailto"],
            // Mirrored statements are issued under the mirrored peers' CAs: listed, so senders verify them.
            [folder.Authority.ExportCertificatePem(), .. mirrors.MirroredCas.Select(c => c.ExportCertificatePem())],
            new DiscoveryLimits(o.MaxLookupBatch, new VerificationOptions().MaxStatementLength, o.MaxRequestBytes, (int)o.CodeLifetime.TotalSeconds, o.MaxCodeAttempts, (long)o.LookupMaxAge.TotalSeconds)
            {
                MaxReassignments = o.MaxReassignments,
                MaxReassignmentBytes = ReassignmentApi.MaxBodyBytes,
                ReassignmentFeedMaxAgeSeconds = (long)o.ReassignmentFeedMaxAge.TotalSeconds,
            },
            channelNames,
            o.Transparency ? transparency.Keys : null,
            new ObliviousGatewayInfo(origin + "/.well-known/ohttp-gateway", ohttpKeys.KeyIds),
            new TokenSettings(origin + TokenService.DirectoryPath, o.TokensRequired, o.TokenIssuerName!, o.CsisPerToken, o.MaxTokensPerIssuance, tokenKeys.RedeemableSeconds),
            peers.Any ? peers.Info : null);
    }
}

using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Mimi.Discovery.Credentials;
using Mimi.Discovery.Crypto;
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Statements;
using Mimi.Discovery.Transparency;

namespace Mimi.Discovery.Client;

/// <summary>
/// Asks the person for the proof-of-control code the DP sent (by <see cref="ProofStarted.Channel"/>,
/// e.g. <c>sms</c> or <c>email</c>): an app shows a prompt, reads the SMS, or follows a link.
/// </summary>
/// <param name="proof">The started proof: its channel and expiry.</param>
/// <param name="csi">The identifier the code was sent to.</param>
/// <param name="cancellationToken">Cancels the wait.</param>
/// <returns>The code as the person typed it (surrounding white space is trimmed).</returns>
public delegate ValueTask<string> ProofCodeReader(ProofStarted proof, Csi csi, CancellationToken cancellationToken);

/// <summary>A credential ready to sign with, and whether it was issued just now (a code was answered).</summary>
/// <param name="Certificate">The credential (X.509, RFC 5280) binding the CSI to the recipient's key.</param>
/// <param name="Issued"><see langword="true"/> when control was proved for it now; <see langword="false"/> when a stored one was reused.</param>
public sealed record RecipientCredential(X509Certificate2 Certificate, bool Issued);

/// <summary>What <see cref="MappingPublisher.RenewAsync"/> did: the new credential, and the DP's receipt for each republished mapping.</summary>
/// <param name="Credential">The credential issued now.</param>
/// <param name="Receipts">One per republished mapping, in mapping id order.</param>
public sealed record Renewal(RecipientCredential Credential, IReadOnlyList<PublishReceipt> Receipts);

/// <summary>
/// A recipient's side of one Discovery Provider, backed by their <see cref="KeyStore"/>: proves
/// control of a CSI once per credential (reusing a stored credential while it is valid), numbers
/// versions, signs and publishes mapping statements, and removes them — recording what the DP
/// acknowledged so <see cref="LabelMonitor.CheckAcknowledged"/> can later check the DP sealed it.
/// </summary>
/// <remarks>
/// The flow a recipient app runs: <see cref="EnsureCredentialAsync"/>, then build a
/// <see cref="MappingDraft"/> with <see cref="NextVersion"/>, then <see cref="PublishAsync"/>.
/// Not safe for concurrent use on one key folder by several processes: versions are read and
/// written without a lock (a lost race answers <c>version-not-newer</c> and changes nothing).
/// </remarks>
/// <param name="client">The DP.</param>
/// <param name="store">The recipient's key folder.</param>
/// <param name="key">The recipient's private P-256 signing key (e.g. from <see cref="KeyStore.GetOrCreateKey"/>); not disposed here.</param>
/// <param name="time">Clock for credential validity and statement times; the system clock when omitted.</param>
public sealed class MappingPublisher(DiscoveryClient client, KeyStore store, ECDsa key, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>A stored credential is reused only while it stays valid at least this much longer.</summary>
    public static TimeSpan ReuseMargin { get; } = TimeSpan.FromHours(1);

    /// <summary>
    /// A credential for <paramref name="csi"/>: the stored one if it was issued for this key by one of
    /// the DP's credential CAs (its metadata) and stays valid for <see cref="ReuseMargin"/>; otherwise
    /// control is proved anew (the DP sends a code, <paramref name="readCode"/> returns it) and the
    /// issued credential is stored.
    /// </summary>
    /// <exception cref="DiscoveryException">The DP refused (rate limit, wrong or expired code, unsupported channel…).</exception>
    /// <exception cref="ArgumentException"><paramref name="readCode"/> returned no code.</exception>
    public async Task<RecipientCredential> EnsureCredentialAsync(Csi csi, ProofCodeReader readCode, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(csi);
        ArgumentNullException.ThrowIfNull(readCode);
        var metadata = await client.GetMetadataAsync(cancellationToken).ConfigureAwait(false);
        if (store.LoadCredential(csi) is { } stored && IsReusable(stored, metadata.CredentialCas))
        {
            return new RecipientCredential(stored, Issued: false);
        }

        return await ProveAsync(csi, readCode, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Renews <paramref name="csi"/> (docs/protocol.md §15): proves control anew for a fresh credential
    /// (even while the stored one is valid), then republishes each statement this key folder last
    /// published for it — the same entries, audience and sealed routes, version + 1, under the new
    /// credential and so with its later expiry.
    /// </summary>
    /// <returns>The new credential and one receipt per republished mapping (none when the key folder recorded no statement of <paramref name="csi"/>).</returns>
    /// <exception cref="DiscoveryException">The DP refused the proof or a publish (e.g. <c>credential-revoked</c>); receipts before it are recorded.</exception>
    /// <exception cref="ArgumentException"><paramref name="readCode"/> returned no code.</exception>
    public async Task<Renewal> RenewAsync(Csi csi, ProofCodeReader readCode, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(csi);
        ArgumentNullException.ThrowIfNull(readCode);
        var credential = await ProveAsync(csi, readCode, cancellationToken).ConfigureAwait(false);
        var receipts = new List<PublishReceipt>();
        var thumbprint = JwkThumbprint.Compute(key);
        foreach (var (mappingId, statement) in store.LoadStatements(csi).OrderBy(s => s.Key, StringComparer.Ordinal))
        {
            if (!MappingId.TryParse(mappingId, out var id) || !string.Equals(id.KeyThumbprint, thumbprint, StringComparison.Ordinal)
                || PayloadCodec.TryReadOwnMapping(statement) is not { } last || last.Csi != csi)
            {
                continue;
            }

            var draft = new MappingDraft(csi, NextVersion(csi, last.Audience), last.Entries) { Audience = last.Audience, SealedBoxes = last.SealedBoxes };
            receipts.Add(await PublishAsync(draft, credential.Certificate, cancellationToken).ConfigureAwait(false));
        }

        return new Renewal(credential, receipts);
    }

    private async Task<RecipientCredential> ProveAsync(Csi csi, ProofCodeReader readCode, CancellationToken cancellationToken)
    {
        var proof = await client.StartProofAsync(csi, key, cancellationToken).ConfigureAwait(false);
        var code = (await readCode(proof, csi, cancellationToken).ConfigureAwait(false))?.Trim();
        if (string.IsNullOrEmpty(code))
        {
            throw new ArgumentException($"No code was given for the proof sent by {proof.Channel} to {csi}.", nameof(readCode));
        }

        var issued = await client.AnswerProofAsync(proof.ProofId, code, cancellationToken).ConfigureAwait(false);
        store.SaveCredential(csi, issued.Credential, issued.CaCertificate);
        return new RecipientCredential(X509Certificate2.CreateFromPem(issued.Credential), Issued: true);
    }

    /// <summary>
    /// The version the next statement of this key's mapping of <paramref name="csi"/> for
    /// <paramref name="audience"/> takes: one more than the last this key folder published (1 at first).
    /// </summary>
    public long NextVersion(Csi csi, Audience audience)
    {
        ArgumentNullException.ThrowIfNull(csi);
        ArgumentNullException.ThrowIfNull(audience);
        var mappingId = new MappingId(JwkThumbprint.Compute(key), audience.Token).ToString();
        return store.LoadVersions(csi).GetValueOrDefault(mappingId) + 1;
    }

    /// <summary>
    /// Signs <paramref name="draft"/> under <paramref name="credential"/>, publishes it, and records
    /// its version and the DP's acknowledgement in the key folder.
    /// </summary>
    /// <returns>The DP's receipt: mapping id, version, the epoch it is due in.</returns>
    /// <exception cref="ArgumentException">The draft does not fit the credential (see <see cref="StatementSigner.SignMapping"/>).</exception>
    /// <exception cref="DiscoveryException">The DP refused it (e.g. <c>version-not-newer</c>); nothing is recorded then.</exception>
    public async Task<PublishReceipt> PublishAsync(MappingDraft draft, X509Certificate2 credential, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(draft);
        var signer = new StatementSigner(key, credential, time: _time);
        var statement = signer.SignMapping(draft);
        var receipt = await client.PublishAsync(statement, cancellationToken).ConfigureAwait(false);
        store.SaveVersion(draft.Csi, receipt.MappingId, receipt.Version);
        store.SaveStatement(draft.Csi, receipt.MappingId, statement);
        if (AcknowledgedChange.Of(draft, receipt) is { } acknowledged)
        {
            store.SaveAcknowledged(draft.Csi, acknowledged);
        }

        return receipt;
    }

    /// <summary>
    /// Removes every mapping of <paramref name="csi"/> this key folder published: signed under the
    /// stored credential while it is valid, with the bare key after it expired (an owner removal).
    /// </summary>
    /// <returns>The DP's receipt, or <see langword="null"/> when the key folder records no mapping of
    /// <paramref name="csi"/> (nothing was sent).</returns>
    /// <exception cref="DiscoveryException">The DP refused the removal.</exception>
    public async Task<RemovalReceipt?> RemoveAsync(Csi csi, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(csi);
        var versions = store.LoadVersions(csi);
        if (versions.Count == 0)
        {
            return null;
        }

        var draft = new RemovalDraft(csi) { Version = versions.Values.Max() };
        var credential = store.LoadCredential(csi);
        var statement = credential is not null && Credential.TryParse(credential, out var parsed, out _) && parsed.NotAfter > _time.GetUtcNow()
            ? new StatementSigner(key, credential, time: _time).SignRemoval(draft)
            : StatementSigner.SignOwnerRemoval(key, draft, _time);
        var receipt = await client.RemoveAsync(statement, cancellationToken).ConfigureAwait(false);
        store.ForgetStatements(csi);
        foreach (var acknowledged in store.LoadAcknowledged(csi).Values.Select(a => a.RemovedBy(receipt)).OfType<AcknowledgedChange>())
        {
            store.SaveAcknowledged(csi, acknowledged);
        }

        return receipt;
    }

    private bool IsReusable(X509Certificate2 stored, IEnumerable<string> caPems)
    {
        if (!Credential.TryParse(stored, out var parsed, out _)
            || parsed.NotAfter <= _time.GetUtcNow() + ReuseMargin
            || !string.Equals(parsed.KeyThumbprint, JwkThumbprint.Compute(key), StringComparison.Ordinal))
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        chain.ChainPolicy.VerificationTime = _time.GetUtcNow().UtcDateTime;
        foreach (var pem in caPems)
        {
            chain.ChainPolicy.CustomTrustStore.Add(X509Certificate2.CreateFromPem(pem));
        }

        return chain.Build(stored);
    }
}

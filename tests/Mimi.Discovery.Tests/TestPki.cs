using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Time.Testing;
using Mimi.Discovery.Credentials;
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Statements;
using Mimi.Discovery.Verification;

namespace Mimi.Discovery.Tests;

/// <summary>A credential CA, a clock and helpers to make recipients, shared by the statement tests.</summary>
internal sealed class TestPki : IDisposable
{
    public static readonly DateTimeOffset Start = new(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);

    public TestPki(string name = "Test DP credential CA")
    {
        Time = new FakeTimeProvider(Start);
        Authority = CredentialAuthority.Create(name, TimeSpan.FromDays(3650), Time);
        Anchors = new TrustAnchors([Authority.Certificate]);
    }

    public FakeTimeProvider Time { get; }

    public CredentialAuthority Authority { get; }

    public TrustAnchors Anchors { get; }

    public StatementVerifier Verifier() => new(Anchors, Time);

    public Recipient NewRecipient(string csi) => NewRecipient(CsiParser.ParseOrThrow(csi));

    public Recipient NewRecipient(Csi csi)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var credential = Authority.IssueCredential(csi, key);
        return new Recipient(csi, key, credential, new StatementSigner(key, credential, time: Time));
    }

    public void Dispose() => Authority.Dispose();

    internal sealed record Recipient(Csi Csi, ECDsa Key, X509Certificate2 Credential, StatementSigner Signer)
    {
        public static readonly IReadOnlyList<MspEntry> TwoServices =
        [
            new MspEntry("wire") { Account = "@bob", Priority = 10, Tags = ["default"] },
            new MspEntry("matrix.org") { Endpoint = new Uri("https://matrix.example/"), Account = "@bob:matrix.example", Priority = 20, Tags = ["work"], ProtocolVersion = "1.0" },
        ];

        public string Publish(long version = 1, IReadOnlyList<MspEntry>? entries = null, Audience? audience = null) =>
            Signer.SignMapping(new MappingDraft(Csi, version, entries ?? TwoServices) { Audience = audience ?? Audience.Any });
    }
}

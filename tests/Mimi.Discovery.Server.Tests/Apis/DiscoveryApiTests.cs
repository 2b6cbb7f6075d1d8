using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Mimi.Discovery.Client;
using Mimi.Discovery.Server.Hosting;

namespace Mimi.Discovery.Server.Tests.Apis;

public sealed class DiscoveryApiTests : IAsyncLifetime
{
    private DpHost _dp = null!;

    public async ValueTask InitializeAsync() => _dp = await DpHost.StartAsync();

    public ValueTask DisposeAsync() => _dp.DisposeAsync();

    [Fact]
    public async Task Metadata_DescribesApiCaAndLimits()
    {
        var metadata = await _dp.Client.GetMetadataAsync();

        Assert.Equal(new Uri(_dp.BaseAddress, "v1").ToString(), metadata.Api);
        Assert.Equal(["tel", "mailto"], metadata.CsiKinds);
        Assert.Equal(await File.ReadAllTextAsync(Path.Combine(_dp.DataDirectory, "ca.crt")), Assert.Single(metadata.CredentialCas));
        Assert.Equal("outbox", metadata.Channels["tel"]);
        Assert.Equal(1000, metadata.Limits.MaxLookupBatch);
        Assert.Equal(5, metadata.Limits.MaxCodeAttempts);
    }

    [Fact]
    public async Task Health_WithDatabase_IsOk()
    {
        Assert.Equal("""{"status":"ok"}""", await _dp.Http.GetStringAsync("health"));
    }

    [Fact]
    public async Task OpenApi_ListsEveryEndpoint()
    {
        var document = JsonDocument.Parse(await _dp.Http.GetStringAsync("openapi/v1.json")).RootElement;
        var paths = document.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();

        Assert.Contains("/v1/proofs", paths);
        Assert.Contains("/v1/proofs/{id}/answer", paths);
        Assert.Contains("/v1/mappings", paths);
        Assert.Contains("/v1/removals", paths);
        Assert.Contains("/v1/reassignments", paths);
        Assert.Contains("/v1/lookup", paths);
        Assert.Contains("/.well-known/mimi-discovery", paths);
    }

    [Fact]
    public async Task UnknownPath_IsNotFoundProblem()
    {
        await ProblemAssert.IsProblemAsync(await _dp.Http.GetAsync("v2/whatever"), 404, "not-found");
    }

    [Fact]
    public void DataFolder_SecretsAreOwnerOnly()
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Skip("Unix file modes only");
            return;
        }

        foreach (var file in new[] { "ca.key", "tls.key", "code.secret" })
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_dp.DataDirectory, file)));
        }
    }

    [Fact]
    public async Task PlainHttp_IsNotServed()
    {
        using var plain = new HttpClient { BaseAddress = new Uri("http://" + _dp.BaseAddress.Authority + "/") };
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => plain.GetAsync("health"));
        await Assert.ThrowsAsync<InvalidOperationException>(() => DiscoveryServer.BuildAsync(["--urls", "http://127.0.0.1:0"], o => o.DataDirectory = _dp.DataDirectory));
    }

    [Fact]
    public async Task ConfiguredCertificate_IsServedInsteadOfTheGeneratedOne()
    {
        // A stand-in for a real certificate: a leaf for 127.0.0.1 under a CA only this client trusts.
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=Test Web CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        using var leafKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var leafRequest = new CertificateRequest("CN=dp.example", leafKey, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(System.Net.IPAddress.Loopback);
        leafRequest.CertificateExtensions.Add(san.Build());
        using var leaf = leafRequest.Create(ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(29), [1, 2, 3]);
        var directory = Directory.CreateTempSubdirectory("mimi-tls-").FullName;
        var certificatePath = Path.Combine(directory, "fullchain.pem");
        var keyPath = Path.Combine(directory, "privkey.pem");
        await File.WriteAllTextAsync(certificatePath, leaf.ExportCertificatePem());
        await File.WriteAllTextAsync(keyPath, leafKey.ExportPkcs8PrivateKeyPem());
        await File.WriteAllTextAsync(Path.Combine(directory, "ca.pem"), ca.ExportCertificatePem());

        await using var dp = await DpHost.StartAsync(o =>
        {
            o.TlsCertificate = certificatePath;
            o.TlsKey = keyPath;
        });
        using var client = new HttpClient(TlsTrust.CreateHandler(TlsTrust.LoadRoots(Path.Combine(directory, "ca.pem")))) { BaseAddress = dp.BaseAddress };

        Assert.Equal("""{"status":"ok"}""", await client.GetStringAsync("health"));
        // The generated localhost certificate is no longer what the DP presents.
        await Assert.ThrowsAsync<HttpRequestException>(() => dp.Http.GetAsync("health"));
    }

    [Fact]
    public async Task Restart_KeepsCaAndData()
    {
        var bob = await _dp.RegisterAsync("+33612345678");
        await _dp.Client.PublishAsync(bob.Sign(1));
        var caBefore = await File.ReadAllTextAsync(Path.Combine(_dp.DataDirectory, "ca.crt"));

        await using var again = await DpHost.StartAsync(o => o.DataDirectory = _dp.DataDirectory);

        Assert.Equal(caBefore, Assert.Single((await again.Client.GetMetadataAsync()).CredentialCas));
        Assert.Single((await again.Client.LookupRawAsync(["+33612345678"])).Results[0].Statements);
    }
}

using System.Security.Cryptography;
using Mimi.Discovery.Credentials;
using Mimi.Discovery.Server.Mappings;
using Mimi.Discovery.Server.Storage;
using Mimi.Discovery.Statements;

namespace Mimi.Discovery.Server.Tests.Mappings;

/// <summary>Onboards CSIPs on a test DP the way <c>mimi-discovery csip add</c> does.</summary>
internal static class CsipKit
{
    /// <summary>Issues a CSIP credential with the DP's CA; stores it unless <paramref name="onboard"/> is false.</summary>
    public static async Task<StatementSigner> OnboardAsync(DpHost dp, string name, string[] scope, bool onboard = true)
    {
        using var authority = dp.LoadAuthority();
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        Assert.True(CsipScope.TryParse(scope, out var parsed, out var reason), reason);
        var (credential, row) = CsipOnboarding.Issue(authority, name, parsed!, key, TimeSpan.FromDays(30), dp.Clock);
        if (onboard)
        {
            Assert.True(await dp.Service<ICsipStore>().AddCsipAsync(row, default));
        }

        return new StatementSigner(key, credential, time: dp.Clock);
    }
}

namespace Mimi.Discovery.Credentials;

/// <summary>
/// Object identifiers for MIMI discovery credentials. They sit under the UUID arc 2.25
/// (ITU-T X.667), which needs no registration, and are used as extended key usages.
/// </summary>
internal static class MimiOids
{
    /// <summary>EKU of a credential binding one recipient key to exactly one CSI.</summary>
    public const string CsiCredential = "2.25.288259080736706205115595071695057371266";

    /// <summary>EKU of a CSIP credential, whose scope covers many CSIs (number prefixes, email domains).</summary>
    public const string CsipCredential = "2.25.169024210089192987321583928763885778184";
}

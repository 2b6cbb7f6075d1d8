using Mimi.Discovery.Credentials;
using Mimi.Discovery.Identifiers;

namespace Mimi.Discovery.Statements;

/// <summary>
/// A verified caller assertion: the sender proves, with the key her credential certifies, that she
/// is the originator <see cref="Originator"/> of a communication to <see cref="Destinations"/> — a
/// PASSporT (RFC 8225) signed with ES256 that carries its credential chain in <c>x5c</c> instead of
/// pointing to it with <c>x5u</c> (docs/protocol.md, "Caller assertions").
/// </summary>
/// <param name="Jws">The compact JWS as received.</param>
/// <param name="Originator">The sender's CSI (the <c>orig</c> claim), the one her credential binds.</param>
/// <param name="Destinations">The recipients (the <c>dest</c> claim), one or more.</param>
/// <param name="IssuedAt">The <c>iat</c> claim.</param>
/// <param name="Credential">The sender's credential.</param>
public sealed record CallerAssertion(string Jws, Csi Originator, IReadOnlyList<Csi> Destinations, DateTimeOffset IssuedAt, Credential Credential)
{
    /// <summary>The JWS <c>typ</c> of a PASSporT (RFC 8225 §4.1).</summary>
    public const string MediaType = "passport";

    /// <summary>Most destinations one assertion may name.</summary>
    public const int MaxDestinations = 16;

    /// <summary>
    /// How long after its <c>iat</c> an assertion is accepted, by default: RFC 8224 §6.2.1 gives
    /// 60 seconds for a call's Identity header; an app passing one along a message path may allow more.
    /// </summary>
    public static TimeSpan DefaultFreshness { get; } = TimeSpan.FromSeconds(60);

    // RFC 8224 §8.3: a telephone number as the digits of its E.164 form, without the '+'.
    internal static string TelephoneNumber(Csi csi) => csi.Value[1..];
}

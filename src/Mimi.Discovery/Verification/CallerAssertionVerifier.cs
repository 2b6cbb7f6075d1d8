using System.Security.Cryptography;
using System.Text;
using Mimi.Discovery.Identifiers;
using Mimi.Discovery.Statements;

namespace Mimi.Discovery.Verification;

/// <summary>
/// The recipient's check of a caller assertion (RFC 8225 PASSporT, docs/protocol.md "Caller
/// assertions"): everything <see cref="StatementVerifier.VerifyCallerAssertion"/> checks, then that
/// it names this recipient, that it is fresh (issued at most <c>freshness</c> ago, RFC 8224 §6.2.1),
/// and that it was not accepted before — each assertion is accepted once within its window.
/// Thread-safe. Never throws for bad input.
/// </summary>
/// <remarks>
/// Replays are recognised by the assertion's header and claims, not its signature bytes, so a
/// re-encoded signature (the other ECDSA <c>s</c>) is the same assertion. Memory holds one entry per
/// accepted assertion until its window closes.
/// </remarks>
public sealed class CallerAssertionVerifier
{
    private readonly StatementVerifier _verifier;
    private readonly TimeProvider _time;
    private readonly TimeSpan _freshness;
    private readonly TimeSpan _skew;
    private readonly Dictionary<string, DateTimeOffset> _accepted = new(StringComparer.Ordinal);

    /// <summary>Checks assertions with <paramref name="verifier"/>'s trust anchors.</summary>
    /// <param name="verifier">Trust anchors and limits (its clock skew bounds <c>iat</c> in the future).</param>
    /// <param name="time">Clock; the system clock when omitted.</param>
    /// <param name="freshness">How old an assertion may be; <see cref="CallerAssertion.DefaultFreshness"/> when omitted.</param>
    /// <param name="clockSkew">How far <c>iat</c> may lie in the future (default 5 minutes, as statements).</param>
    public CallerAssertionVerifier(StatementVerifier verifier, TimeProvider? time = null, TimeSpan? freshness = null, TimeSpan? clockSkew = null)
    {
        ArgumentNullException.ThrowIfNull(verifier);
        _verifier = verifier;
        _time = time ?? TimeProvider.System;
        _freshness = freshness ?? CallerAssertion.DefaultFreshness;
        _skew = clockSkew ?? new VerificationOptions().ClockSkew;
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(_freshness, TimeSpan.Zero, nameof(freshness));
    }

    /// <summary>Verifies <paramref name="jws"/> as received by <paramref name="recipient"/> now, and remembers it when valid.</summary>
    public VerificationResult<CallerAssertion> Verify(string? jws, Csi recipient)
    {
        ArgumentNullException.ThrowIfNull(recipient);
        var now = _time.GetUtcNow();
        var result = _verifier.VerifyCallerAssertion(jws, now);
        if (!result.IsValid)
        {
            return result;
        }

        var assertion = result.Statement;
        if (!assertion.Destinations.Contains(recipient))
        {
            return VerificationResult<CallerAssertion>.Fail(VerificationStatus.NotForRecipient,
                $"the assertion is for {string.Join(", ", assertion.Destinations)}, not {recipient}");
        }

        if (assertion.IssuedAt + _freshness < now)
        {
            return VerificationResult<CallerAssertion>.Fail(VerificationStatus.Expired,
                $"the assertion was issued at {assertion.IssuedAt:u}, more than {_freshness.TotalSeconds:0} seconds ago; ask the caller for a fresh one");
        }

        var key = Convert.ToHexString(SHA256.HashData(Encoding.ASCII.GetBytes(assertion.Jws[..assertion.Jws.LastIndexOf('.')])));
        lock (_accepted)
        {
            foreach (var closed in _accepted.Where(e => e.Value < now).Select(e => e.Key).ToList())
            {
                _accepted.Remove(closed);
            }

            if (!_accepted.TryAdd(key, assertion.IssuedAt + _freshness + _skew))
            {
                return VerificationResult<CallerAssertion>.Fail(VerificationStatus.Replayed, "this assertion was already accepted once; a caller signs a new one per communication");
            }
        }

        return result;
    }
}

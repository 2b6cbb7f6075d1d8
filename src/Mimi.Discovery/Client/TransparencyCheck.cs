using Mimi.Discovery.Transparency;

namespace Mimi.Discovery.Client;

/// <summary>What a sender needs to check a DP's transparency proofs.</summary>
/// <param name="Keys">The DP's VRF and log keys (from its metadata, or pinned).</param>
/// <param name="Memory">The last tree head accepted from each DP.</param>
/// <param name="MaxAge">How old a tree head may be; older means the DP may be hiding newer epochs.</param>
/// <param name="Time">The clock.</param>
public sealed record TransparencyCheck(TransparencyKeyset Keys, TreeHeadMemory Memory, TimeSpan MaxAge, TimeProvider Time)
{
    /// <summary>How far ahead of <see cref="Time"/> a tree head's time may be (clocks differ a little); default five minutes.</summary>
    public TimeSpan MaxClockSkew { get; init; } = ProofVerifier.DefaultMaxClockSkew;

    /// <summary>Checks with the system clock and a one-day limit on tree-head age.</summary>
    public TransparencyCheck(TransparencyKeyset keys, TreeHeadMemory memory)
        : this(keys, memory, TimeSpan.FromDays(1), TimeProvider.System)
    {
    }
}

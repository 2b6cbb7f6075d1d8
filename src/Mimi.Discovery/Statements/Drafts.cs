using Mimi.Discovery.Identifiers;

namespace Mimi.Discovery.Statements;

/// <summary>What a recipient wants to publish; <see cref="StatementSigner.SignMapping"/> turns it into a statement.</summary>
/// <param name="Csi">The CSI, which must be the one the signer's credential binds.</param>
/// <param name="Version">Must exceed every earlier version of the same mapping; starts at 1.</param>
/// <param name="Entries">The MSP entries; empty to opt out ("reachable nowhere").</param>
public sealed record MappingDraft(Csi Csi, long Version, IReadOnlyList<MspEntry> Entries)
{
    /// <summary>Most entries a statement may carry.</summary>
    public const int MaxEntries = 32;

    /// <summary>Who may see the statement; <see cref="Audience.Any"/> by default.</summary>
    public Audience Audience { get; init; } = Audience.Any;

    /// <summary>Set when the signer took the CSI over: every other mapping of it is superseded.</summary>
    public bool Supersede { get; init; }

    /// <summary>When the statement expires; the credential's end of validity when omitted.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>Entries only holders of a route key can read, one group per key (docs/protocol.md §2, "Sealed routes"); none by default.</summary>
    public IReadOnlyList<SealedRouteDraft> SealedRoutes { get; init; } = [];

    /// <summary>Boxes sealed before, carried over unchanged instead of <see cref="SealedRoutes"/> (a renewal republishes them: they are bound to the CSI, not to a credential).</summary>
    internal IReadOnlyList<string>? SealedBoxes { get; init; }
}

/// <summary>A removal a recipient or CSIP wants to sign.</summary>
/// <param name="Csi">The CSI whose mappings are removed.</param>
public sealed record RemovalDraft(Csi Csi)
{
    /// <summary>The one mapping to remove, or <see langword="null"/> for all the signer may remove.</summary>
    public MappingId? Target { get; init; }

    /// <summary>For an owner removal, the highest version removed (required then).</summary>
    public long? Version { get; init; }

    /// <summary>Claim the CSI as its new owner: removes mappings under older credentials.</summary>
    public bool Supersede { get; init; }
}

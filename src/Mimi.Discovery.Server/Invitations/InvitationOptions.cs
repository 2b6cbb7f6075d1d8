namespace Mimi.Discovery.Server.Invitations;

/// <summary>The <c>Discovery:Invitations</c> settings (docs/operations.md, "Invitations").</summary>
public sealed class InvitationOptions
{
    /// <summary>At most one invitation is delivered to an identifier per period, whoever asks; a sender's count also runs per period.</summary>
    public TimeSpan Period { get; set; } = TimeSpan.FromDays(1);

    /// <summary>Invitations one sender (one CSI, whichever key signs) may ask for per period, delivered or not.</summary>
    public int MaxPerSender { get; set; } = 10;

    /// <summary>The longest lifetime (<c>exp</c> − <c>iat</c>) of an invitation this DP delivers.</summary>
    public TimeSpan MaxLifetime { get; set; } = TimeSpan.FromDays(7);
}

using System.Diagnostics.CodeAnalysis;

namespace Mimi.Discovery.Verification;

/// <summary>The result of verifying a statement: the statement when valid, else the failed check and why.</summary>
/// <typeparam name="T">The statement type.</typeparam>
public sealed record VerificationResult<T>
    where T : class
{
    private VerificationResult(VerificationStatus status, string reason, T? statement)
    {
        Status = status;
        Reason = reason;
        Statement = statement;
    }

    /// <summary><see cref="VerificationStatus.Valid"/> or the first failed check.</summary>
    public VerificationStatus Status { get; }

    /// <summary>A sentence explaining the failure; empty when valid.</summary>
    public string Reason { get; }

    /// <summary>The verified statement, when <see cref="IsValid"/>.</summary>
    public T? Statement { get; }

    /// <summary>Whether every check passed.</summary>
    [MemberNotNullWhen(true, nameof(Statement))]
    public bool IsValid => Status == VerificationStatus.Valid;

    internal static VerificationResult<T> Valid(T statement) => new(VerificationStatus.Valid, string.Empty, statement);

    internal static VerificationResult<T> Fail(VerificationStatus status, string reason) => new(status, reason, null);

    /// <summary>The status and reason, for logs and CLI output.</summary>
    public override string ToString() => IsValid ? "valid" : $"{Status}: {Reason}";
}

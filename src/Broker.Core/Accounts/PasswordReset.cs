namespace Broker.Core.Accounts;

/// <summary>A password-reset link sent by e-mail: one use, a short life, stored only as the hash of its token.</summary>
public sealed record PasswordReset
{
    /// <summary>SHA-256 of the token in the link.</summary>
    public required string TokenHash { get; init; }

    public required string UserId { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    public required DateTimeOffset ExpiresAt { get; init; }

    /// <summary>When the link was spent, or made void by another link of the same account being spent.</summary>
    public DateTimeOffset? UsedAt { get; init; }

    /// <summary>Whether the link may still change the password at <paramref name="now"/>.</summary>
    public bool IsUsableAt(DateTimeOffset now) => UsedAt is null && now < ExpiresAt;
}

namespace Broker.Core.Authorization;

/// <summary>An issued authorization code; only its hash is stored.</summary>
public sealed record AuthorizationCode
{
    public required string CodeHash { get; init; }
    public required string ClientId { get; init; }
    public required string UserId { get; init; }
    public required string RedirectUri { get; init; }
    public required string Scope { get; init; }
    public string? CodeChallenge { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public required DateTimeOffset ExpiresAt { get; init; }
    public DateTimeOffset? RedeemedAt { get; init; }
}

/// <summary>What an access token may be used for.</summary>
public enum TokenPurpose
{
    /// <summary>Issued to a parent: one-time, spent by <c>POST /clients</c>, good for nothing else.</summary>
    Installation,

    /// <summary>Issued to any other client: an ordinary bearer token.</summary>
    Access,
}

/// <summary>An issued access token; only its hash is stored.</summary>
public sealed record AccessToken
{
    public required string TokenHash { get; init; }
    public required string ClientId { get; init; }
    public string? UserId { get; init; }
    public required string Scope { get; init; }
    public required TokenPurpose Purpose { get; init; }

    /// <summary>Hash of the code it was issued for, so that a replayed code can revoke it.</summary>
    public string? CodeHash { get; init; }

    /// <summary>Installation tokens: the origin of the installation that asked for it.</summary>
    public string? Origin { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? ExpiresAt { get; init; }
    public DateTimeOffset? RevokedAt { get; init; }
    public DateTimeOffset? SpentAt { get; init; }

    /// <summary>Installation tokens: the Idempotency-Key of the call that spent it.</summary>
    public string? IdempotencyKey { get; init; }

    /// <summary>Installation tokens: a hash of the body of the call that spent it.</summary>
    public string? RequestFingerprint { get; init; }

    /// <summary>Installation tokens: the child minted when it was spent.</summary>
    public string? ChildClientId { get; init; }

    public bool IsUsableAt(DateTimeOffset now) =>
        RevokedAt is null && SpentAt is null && (ExpiresAt is null || ExpiresAt > now);
}

/// <summary>How the spending of an installation token went.</summary>
public enum SpendOutcome
{
    /// <summary>The token was spent and the child created, in one transaction.</summary>
    Created,

    /// <summary>The token was not usable (spent, revoked, expired or unknown); nothing written.</summary>
    TokenNotUsable,
}

namespace Broker.Core.Stores;

/// <summary>What the retention job removes, each kind after its own retention (<c>Retention:*</c>).</summary>
public enum RetentionKind
{
    /// <summary>Installation tokens spent, revoked or expired: kept a while for idempotent retries of <c>POST /clients</c>.</summary>
    InstallationTokens,

    /// <summary>Authorization codes past their expiry (a code is redeemed, if ever, before it expires).</summary>
    AuthorizationCodes,

    /// <summary>Access tokens of registered clients, expired or revoked.</summary>
    AccessTokens,

    /// <summary>Admin API tokens revoked.</summary>
    AdminTokens,

    /// <summary>Audit entries, by when they were written.</summary>
    AuditEntries,

    /// <summary>Hourly usage counts of installations (the console's charts), by the hour they count.</summary>
    UsageHours,
}

/// <summary>Removes what has ended, a bounded batch at a time.</summary>
public interface IRetentionStore
{
    /// <summary>
    /// Deletes up to <paramref name="batchSize"/> rows of <paramref name="kind"/> that ended before
    /// <paramref name="before"/>, in one short transaction; how many. Idempotent: callers racing over the
    /// same rows delete each once between them.
    /// </summary>
    Task<int> RemoveAsync(RetentionKind kind, DateTimeOffset before, int batchSize, CancellationToken cancellationToken = default);
}

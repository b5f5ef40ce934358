using Broker.Core.Platform;

namespace Broker.Core.Webhooks;

/// <summary>
/// Subscriptions and their cursors over the audit log. Management writes carry their audit entry into
/// the same transaction; the dispatcher's writes are conditional on its lease and on the cursor it read,
/// so with N instances one delivers per subscription at a time and a replay in between wins.
/// </summary>
public interface IWebhookStore
{
    /// <summary>Stores a subscription whose cursor is the newest audit entry: it receives what happens from now on.</summary>
    Task<WebhookSubscription> CreateAsync(WebhookSubscription subscription, AuditEntry audit, CancellationToken cancellationToken = default);

    Task<WebhookSubscription?> FindAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Every subscription, oldest first.</summary>
    Task<IReadOnlyList<WebhookSubscription>> ListAsync(CancellationToken cancellationToken = default);

    /// <summary>False when there is no such subscription.</summary>
    Task<bool> DeleteAsync(string id, AuditEntry audit, CancellationToken cancellationToken = default);

    /// <summary>The current secret becomes the previous one until <paramref name="previousExpiresAt"/>. False when not found.</summary>
    Task<bool> RotateSecretAsync(string id, string newProtectedSecret, DateTimeOffset previousExpiresAt, AuditEntry audit, CancellationToken cancellationToken = default);

    /// <summary>
    /// Unparks the subscription and clears its failures; with <paramref name="fromEventId"/> the cursor
    /// moves to just before that entry, so it and what follows are delivered again. False when not found, or
    /// when <paramref name="fromEventId"/> is past the entry after the newest (the cursor would skip entries not yet written).
    /// </summary>
    Task<bool> ReplayAsync(string id, long? fromEventId, AuditEntry audit, CancellationToken cancellationToken = default);

    /// <summary>
    /// Takes the lease of an unparked subscription for <paramref name="owner"/> until <paramref name="until"/>
    /// when it is free, expired or already the owner's; the subscription as leased, or null.
    /// </summary>
    Task<WebhookSubscription?> TryLeaseAsync(string id, string owner, DateTimeOffset now, DateTimeOffset until, CancellationToken cancellationToken = default);

    /// <summary>Extends a lease the owner still holds; false when it was lost.</summary>
    Task<bool> RenewLeaseAsync(string id, string owner, DateTimeOffset until, CancellationToken cancellationToken = default);

    Task ReleaseLeaseAsync(string id, string owner, CancellationToken cancellationToken = default);

    /// <summary>Audit entries after <paramref name="cursor"/>, oldest first.</summary>
    Task<IReadOnlyList<AuditEntry>> EntriesAfterAsync(long cursor, int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// Moves the cursor from <paramref name="from"/> to <paramref name="to"/> and clears the failures, if the
    /// owner still holds the lease and nobody moved the cursor meanwhile (a replay); false otherwise.
    /// </summary>
    Task<bool> AdvanceAsync(string id, string owner, long from, long to, CancellationToken cancellationToken = default);

    /// <summary>Records a failed attempt at the entry after <paramref name="cursor"/>; parks when <paramref name="park"/>. False when the lease or cursor moved.</summary>
    Task<bool> RecordFailureAsync(string id, string owner, long cursor, int failures, string error, DateTimeOffset? park, CancellationToken cancellationToken = default);
}

using Broker.Core.Platform;
using Broker.Core.Webhooks;
using Dapper;

namespace Broker.Storage.Stores;

public sealed class WebhookStore(Database database) : IWebhookStore
{
    private const string Columns =
        "subscription_id, url, event_types, protected_secret, previous_protected_secret, previous_secret_expires_at, "
        + "created_at, delivered_through, failures, last_error, parked_at";

    // The cursor starts at the newest entry, read in the insert itself: no entry slips between a read and the write.
    public async Task<WebhookSubscription> CreateAsync(WebhookSubscription subscription, AuditEntry audit, CancellationToken cancellationToken = default)
    {
        var created = await database.WriteAsync(
            [
                new Statement(
                    $"""
                    INSERT INTO webhook_subscriptions ({Columns})
                    SELECT @Id, @Url, @EventTypes, @ProtectedSecret, NULL, NULL, @CreatedAt, COALESCE(MAX(id), 0), 0, NULL, NULL FROM audit_log
                    """)
                    .With("Id", subscription.Id)
                    .With("Url", subscription.Url)
                    .With("EventTypes", DbValues.List(subscription.EventTypes))
                    .With("ProtectedSecret", subscription.ProtectedSecret)
                    .With("CreatedAt", DbValues.Time(subscription.CreatedAt)),
                AuditStore.Insert(audit),
            ],
            cancellationToken);
        if (!created)
        {
            throw new InvalidOperationException("the subscription insert affected 0 rows");
        }
        return (await FindAsync(subscription.Id, cancellationToken))!;
    }

    public async Task<WebhookSubscription?> FindAsync(string id, CancellationToken cancellationToken = default) =>
        (await database.QuerySingleOrDefaultAsync<SubscriptionRow>(
            $"SELECT {Columns} FROM webhook_subscriptions WHERE subscription_id = @id", new { id }, cancellationToken))?.ToSubscription();

    public Task<IReadOnlyList<WebhookSubscription>> ListAsync(CancellationToken cancellationToken = default) =>
        database.ReadAsync<IReadOnlyList<WebhookSubscription>>(async (connection, token) =>
            (await connection.QueryAsync<SubscriptionRow>(new CommandDefinition(
                $"SELECT {Columns} FROM webhook_subscriptions ORDER BY created_at, subscription_id", cancellationToken: token)))
            .Select(row => row.ToSubscription()).ToList(), cancellationToken);

    public Task<bool> DeleteAsync(string id, AuditEntry audit, CancellationToken cancellationToken = default) =>
        database.WriteAsync(
            [
                new Statement("DELETE FROM webhook_subscriptions WHERE subscription_id = @Id").With("Id", id),
                AuditStore.Insert(audit),
            ],
            cancellationToken);

    public Task<bool> RotateSecretAsync(
        string id, string newProtectedSecret, DateTimeOffset previousExpiresAt, AuditEntry audit, CancellationToken cancellationToken = default) =>
        database.WriteAsync(
            [
                new Statement(
                    """
                    UPDATE webhook_subscriptions
                       SET previous_protected_secret = protected_secret, previous_secret_expires_at = @ExpiresAt, protected_secret = @Secret
                     WHERE subscription_id = @Id
                    """)
                    .With("Id", id).With("Secret", newProtectedSecret).With("ExpiresAt", DbValues.Time(previousExpiresAt)),
                AuditStore.Insert(audit),
            ],
            cancellationToken);

    public Task<bool> ReplayAsync(string id, long? fromEventId, AuditEntry audit, CancellationToken cancellationToken = default) =>
        database.WriteAsync(
            [
                // With a starting entry, the cursor never passes the log's end (it would skip entries written later).
                fromEventId is null
                    ? new Statement("UPDATE webhook_subscriptions SET parked_at = NULL, failures = 0, last_error = NULL WHERE subscription_id = @Id")
                        .With("Id", id)
                    : new Statement(
                        """
                        UPDATE webhook_subscriptions
                           SET parked_at = NULL, failures = 0, last_error = NULL, delivered_through = @Through
                         WHERE subscription_id = @Id AND @Through <= (SELECT COALESCE(MAX(id), 0) FROM audit_log)
                        """)
                        .With("Id", id).With("Through", fromEventId - 1),
                AuditStore.Insert(audit),
            ],
            cancellationToken);

    public async Task<WebhookSubscription?> TryLeaseAsync(
        string id, string owner, DateTimeOffset now, DateTimeOffset until, CancellationToken cancellationToken = default)
    {
        // Decided by the conditional write, never by an earlier read: of racing instances one changes the row.
        var leased = await database.WriteAsync(
            [
                new Statement(
                    """
                    UPDATE webhook_subscriptions SET lease_owner = @Owner, lease_expires_at = @Until
                     WHERE subscription_id = @Id AND parked_at IS NULL
                       AND (lease_owner IS NULL OR lease_owner = @Owner OR lease_expires_at <= @Now)
                    """)
                    .With("Id", id).With("Owner", owner).With("Now", DbValues.Time(now)).With("Until", DbValues.Time(until)),
            ],
            cancellationToken);
        return leased ? await FindAsync(id, cancellationToken) : null;
    }

    public Task<bool> RenewLeaseAsync(string id, string owner, DateTimeOffset until, CancellationToken cancellationToken = default) =>
        database.WriteAsync(
            [
                new Statement("UPDATE webhook_subscriptions SET lease_expires_at = @Until WHERE subscription_id = @Id AND lease_owner = @Owner")
                    .With("Id", id).With("Owner", owner).With("Until", DbValues.Time(until)),
            ],
            cancellationToken);

    public Task ReleaseLeaseAsync(string id, string owner, CancellationToken cancellationToken = default) =>
        database.WriteAsync(
            [
                new Statement("UPDATE webhook_subscriptions SET lease_owner = NULL, lease_expires_at = NULL WHERE subscription_id = @Id AND lease_owner = @Owner")
                    .With("Id", id).With("Owner", owner),
            ],
            cancellationToken);

    public Task<IReadOnlyList<AuditEntry>> EntriesAfterAsync(long cursor, int limit, CancellationToken cancellationToken = default) =>
        database.ReadAsync<IReadOnlyList<AuditEntry>>(async (connection, token) =>
            (await connection.QueryAsync<AuditStore.AuditRow>(new CommandDefinition(
                $"SELECT {AuditStore.Columns} FROM audit_log WHERE id > @cursor ORDER BY id {database.Dialect.LimitClause("@limit")}",
                new { cursor, limit }, cancellationToken: token)))
            .Select(row => row.ToEntry()).ToList(), cancellationToken);

    public Task<bool> AdvanceAsync(string id, string owner, long from, long to, CancellationToken cancellationToken = default) =>
        database.WriteAsync(
            [
                new Statement(
                    """
                    UPDATE webhook_subscriptions SET delivered_through = @To, failures = 0, last_error = NULL
                     WHERE subscription_id = @Id AND lease_owner = @Owner AND delivered_through = @From
                    """)
                    .With("Id", id).With("Owner", owner).With("From", from).With("To", to),
            ],
            cancellationToken);

    public Task<bool> RecordFailureAsync(
        string id, string owner, long cursor, int failures, string error, DateTimeOffset? park, CancellationToken cancellationToken = default) =>
        database.WriteAsync(
            [
                new Statement(
                    """
                    UPDATE webhook_subscriptions SET failures = @Failures, last_error = @Error, parked_at = @Park
                     WHERE subscription_id = @Id AND lease_owner = @Owner AND delivered_through = @Cursor
                    """)
                    .With("Id", id).With("Owner", owner).With("Cursor", cursor).With("Failures", failures)
                    .With("Error", error).With("Park", DbValues.Time(park)),
            ],
            cancellationToken);

    private sealed class SubscriptionRow
    {
        public string SubscriptionId { get; set; } = "";
        public string Url { get; set; } = "";
        public string EventTypes { get; set; } = "[]";
        public string ProtectedSecret { get; set; } = "";
        public string? PreviousProtectedSecret { get; set; }
        public long? PreviousSecretExpiresAt { get; set; }
        public long CreatedAt { get; set; }
        public long DeliveredThrough { get; set; }
        public long Failures { get; set; }
        public string? LastError { get; set; }
        public long? ParkedAt { get; set; }

        public WebhookSubscription ToSubscription() => new()
        {
            Id = SubscriptionId,
            Url = Url,
            EventTypes = DbValues.List(EventTypes),
            ProtectedSecret = ProtectedSecret,
            PreviousProtectedSecret = PreviousProtectedSecret,
            PreviousSecretExpiresAt = DbValues.Time(PreviousSecretExpiresAt),
            CreatedAt = DbValues.Time(CreatedAt),
            Cursor = DeliveredThrough,
            Failures = (int)Failures,
            LastError = LastError,
            ParkedAt = DbValues.Time(ParkedAt),
        };
    }
}

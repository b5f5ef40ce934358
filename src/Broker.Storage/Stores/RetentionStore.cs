using Broker.Core.Stores;
using Dapper;

namespace Broker.Storage.Stores;

public sealed class RetentionStore(Database database) : IRetentionStore
{
    // Per kind: the table, its key and what "ended before @Before" means. Each condition's columns are
    // indexed (V008), so that a batch reads what it deletes rather than the table.
    private static readonly Dictionary<RetentionKind, (string Table, string Key, string Ended)> Kinds = new()
    {
        [RetentionKind.InstallationTokens] = ("access_tokens", "token_hash",
            "purpose = 'installation' AND (spent_at < @Before OR revoked_at < @Before OR expires_at < @Before)"),
        [RetentionKind.AuthorizationCodes] = ("authorization_codes", "code_hash", "expires_at < @Before"),
        [RetentionKind.AccessTokens] = ("access_tokens", "token_hash",
            "purpose = 'access' AND (expires_at < @Before OR revoked_at < @Before)"),
        [RetentionKind.AdminTokens] = ("admin_tokens", "token_id", "revoked_at < @Before"),
        // The audit log is the webhooks' outbox: an entry a subscription has not delivered yet is kept.
        [RetentionKind.AuditEntries] = ("audit_log", "id",
            "at < @Before AND id <= COALESCE((SELECT MIN(delivered_through) FROM webhook_subscriptions), id)"),
    };

    // A DELETE of a bounded, ordered selection is one SQL text on all three providers (a LIMIT, or
    // OFFSET/FETCH, inside IN); a row another instance deleted first is simply not there. Re-running a
    // batch after a transient fault deletes what is still there: safe to retry.
    public Task<int> RemoveAsync(RetentionKind kind, DateTimeOffset before, int batchSize, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var sql = kind == RetentionKind.UsageHours ? OldestUsageHourSql() : KeyedSql(kind);
        return database.InTransactionAsync(async (connection, transaction, token) =>
        {
            var removed = await connection.ExecuteAsync(new CommandDefinition(
                sql, new { Before = DbValues.Time(before), Batch = batchSize }, transaction, cancellationToken: token));
            return (removed, true);
        }, cancellationToken);
    }

    private string KeyedSql(RetentionKind kind)
    {
        var (table, key, ended) = Kinds[kind];
        return $"DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM {table} WHERE {ended} ORDER BY {key} {database.Dialect.LimitClause("@Batch")})";
    }

    // Usage rows have a two-column key (installation, hour), which IN cannot name on SQL Server: a batch is
    // up to @Batch installations' rows of the oldest hour, when that hour is before the cutoff. The index
    // (hour_start, client_id) of V013 finds the oldest hour and its rows.
    private string OldestUsageHourSql() =>
        $"""
        DELETE FROM usage_hours
         WHERE hour_start = (SELECT MIN(hour_start) FROM usage_hours) AND hour_start < @Before
           AND client_id IN (SELECT client_id FROM usage_hours WHERE hour_start = (SELECT MIN(hour_start) FROM usage_hours)
                             ORDER BY client_id {database.Dialect.LimitClause("@Batch")})
        """;
}

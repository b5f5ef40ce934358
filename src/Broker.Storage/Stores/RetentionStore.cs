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
        var (table, key, ended) = Kinds[kind];
        var sql = $"DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM {table} WHERE {ended} ORDER BY {key} {database.Dialect.LimitClause("@Batch")})";
        return database.InTransactionAsync(async (connection, transaction, token) =>
        {
            var removed = await connection.ExecuteAsync(new CommandDefinition(
                sql, new { Before = DbValues.Time(before), Batch = batchSize }, transaction, cancellationToken: token));
            return (removed, true);
        }, cancellationToken);
    }
}

using System.Data;
using System.Data.Common;
using Npgsql;

namespace Broker.Storage;

public sealed class PostgresDialect : ISqlDialect
{
    public string Name => "Postgres";

    public DbConnection CreateConnection(string connectionString) => new NpgsqlConnection(connectionString);

    // Connecting and each command end with the budget. A cancelled or timed-out command closes its
    // socket at once (Cancellation Timeout -1) rather than waiting for the server to acknowledge the
    // cancel, which a frozen server never does.
    public string Bounded(string connectionString, TimeSpan budget)
    {
        var seconds = ProviderTimeouts.WholeSeconds(budget);
        return new NpgsqlConnectionStringBuilder(connectionString) { Timeout = seconds, CommandTimeout = seconds, CancellationTimeout = -1 }.ConnectionString;
    }

    // Fails on a standby or a read-only database; must be the transaction's first statement.
    public string WriteProbeSql => "SET TRANSACTION READ WRITE";

    public Task OnOpenedAsync(DbConnection connection, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task PrepareDatabaseAsync(DbConnection connection, CancellationToken cancellationToken) => Task.CompletedTask;

    // SERIALIZABLE would make racing writers fail with 40001 instead of waiting; READ COMMITTED
    // re-checks a conditional UPDATE's WHERE on the row once the lock holder commits, so one wins.
    public IsolationLevel WriteIsolation => IsolationLevel.ReadCommitted;

    // A transaction-scoped advisory lock, released by commit or rollback; the key is "BrokerMg" in ASCII.
    public string? MigrationLockSql => "SELECT pg_advisory_xact_lock(4788011860902432103)";

    public string CreateMigrationsTableSql =>
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL);";

    public IReadOnlyList<string> SplitScript(string script) => [script];

    public string LimitClause(string parameter) => $"LIMIT {parameter}";

    public bool SingleWriter => false;

    public bool IsUniqueViolation(DbException exception) =>
        exception is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation };

    // Npgsql's IsTransient covers lost and refused connections, I/O faults and the server classes 08
    // (connection), 53 (resources), 57P0x (shutdown) and 58 (system); 40001 and 40P01 are named
    // because a racing transaction that lost a serialization check or a deadlock succeeds when re-run.
    public bool IsTransient(Exception exception) => exception switch
    {
        PostgresException { SqlState: PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.DeadlockDetected } => true,
        NpgsqlException npgsql => npgsql.IsTransient,
        _ => false,
    };
}

using System.Data;
using System.Data.Common;

namespace Broker.Storage;

/// <summary>What differs between database providers; the stores' SQL is otherwise portable.</summary>
public interface ISqlDialect
{
    /// <summary>The provider name, as in <c>Storage:Provider</c> and the migrations folder.</summary>
    string Name { get; }

    DbConnection CreateConnection(string connectionString);

    /// <summary>Opens a connection made by <see cref="CreateConnection"/> (from the provider's pool where it has one).</summary>
    Task OpenAsync(DbConnection connection, CancellationToken cancellationToken) => connection.OpenAsync(cancellationToken);

    /// <summary>
    /// <paramref name="connectionString"/> with the provider's own waits (connecting, a command, a lock)
    /// ending within <paramref name="budget"/>, rounded up to whole seconds where the provider counts so.
    /// </summary>
    string Bounded(string connectionString, TimeSpan budget);

    /// <summary>
    /// Run by the readiness probe inside a write transaction (then rolled back): fails when the database
    /// cannot take a write (read-only, a standby), where a read would still succeed.
    /// </summary>
    string WriteProbeSql { get; }

    /// <summary>Per-connection settings run after every open.</summary>
    Task OnOpenedAsync(DbConnection connection, CancellationToken cancellationToken);

    /// <summary>Once per process, before migrations: database-wide settings that cannot run in a transaction.</summary>
    Task PrepareDatabaseAsync(DbConnection connection, CancellationToken cancellationToken);

    /// <summary>
    /// The isolation level of write transactions. The stores' one-time transitions are conditional
    /// updates checked by affected rows, which row locks keep exactly-once at READ COMMITTED; a
    /// stronger level is only chosen where the provider needs it to queue writers (SQLite).
    /// </summary>
    IsolationLevel WriteIsolation { get; }

    /// <summary>
    /// Run first in every migration transaction, so that instances starting together queue there and
    /// each re-checks <c>schema_migrations</c> after the previous one committed; null when the
    /// transaction itself already excludes other writers.
    /// </summary>
    string? MigrationLockSql { get; }

    /// <summary>Creates the table that records applied migrations, if missing.</summary>
    string CreateMigrationsTableSql { get; }

    /// <summary>The commands one migration script is sent as, in order (SQL Server's <c>GO</c> batches).</summary>
    IReadOnlyList<string> SplitScript(string script);

    /// <summary>The clause that ends an ordered query after <paramref name="parameter"/> rows (LIMIT, or OFFSET/FETCH).</summary>
    string LimitClause(string parameter);

    /// <summary>Whether the database admits one writer at a time (SQLite): its write transactions then queue in-process.</summary>
    bool SingleWriter { get; }

    /// <summary>Whether the exception is a unique or primary key violation.</summary>
    bool IsUniqueViolation(DbException exception);

    /// <summary>
    /// Whether the exception is a fault that may pass by itself (server unreachable or restarting, lock
    /// or deadlock victim, busy database), so that the whole operation may be tried again.
    /// </summary>
    bool IsTransient(Exception exception);
}

internal static class ProviderTimeouts
{
    /// <summary>A budget in the whole seconds providers count timeouts in, rounded up: never shorter than the budget.</summary>
    public static int WholeSeconds(TimeSpan budget) => Math.Max(1, (int)Math.Ceiling(budget.TotalSeconds));
}

using System.Data;
using System.Data.Common;
using Dapper;
using Microsoft.Data.Sqlite;

namespace Broker.Storage;

public sealed class SqliteDialect : ISqlDialect
{
    private const int SqliteConstraint = 19;
    private const int SqliteBusy = 5;
    private const int SqliteLocked = 6;

    public string Name => "Sqlite";

    public DbConnection CreateConnection(string connectionString) => new SqliteConnection(connectionString);

    // Microsoft.Data.Sqlite's pool can lend one native connection to two owners: a connection it hands
    // out is marked active a moment before it is given its owner, outside the pool's lock, and an open
    // that finds the pool empty (or a clear of the pool) meanwhile takes it for leaked and reclaims it
    // (dotnet/efcore#39008, open on 10.0.12 and 11.0.0). Two requests then shared one connection: a
    // transaction inside another's, or a handle disposed under a read (an ObjectDisposedException, a
    // 500). Opening one connection at a time, and clearing pools only between opens, closes the gap;
    // a pooled open takes microseconds, and SQLite opens synchronously anyway.
    private static readonly Lock Opening = new();

    public Task OpenAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (Opening)
        {
            connection.Open();
        }
        return Task.CompletedTask;
    }

    /// <summary>
    /// Closes the idle native connections of every SQLite file in the process (before a file is deleted
    /// or replaced), safely beside opens on other threads: use it, never <c>SqliteConnection.ClearAllPools</c>.
    /// </summary>
    public static void ClearAllPools()
    {
        lock (Opening)
        {
            SqliteConnection.ClearAllPools();
        }
    }

    // Two waits for a lock held elsewhere: SQLite's busy handler (busy_timeout, set from the connection's
    // DefaultTimeout in OnOpenedAsync) and then Microsoft.Data.Sqlite's own retry of a busy statement
    // every 150 ms until the command timeout, whose default is 30 s. Left at 10 s and 30 s they held a
    // writer 30 s and more whatever the budget (with a 2 s budget, a write behind a lock held by another
    // connection answered after 62 s: the cancelled token did not stop them; the busy handler runs
    // inside sqlite3_step, out of its reach). Both now end with the budget, and Database stops waiting
    // at the budget in any case.
    public string Bounded(string connectionString, TimeSpan budget) =>
        new SqliteConnectionStringBuilder(connectionString) { DefaultTimeout = ProviderTimeouts.WholeSeconds(budget) }.ConnectionString;

    // BEGIN IMMEDIATE (the write isolation) is the probe: it takes the write lock or fails.
    public string WriteProbeSql => "SELECT 1";

    // NORMAL is durable against a process crash in WAL mode; only a power loss can lose the last commits.
    // busy_timeout lets SQLite wait for the writer lock in short steps itself; without it the provider's
    // own retry sleeps 150 ms a time, which dominated tail latency under concurrent installations. It is
    // the connection's DefaultTimeout, i.e. the operation budget (Bounded).
    // temp_store = MEMORY keeps savepoint journals off the disk: as temporary files they cost every
    // group-commit batch that needs them an open, an unlink and a close.
    // The settings belong to the native connection, which the pool hands out again and again: they are
    // sent once per native connection (tracked by its handle), not on every open.
    public async Task OnOpenedAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        var sqlite = (SqliteConnection)connection;
        var handle = sqlite.Handle!;
        if (configured.TryGetValue(handle, out _))
        {
            return;
        }
        await connection.ExecuteAsync(new CommandDefinition(
            $"PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {sqlite.DefaultTimeout * 1000}; PRAGMA temp_store = MEMORY;",
            cancellationToken: cancellationToken));
        configured.AddOrUpdate(handle, Configured);
    }

    private static readonly object Configured = new();

    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<object, object> configured = new();

    // WAL lets readers run beside the single writer; the setting is stored in the database file.
    public Task PrepareDatabaseAsync(DbConnection connection, CancellationToken cancellationToken) =>
        connection.ExecuteAsync(new CommandDefinition("PRAGMA journal_mode = WAL;", cancellationToken: cancellationToken));

    // BEGIN IMMEDIATE: racing writers queue on the database lock instead of failing on upgrade.
    public IsolationLevel WriteIsolation => IsolationLevel.Serializable;

    // BEGIN IMMEDIATE already holds the only write lock for the whole migration transaction.
    public string? MigrationLockSql => null;

    public string CreateMigrationsTableSql =>
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL);";

    public IReadOnlyList<string> SplitScript(string script) => [script];

    public string LimitClause(string parameter) => $"LIMIT {parameter}";

    public bool SingleWriter => true;

    public bool IsUniqueViolation(DbException exception) =>
        exception is SqliteException { SqliteErrorCode: SqliteConstraint } sqlite
        && (sqlite.SqliteExtendedErrorCode is 1555 or 2067);

    // BUSY outlasted busy_timeout, or LOCKED by another connection of this process: the writer will finish.
    public bool IsTransient(Exception exception) =>
        exception is SqliteException { SqliteErrorCode: SqliteBusy or SqliteLocked };
}

using System.Data;
using System.Data.Common;
using System.Text.RegularExpressions;
using Microsoft.Data.SqlClient;

namespace Broker.Storage;

public sealed partial class SqlServerDialect : ISqlDialect
{
    private const int UniqueConstraintViolation = 2627;
    private const int UniqueIndexViolation = 2601;

    // Numbers that pass by themselves: deadlock victim (1205), lock timeout (1222), client timeout (-2),
    // database not reachable or not yet open (4060, 4221, 40613, 40197, 40501, 49918-49920, 10928,
    // 10929), and transport faults (2, 53, 64, 121, 233, 10053, 10054, 10060, 10061, 11001).
    private static readonly HashSet<int> TransientNumbers =
    [
        1205, 1222, -2, 4060, 4221, 40613, 40197, 40501, 49918, 49919, 49920, 10928, 10929,
        2, 53, 64, 121, 233, 10053, 10054, 10060, 10061, 11001,
    ];

    public string Name => "SqlServer";

    public DbConnection CreateConnection(string connectionString) => new SqlConnection(connectionString);

    public string Bounded(string connectionString, TimeSpan budget)
    {
        var seconds = ProviderTimeouts.WholeSeconds(budget);
        return new SqlConnectionStringBuilder(connectionString) { ConnectTimeout = seconds, CommandTimeout = seconds }.ConnectionString;
    }

    // A database set READ_ONLY (or a readable secondary) takes reads but no write.
    public string WriteProbeSql =>
        "IF CONVERT(NVARCHAR(60), DATABASEPROPERTYEX(DB_NAME(), 'Updateability')) <> N'READ_WRITE' THROW 50000, N'the database is read-only', 1;";

    public Task OnOpenedAsync(DbConnection connection, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task PrepareDatabaseAsync(DbConnection connection, CancellationToken cancellationToken) => Task.CompletedTask;

    // SERIALIZABLE takes key-range locks and lets racing writers deadlock (1205); the stores' conditional
    // UPDATEs take update locks on the row, so READ COMMITTED (locking or snapshot) keeps them exactly-once.
    public IsolationLevel WriteIsolation => IsolationLevel.ReadCommitted;

    // An application lock owned by the transaction, released by commit or rollback; a failure to get it
    // (timeout, deadlock victim) must stop the migration rather than run it unguarded.
    public string? MigrationLockSql =>
        """
        DECLARE @result INT;
        EXEC @result = sp_getapplock @Resource = N'Broker.Storage.Migrations', @LockMode = N'Exclusive', @LockOwner = N'Transaction', @LockTimeout = 120000;
        IF @result < 0 THROW 50000, N'could not take the migration lock', 1;
        """;

    public string CreateMigrationsTableSql =>
        """
        IF OBJECT_ID(N'schema_migrations', N'U') IS NULL
            CREATE TABLE schema_migrations (
                version    INT            NOT NULL CONSTRAINT pk_schema_migrations PRIMARY KEY,
                name       NVARCHAR(255)  NOT NULL,
                applied_at BIGINT         NOT NULL
            );
        """;

    // GO is a client-side batch separator, not T-SQL: a script that adds a column and then uses it
    // needs two batches, because SQL Server compiles a whole batch before running it.
    public IReadOnlyList<string> SplitScript(string script) =>
        BatchSeparator().Split(script).Where(batch => !string.IsNullOrWhiteSpace(batch)).ToList();

    public string LimitClause(string parameter) => $"OFFSET 0 ROWS FETCH NEXT {parameter} ROWS ONLY";

    public bool SingleWriter => false;

    public bool IsUniqueViolation(DbException exception) =>
        exception is SqlException { Number: UniqueConstraintViolation or UniqueIndexViolation };

    public bool IsTransient(Exception exception) =>
        exception is SqlException sql && sql.Errors.Cast<SqlError>().Any(error => TransientNumbers.Contains(error.Number));

    [GeneratedRegex(@"^[ \t]*GO[ \t]*(?:--[^\r\n]*)?\r?$", RegexOptions.Multiline | RegexOptions.IgnoreCase)]
    private static partial Regex BatchSeparator();
}

using Microsoft.Data.Sqlite;
using Npgsql;

namespace Broker.Storage.Tests;

/// <summary>Which faults each dialect retries, and that Database retries whole operations and gives up as unavailable.</summary>
public sealed class TransientFaultTests
{
    [Fact]
    public void Sqlite_busy_and_locked_are_transient_a_constraint_is_not()
    {
        var dialect = new SqliteDialect();
        dialect.IsTransient(new SqliteException("busy", 5)).Should().BeTrue();
        dialect.IsTransient(new SqliteException("locked", 6)).Should().BeTrue();
        dialect.IsTransient(new SqliteException("constraint", 19)).Should().BeFalse();
        dialect.IsTransient(new InvalidOperationException()).Should().BeFalse();
    }

    [Fact]
    public void Postgres_serialization_failures_deadlocks_and_lost_connections_are_transient_a_unique_violation_is_not()
    {
        var dialect = new PostgresDialect();
        dialect.IsTransient(Postgres(PostgresErrorCodes.SerializationFailure)).Should().BeTrue();
        dialect.IsTransient(Postgres(PostgresErrorCodes.DeadlockDetected)).Should().BeTrue();
        dialect.IsTransient(Postgres(PostgresErrorCodes.AdminShutdown)).Should().BeTrue();
        dialect.IsTransient(new NpgsqlException("connection refused", new System.Net.Sockets.SocketException(111))).Should().BeTrue();
        dialect.IsTransient(Postgres(PostgresErrorCodes.UniqueViolation)).Should().BeFalse();
    }

    [Fact]
    public async Task A_transient_fault_reruns_the_whole_transaction_and_a_lasting_one_becomes_DatabaseUnavailable()
    {
        var path = Path.Combine(Path.GetTempPath(), $"broker-transient-{Guid.NewGuid():N}.db");
        var database = new Database(new SqliteDialect(), $"Data Source={path}",
            new DatabaseResilience { MaxRetries = 2, RetryDelay = TimeSpan.Zero });
        try
        {
            var attempts = 0;
            var result = await database.InTransactionAsync((_, _) =>
                ++attempts < 3 ? throw new SqliteException("busy", 5) : Task.FromResult((attempts, true)));
            result.Should().Be(3);

            attempts = 0;
            var lasting = () => database.InTransactionAsync<int>((_, _) =>
            {
                attempts++;
                throw new SqliteException("busy", 5);
            });
            (await lasting.Should().ThrowAsync<DatabaseUnavailableException>()).Which.InnerException.Should().BeOfType<SqliteException>();
            attempts.Should().Be(3);

            // A fault that is not transient is a bug: thrown as it is, at once.
            attempts = 0;
            var bug = () => database.InTransactionAsync<int>((_, _) =>
            {
                attempts++;
                throw new SqliteException("constraint", 19);
            });
            await bug.Should().ThrowAsync<SqliteException>();
            attempts.Should().Be(1);
        }
        finally
        {
            SqliteDialect.ClearAllPools();
            File.Delete(path);
        }
    }

    private static PostgresException Postgres(string sqlState) => new("message", "ERROR", "ERROR", sqlState);
}

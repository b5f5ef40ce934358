using System.Diagnostics;
using System.Reflection;
using Microsoft.Data.Sqlite;

namespace Broker.Storage.Tests;

/// <summary>
/// Every store operation is bounded as one unit (open and commands) by the database's budget, even when
/// the server stops answering and the driver ignores cancellation; and work that must not run twice is
/// not retried as a whole, while reads are.
/// </summary>
[Collection(nameof(TimedFaults))]
public sealed class StoreBudgetTests
{
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan AnswerBound = Budget + TimeSpan.FromSeconds(1);

    [Fact]
    public async Task Every_store_method_gives_up_within_the_budget_when_commands_never_answer()
    {
        var dialect = new RecordingDialect(new SqlServerDialect()) { Frozen = true };
        var database = new Database(dialect, "", new DatabaseResilience { Timeout = Budget, MaxRetries = 1, RetryDelay = TimeSpan.FromMilliseconds(10) });
        var calls = new List<(string Name, Task<Exception?> Outcome)>();
        foreach (var storeType in typeof(Database).Assembly.GetTypes()
            .Where(type => type is { IsPublic: true, IsClass: true, IsAbstract: false, Namespace: SqlServerScriptTests.StoresNamespace }))
        {
            var store = SqlServerScriptTests.Construct(storeType, database);
            foreach (var method in storeType.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly).Where(method => !method.IsSpecialName))
            {
                calls.Add(($"{storeType.Name}.{method.Name}", TimedAsync(store, method)));
            }
        }
        calls.Should().HaveCountGreaterThan(20);

        var late = new List<string>();
        foreach (var (name, outcome) in calls)
        {
            if (await outcome is not DatabaseUnavailableException)
            {
                late.Add(name);
            }
        }
        late.Should().BeEmpty($"every store method must give up as unavailable within {AnswerBound}");
    }

    [Fact]
    public async Task Work_on_a_connection_of_its_own_is_not_retried_and_a_read_is()
    {
        var path = Path.Combine(Path.GetTempPath(), $"broker-once-{Guid.NewGuid():N}.db");
        var database = new Database(new SqliteDialect(), $"Data Source={path}",
            new DatabaseResilience { MaxRetries = 2, RetryDelay = TimeSpan.Zero });
        try
        {
            var attempts = 0;
            var write = () => database.WithConnectionAsync<int>((_, _) =>
            {
                attempts++;
                throw new SqliteException("busy", 5);
            });
            // The write may have happened: one attempt, reported as unavailable.
            (await write.Should().ThrowAsync<DatabaseUnavailableException>()).Which.InnerException.Should().BeOfType<SqliteException>();
            attempts.Should().Be(1);

            attempts = 0;
            var read = () => database.ReadAsync<int>((_, _) =>
            {
                attempts++;
                throw new SqliteException("busy", 5);
            });
            await read.Should().ThrowAsync<DatabaseUnavailableException>();
            attempts.Should().Be(3);

            (await database.WithConnectionAsync((connection, token) => Task.FromResult(connection.State))).Should().Be(System.Data.ConnectionState.Open);
        }
        finally
        {
            SqliteDialect.ClearAllPools();
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Work_on_a_connection_of_its_own_that_ignores_cancellation_is_cut_off_at_the_budget()
    {
        var path = Path.Combine(Path.GetTempPath(), $"broker-cutoff-{Guid.NewGuid():N}.db");
        var database = new Database(new SqliteDialect(), $"Data Source={path}", new DatabaseResilience { Timeout = Budget });
        try
        {
            var clock = Stopwatch.StartNew();
            var stuck = () => database.WithConnectionAsync((_, _) => new TaskCompletionSource().Task);
            await stuck.Should().ThrowAsync<DatabaseUnavailableException>();
            clock.Elapsed.Should().BeLessThan(AnswerBound);
        }
        finally
        {
            SqliteDialect.ClearAllPools();
            File.Delete(path);
        }
    }

    // The exception the call ended with (null: it answered), failing the call if it took longer than the
    // bound; a call that never ends is cut off a little later so that the test reports it rather than hangs.
    private static async Task<Exception?> TimedAsync(object store, MethodInfo method)
    {
        var arguments = method.GetParameters().Select(parameter => SqlServerScriptTests.Sample(parameter, store.GetType())).ToArray();
        var clock = Stopwatch.StartNew();
        try
        {
            await ((Task)method.Invoke(store, arguments)!).WaitAsync(AnswerBound + TimeSpan.FromSeconds(1));
            return null;
        }
        catch (TimeoutException exception)
        {
            return exception;
        }
        catch (Exception exception)
        {
            clock.Elapsed.Should().BeLessThan(AnswerBound, $"{store.GetType().Name}.{method.Name} must give up within the budget");
            return exception;
        }
    }
}

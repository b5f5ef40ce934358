using System.Data.Common;
using Dapper;
using Microsoft.Data.Sqlite;

namespace Broker.Storage.Tests;

/// <summary>
/// Group commit on a real SQLite file: writes queued while the writer is busy share the next
/// transaction, and one that fails (by a unique key, or by declining after it wrote) is undone alone
/// while the others commit and every caller hears its own outcome.
/// </summary>
public sealed class GroupCommitTests : IAsyncLifetime
{
    private readonly string path = Path.Combine(Path.GetTempPath(), $"broker-group-commit-{Guid.NewGuid():N}.db");
    private Database database = null!;

    public async Task InitializeAsync()
    {
        database = new Database(new SqliteDialect(), $"Data Source={path}");
        await new MigrationRunner(database).MigrateAsync();
    }

    public Task DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        foreach (var file in new[] { path, path + "-wal", path + "-shm" })
        {
            File.Delete(file);
        }
        return Task.CompletedTask;
    }

    [Fact]
    public async Task A_batch_with_no_failure_commits_every_write()
    {
        var outcomes = await RunOneBatchAsync(Enumerable.Range(0, 12).Select(i => Insert($"free-{i}")).ToArray());

        outcomes.Should().OnlyContain(outcome => outcome.Result == true);
        (await NamesAsync()).Should().BeEquivalentTo(Enumerable.Range(0, 12).Select(i => $"free-{i}").Append("holder"));
    }

    [Fact]
    public async Task In_a_shared_batch_a_failing_write_is_undone_alone_and_the_others_commit()
    {
        var outcomes = await RunOneBatchAsync(
            Insert("first"),
            // Writes a row, then runs into a unique key: its row must go too.
            async (connection, transaction, token) =>
            {
                await InsertRowAsync(connection, transaction, "half-written", token);
                await InsertRowAsync(connection, transaction, "first", token);
                return true;
            },
            Insert("second"),
            // Writes a row, then declines: undone as well.
            async (connection, transaction, token) =>
            {
                await InsertRowAsync(connection, transaction, "declined", token);
                return false;
            },
            Insert("third"));

        outcomes[0].Result.Should().BeTrue();
        outcomes[1].Error.Should().BeAssignableTo<DbException>("the unique violation reaches its own caller");
        outcomes[2].Result.Should().BeTrue();
        outcomes[3].Result.Should().BeFalse();
        outcomes[4].Result.Should().BeTrue();
        (await NamesAsync()).Should().BeEquivalentTo("holder", "first", "second", "third");
    }

    private static Func<DbConnection, DbTransaction, CancellationToken, Task<bool>> Insert(string name) =>
        async (connection, transaction, token) =>
        {
            await InsertRowAsync(connection, transaction, name, token);
            return true;
        };

    private static Task InsertRowAsync(DbConnection connection, DbTransaction transaction, string name, CancellationToken token) =>
        connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO tenant_settings (name, value) VALUES (@name, 'x')", new { name }, transaction, cancellationToken: token));

    // Holds the writer with one write while the others queue, so that they all land in the next batch.
    private async Task<(bool? Result, Exception? Error)[]> RunOneBatchAsync(params Func<DbConnection, DbTransaction, CancellationToken, Task<bool>>[] writes)
    {
        var writerHeld = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var holder = database.WriteAsync(async (connection, transaction, token) =>
        {
            writerHeld.SetResult();
            await release.Task;
            await InsertRowAsync(connection, transaction, "holder", token);
            return true;
        });
        await writerHeld.Task;
        var queued = writes.Select(write => database.WriteAsync(write)).ToArray();
        release.SetResult();
        (await holder).Should().BeTrue();
        var outcomes = new (bool? Result, Exception? Error)[queued.Length];
        for (var i = 0; i < queued.Length; i++)
        {
            try
            {
                outcomes[i] = (await queued[i], null);
            }
            catch (Exception exception)
            {
                outcomes[i] = (null, exception);
            }
        }
        return outcomes;
    }

    private async Task<IReadOnlyList<string>> NamesAsync()
    {
        await using var connection = await database.OpenAsync();
        return [.. await connection.QueryAsync<string>("SELECT name FROM tenant_settings")];
    }
}

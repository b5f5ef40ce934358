using System.Data.Common;
using Dapper;
using Microsoft.Data.Sqlite;

namespace Broker.Storage.Tests;

/// <summary>
/// Group commit on a real SQLite file: writes queued while the writer waits share the next
/// transaction, and one that fails (by a unique key, or by a statement that changes no row) is undone
/// alone while the others commit and every caller hears its own outcome.
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

    public async Task DisposeAsync()
    {
        await database.DisposeAsync();
        SqliteDialect.ClearAllPools();
        foreach (var file in new[] { path, path + "-wal", path + "-shm" })
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task A_batch_with_no_failure_commits_every_write()
    {
        var outcomes = await RunTogetherAsync([.. Enumerable.Range(0, 12).Select(i => new[] { Insert($"free-{i}") })]);

        outcomes.Should().OnlyContain(outcome => outcome.Result == true);
        (await NamesAsync()).Should().BeEquivalentTo(Enumerable.Range(0, 12).Select(i => $"free-{i}").Append("holder"));
    }

    [Fact]
    public async Task In_a_shared_batch_a_failing_write_is_undone_alone_and_the_others_commit()
    {
        var outcomes = await RunTogetherAsync(
            [Insert("first")],
            // Writes a row, then runs into a unique key: its row must go too.
            [Insert("half-written"), Insert("first")],
            [Insert("second")],
            // Writes a row, then a statement that changes nothing: undone as well.
            [Insert("declined"), new Statement("UPDATE tenant_settings SET value = 'y' WHERE name = 'nobody'")],
            [Insert("third")],
            // Writes a row, then a statement the provider refuses before SQLite sees it (a value is missing).
            [Insert("unbound"), new Statement("INSERT INTO tenant_settings (name, value) VALUES (@Name, @Value)").With("Name", "x")]);

        outcomes[0].Result.Should().BeTrue();
        outcomes[1].Error.Should().BeAssignableTo<DbException>("the unique violation reaches its own caller");
        outcomes[2].Result.Should().BeTrue();
        outcomes[3].Result.Should().BeFalse();
        outcomes[4].Result.Should().BeTrue();
        outcomes[5].Error.Should().BeOfType<InvalidOperationException>("a fault of the write's own, not of the database, fails it alone");
        (await NamesAsync()).Should().BeEquivalentTo("holder", "first", "second", "third");
    }

    [Fact]
    public async Task A_compiled_statement_run_again_binds_each_value_as_its_own_type()
    {
        // The writer reuses one command per statement text: a string bound first must not make a later number a string.
        static Statement TypeAndLength(string name, object value) =>
            new Statement("INSERT INTO tenant_settings (name, value) VALUES (@Name, typeof(@Value) || ':' || length(@Value))")
                .With("Name", name).With("Value", value);

        (await database.WriteAsync([TypeAndLength("text", "forty-two")])).Should().BeTrue();
        (await database.WriteAsync([TypeAndLength("integer", 42L)])).Should().BeTrue();
        (await database.WriteAsync([TypeAndLength("blob", new byte[5000])])).Should().BeTrue();

        await using var connection = await database.OpenAsync();
        var stored = (await connection.QueryAsync<(string Name, string Value)>("SELECT name, value FROM tenant_settings")).ToDictionary(row => row.Name, row => row.Value);
        stored.Should().Equal(new Dictionary<string, string> { ["text"] = "text:9", ["integer"] = "integer:2", ["blob"] = "blob:5000" });
    }

    [Fact]
    public async Task The_writer_keeps_working_after_a_write_fails_and_after_the_file_is_written_by_another_connection()
    {
        (await database.WriteAsync([Insert("one")])).Should().BeTrue();
        await FluentActions.Awaiting(() => database.WriteAsync([Insert("one")])).Should().ThrowAsync<DbException>();
        await using (var other = await database.OpenAsync())
        {
            await other.ExecuteAsync("INSERT INTO tenant_settings (name, value) VALUES ('two', 'x')");
        }
        (await database.WriteAsync([Insert("three")])).Should().BeTrue();
        (await NamesAsync()).Should().BeEquivalentTo("one", "two", "three");
    }

    [Fact]
    public async Task Under_continuous_writes_the_log_is_checkpointed_beside_the_writer_and_started_over_so_it_stays_bounded()
    {
        // 24,000 rows of 3 KB queued at once, so that the writer runs batch after batch without a pause and
        // no checkpoint beside it ever finds the log still: about 100 MB of log if it were never started over.
        var payload = new string('x', 3000);
        var writes = Enumerable.Range(0, 24_000).Select(i => database.WriteAsync(
            [new Statement("INSERT INTO tenant_settings (name, value) VALUES (@Name, @Value)").With("Name", $"row-{i}").With("Value", payload)]));
        (await Task.WhenAll(writes)).Should().OnlyContain(written => written);

        // The log's header counts the times it was started over (its checkpoint sequence number).
        LogRestarts().Should().BePositive("the writer copies the last frames itself once the log passes 4096 frames");
        new FileInfo(path + "-wal").Length.Should().BeLessThan(80L << 20, "a log started over never holds all 100 MB");
        await using var connection = await database.OpenAsync();
        (await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM tenant_settings")).Should().Be(24_000);
        // Most of the log is already in the database file: checkpoints ran while the writes went on.
        new FileInfo(path).Length.Should().BeGreaterThan(60L << 20);
    }

    private long LogRestarts()
    {
        using var log = new FileStream(path + "-wal", FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var header = new byte[16];
        log.ReadExactly(header);
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(12));
    }

    [Fact]
    public async Task A_write_whose_caller_was_told_503_is_not_committed_when_the_lock_lifts_later()
    {
        await using var impatient = new Database(new SqliteDialect(), $"Data Source={path}", new DatabaseResilience { Timeout = TimeSpan.FromSeconds(1) });
        await using var blocker = new SqliteConnection($"Data Source={path};Pooling=False");
        await blocker.OpenAsync();
        await blocker.ExecuteAsync("BEGIN IMMEDIATE");
        // The first write's batch waits for the lock; the second queues behind it, so its batch starts
        // later than its caller's budget did and is still waiting for the lock when the caller gives up.
        var first = impatient.WriteAsync([Insert("first")]);
        await Task.Delay(500);
        var second = impatient.WriteAsync([Insert("second")]);
        await FluentActions.Awaiting(() => first).Should().ThrowAsync<DatabaseUnavailableException>();
        await FluentActions.Awaiting(() => second).Should().ThrowAsync<DatabaseUnavailableException>();
        await blocker.ExecuteAsync("COMMIT");

        // Whatever batch the writer was running when the lock lifted holds only writes answered 503.
        await Task.Delay(TimeSpan.FromSeconds(2));
        (await impatient.WriteAsync([Insert("after")])).Should().BeTrue();
        (await NamesAsync()).Should().Equal(["after"], "a caller told 503 was told nothing was written");
    }

    private static Statement Insert(string name) =>
        new Statement("INSERT INTO tenant_settings (name, value) VALUES (@Name, 'x')").With("Name", name);

    // Holds SQLite's write lock from another connection while the writes queue: the group writer takes
    // the first one (the holder) and waits for the lock; the rest arrive meanwhile and share the next batch.
    private async Task<(bool? Result, Exception? Error)[]> RunTogetherAsync(params IReadOnlyList<Statement>[] writes)
    {
        await using var blocker = new SqliteConnection($"Data Source={path};Pooling=False");
        await blocker.OpenAsync();
        await blocker.ExecuteAsync("BEGIN IMMEDIATE");
        var holder = database.WriteAsync([Insert("holder")]);
        // Give the writer the moment it needs to take the holder alone (it would still be correct otherwise).
        await Task.Delay(200);
        var queued = writes.Select(write => database.WriteAsync(write)).ToArray();
        await blocker.ExecuteAsync("COMMIT");
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

using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;

namespace Broker.Storage.Tests;

/// <summary>
/// Microsoft.Data.Sqlite's pool can lend one native connection to two owners when opens race with an
/// open that grows the pool or with a clear of it (dotnet/efcore#39008): two requests then share one
/// connection, and one of them fails with "cannot start a transaction within a transaction" or an
/// ObjectDisposedException. The broker opens SQLite connections one at a time; this test races opens
/// and pool clears through the broker's own <see cref="Database"/> and checks that no native connection
/// ever has two live owners.
/// </summary>
public sealed class SqlitePoolSharingTests : IAsyncLifetime
{
    // The gap is a few instructions wide: without the fix, a few thousand waves on two busy cores hit it
    // (seen as an ObjectDisposedException); the test stops at the first.
    private const int Waves = 2000;
    private const int OpensPerWave = 32;

    private readonly string path = Path.Combine(Path.GetTempPath(), $"broker-pool-sharing-{Guid.NewGuid():N}.db");
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
    public async Task Concurrent_opens_and_pool_clears_never_give_one_native_connection_to_two_owners()
    {
        var owners = new ConcurrentDictionary<IntPtr, int>();
        var shared = 0;
        var failures = new ConcurrentQueue<Exception>();
        for (var wave = 0; wave < Waves; wave++)
        {
            // Every wave starts from an empty pool, so the opens grow it (and reclaim as they grow).
            SqliteDialect.ClearAllPools();
            var opened = 0;
            var allOpen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var opens = Enumerable.Range(0, OpensPerWave).Select(_ => Task.Run(async () =>
            {
                try
                {
                    await database.ReadAsync(async (connection, token) =>
                    {
                        var handle = ((SqliteConnection)connection).Handle!.DangerousGetHandle();
                        if (!owners.TryAdd(handle, 1))
                        {
                            Interlocked.Increment(ref shared);
                        }
                        // Every owner stays alive until all of the wave have opened.
                        if (Interlocked.Increment(ref opened) == OpensPerWave)
                        {
                            allOpen.SetResult();
                        }
                        await allOpen.Task.WaitAsync(token);
                        owners.TryRemove(handle, out var _);
                        return true;
                    });
                }
                catch (Exception exception)
                {
                    failures.Enqueue(exception);
                }
            }));
            // A clear in the middle of the wave, as another database's disposal would do.
            var clear = Task.Run(SqliteDialect.ClearAllPools);
            await Task.WhenAll([.. opens, clear]);
            if (!failures.IsEmpty || shared > 0)
            {
                break;
            }
        }

        failures.Should().BeEmpty();
        shared.Should().Be(0, "an open native connection belongs to one owner at a time");
    }
}

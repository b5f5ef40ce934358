using Microsoft.Data.Sqlite;

namespace Broker.Storage.Tests;

/// <summary>The store contract on SQLite, each database a real file as in production (WAL, pooling).</summary>
public sealed class SqliteStoreTests : StoreContract
{
    private readonly List<string> paths = [];

    protected override Task<Database> CreateEmptyDatabaseAsync()
    {
        var path = Path.Combine(Path.GetTempPath(), $"broker-contract-{Guid.NewGuid():N}.db");
        paths.Add(path);
        return Task.FromResult(new Database(new SqliteDialect(), $"Data Source={path}"));
    }

    protected override Task DropDatabasesAsync()
    {
        SqliteDialect.ClearAllPools();
        foreach (var path in paths)
        {
            foreach (var file in new[] { path, path + "-wal", path + "-shm" })
            {
                File.Delete(file);
            }
        }
        return Task.CompletedTask;
    }
}

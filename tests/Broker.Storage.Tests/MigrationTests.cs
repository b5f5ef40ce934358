using Broker.Storage;
using Microsoft.Data.Sqlite;

namespace Broker.Storage.Tests;

public sealed class MigrationTests : IDisposable
{
    private readonly string path = Path.Combine(Path.GetTempPath(), $"broker-migrations-{Guid.NewGuid():N}.db");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        File.Delete(path);
    }

    [Fact]
    public async Task Migrations_apply_once_to_a_new_file_and_then_do_nothing()
    {
        var runner = new MigrationRunner(new Database(new SqliteDialect(), $"Data Source={path}"));
        var first = await runner.MigrateAsync();
        first.Should().NotBeEmpty().And.Contain("V001_initial");
        var second = await runner.MigrateAsync();
        second.Should().BeEmpty();
    }
}

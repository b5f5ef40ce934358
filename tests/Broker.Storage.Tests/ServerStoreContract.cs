namespace Broker.Storage.Tests;

/// <summary>
/// The store contract on a database server named by an environment variable: each test gets fresh
/// databases, created on that server and dropped after the test; without the variable every test is
/// skipped with the reason.
/// </summary>
public abstract class ServerStoreContract(string variable, ISqlDialect dialect) : StoreContract
{
    private readonly string? serverConnectionString = Environment.GetEnvironmentVariable(variable);
    private readonly List<string> created = [];

    protected override string? SkipReason => string.IsNullOrWhiteSpace(serverConnectionString)
        ? $"{variable} is not set: give it a {dialect.Name} connection string allowed to CREATE DATABASE to run these tests"
        : null;

    /// <summary>The server's connection string with its database replaced by <paramref name="database"/>.</summary>
    protected abstract string WithDatabase(string connectionString, string database);

    protected abstract void ClearPool(string connectionString);

    protected abstract IEnumerable<string> DropDatabaseSql(string database);

    protected override async Task<Database> CreateEmptyDatabaseAsync()
    {
        // Lowercase letters, digits and underscores: needs no quoting on either server.
        var name = $"broker_test_{Guid.NewGuid():N}";
        await ExecuteOnServerAsync([$"CREATE DATABASE {name}"]);
        created.Add(name);
        return new Database(dialect, WithDatabase(serverConnectionString!, name));
    }

    protected override async Task DropDatabasesAsync()
    {
        foreach (var name in created)
        {
            ClearPool(WithDatabase(serverConnectionString!, name));
            await ExecuteOnServerAsync(DropDatabaseSql(name));
        }
        created.Clear();
    }

    private async Task ExecuteOnServerAsync(IEnumerable<string> statements)
    {
        await using var connection = await new Database(dialect, serverConnectionString!).OpenAsync();
        foreach (var sql in statements)
        {
            await using var command = connection.CreateCommand();
            command.CommandText = sql;
            // Copying or dropping a whole database on a loaded server can outlast an operation's budget
            // (which the connection's command timeout now follows): test set-up, not a request.
            command.CommandTimeout = 120;
            await command.ExecuteNonQueryAsync();
        }
    }
}

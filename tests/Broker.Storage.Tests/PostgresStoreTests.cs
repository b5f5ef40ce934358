using Npgsql;

namespace Broker.Storage.Tests;

/// <summary>The store contract on PostgreSQL; BROKER_TEST_POSTGRES is an Npgsql connection string (CI sets it).</summary>
public sealed class PostgresStoreTests() : ServerStoreContract("BROKER_TEST_POSTGRES", new PostgresDialect())
{
    protected override string WithDatabase(string connectionString, string database) =>
        new NpgsqlConnectionStringBuilder(connectionString) { Database = database }.ConnectionString;

    protected override void ClearPool(string connectionString)
    {
        using var connection = new NpgsqlConnection(connectionString);
        NpgsqlConnection.ClearPool(connection);
    }

    // FORCE ends sessions a failed test may have left open.
    protected override IEnumerable<string> DropDatabaseSql(string database) => [$"DROP DATABASE IF EXISTS {database} WITH (FORCE)"];
}

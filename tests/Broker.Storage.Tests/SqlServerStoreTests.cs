using Microsoft.Data.SqlClient;

namespace Broker.Storage.Tests;

/// <summary>The store contract on SQL Server; BROKER_TEST_SQLSERVER is a SqlClient connection string.</summary>
public sealed class SqlServerStoreTests() : ServerStoreContract("BROKER_TEST_SQLSERVER", new SqlServerDialect())
{
    protected override string WithDatabase(string connectionString, string database) =>
        new SqlConnectionStringBuilder(connectionString) { InitialCatalog = database }.ConnectionString;

    protected override void ClearPool(string connectionString)
    {
        using var connection = new SqlConnection(connectionString);
        SqlConnection.ClearPool(connection);
    }

    // SINGLE_USER ends sessions a failed test may have left open.
    protected override IEnumerable<string> DropDatabaseSql(string database) =>
    [
        $"IF DB_ID(N'{database}') IS NOT NULL ALTER DATABASE {database} SET SINGLE_USER WITH ROLLBACK IMMEDIATE",
        $"IF DB_ID(N'{database}') IS NOT NULL DROP DATABASE {database}",
    ];
}

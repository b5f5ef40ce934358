using System.Net;
using Broker.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Broker.Tests;

/// <summary>Storage:Provider picks the dialect; the whole broker runs on PostgreSQL when a server is given.</summary>
public sealed class StorageProviderTests
{
    [Theory]
    [InlineData("Sqlite", "Sqlite")]
    [InlineData("sqlite", "Sqlite")]
    [InlineData("SqlServer", "SqlServer")]
    [InlineData("SQLSERVER", "SqlServer")]
    [InlineData("Postgres", "Postgres")]
    [InlineData(" postgres ", "Postgres")]
    public void Provider_names_are_case_insensitive(string configured, string dialect) =>
        StorageSetup.DialectFor(configured)!.Name.Should().Be(dialect);

    [SkippableFact]
    public async Task The_installation_flow_runs_on_PostgreSQL()
    {
        var server = Environment.GetEnvironmentVariable("BROKER_TEST_POSTGRES");
        Skip.If(string.IsNullOrWhiteSpace(server), "BROKER_TEST_POSTGRES is not set: give it an Npgsql connection string allowed to CREATE DATABASE");
        var name = $"broker_host_{Guid.NewGuid():N}";
        await ExecuteAsync(server!, $"CREATE DATABASE {name}");
        var connectionString = new NpgsqlConnectionStringBuilder(server) { Database = name }.ConnectionString;
        try
        {
            using (var broker = new BrokerFactory())
            {
                broker.Settings["Storage:Provider"] = "postgres";
                broker.Settings["Storage:ConnectionString"] = connectionString;
                var parent = await broker.CreateParentAsync();
                await broker.CreateUserAsync();
                var flow = new Installation(broker);
                await flow.Browser.SignInAsync();
                var api = broker.CreateApiClient();

                (await api.GetAsync("/readyz")).StatusCode.Should().Be(HttpStatusCode.OK);
                var created = await Installation.CreateChildAsync(api, await flow.InstallationTokenAsync(parent, api), new { name = "My blog" });
                created.StatusCode.Should().Be(HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
            }
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync();
            await using var count = new NpgsqlCommand("SELECT COUNT(*) FROM clients WHERE kind = 'child'", connection);
            (await count.ExecuteScalarAsync()).Should().Be(1L);
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await ExecuteAsync(server!, $"DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        }
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}

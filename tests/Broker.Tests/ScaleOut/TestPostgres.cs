using Npgsql;

namespace Broker.Tests.ScaleOut;

/// <summary>
/// A fresh database on the PostgreSQL server of <c>BROKER_TEST_POSTGRES</c> (which <c>.ci/run</c> starts),
/// dropped when disposed.
/// </summary>
public sealed class TestPostgres : IAsyncDisposable
{
    public const string Variable = "BROKER_TEST_POSTGRES";

    private readonly string server;
    private readonly string name = $"broker_test_{Guid.NewGuid():N}";

    private TestPostgres(string server)
    {
        this.server = server;
        ConnectionString = new NpgsqlConnectionStringBuilder(server) { Database = name }.ConnectionString;
    }

    public string ConnectionString { get; }

    /// <summary>Why the test cannot run here, or null.</summary>
    public static string? SkipReason =>
        string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(Variable))
            ? $"{Variable} is not set (.ci/run starts PostgreSQL and sets it)"
            : null;

    public static async Task<TestPostgres> CreateAsync(string? server = null)
    {
        var database = new TestPostgres(server ?? Environment.GetEnvironmentVariable(Variable)!);
        await database.ExecuteOnServerAsync($"CREATE DATABASE {database.name}");
        return database;
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        // FORCE ends the sessions the brokers may still hold.
        await ExecuteOnServerAsync($"DROP DATABASE IF EXISTS {name} WITH (FORCE)");
    }

    private async Task ExecuteOnServerAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(server);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}

using System.Diagnostics;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace Broker.Tests;

/// <summary>The broker executable as a command-line tool, run as a real process on its own SQLite file.</summary>
public sealed class CommandLineTests : IDisposable
{
    private readonly string databasePath = Path.Combine(Path.GetTempPath(), $"broker-cli-{Guid.NewGuid():N}.db");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        foreach (var suffix in new[] { "", "-wal", "-shm" })
        {
            File.Delete(databasePath + suffix);
        }
    }

    private Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] args) => RunAsync(new Dictionary<string, string>(), args);

    private async Task<(int ExitCode, string Output, string Error)> RunAsync(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(typeof(Program).Assembly.Location);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        start.Environment["Storage__ConnectionString"] = $"Data Source={databasePath}";
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var patience = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        try
        {
            await process.WaitForExitAsync(patience.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"broker {string.Join(' ', args)} did not exit within a minute");
        }
        return (process.ExitCode, await output, await error);
    }

    [Fact]
    public async Task The_server_refuses_to_start_on_an_unknown_storage_provider_and_names_the_three()
    {
        var refused = await RunAsync(new Dictionary<string, string> { ["Storage__Provider"] = "MySql" }, "--urls", "http://127.0.0.1:0");

        refused.ExitCode.Should().NotBe(0);
        refused.Error.Should().Contain("OptionsValidationException").And.Contain("Sqlite, SqlServer or Postgres");
    }

    [Fact]
    public async Task The_server_refuses_to_start_on_a_bad_gateway_setting_and_names_it()
    {
        var refused = await RunAsync(new Dictionary<string, string> { ["Gateway__QuotaStore"] = "Memcached" }, "--urls", "http://127.0.0.1:0");

        refused.ExitCode.Should().NotBe(0);
        refused.Error.Should().Contain("Gateway:QuotaStore");
    }

    [Fact]
    public async Task Apps_create_prints_the_client_id_and_secret_once_as_json_and_parents_enable_promotes_it()
    {
        var created = await RunAsync("apps", "create", "--name", "Ghost Plugin", "--redirect-uri", "https://vendor.example/broker/callback", "--json");
        created.ExitCode.Should().Be(0, created.Error);
        var app = JsonDocument.Parse(created.Output).RootElement;
        var clientId = app.GetProperty("client_id").GetString()!;
        clientId.Should().MatchRegex("^[A-Za-z][A-Za-z0-9]{31}$");
        app.GetProperty("client_secret").GetString().Should().MatchRegex("^[0-9a-f]{64}$");

        var enabled = await RunAsync("parents", "enable", clientId, "--redirect-policy", "installation", "--callback-path", "/broker/callback",
            "--child-rate-limit", "1200", "--endpoint", "GET /photos/*", "--endpoint", "get /search/photos", "--json");
        enabled.ExitCode.Should().Be(0, enabled.Error);
        var parent = JsonDocument.Parse(enabled.Output).RootElement;
        parent.GetProperty("redirect_policy").GetString().Should().Be("installation");
        parent.GetProperty("child_rate_limit").GetInt32().Should().Be(1200);
        parent.GetProperty("child_endpoints").EnumerateArray().Select(e => e.GetString()).Should().Equal("GET /photos/*", "GET /search/photos");

        // The secret is stored only as a hash: it appears nowhere in the database file.
        var secret = app.GetProperty("client_secret").GetString()!;
        SqliteConnection.ClearAllPools();
        (await File.ReadAllTextAsync(databasePath)).Should().NotContain(secret);
    }

    [Fact]
    public async Task Users_create_refuses_a_duplicate_with_a_clear_message_and_a_nonzero_exit()
    {
        var first = await RunAsync("users", "create", "--email", "a@blog.example", "--password", "long enough pw", "--json");
        first.ExitCode.Should().Be(0, first.Error);
        JsonDocument.Parse(first.Output).RootElement.GetProperty("email").GetString().Should().Be("a@blog.example");
        var second = await RunAsync("users", "create", "--email", "A@blog.example", "--password", "long enough pw");
        second.ExitCode.Should().NotBe(0);
        second.Error.Should().Contain("exists");
    }

    [Theory]
    [InlineData("apps", "create", "--name", "x", "--redirect-uri", "http://vendor.example/cb")]
    [InlineData("apps", "create", "--redirect-uri", "https://vendor.example/cb")]
    [InlineData("parents", "enable", "NoSuchClient0000000000000000000")]
    [InlineData("users", "create", "--email", "not-an-address", "--password", "long enough pw")]
    [InlineData("users", "create", "--email", "b@blog.example", "--password", "short")]
    [InlineData("parents", "enable")]
    public async Task Bad_input_exits_nonzero_with_a_message(params string[] args)
    {
        var result = await RunAsync(args);
        result.ExitCode.Should().NotBe(0);
        (result.Error + result.Output).Should().NotBeNullOrWhiteSpace();
        result.Error.Should().NotContain("   at ", "a stack trace is not a message");
    }

    [Fact]
    public async Task Parents_enable_refuses_a_bad_endpoint_or_rate_limit()
    {
        var created = await RunAsync("apps", "create", "--name", "P", "--redirect-uri", "https://vendor.example/broker/callback", "--json");
        var clientId = JsonDocument.Parse(created.Output).RootElement.GetProperty("client_id").GetString()!;
        (await RunAsync("parents", "enable", clientId, "--endpoint", "FETCH /photos")).Error.Should().Contain("unknown method");
        (await RunAsync("parents", "enable", clientId, "--child-rate-limit", "0")).Error.Should().Contain("at least 1");
        (await RunAsync("parents", "enable", clientId, "--redirect-policy", "sometimes")).ExitCode.Should().NotBe(0);
    }

    [Fact]
    public async Task Parents_enable_on_an_existing_parent_keeps_the_settings_it_does_not_name()
    {
        var created = await RunAsync("apps", "create", "--name", "Kept", "--redirect-uri", "https://vendor.example/broker/callback", "--json");
        var clientId = JsonDocument.Parse(created.Output).RootElement.GetProperty("client_id").GetString()!;
        var first = await RunAsync("parents", "enable", clientId, "--redirect-policy", "exact", "--endpoint", "GET /collections", "--child-rate-limit", "100");
        first.ExitCode.Should().Be(0, first.Error);

        var changed = await RunAsync("parents", "enable", clientId, "--child-rate-limit", "60", "--json");

        changed.ExitCode.Should().Be(0, changed.Error);
        var parent = JsonDocument.Parse(changed.Output).RootElement;
        parent.GetProperty("child_rate_limit").GetInt32().Should().Be(60);
        parent.GetProperty("redirect_policy").GetString().Should().Be("exact", "a setting not named stays");
        parent.GetProperty("child_endpoints").EnumerateArray().Select(e => e.GetString()).Should().Equal("GET /collections");
    }

    [Fact]
    public async Task Apps_create_refuses_a_name_in_use()
    {
        (await RunAsync("apps", "create", "--name", "Twice", "--redirect-uri", "https://vendor.example/cb")).ExitCode.Should().Be(0);
        var again = await RunAsync("apps", "create", "--name", "Twice", "--redirect-uri", "https://vendor.example/cb");
        again.ExitCode.Should().NotBe(0);
        again.Error.Should().Contain("exists");
    }

    [Fact]
    public async Task Migrate_creates_the_schema_once()
    {
        var first = await RunAsync("migrate");
        first.ExitCode.Should().Be(0, first.Error);
        first.Output.Should().Contain("V001_initial");
        var second = await RunAsync("migrate");
        second.Output.Should().Contain("up to date");
    }
}

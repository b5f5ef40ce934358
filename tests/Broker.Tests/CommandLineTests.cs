using Broker.Storage;
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
        SqliteDialect.ClearAllPools();
        foreach (var suffix in new[] { "", "-wal", "-shm" })
        {
            File.Delete(databasePath + suffix);
        }
    }

    private static readonly string KeyEncryptionKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    private Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] args) => RunAsync(new Dictionary<string, string>(), args);

    private Task<(int ExitCode, string Output, string Error)> RunAsync(IReadOnlyDictionary<string, string> environment, params string[] args) =>
        BrokerProcess.RunAsync(new Dictionary<string, string>
        {
            ["Storage__ConnectionString"] = $"Data Source={databasePath}",
            // Outside Development the key ring must be encrypted, or the broker refuses to start before the fault a test is about.
            ["DataProtection__KeyEncryptionKey"] = KeyEncryptionKey,
        }.Concat(environment).GroupBy(pair => pair.Key).ToDictionary(group => group.Key, group => group.Last().Value), args);

    // A fault an operator fixes: one "error: …" line on standard error, the listed exit code, no stack trace.
    private static void ShouldFailLikeATool((int ExitCode, string Output, string Error) result, int exitCode, string message)
    {
        result.ExitCode.Should().Be(exitCode, result.Error);
        var lines = result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        lines.Should().ContainSingle().Which.Should().StartWith("error: ").And.Contain(message);
        result.Error.Should().NotContain("   at ", "a stack trace is not a message");
        // The host's own "Hosting failed to start" entry would repeat the fault, stack trace and all, in the log.
        result.Output.Should().NotContain("Hosting failed to start");
    }

    [Fact]
    public async Task The_server_refuses_to_start_on_an_unknown_storage_provider_and_names_the_three()
    {
        var refused = await RunAsync(new Dictionary<string, string> { ["Storage__Provider"] = "MySql" }, "--urls", "http://127.0.0.1:0");

        ShouldFailLikeATool(refused, 3, "Storage:Provider must be Sqlite, SqlServer or Postgres");
    }

    [Theory]
    [InlineData("Tokens__Format", "Paseto", "Tokens:Format must be Opaque or Jwt")]
    [InlineData("Tokens__Lifetime", "1.00:00:00", "Tokens:Lifetime")]
    [InlineData("Tokens__KeyPublicationLead", "00:05:00", "Tokens:KeyPublicationLead")]
    public async Task The_server_refuses_to_start_on_a_bad_token_setting_and_names_it(string variable, string value, string message)
    {
        var refused = await RunAsync(new Dictionary<string, string> { [variable] = value }, "--urls", "http://127.0.0.1:0");

        ShouldFailLikeATool(refused, 3, message);
    }

    [Fact]
    public async Task The_server_refuses_to_start_on_a_bad_gateway_setting_and_names_it()
    {
        var refused = await RunAsync(new Dictionary<string, string> { ["Gateway__QuotaStore"] = "Memcached" }, "--urls", "http://127.0.0.1:0");

        ShouldFailLikeATool(refused, 3, "Gateway:QuotaStore");
    }

    [Theory]
    [InlineData(null, "clients:read", "Console:Administrators:0 (ops@example.com): UserId is required")]
    [InlineData("0193f0c2a7d47c1e8b5a2f9d3e6c4b10", "clients:delete", "Console:Administrators:0 (ops@example.com): unknown scope 'clients:delete'")]
    public async Task The_server_refuses_to_start_on_a_console_administrator_without_a_user_id_or_with_an_unknown_scope(
        string? userId, string scope, string message)
    {
        // An entry of the old shape (an e-mail address only) is refused: an address is whatever someone typed at /account/join.
        var settings = new Dictionary<string, string>
        {
            ["Console__Administrators__0__Email"] = "ops@example.com",
            ["Console__Administrators__0__Scopes__0"] = scope,
        };
        if (userId is not null)
        {
            settings["Console__Administrators__0__UserId"] = userId;
        }
        var refused = await RunAsync(settings, "--urls", "http://127.0.0.1:0");

        ShouldFailLikeATool(refused, 3, message);
    }

    [Theory]
    [InlineData("6f1d2c3b-0000-4000-8000-00000000abcd", null, "AzureAd:ClientSecret")]
    [InlineData("organizations", "a secret", "AzureAd:TenantId to name your tenant")]
    [InlineData(null, "a secret", "AzureAd:TenantId to name your tenant")]
    public async Task The_server_refuses_to_start_the_consoles_entra_sign_in_without_a_secret_or_for_a_shared_tenant(
        string? tenantId, string? secret, string message)
    {
        // A multi-tenant sign-in would let another organisation's administrators grant our app roles.
        var settings = new Dictionary<string, string>
        {
            ["Console__EntraId"] = "true",
            ["AzureAd__Instance"] = "https://login.microsoftonline.com/",
            ["AzureAd__ClientId"] = "0a1b2c3d-1111-4222-8333-444455556666",
        };
        if (tenantId is not null)
        {
            settings["AzureAd__TenantId"] = tenantId;
        }
        if (secret is not null)
        {
            settings["AzureAd__ClientSecret"] = secret;
        }
        var refused = await RunAsync(settings, "--urls", "http://127.0.0.1:0");

        ShouldFailLikeATool(refused, 3, message);
    }

    [Fact]
    public async Task The_server_refuses_redis_quotas_without_a_redis_server()
    {
        var refused = await RunAsync(new Dictionary<string, string> { ["Gateway__QuotaStore"] = "Redis" }, "--urls", "http://127.0.0.1:0");

        ShouldFailLikeATool(refused, 3, "Redis:Configuration");
    }

    [Fact]
    public async Task The_server_says_its_port_is_in_use()
    {
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        var port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;

        var refused = await RunAsync("--urls", $"http://127.0.0.1:{port}");

        ShouldFailLikeATool(refused, 4, $"127.0.0.1:{port}");
        refused.Error.Should().Contain("--urls");
    }

    [Theory]
    [InlineData("missing directory")]
    [InlineData("a file where the directory should be")]
    public async Task A_sqlite_path_that_cannot_be_used_is_named_with_the_fix(string fault)
    {
        var blocker = Path.Combine(Path.GetTempPath(), $"broker-cli-{Guid.NewGuid():N}");
        if (fault != "missing directory")
        {
            await File.WriteAllTextAsync(blocker, "");
        }
        try
        {
            var path = Path.Combine(blocker, "broker.db");
            var environment = new Dictionary<string, string> { ["Storage__ConnectionString"] = $"Data Source={path}" };

            ShouldFailLikeATool(await RunAsync(environment, "migrate"), 3, path);
            ShouldFailLikeATool(await RunAsync(environment, "--urls", "http://127.0.0.1:0"), 3, "Storage:ConnectionString");
        }
        finally
        {
            File.Delete(blocker);
        }
    }

    [Fact]
    public async Task Migrate_says_the_database_cannot_be_reached()
    {
        using var closed = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        closed.Start();
        var port = ((System.Net.IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();

        var refused = await RunAsync(new Dictionary<string, string>
        {
            ["Storage__Provider"] = "Postgres",
            ["Storage__ConnectionString"] = $"Host=127.0.0.1;Port={port};Username=broker;Password=x;Database=broker;Timeout=3",
            ["Storage__Retries"] = "0",
        }, "migrate");

        ShouldFailLikeATool(refused, 4, "Storage:ConnectionString");
    }

    [Theory]
    [InlineData("--version")]
    [InlineData("-v")]
    public async Task Version_prints_the_version_and_never_starts_the_server(string option)
    {
        var result = await RunAsync(option);

        result.ExitCode.Should().Be(0, result.Error);
        result.Output.Trim().Should().MatchRegex(@"^\d+\.\d+\.\d+");
    }

    [Theory]
    [InlineData("error: unknown command 'app'; did you mean 'apps'?", "app", "create")]
    [InlineData("error: unknown command 'parent'; did you mean 'parents'?", "parent", "enable", "X")]
    [InlineData("error: unknown command 'foo'; see --help", "foo")]
    [InlineData("error: unknown option '-x'; see --help", "-x")]
    public async Task An_unknown_first_argument_is_a_usage_error_and_never_starts_the_server(string message, params string[] args)
    {
        ShouldFailLikeATool(await RunAsync(args), 1, message);
    }

    [Theory]
    [InlineData("--environment", "Production", "--Storage:Provider=MySql")]
    [InlineData("--Storage:Provider=MySql")]
    [InlineData("/Storage:Provider", "MySql")]
    [InlineData("Storage:Provider=MySql")]
    public async Task Host_switches_still_start_the_server(params string[] args)
    {
        // The switch names a provider that does not exist, so the server's own start-up check answers.
        ShouldFailLikeATool(await RunAsync(args), 3, "Storage:Provider must be Sqlite, SqlServer or Postgres");
    }

    [Fact]
    public async Task Json_output_is_only_json_on_standard_output_even_with_every_log_on()
    {
        var noisy = new Dictionary<string, string> { ["Logging__LogLevel__Default"] = "Trace", ["DOTNET_ENVIRONMENT"] = "Development" };

        var migrated = await RunAsync(noisy, "migrate", "--json");
        var created = await RunAsync(noisy, "apps", "create", "--name", "Quiet", "--redirect-uri", "https://vendor.example/broker/callback", "--json");
        var clientId = JsonDocument.Parse(created.Output).RootElement.GetProperty("client_id").GetString()!;
        var enabled = await RunAsync(noisy, "parents", "enable", clientId, "--json");
        var user = await RunAsync(noisy, "users", "create", "--email", "quiet@blog.example", "--password", "long enough pw", "--json");

        foreach (var result in new[] { migrated, created, enabled, user })
        {
            result.ExitCode.Should().Be(0, result.Error);
            JsonDocument.Parse(result.Output).RootElement.ValueKind.Should().Be(JsonValueKind.Object, result.Output);
        }
        JsonDocument.Parse(migrated.Output).RootElement.GetProperty("applied").EnumerateArray().Should().NotBeEmpty();
        var refused = await RunAsync(noisy, "parents", "enable", "--json");
        refused.ExitCode.Should().Be(1);
        refused.Output.Should().BeEmpty("a refusal prints nothing where the JSON would go");
        refused.Error.Should().StartWith("error: ");
    }

    [Fact]
    public async Task The_demo_script_says_the_broker_cannot_be_reached_and_creates_nothing()
    {
        using var closed = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        closed.Start();
        var port = ((System.Net.IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "scripts", "demo.sh")))
        {
            root = Path.GetDirectoryName(root) ?? throw new InvalidOperationException("scripts/demo.sh not found above the test assembly");
        }
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(root, "scripts", "demo.sh"));
        start.ArgumentList.Add($"http://127.0.0.1:{port}");
        start.Environment["Storage__ConnectionString"] = $"Data Source={databasePath}";

        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));

        process.ExitCode.Should().NotBe(0);
        (await error).Should().Contain($"cannot reach the broker at http://127.0.0.1:{port}");
        File.Exists(databasePath).Should().BeFalse("nothing is created for a broker that is not there");
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
        SqliteDialect.ClearAllPools();
        (await File.ReadAllTextAsync(databasePath)).Should().NotContain(secret);
    }

    [Fact]
    public async Task Users_create_refuses_a_duplicate_with_a_clear_message_and_a_nonzero_exit()
    {
        var first = await RunAsync("users", "create", "--email", "a@blog.example", "--password", "long enough pw", "--json");
        first.ExitCode.Should().Be(0, first.Error);
        JsonDocument.Parse(first.Output).RootElement.GetProperty("email").GetString().Should().Be("a@blog.example");
        // The id is what Console:Administrators lists, so both outputs print it.
        JsonDocument.Parse(first.Output).RootElement.GetProperty("user_id").GetString().Should().MatchRegex("^[0-9a-f]{32}$");
        var text = await RunAsync("users", "create", "--email", "b@blog.example", "--password", "long enough pw");
        text.ExitCode.Should().Be(0, text.Error);
        text.Output.Should().MatchRegex(@"Created user b@blog\.example \([0-9a-f]{32}\)");
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
        // The host's own "Hosting failed to start" entry would repeat the fault, stack trace and all, in the log.
        result.Output.Should().NotContain("Hosting failed to start");
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

/// <summary>Which database faults are an operator's to fix (exit 4) and which are bugs (kept with their stack trace).</summary>
public sealed class StartupFailureTests
{
    private static readonly Microsoft.Extensions.Configuration.IConfiguration NoSettings =
        new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build();

    [Theory]
    [InlineData("28P01")]
    [InlineData("3D000")]
    [InlineData("08006")]
    public void A_database_refusing_the_connection_is_unavailable(string sqlState)
    {
        var refused = new Npgsql.PostgresException("refused", "FATAL", "FATAL", sqlState);

        Hosting.StartupFailure.Describe(new InvalidOperationException("start-up", refused), NoSettings)!.Value.ExitCode.Should().Be(4);
    }

    [Fact]
    public void A_failing_statement_is_a_bug_not_an_unavailable_database()
    {
        Hosting.StartupFailure.Describe(new Npgsql.PostgresException("syntax error at or near \"SELEC\"", "ERROR", "ERROR", "42601"), NoSettings)
            .Should().BeNull();
        Hosting.StartupFailure.Describe(new Microsoft.Data.Sqlite.SqliteException("SQLite Error 19: 'UNIQUE constraint failed'", 19), NoSettings)
            .Should().BeNull();
    }
}

using System.Text.Json;
using Broker.Cli;
using Broker.Core.Platform;
using Broker.Core.Security;
using Broker.Core.Stores;
using Broker.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.Tests.PlatformApi;

/// <summary>The platform commands: the local bootstrap of admin tokens, and the admin API over HTTP.</summary>
public sealed class CommandLineTests : IAsyncLifetime
{
    private readonly PlatformHarness harness = new();
    private string token = "";

    public async Task InitializeAsync()
    {
        await harness.InitializeAsync();
        token = await harness.AdminTokenAsync([.. AdminScopes.All]);
    }

    public Task DisposeAsync() => harness.DisposeAsync();

    private async Task<(int Exit, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await BrokerCli.RunAsync(args, output, error, harness.Broker.Server.CreateHandler());
        return (exit, output.ToString(), error.ToString());
    }

    private Task<(int Exit, string Output, string Error)> RemoteAsync(params string[] args) =>
        RunAsync([.. args, "--url", BrokerFactory.Issuer, "--token", token]);

    [Fact]
    public async Task Enabling_a_parent_over_http_prints_a_table_or_json()
    {
        var app = await harness.Broker.CreateApplicationAsync("Vendor", "https://vendor.example/cb");

        var table = await RemoteAsync("parents", "enable", app.Client.ClientId, "--callback-path", "/cb", "--child-rate-limit", "42");
        table.Exit.Should().Be(0, table.Error);
        table.Output.Should().StartWith("client_id").And.Contain(app.Client.ClientId).And.Contain("parent").And.Contain("42");

        var json = await RemoteAsync("parents", "enable", app.Client.ClientId, "--callback-path", "/cb", "--child-rate-limit", "43", "--json");
        JsonSerializer.Deserialize<JsonElement>(json.Output).GetProperty("child_rate_limit").GetInt32().Should().Be(43);
    }

    [Fact]
    public async Task Enabling_an_existing_parent_over_http_changes_only_what_is_named_and_brings_a_disabled_one_back()
    {
        var parent = harness.Parent.Client.ClientId;
        var first = await RemoteAsync("parents", "enable", parent, "--redirect-policy", "exact", "--endpoint", "GET /collections");
        first.Exit.Should().Be(0, first.Error);

        var changed = await RemoteAsync("parents", "enable", parent, "--child-rate-limit", "60", "--json");

        changed.Exit.Should().Be(0, changed.Error);
        var body = JsonSerializer.Deserialize<JsonElement>(changed.Output);
        body.GetProperty("child_rate_limit").GetInt32().Should().Be(60);
        body.GetProperty("redirect_policy").GetString().Should().Be("exact");
        body.GetProperty("child_endpoints").EnumerateArray().Select(e => e.GetString()).Should().Equal("GET /collections");

        (await harness.Platform.DisableParentAsync(parent, false, AuditActor.CommandLine, null)).Problem.Should().BeNull();
        var back = await RemoteAsync("parents", "enable", parent, "--json");
        back.Exit.Should().Be(0, back.Error);
        body = JsonSerializer.Deserialize<JsonElement>(back.Output);
        body.GetProperty("status").GetString().Should().Be("active");
        body.GetProperty("child_rate_limit").GetInt32().Should().Be(60);
        body.GetProperty("child_endpoints").EnumerateArray().Select(e => e.GetString()).Should().Equal("GET /collections");
    }

    [Fact]
    public async Task Children_are_listed_and_revoked_and_secrets_rotated_and_the_audit_read_over_http()
    {
        var child = await harness.CreateChildAsync("Blog One");
        var parent = harness.Parent.Client.ClientId;

        var list = await RemoteAsync("children", "list", parent);
        list.Exit.Should().Be(0, list.Error);
        list.Output.Should().Contain(child).And.Contain("Blog One").And.Contain("https://blog.example");

        var revoke = await RemoteAsync("children", "revoke", child, "--json");
        revoke.Exit.Should().Be(0, revoke.Error);
        JsonSerializer.Deserialize<JsonElement>(revoke.Output).GetProperty("status").GetString().Should().Be("revoked");

        var rotate = await RemoteAsync("parents", "rotate-secret", parent, "--json");
        rotate.Exit.Should().Be(0, rotate.Error);
        var secret = JsonSerializer.Deserialize<JsonElement>(rotate.Output).GetProperty("client_secret").GetString()!;
        var stored = await harness.Broker.Services.GetRequiredService<IClientStore>().FindAsync(parent);
        Secret.Matches(secret, stored!.SecretHash).Should().BeTrue();

        var audit = await RemoteAsync("audit", "--target", $"client:{child}");
        audit.Exit.Should().Be(0, audit.Error);
        audit.Output.Should().Contain(AuditActions.ChildDeleted).And.Contain(AuditActions.ChildCreated);
    }

    [Fact]
    public async Task Parents_owner_names_the_vendor_by_e_mail_or_user_id_and_clears_it_over_http()
    {
        var parent = harness.Parent.Client.ClientId;
        var vendor = await harness.Broker.CreateUserAsync("vendor@ghost-plugins.example");

        var byEmail = await RemoteAsync("parents", "owner", parent, "--email", "vendor@ghost-plugins.example", "--json");
        byEmail.Exit.Should().Be(0, byEmail.Error);
        JsonSerializer.Deserialize<JsonElement>(byEmail.Output).GetProperty("owner_user_id").GetString().Should().Be(vendor.UserId);

        var byId = await RemoteAsync("parents", "owner", parent, "--user-id", harness.OwnerUserId);
        byId.Exit.Should().Be(0, byId.Error);
        byId.Output.Should().StartWith("client_id").And.Contain(parent).And.Contain(harness.OwnerUserId);

        var cleared = await RemoteAsync("parents", "owner", parent, "--clear", "--json");
        cleared.Exit.Should().Be(0, cleared.Error);
        JsonSerializer.Deserialize<JsonElement>(cleared.Output).GetProperty("owner_user_id").ValueKind.Should().Be(JsonValueKind.Null);

        var audit = await RemoteAsync("audit", "--action", AuditActions.ParentOwnerChanged, "--target", $"client:{parent}");
        audit.Output.Should().Contain("owner removed").And.Contain($"owner=user:{vendor.UserId}").And.Contain($"owner=user:{harness.OwnerUserId}");
    }

    [Theory]
    [InlineData("usage", "exactly one of --email or --user-id")]
    [InlineData("usage", "exactly one of --email or --user-id", "--clear", "--email", "owner@blog.example")]
    [InlineData("refused", "400 Bad Request: no account has this e-mail", "--email", "nobody@nowhere.example")]
    [InlineData("refused", "400 Bad Request: no account has the user id", "--user-id", "Unosuchuser000000000000000")]
    public async Task Parents_owner_refuses_an_ambiguous_command_or_an_unknown_account_and_changes_nothing(string kind, string message, params string[] options)
    {
        var parent = harness.Parent.Client.ClientId;
        var version = (await harness.Broker.Services.GetRequiredService<IClientStore>().FindAsync(parent))!.Version;

        var (exit, output, error) = await RemoteAsync(["parents", "owner", parent, .. options]);

        exit.Should().Be(kind == "usage" ? ExitCodes.Usage : ExitCodes.BadInput);
        error.Should().Contain(message);
        output.Should().BeEmpty();
        (await harness.Broker.Services.GetRequiredService<IClientStore>().FindAsync(parent))!.Version.Should().Be(version);
    }

    [Fact]
    public async Task Refusals_are_one_error_line_and_exit_code_2()
    {
        var unknown = await RemoteAsync("children", "revoke", "Achildthatdoesnotexist0000000000");
        unknown.Exit.Should().Be(2);
        unknown.Error.Should().Contain("404").And.Contain("no child");

        var badToken = await RunAsync("audit", "--url", BrokerFactory.Issuer, "--token", Secret.NewToken());
        badToken.Exit.Should().Be(2);
        badToken.Error.Should().Contain("401");

        var cleartext = await RunAsync("audit", "--url", "http://broker.example", "--token", token);
        cleartext.Exit.Should().Be(2);
        cleartext.Error.Should().Contain("https");
    }
}

/// <summary>The local bootstrap command, which reads the database location from the environment.</summary>
[CollectionDefinition(nameof(ProcessEnvironment), DisableParallelization = true)]
public sealed class ProcessEnvironment;

[Collection(nameof(ProcessEnvironment))]
public sealed class AdminTokenCommandTests : IAsyncLifetime
{
    private readonly PlatformHarness harness = new();

    public Task InitializeAsync() => harness.InitializeAsync();

    public Task DisposeAsync() => harness.DisposeAsync();

    // The command reads Storage:ConnectionString from the environment, as in production.
    private async Task<(int Exit, string Output, string Error)> RunLocalAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        Environment.SetEnvironmentVariable("Storage__ConnectionString", $"Data Source={harness.Broker.DatabasePath}");
        try
        {
            var exit = await BrokerCli.RunAsync(args, output, error);
            return (exit, output.ToString(), error.ToString());
        }
        finally
        {
            Environment.SetEnvironmentVariable("Storage__ConnectionString", null);
        }
    }

    [Fact]
    public async Task Admin_tokens_create_prints_the_token_once_as_json_and_stores_only_its_hash()
    {
        var (exit, output, error) = await RunLocalAsync(
            "admin-tokens", "create", "--name", "ops", "--scope", "clients:read", "--scope", "audit:read", "--json");

        exit.Should().Be(0, error);
        var value = JsonSerializer.Deserialize<JsonElement>(output).GetProperty("token").GetString()!;
        var stored = await harness.Broker.Services.GetRequiredService<IAdminTokenStore>().FindByHashAsync(Secret.Hash(value));
        stored!.Scopes.Should().Equal(AdminScopes.ClientsRead, AdminScopes.AuditRead);
        var admin = harness.Broker.CreateApiClient();
        admin.DefaultRequestHeaders.Authorization = new("SSWS", value);
        (await admin.GetAsync("/admin/v1/audit")).StatusCode.Should().Be(System.Net.HttpStatusCode.OK);
    }

    [Fact]
    public async Task Admin_tokens_create_refuses_unknown_scopes()
    {
        var (exit, _, error) = await RunLocalAsync("admin-tokens", "create", "--name", "ops", "--scope", "root");

        exit.Should().Be(2);
        error.Should().Contain("unknown scope 'root'");
    }
}

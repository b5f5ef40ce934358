using System.CommandLine;
using System.Text.Json;
using Broker.Accounts;
using Broker.Core.Clients;
using Broker.Hosting;
using Broker.Installation;
using Broker.Platform;
using Broker.Storage;

namespace Broker.Cli;

/// <summary>
/// The same executable as a command-line tool: <c>dotnet run --project src/Broker -- &lt;command&gt;</c>.
/// Local bootstrap commands that work on the configured database directly.
/// </summary>
public static partial class BrokerCli
{
    private static readonly string[] Commands = ["migrate", "apps", "parents", "users", "admin-tokens", "children", "audit"];

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>Whether the arguments name a command rather than start the server.</summary>
    public static bool IsCommand(string[] args) => args.Length > 0 && (Commands.Contains(args[0]) || args[0] is "--help" or "-h" or "-?");

    public static Task<int> RunAsync(string[] args, TextWriter output, TextWriter error) => RunAsync(args, output, error, null);

    /// <summary>As above; <paramref name="handler"/> carries the HTTP commands (tests pass the in-process server's).</summary>
    internal static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, HttpMessageHandler? handler)
    {
        var remote = new Remote(output, error, handler);
        var root = new RootCommand("Broker: per-installation API keys. Without a command, runs the server.");
        root.Subcommands.Add(MigrateCommand(output));
        root.Subcommands.Add(AppsCommand(output, error));
        root.Subcommands.Add(ParentsCommand(output, error, remote));
        root.Subcommands.Add(UsersCommand(output, error));
        root.Subcommands.Add(AdminTokensCommand(output, error));
        root.Subcommands.Add(ChildrenCommand(remote));
        root.Subcommands.Add(AuditCommand(remote));
        var configuration = new InvocationConfiguration { Output = output, Error = error };
        return await root.Parse(args).InvokeAsync(configuration);
    }

    private static Option<bool> JsonOption() => new("--json") { Description = "Print JSON instead of text." };

    private static Command MigrateCommand(TextWriter output)
    {
        var command = new Command("migrate", "Create or update the database schema.");
        command.SetAction(async (_, cancellationToken) =>
        {
            await using var services = BuildServices();
            var applied = await services.GetRequiredService<MigrationRunner>().MigrateAsync(cancellationToken);
            await output.WriteLineAsync(applied.Count == 0 ? "The schema is up to date." : $"Applied: {string.Join(", ", applied)}");
            return 0;
        });
        return command;
    }

    private static Command AppsCommand(TextWriter output, TextWriter error)
    {
        var name = new Option<string>("--name") { Description = "The application's name.", Required = true };
        var redirectUris = new Option<string[]>("--redirect-uri") { Description = "A redirect URI (repeatable).", Arity = ArgumentArity.ZeroOrMore };
        var json = JsonOption();
        var create = new Command("create", "Create an application; prints its client_id and client_secret once.") { name, redirectUris, json };
        create.SetAction(async (parse, cancellationToken) =>
        {
            await using var services = await MigratedServicesAsync(cancellationToken);
            var result = await services.GetRequiredService<ClientAdministration>().CreateApplicationAsync(
                parse.GetValue(name)!, parse.GetValue(redirectUris) ?? [], cancellationToken);
            if (result.Problem is not null)
            {
                return await FailAsync(error, result.Problem);
            }
            var (client, secret) = (result.Value!.Client, result.Value.ClientSecret);
            await WriteAsync(output, parse.GetValue(json),
                new { client_id = client.ClientId, client_secret = secret, name = client.Name, redirect_uris = client.RedirectUris },
                $"client_id:     {client.ClientId}\nclient_secret: {secret}\nThe secret is shown only now; store it safely.");
            return 0;
        });
        return new Command("apps", "Applications.") { create };
    }

    private static Command ParentsCommand(TextWriter output, TextWriter error, Remote remote)
    {
        var clientId = new Argument<string>("CLIENT_ID") { Description = "The application to promote, or the parent to change." };
        var policy = new Option<string?>("--redirect-policy") { Description = "exact or installation (a new parent: installation)." };
        policy.AcceptOnlyFromAmong("exact", "installation");
        var callbackPath = new Option<string?>("--callback-path") { Description = "Installation policy: the callback path every installation uses." };
        var childRateLimit = new Option<int?>("--child-rate-limit") { Description = "Requests per hour for each child (a new parent: 3000)." };
        var endpoints = new Option<string[]>("--endpoint") { Description = "An endpoint children may call, as \"GET /photos/*\" (repeatable).", Arity = ArgumentArity.ZeroOrMore };
        var json = JsonOption();
        var enable = new Command("enable", "Make an application an active parent, or change a parent: settings not named stay as they are (over HTTP with --url).")
        {
            clientId, policy, callbackPath, childRateLimit, endpoints, json, remote.Url, remote.Token,
        };
        enable.SetAction(async (parse, cancellationToken) =>
        {
            var change = new ParentSettingsChange
            {
                RedirectPolicy = parse.GetValue(policy) is { } named ? Setting.To<RedirectPolicy?>(named == "exact" ? RedirectPolicy.Exact : RedirectPolicy.Installation) : default,
                CallbackPath = parse.GetValue(callbackPath) is { } path ? Setting.To<string?>(path) : default,
                ChildRateLimit = parse.GetValue(childRateLimit) is { } limit ? Setting.To<int?>(limit) : default,
                ChildEndpoints = parse.GetValue(endpoints) is { Length: > 0 } list ? Setting.To<IReadOnlyList<string>?>(list) : default,
            };
            if (parse.GetValue(remote.Url) is not null)
            {
                return await remote.EnableParentAsync(parse, parse.GetValue(clientId)!, change, parse.GetValue(json), cancellationToken);
            }
            await using var services = await MigratedServicesAsync(cancellationToken);
            var result = await services.GetRequiredService<ClientAdministration>().ChangeParentAsync(
                parse.GetValue(clientId)!, change, ParentUpdate.Enable, cancellationToken: cancellationToken);
            if (result.Problem is not null)
            {
                return await FailAsync(error, result.Problem);
            }
            var parent = result.Value!;
            var policyName = parent.RedirectPolicy.ToString().ToLowerInvariant();
            await WriteAsync(output, parse.GetValue(json),
                new
                {
                    client_id = parent.ClientId,
                    redirect_policy = policyName,
                    callback_path = parent.CallbackPath,
                    child_rate_limit = parent.ChildRateLimit,
                    child_endpoints = parent.ChildEndpoints,
                },
                $"{parent.ClientId} is a parent: policy {policyName}{(parent.CallbackPath is null ? "" : $" (callback path {parent.CallbackPath})")}, " +
                $"{parent.ChildRateLimit} requests/hour per child, endpoints: {string.Join(", ", parent.ChildEndpoints ?? [])}");
            return 0;
        });
        return new Command("parents", "Parent applications.") { enable, RotateSecretCommand(remote) };
    }

    private static Command UsersCommand(TextWriter output, TextWriter error)
    {
        var email = new Option<string>("--email") { Description = "The user's e-mail address.", Required = true };
        var password = new Option<string>("--password") { Description = "At least 8 characters.", Required = true };
        var json = JsonOption();
        var create = new Command("create", "Create a site owner's account.") { email, password, json };
        create.SetAction(async (parse, cancellationToken) =>
        {
            await using var services = await MigratedServicesAsync(cancellationToken);
            var result = await services.GetRequiredService<ClientAdministration>().CreateUserAsync(
                parse.GetValue(email)!, parse.GetValue(password)!, cancellationToken);
            if (result.Problem is not null)
            {
                return await FailAsync(error, result.Problem);
            }
            var user = result.Value!;
            await WriteAsync(output, parse.GetValue(json), new { user_id = user.UserId, email = user.Email },
                $"Created user {user.Email} ({user.UserId}).");
            return 0;
        });
        return new Command("users", "Site owners' accounts.") { create };
    }

    private static Command AdminTokensCommand(TextWriter output, TextWriter error)
    {
        var name = new Option<string>("--name") { Description = "What the token is for (who holds it).", Required = true };
        var scopes = new Option<string[]>("--scope")
        {
            Description = $"A scope (repeatable): {string.Join(", ", Core.Platform.AdminScopes.All)}.",
            Arity = ArgumentArity.OneOrMore,
            AllowMultipleArgumentsPerToken = true,
            Required = true,
        };
        var json = JsonOption();
        var create = new Command("create", "Create an admin API token (Authorization: SSWS <token>); prints it once.") { name, scopes, json };
        create.SetAction(async (parse, cancellationToken) =>
        {
            await using var services = await MigratedServicesAsync(cancellationToken);
            var result = await services.GetRequiredService<PlatformAdministration>().CreateAdminTokenAsync(
                parse.GetValue(name)!, parse.GetValue(scopes) ?? [], Core.Platform.AuditActor.CommandLine, cancellationToken);
            if (result.Problem is not null)
            {
                return await FailAsync(error, result.Problem);
            }
            var (token, value) = (result.Value!.Token, result.Value.Value);
            await WriteAsync(output, parse.GetValue(json), new { token = value, id = token.TokenId, scopes = token.Scopes },
                $"token: {value}\nid:    {token.TokenId}\nscopes: {string.Join(' ', token.Scopes)}\nThe token is shown only now; send it as Authorization: SSWS <token>.");
            return 0;
        });
        return new Command("admin-tokens", "Admin API tokens.") { create };
    }

    private static async Task<int> FailAsync(TextWriter error, string problem)
    {
        await error.WriteLineAsync($"error: {problem}");
        return ExitCodes.BadInput;
    }

    private static Task WriteAsync(TextWriter output, bool json, object value, string text) =>
        output.WriteLineAsync(json ? JsonSerializer.Serialize(value, Json) : text);

    private static async Task<ServiceProvider> MigratedServicesAsync(CancellationToken cancellationToken)
    {
        var services = BuildServices();
        await services.GetRequiredService<MigrationRunner>().MigrateAsync(cancellationToken);
        return services;
    }

    // The server's configuration sources (appsettings, environment), without the web host.
    private static ServiceProvider BuildServices()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.Services.AddBrokerStorage(builder.Configuration);
        builder.Services.AddInstallation(builder.Configuration);
        builder.Services.AddAccountsCore(builder.Configuration);
        builder.Services.AddPlatformCore(builder.Configuration);
        return builder.Services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
    }
}

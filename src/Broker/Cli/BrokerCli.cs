using System.CommandLine;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Text.Json;
using Broker.Accounts;
using Broker.Core.Clients;
using Broker.Hosting;
using Broker.Installation;
using Broker.Platform;
using Broker.Storage;
using Microsoft.Extensions.Logging.Console;

namespace Broker.Cli;

/// <summary>
/// The same executable as a command-line tool: <c>dotnet run --project src/Broker -- &lt;command&gt;</c>.
/// Local bootstrap commands that work on the configured database directly.
/// </summary>
public static partial class BrokerCli
{
    private static readonly string[] Commands = ["migrate", "apps", "parents", "users", "admin-tokens", "children", "audit", "clients", "trusted-issuers", "webhooks"];

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>
    /// Whether the arguments are the command line's rather than the server's. Only ASP.NET Core's host
    /// switches start the server (<c>--urls …</c>, <c>--environment …</c>, <c>--Key=Value</c>,
    /// <c>/Key Value</c>, <c>Key=Value</c>); any other first argument is a command, <c>--help</c>,
    /// <c>--version</c>, or a mistake the command line reports (DESIGN.md, Command line).
    /// </summary>
    public static bool IsCommand(string[] args) =>
        args.Length > 0 && (args[0] is "--help" or "--version" || !IsHostSwitch(args[0]));

    private static bool IsHostSwitch(string argument) =>
        argument.StartsWith("--", StringComparison.Ordinal) || argument.StartsWith('/') || argument.Contains('=');

    public static Task<int> RunAsync(string[] args, TextWriter output, TextWriter error) => RunAsync(args, output, error, null);

    /// <summary>As above; <paramref name="handler"/> carries the HTTP commands (tests pass the in-process server's).</summary>
    internal static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, HttpMessageHandler? handler)
    {
        var remote = new Remote(output, error, handler);
        var root = new RootCommand("Broker: per-installation API keys. Without a command, or with only host switches such as --urls, runs the server.");
        root.Options.OfType<VersionOption>().Single().Aliases.Add("-v");
        root.Subcommands.Add(MigrateCommand(output));
        root.Subcommands.Add(AppsCommand(output, error));
        root.Subcommands.Add(ParentsCommand(output, error, remote));
        root.Subcommands.Add(UsersCommand(output, error));
        root.Subcommands.Add(AdminTokensCommand(output, error));
        root.Subcommands.Add(ChildrenCommand(remote));
        root.Subcommands.Add(AuditCommand(remote));
        root.Subcommands.Add(ClientsCommand(output, error));
        root.Subcommands.Add(TrustedIssuersCommand(output, error));
        root.Subcommands.Add(WebhooksCommand(remote));
        // Reject an unknown first word, with the nearest command when there is one.
        if (args.Length > 0 && !root.Subcommands.Any(command => command.Name == args[0])
            && !root.Options.Any(option => option.Name == args[0] || option.Aliases.Contains(args[0])))
        {
            await error.WriteLineAsync(UnknownFirstArgument(args[0], root));
            return ExitCodes.Usage;
        }
        var parse = root.Parse(args);
        // Reject what the parser could not read: error lines only, no help text on standard output, where --json output goes.
        if (parse.Action is ParseErrorAction)
        {
            foreach (var parseError in parse.Errors)
            {
                await error.WriteLineAsync($"error: {parseError.Message}");
            }
            var path = string.Join(' ', CommandPath(parse.CommandResult));
            await error.WriteLineAsync(path.Length == 0 ? "see --help" : $"see '{path} --help'");
            return ExitCodes.Usage;
        }
        try
        {
            return await parse.InvokeAsync(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
        }
        catch (Exception exception) when (StartupFailure.Describe(exception, CreateBuilder().Configuration) is { } failure)
        {
            await error.WriteLineAsync($"error: {failure.Message}");
            return failure.ExitCode;
        }
    }

    private static string UnknownFirstArgument(string argument, RootCommand root)
    {
        if (argument.StartsWith('-'))
        {
            return $"error: unknown option '{argument}'; see --help";
        }
        var nearest = root.Subcommands.Select(command => command.Name).MinBy(name => EditDistance(argument, name));
        var hint = nearest is not null && EditDistance(argument, nearest) <= 2 ? $"did you mean '{nearest}'? " : "";
        return $"error: unknown command '{argument}'; {hint}see --help";
    }

    // Levenshtein distance: how many single-character edits turn one word into the other.
    private static int EditDistance(string a, string b)
    {
        var previous = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var current = new int[b.Length + 1];
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                current[j] = Math.Min(Math.Min(current[j - 1], previous[j]) + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            }
            previous = current;
        }
        return previous[b.Length];
    }

    private static IEnumerable<string> CommandPath(CommandResult? result)
    {
        var names = new Stack<string>();
        for (var current = result; current is not null && current.Command is not RootCommand; current = current.Parent as CommandResult)
        {
            names.Push(current.Command.Name);
        }
        return names;
    }

    private static Option<bool> JsonOption() => new("--json") { Description = "Print JSON instead of text." };

    private static Command MigrateCommand(TextWriter output)
    {
        var json = JsonOption();
        var command = new Command("migrate", "Create or update the database schema.") { json };
        command.SetAction(async (parse, cancellationToken) =>
        {
            await using var services = BuildServices();
            var applied = await services.GetRequiredService<MigrationRunner>().MigrateAsync(cancellationToken);
            await WriteAsync(output, parse.GetValue(json), new { applied },
                applied.Count == 0 ? "The schema is up to date." : $"Applied: {string.Join(", ", applied)}");
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
                new { client_id = client.ClientId, client_secret = secret, name = client.Name, redirect_uris = client.Metadata.RedirectUris },
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
            var settings = (ParentRole)parent.Role;
            var policyName = settings.RedirectPolicy.ToString().ToLowerInvariant();
            await WriteAsync(output, parse.GetValue(json),
                new
                {
                    client_id = parent.ClientId,
                    redirect_policy = policyName,
                    callback_path = settings.CallbackPath,
                    child_rate_limit = settings.ChildRateLimit,
                    child_endpoints = settings.ChildEndpoints,
                },
                $"{parent.ClientId} is a parent: policy {policyName}{(settings.CallbackPath is null ? "" : $" (callback path {settings.CallbackPath})")}, " +
                $"{settings.ChildRateLimit} requests/hour per child, endpoints: {string.Join(", ", settings.ChildEndpoints ?? [])}");
            return 0;
        });
        return new Command("parents", "Parent applications.") { enable, RotateSecretCommand(remote), OwnerCommand(remote) };
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
    private static HostApplicationBuilder CreateBuilder() =>
        Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [], ContentRootPath = AppContext.BaseDirectory });

    private static ServiceProvider BuildServices()
    {
        var builder = CreateBuilder();
        // Logs go to standard error: standard output is the command's answer (JSON with --json, for jq).
        builder.Services.Configure<ConsoleLoggerOptions>(options => options.LogToStandardErrorThreshold = LogLevel.Trace);
        // A command that cannot reach the database says so in its one error line; the server's outage
        // warning would only repeat it.
        builder.Logging.AddFilter<ConsoleLoggerProvider>(typeof(Storage.Database).FullName, LogLevel.Error);
        builder.Services.AddBrokerStorage(builder.Configuration);
        builder.Services.AddSharedOptions(builder.Configuration);
        builder.Services.AddAccountsCore();
        builder.Services.AddPlatform();
        return builder.Services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
    }
}

using Broker.Accounts;
using Broker.Cli;
using Broker.Console;
using Broker.Gateway;
using Broker.Hosting;
using Broker.Http;
using Broker.Installation;
using Broker.Operations;
using Broker.Platform;
using Broker.Registration;
using Broker.Webhooks;

if (BrokerCli.IsCommand(args))
{
    return await BrokerCli.RunAsync(args, Console.Out, Console.Error);
}

// The content root is the app's folder, not the working directory: appsettings.json is read from there.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.AddWebSecurity();
builder.Services.AddBrokerStorage(builder.Configuration);
builder.Services.AddSharedState(builder.Configuration);
builder.Services.AddHostedService<MigrateOnStart>();
builder.Services.AddSharedOptions(builder.Configuration);
builder.Services.AddSharedServices(builder.Configuration);
builder.Services.AddTelemetry(builder.Configuration);
builder.Services.AddInstallation();
builder.Services.AddAccounts(builder.Configuration);
builder.Services.AddRegistration();
builder.Services.AddPlatform();
builder.Services.AddConsole(builder.Configuration);
builder.Services.AddWebhooks(builder.Configuration);
builder.Services.AddRetention(builder.Configuration);
builder.Services.AddApiDocuments();
builder.Services.AddHostedService<DevelopmentSeed>();
builder.Services.AddGateway(builder.Configuration);

var app = builder.Build();
// A start-up fault an operator fixes (a setting, the database, the port) is one line and an exit code, not a crash.
// (builder.Configuration, not app.Configuration: RunAsync has disposed the app's services when start-up fails.)
try
{
    app.UseExceptionHandler(WebSecurity.ExceptionHandling);
    if (WebSecurity.TrustsProxies(app.Services))
    {
        app.UseForwardedHeaders();
    }
    app.Use(WebSecurity.LimitBodyAndSetSecurityHeadersAsync);
    app.UseGate();
    app.UseStatusCodePages(WebSecurity.WriteStatusPageAsync);
    app.UseAuthentication();
    app.UseAuthorization();
    app.Use(ApiDocuments.SetReferencePagePolicyAsync);
    app.MapStylesheet();
    app.MapDemoCallback();
    app.MapOperations();
    app.MapAccounts();
    app.MapInstallation();
    app.MapOpenRegistration();
    app.MapOktaClients();
    app.MapTenantSettings();
    app.MapGateway();
    app.MapPlatform();
    app.MapConsole();
    app.MapWebhooks();
    app.MapApiDocuments();
    await app.RunAsync();
    return ExitCodes.Ok;
}
catch (Exception exception) when (StartupFailure.Describe(exception, builder.Configuration) is { } failure)
{
    await Console.Error.WriteLineAsync($"error: {failure.Message}");
    return failure.ExitCode;
}

/// <summary>The entry point, visible to WebApplicationFactory in the tests.</summary>
public partial class Program;

using Broker.Core.Clients;
using Broker.Core.Stores;
using Broker.Hosting;
using Microsoft.Extensions.Options;

namespace Broker.Platform;

/// <summary>
/// In Development, the first start creates a demo parent and a demo user and prints their
/// credentials and a ready-to-open authorize URL, so that <c>dotnet run</c> shows the whole flow.
/// </summary>
internal sealed class DevelopmentSeed(
    IServiceProvider services, IHostEnvironment environment, IOptions<BrokerOptions> broker, ILogger<DevelopmentSeed> logger)
    : IHostedService
{
    public const string DemoEmail = "demo@broker.test";
    public const string DemoRedirectUri = "http://127.0.0.1:8080/broker/callback";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!environment.IsDevelopment())
        {
            return;
        }
        var users = services.GetRequiredService<IUserStore>();
        if (await users.FindByEmailAsync(DemoEmail, cancellationToken) is not null)
        {
            logger.LogInformation("Demo data exists (user {Email}); its secrets were printed at the first start.", DemoEmail);
            return;
        }
        var administration = services.GetRequiredService<ClientAdministration>();
        var password = Core.Security.Secret.NewToken()[..20];
        var user = await administration.CreateUserAsync(DemoEmail, password, cancellationToken);
        var app = await administration.CreateApplicationAsync("Demo Plugin", [DemoRedirectUri.Replace("http://127.0.0.1:8080", "https://demo.example", StringComparison.Ordinal)], cancellationToken);
        if (user.Problem is not null || app.Problem is not null)
        {
            logger.LogWarning("Demo data not created: {Problem}", user.Problem ?? app.Problem);
            return;
        }
        var parent = await administration.EnableParentAsync(
            app.Value!.Client.ClientId, RedirectPolicy.Installation, "/broker/callback", null, [], cancellationToken: cancellationToken);
        var issuer = broker.Value.Issuer.TrimEnd('/');
        var authorizeUrl = $"{issuer}/oauth/authorize?client_id={app.Value.Client.ClientId}" +
            $"&redirect_uri={Uri.EscapeDataString(DemoRedirectUri)}&response_type=code&scope=public&state=demo";
        // Printed on purpose, once: this is a local demo, and the secrets are not stored anywhere else.
        Console.WriteLine($"""

            ==== Broker demo (Development only, printed once) ====
            Demo user:      {DemoEmail} / {password}
            Parent app:     Demo Plugin ({(parent.Value?.Role as ParentRole)?.RedirectPolicy.ToString().ToLowerInvariant()} policy, callback path /broker/callback)
            client_id:      {app.Value.Client.ClientId}
            client_secret:  {app.Value.ClientSecret}
            Open to install: {authorizeUrl}
            ======================================================

            """);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

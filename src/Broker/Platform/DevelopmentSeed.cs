using Broker.Core.Clients;
using Broker.Core.Security;
using Broker.Core.Stores;
using Broker.Hosting;
using Broker.Http;
using Microsoft.Extensions.Options;

namespace Broker.Platform;

/// <summary>
/// In Development, the first start creates a demo parent and a demo user and prints their
/// credentials and a ready-to-open authorize URL, so that <c>dotnet run</c> shows the whole flow. The
/// URL ends on the broker's own demo callback page, which shows the code and the next command.
/// </summary>
internal sealed class DevelopmentSeed(
    IServiceProvider services, IHostEnvironment environment, IOptions<BrokerOptions> broker, ILogger<DevelopmentSeed> logger)
    : IHostedService
{
    public const string DemoEmail = "demo@broker.test";
    public const string DemoCallbackPath = "/demo/callback";

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
        var app = await administration.CreateApplicationAsync("Demo Plugin", ["https://demo.example" + DemoCallbackPath], cancellationToken);
        if (user.Problem is not null || app.Problem is not null)
        {
            logger.LogWarning("Demo data not created: {Problem}", user.Problem ?? app.Problem);
            return;
        }
        var parent = await administration.EnableParentAsync(
            app.Value!.Client.ClientId, RedirectPolicy.Installation, DemoCallbackPath, null, [], cancellationToken: cancellationToken);
        var issuer = broker.Value.Issuer.TrimEnd('/');
        var authorizeUrl = $"{issuer}/oauth/authorize?client_id={app.Value.Client.ClientId}" +
            $"&redirect_uri={Uri.EscapeDataString(issuer + DemoCallbackPath)}&response_type=code&scope=public&state=demo";
        // Printed on purpose, once: this is a local demo, and the secrets are not stored anywhere else.
        System.Console.WriteLine($"""

            ==== Broker demo (Development only, printed once) ====
            Demo user:      {DemoEmail} / {password}
            Parent app:     Demo Plugin ({(parent.Value?.Role as ParentRole)?.RedirectPolicy.ToString().ToLowerInvariant()} policy, callback path {DemoCallbackPath})
            client_id:      {app.Value.Client.ClientId}
            client_secret:  {app.Value.ClientSecret}
            Open to install: {authorizeUrl}
            ======================================================

            """);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>
/// Development only: the demo installation's callback, served by the broker itself so the demo ends on
/// a page that says what to do next instead of on a site that does not exist. A real plugin receives
/// this redirect on its own site.
/// </summary>
public static class DemoCallback
{
    public static WebApplication MapDemoCallback(this WebApplication app)
    {
        if (app.Environment.IsDevelopment())
        {
            app.MapGet(DevelopmentSeed.DemoCallbackPath, ShowAsync).ExcludeFromDescription().WithErrorFormat(ErrorFormat.Page);
        }
        return app;
    }

    private static async Task<HtmlPage> ShowAsync(HttpContext context, IGrantStore grants, IOptions<BrokerOptions> broker)
    {
        var query = context.Request.Query;
        var issuer = broker.Value.Issuer.TrimEnd('/');
        if (query["error"].ToString() is { Length: > 0 } error)
        {
            return Html.Page("Installation not approved", $"""
                <h1>Installation not approved</h1>
                <p>The broker sent the installation back with <code>{Html.Text(error)}</code>: {Html.Text(query["error_description"].ToString())}.</p>
                """);
        }
        var code = query["code"].ToString();
        // The code tells which parent asked and where it was sent, so the command can be complete.
        var issued = code.Length is > 0 and <= 128 ? await grants.FindCodeAsync(Secret.Hash(code), context.RequestAborted) : null;
        if (issued is null)
        {
            return Html.Error("No authorization code", "This page expects the code the broker sends after an approval; this one is unknown.");
        }
        var tokenCommand =
            $"curl -s {issuer}/oauth/token -d client_id={issued.ClientId} -d client_secret=\"$CLIENT_SECRET\" \\\n" +
            $"  --data-urlencode redirect_uri={issued.RedirectUri} -d code={code} -d grant_type=authorization_code";
        var childCommand =
            $"curl -s {issuer}/clients -H \"Authorization: Bearer $ACCESS_TOKEN\" -H \"Content-Type: application/json\" \\\n" +
            "  -d '{\"name\":\"My blog\",\"description\":\"The demo installation\"}'";
        return Html.Page("Installation approved", $"""
            <h1>Installation approved</h1>
            <p>This is the broker's demo callback (Development only). A real plugin receives this redirect on its own site and finishes the installation by itself.</p>
            <h2>The authorization code</h2>
            <pre><code>{Html.Text(code)}</code></pre>
            <p>It works once, within {Html.Text(Html.Lifetime(issued.ExpiresAt - issued.CreatedAt))} of the approval. State: <code>{Html.Text(query["state"].ToString())}</code>.</p>
            <h2>Next: exchange it for the installation token</h2>
            <p>With the parent's <code>client_secret</code> (printed once, when the demo was seeded) in <code>CLIENT_SECRET</code>:</p>
            <pre><code>{Html.Text(tokenCommand)}</code></pre>
            <h2>Then: create the installation's own application</h2>
            <p>With the <code>access_token</code> of that answer in <code>ACCESS_TOKEN</code>:</p>
            <pre><code>{Html.Text(childCommand)}</code></pre>
            <p>The answer's <code>client_id</code> is the installation's key for the API (<code>Authorization: Client-ID …</code>).</p>
            """, wide: true);
    }
}

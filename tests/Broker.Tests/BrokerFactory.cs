using Broker.Hosting;
using Broker.Core.Accounts;
using Broker.Core.Clients;
using Broker.Platform;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Broker.Tests;

/// <summary>
/// The broker in-process over a real SQLite file of its own, with a fake clock. One per test class
/// (or per test where state must not be shared).
/// </summary>
public sealed class BrokerFactory : WebApplicationFactory<Program>
{
    public const string Issuer = "https://broker.test";

    private readonly string directory = Path.Combine(Path.GetTempPath(), "broker-tests", Guid.NewGuid().ToString("N"));

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));

    public string DatabasePath => Path.Combine(directory, "broker.db");

    /// <summary>Service changes on top of the broker's own (applied after them), for tests that need to swap a dependency.</summary>
    public Action<IServiceCollection>? TestServices { get; set; }

    /// <summary>Settings added on top of the defaults, as configuration keys.</summary>
    public Dictionary<string, string?> Settings { get; } = new();

    private readonly LiveSettings live = new();

    /// <summary>
    /// Changes settings of the running broker, as an operator editing appsettings.json does: options read
    /// per request see them at once. For what exists only once the broker runs, such as a user's id.
    /// </summary>
    public void ChangeSettings(IReadOnlyDictionary<string, string?> settings) => live.Change(settings);

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        Directory.CreateDirectory(directory);
        builder.UseEnvironment("Testing");
        builder.UseSetting("Storage:ConnectionString", $"Data Source={DatabasePath}");
        builder.UseSetting("Broker:Issuer", Issuer);
        foreach (var (key, value) in Settings)
        {
            builder.UseSetting(key, value);
        }
        builder.ConfigureAppConfiguration(configuration => configuration.Add(live));
        builder.ConfigureTestServices(services =>
        {
            services.AddSingleton<TimeProvider>(Time);
            TestServices?.Invoke(services);
        });
    }

    /// <summary>A client that keeps cookies and does not follow redirects, as a test of a browser's steps.</summary>
    public HttpClient CreateBrowser() =>
        CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true, BaseAddress = new Uri(Issuer) });

    /// <summary>An API client (no cookies, no redirects).</summary>
    public HttpClient CreateApiClient() =>
        CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = false, BaseAddress = new Uri(Issuer) });

    public ClientAdministration Administration => Services.GetRequiredService<ClientAdministration>();

    /// <summary>A parent under the installation policy with callback path /broker/callback.</summary>
    public async Task<CreatedApplication> CreateParentAsync(
        string name = "Ghost Unsplash Plugin", int? childRateLimit = null, RedirectPolicy policy = RedirectPolicy.Installation,
        params string[] redirectUris)
    {
        var app = await Administration.CreateApplicationAsync(name, redirectUris.Length > 0 ? redirectUris : ["https://vendor.example/broker/callback"]);
        app.Problem.Should().BeNull();
        var parent = await Administration.EnableParentAsync(app.Value!.Client.ClientId, policy, policy == RedirectPolicy.Installation ? "/broker/callback" : null, childRateLimit, []);
        parent.Problem.Should().BeNull();
        return app.Value with { Client = parent.Value! };
    }

    /// <summary>A standard (non-parent) application.</summary>
    public async Task<CreatedApplication> CreateApplicationAsync(string name, params string[] redirectUris)
    {
        var app = await Administration.CreateApplicationAsync(name, redirectUris);
        app.Problem.Should().BeNull();
        return app.Value!;
    }

    public async Task<User> CreateUserAsync(string email = "owner@blog.example", string password = "correct horse battery")
    {
        var user = await Administration.CreateUserAsync(email, password);
        user.Problem.Should().BeNull();
        return user.Value!;
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            Broker.Storage.SqliteDialect.ClearAllPools();
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
                // A file still open on a slow shutdown; the temp folder is cleaned by the OS.
            }
        }
    }
}

/// <summary>A configuration source a test changes while the broker runs; each change signals a reload.</summary>
internal sealed class LiveSettings : ConfigurationProvider, IConfigurationSource
{
    public IConfigurationProvider Build(IConfigurationBuilder builder) => this;

    public void Change(IReadOnlyDictionary<string, string?> settings)
    {
        foreach (var (key, value) in settings)
        {
            Data[key] = value;
        }
        OnReload();
    }
}

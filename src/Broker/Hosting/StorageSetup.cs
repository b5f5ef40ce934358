using Broker.Core.Stores;
using Broker.Core.Webhooks;
using Broker.Storage;
using Broker.Storage.Stores;
using Microsoft.Extensions.Options;

namespace Broker.Hosting;

/// <summary>The <c>Storage</c> section.</summary>
public sealed class StorageOptions
{
    public const string Section = "Storage";

    /// <summary><c>Sqlite</c> (default), <c>SqlServer</c> or <c>Postgres</c>; case-insensitive.</summary>
    public string Provider { get; set; } = "Sqlite";

    /// <summary>The provider's connection string; default a SQLite file beside the app.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>Further attempts of an operation or transaction after a transient fault (default 3).</summary>
    public int Retries { get; set; } = 3;

    /// <summary>The first pause between attempts, doubled each time with jitter (default 200 ms).</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The budget of one database operation, retries included (default 15 s).</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>The <c>Retry-After</c> sent with a 503 while the database is unavailable (default 5 s).</summary>
    public TimeSpan RetryAfter { get; set; } = TimeSpan.FromSeconds(5);

    public DatabaseResilience Resilience => new() { MaxRetries = Retries, RetryDelay = RetryDelay, Timeout = Timeout };

    public string EffectiveConnectionString =>
        string.IsNullOrWhiteSpace(ConnectionString)
            ? $"Data Source={Path.Combine(AppContext.BaseDirectory, "broker.db")}"
            : ConnectionString;
}

public static class StorageSetup
{
    /// <summary>Registers the database of <c>Storage:Provider</c> and the stores over it.</summary>
    public static IServiceCollection AddBrokerStorage(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<StorageOptions>().Bind(configuration.GetSection(StorageOptions.Section))
            .Validate(options => DialectFor(options.Provider) is not null,
                "Storage:Provider must be Sqlite, SqlServer or Postgres (case-insensitive).")
            .Validate(options => options.Retries is >= 0 and <= 10 && options.RetryDelay >= TimeSpan.Zero
                    && options.Timeout > TimeSpan.Zero && options.RetryAfter >= TimeSpan.FromSeconds(1),
                "Storage: Retries must be 0 to 10, RetryDelay not negative, Timeout positive, RetryAfter at least 1 s.")
            .ValidateOnStart();
        services.AddSingleton(provider =>
        {
            var options = provider.GetRequiredService<IOptions<StorageOptions>>().Value;
            return new Database(DialectFor(options.Provider)!, options.EffectiveConnectionString, options.Resilience,
                provider.GetRequiredService<ILogger<Database>>());
        });
        services.AddSingleton<MigrationRunner>();
        services.AddSingleton<IClientStore, ClientStore>();
        services.AddSingleton<IUserStore, UserStore>();
        services.AddSingleton<IGrantStore, GrantStore>();
        services.AddSingleton<ITenantSettingsStore, TenantSettingsStore>();
        services.AddSingleton<IPasswordResetStore, PasswordResetStore>();
        // The platform team's interfaces are served by the same store instances.
        services.AddSingleton<IPlatformClientStore>(provider => (ClientStore)provider.GetRequiredService<IClientStore>());
        services.AddSingleton<IPlatformUserStore>(provider => (UserStore)provider.GetRequiredService<IUserStore>());
        services.AddSingleton<IAdminTokenStore, AdminTokenStore>();
        services.AddSingleton<ITrustedIssuerStore, TrustedIssuerStore>();
        services.AddSingleton<IAuditStore, AuditStore>();
        services.AddSingleton<IUsageStore, UsageStore>();
        services.AddSingleton<IWebhookStore, WebhookStore>();
        services.AddSingleton<IRetentionStore, RetentionStore>();
        services.AddSingleton<DataProtectionKeyStore>();
        services.AddSingleton<ISigningKeyStore, SigningKeyStore>();
        return services;
    }

    internal static ISqlDialect? DialectFor(string? provider) =>
        provider?.Trim().ToUpperInvariant() switch
        {
            "SQLITE" => new SqliteDialect(),
            "SQLSERVER" => new SqlServerDialect(),
            "POSTGRES" => new PostgresDialect(),
            _ => null,
        };
}

/// <summary>Brings the schema up to date before the broker takes its first request.</summary>
internal sealed class MigrateOnStart(MigrationRunner migrations, ILogger<MigrateOnStart> logger) : IHostedLifecycleService
{
    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        foreach (var applied in await migrations.MigrateAsync(cancellationToken))
        {
            logger.LogInformation("Applied migration {Migration}", applied);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

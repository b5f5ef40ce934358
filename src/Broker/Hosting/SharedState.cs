using Broker.Storage;
using Broker.Storage.Stores;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.StackExchangeRedis;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Broker.Hosting;

/// <summary>
/// The instance's one connection to Redis (quota counters, the key ring, readiness), made on first
/// use. It starts without a server and fails commands at once while disconnected instead of queueing
/// them, so a missing Redis costs each caller a quick error, never a wait; it reconnects every second.
/// </summary>
public sealed class RedisConnection : IDisposable
{
    private readonly IOptions<RedisOptions> options;
    private readonly Lazy<Task<ConnectionMultiplexer>> connection;
    private Action<ConnectionMultiplexer>? onConnected;

    public RedisConnection(IOptions<RedisOptions> options)
    {
        this.options = options;
        connection = new(() =>
        {
            var configuration = ConfigurationOptions.Parse(options.Value.Configuration
                ?? throw new InvalidOperationException("Redis:Configuration is not set."));
            configuration.AbortOnConnectFail = false;
            configuration.BacklogPolicy = BacklogPolicy.FailFast;
            configuration.ReconnectRetryPolicy = new LinearRetry(1000);
            return ConnectAsync(configuration);
        });
    }

    private async Task<ConnectionMultiplexer> ConnectAsync(ConfigurationOptions configuration)
    {
        var multiplexer = await ConnectionMultiplexer.ConnectAsync(configuration);
        onConnected?.Invoke(multiplexer);
        return multiplexer;
    }

    /// <summary>Whether the connection is up now; false before its first use and while disconnected.</summary>
    public bool IsConnected => connection.IsValueCreated && connection.Value.IsCompletedSuccessfully && connection.Value.Result.IsConnected;

    /// <summary>
    /// Runs <paramref name="use"/> once with the connection, when it is made or at once if it already is
    /// (Redis tracing profiles its commands; the key ring may have connected before tracing started).
    /// </summary>
    public void WhenConnected(Action<ConnectionMultiplexer> use)
    {
        var used = 0;
        void Once(ConnectionMultiplexer multiplexer)
        {
            if (Interlocked.Exchange(ref used, 1) == 0)
            {
                use(multiplexer);
            }
        }
        onConnected += Once;
        if (connection.IsValueCreated)
        {
            connection.Value.ContinueWith(made => Once(made.Result), CancellationToken.None,
                TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
        }
    }

    public bool IsConfigured => !string.IsNullOrWhiteSpace(options.Value.Configuration);

    public string KeyPrefix => options.Value.KeyPrefix;

    public Task<ConnectionMultiplexer> GetAsync() => connection.Value;

    // Data Protection asks for its database synchronously; with AbortOnConnectFail off the connect
    // returns after one attempt, connected or not, so this does not wait for an absent server.
    public IDatabase Database() => connection.Value.GetAwaiter().GetResult().GetDatabase();

    public void Dispose()
    {
        if (connection.IsValueCreated && connection.Value.IsCompletedSuccessfully)
        {
            connection.Value.Result.Dispose();
        }
    }
}

/// <summary>What several instances share: the Redis connection, the Data Protection key ring and the throttles' store.</summary>
public static class SharedState
{
    /// <summary>
    /// Fixed, so that every instance (whatever its path or machine) reads the same protected payloads;
    /// Data Protection would otherwise isolate apps by their content root.
    /// </summary>
    public const string ApplicationName = "Broker";

    /// <summary>The key ring's Redis list, after <c>Redis:KeyPrefix</c>.</summary>
    public const string KeyRingRedisKey = "data-protection:keys";

    /// <summary>
    /// Data Protection (session cookies, antiforgery tokens) with one key ring for all instances: in Redis
    /// when <c>Redis:Configuration</c> is set, else in the shared database's <c>data_protection_keys</c>.
    /// The throttles count in Redis when it is configured (once for every instance), else in this instance's memory.
    /// </summary>
    public static IServiceCollection AddSharedState(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<RedisOptions>().Bind(configuration.GetSection(RedisOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<RedisOptions>, RedisOptionsValidation>();
        services.AddSingleton<RedisConnection>();
        services.AddSingleton<RedisLimitCalls>();
        services.AddSingleton<IThrottleStore>(provider => provider.GetRequiredService<RedisConnection>().IsConfigured
            ? new RedisThrottles(provider.GetRequiredService<RedisLimitCalls>())
            : new InProcessThrottles());
        services.AddDataProtection().SetApplicationName(ApplicationName);
        services.AddOptions<KeyRingOptions>().Bind(configuration.GetSection(KeyRingOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<KeyRingOptions>, KeyRingOptionsValidation>();
        services.AddOptions<KeyManagementOptions>().Configure<IServiceProvider>((options, provider) =>
        {
            var redis = provider.GetRequiredService<RedisConnection>();
            options.XmlRepository = redis.IsConfigured
                ? new RedisXmlRepository(redis.Database, redis.KeyPrefix + KeyRingRedisKey)
                : new DatabaseXmlRepository(provider.GetRequiredService<DataProtectionKeyStore>(), provider.GetRequiredService<TimeProvider>());
            // The ring is encrypted at rest with the configured key; where none is (Development and
            // the tests only: validation refuses it elsewhere), say so at start.
            var keyEncryptionKey = provider.GetRequiredService<IOptions<KeyRingOptions>>().Value.Current;
            if (keyEncryptionKey is null)
            {
                provider.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(SharedState).FullName!)
                    .LogWarning("The Data Protection key ring is stored unencrypted; set DataProtection:KeyEncryptionKey outside development");
            }
            else
            {
                options.XmlEncryptor = new KeyRingXmlEncryptor(keyEncryptionKey);
            }
        });
        return services;
    }
}

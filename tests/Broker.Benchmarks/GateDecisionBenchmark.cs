using System.Diagnostics.Metrics;
using BenchmarkDotNet.Attributes;
using Broker.Core.Clients;
using Broker.Core.Security;
using Broker.Gateway;
using Broker.Hosting;
using Broker.Storage;
using Broker.Storage.Stores;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Broker.Benchmarks;

/// <summary>
/// The gate's decision (key lookup, whitelist, in-memory quota) over a real SQLite file holding 1,000
/// or 1,000,000 children. <see cref="Cached"/> is the hot path as it runs (keys through the cache);
/// <see cref="Uncached"/> reads every key from the database, to show that the store's lookup does not
/// grow with the number of children either. Calls rotate over 1,000 active children in both cases.
/// </summary>
[MemoryDiagnoser]
[ShortRunJob]
public class GateDecisionBenchmark
{
    private const int ActiveChildren = 1_000;

    private string databasePath = "";
    private Database database = null!;
    private Gate cached = null!;
    private Gate uncached = null!;
    private string[] active = [];
    private int next;

    [Params(1_000, 1_000_000)]
    public int Children { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        databasePath = Path.Combine(Path.GetTempPath(), $"broker-gate-bench-{Guid.NewGuid():N}.db");
        var ids = SeedAsync().GetAwaiter().GetResult();
        active = BenchmarkSeed.Spread(ids, ActiveChildren);
        cached = GateOver(TimeSpan.FromMinutes(10));
        // A lifetime shorter than any call: every decision reads its key from the database.
        uncached = GateOver(TimeSpan.FromTicks(1));
        foreach (var id in active)
        {
            Decide(cached, id);
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        SqliteDialect.ClearAllPools();
        File.Delete(databasePath);
    }

    [Benchmark(Baseline = true)]
    public GateOutcome Cached() => Decide(cached, active[next++ % active.Length]);

    [Benchmark]
    public GateOutcome Uncached() => Decide(uncached, active[next++ % active.Length]);

    private Gate GateOver(TimeSpan cacheDuration)
    {
        var time = TimeProvider.System;
        var options = Options.Create(new GatewayOptions { ClientCacheDuration = cacheDuration });
        var cache = new ClientCache(new ClientStore(database), new GrantStore(database), options, Options.Create(new InstallationOptions()), time);
        // Telemetry as a broker without exporters has it: instruments no one listens to.
        var telemetry = new BrokerTelemetry(new UnheardMeters(), NullLoggerFactory.Instance, database,
            new RedisConnection(Options.Create(new RedisOptions())));
        return new Gate(cache, new MemoryQuotaLimiter(time), options, time, telemetry);
    }

    private sealed class UnheardMeters : IMeterFactory
    {
        public Meter Create(MeterOptions options) => new(options);

        public void Dispose()
        {
        }
    }

    private static GateOutcome Decide(Gate gate, string clientId)
    {
        var decision = gate.DecideAsync(clientId, "GET", "/photos/demo0001photo", CancellationToken.None);
        // A cached key and an in-memory quota decide synchronously; only a cache miss awaits.
        return (decision.IsCompletedSuccessfully ? decision.Result : decision.AsTask().GetAwaiter().GetResult()).Outcome;
    }

    private async Task<string[]> SeedAsync()
    {
        var ids = await BenchmarkSeed.SeedChildrenAsync(databasePath, Children);
        database = new Database(new SqliteDialect(), $"Data Source={databasePath}");
        return ids;
    }

    public static Client Child(string parentId, string ownerId, DateTimeOffset now) => new()
    {
        ClientId = Secret.NewClientId(),
        Metadata = new ClientMetadata { ClientName = "Installation", GrantTypes = [], TokenEndpointAuthMethod = ClientAuthMethod.None },
        Role = new InstallationRole { ParentClientId = parentId, OwnerUserId = ownerId },
        CreatedAt = now,
        Source = RegistrationSource.Installation,
    };
}

using Broker.Core.Accounts;
using Broker.Core.Clients;
using Broker.Core.Security;
using Broker.Storage;
using Broker.Storage.Stores;

namespace Broker.Benchmarks;

/// <summary>A database with one parent, one owner and one child whose quota a benchmark cannot spend.</summary>
public static class BenchmarkSeed
{
    public const int UnspendableQuota = 1_000_000_000;

    /// <summary>Seeds the database; returns the parent's id, the owner's id and one child's key.</summary>
    public static async Task<(string ParentId, string OwnerId, string ChildId)> SeedAsync(string databasePath)
    {
        var database = new Database(new SqliteDialect(), $"Data Source={databasePath}");
        await new MigrationRunner(database).MigrateAsync();
        var clients = new ClientStore(database);
        var now = DateTimeOffset.UtcNow;
        var parent = new Client { ClientId = Secret.NewClientId(), Name = "Benchmark plugin", CreatedAt = now, RedirectUris = ["https://vendor.example/cb"] };
        await clients.CreateAsync(parent);
        await clients.SetParentSettingsAsync(parent.ClientId, RedirectPolicy.Installation, "/cb", UnspendableQuota, EndpointPattern.DefaultChildEndpoints);
        var owner = new User
        {
            UserId = Secret.NewToken()[..32], Email = "bench@broker.test", NormalizedEmail = "BENCH@BROKER.TEST", PasswordHash = "unused", CreatedAt = now,
        };
        await new UserStore(database).CreateAsync(owner);
        var child = GateDecisionBenchmark.Child(parent.ClientId, owner.UserId, now);
        await clients.CreateAsync(child);
        return (parent.ClientId, owner.UserId, child.ClientId);
    }
}

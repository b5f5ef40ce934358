using Broker.Core.Accounts;
using Broker.Core.Clients;
using Broker.Core.Security;
using Broker.Storage;
using Broker.Storage.Stores;
using Dapper;

namespace Broker.Benchmarks;

/// <summary>A database with one parent, one owner and children whose quota a benchmark cannot spend.</summary>
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
        var parent = new Client
        {
            ClientId = Secret.NewClientId(),
            Metadata = new ClientMetadata { ClientName = "Benchmark plugin", RedirectUris = ["https://vendor.example/cb"] },
            CreatedAt = now,
        }.AsParent(new ParentRole
        {
            RedirectPolicy = RedirectPolicy.Installation, CallbackPath = "/cb", ChildRateLimit = UnspendableQuota, ChildEndpoints = EndpointPattern.DefaultChildEndpoints,
        })!;
        await clients.CreateAsync(parent);
        var owner = new User
        {
            UserId = Secret.NewToken()[..32], Email = "bench@broker.test", NormalizedEmail = "BENCH@BROKER.TEST", PasswordHash = "unused", CreatedAt = now,
        };
        await new UserStore(database).CreateAsync(owner);
        var child = GateDecisionBenchmark.Child(parent.ClientId, owner.UserId, now);
        await clients.CreateAsync(child);
        return (parent.ClientId, owner.UserId, child.ClientId);
    }

    /// <summary>
    /// Seeds the database with <paramref name="children"/> children of one parent and returns their keys.
    /// A million store calls would take minutes, so the rows go in with one statement in one transaction.
    /// </summary>
    public static async Task<string[]> SeedChildrenAsync(string databasePath, int children)
    {
        var (parentId, ownerId, firstChild) = await SeedAsync(databasePath);
        var database = new Database(new SqliteDialect(), $"Data Source={databasePath}");
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var ids = Enumerable.Range(0, children - 1).Select(_ => Secret.NewClientId()).ToArray();
        await using var connection = await database.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await connection.ExecuteAsync(
            """
            INSERT INTO clients (client_id, name, grant_types, token_endpoint_auth_method, kind, parent_client_id, owner_user_id,
                                 created_at, registration_source)
            VALUES (@Id, 'Installation', '[]', 'none', 'child', @ParentId, @OwnerId, @Now, 'installation')
            """,
            ids.Select(id => new { Id = id, ParentId = parentId, OwnerId = ownerId, Now = now }), transaction);
        await transaction.CommitAsync();
        return [firstChild, .. ids];
    }

    /// <summary><paramref name="count"/> keys spread evenly over <paramref name="ids"/>: the children a benchmark calls.</summary>
    public static string[] Spread(string[] ids, int count) =>
        ids.Where((_, i) => i % Math.Max(1, ids.Length / count) == 0).Take(count).ToArray();
}

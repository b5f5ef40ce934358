using BenchmarkDotNet.Attributes;
using Broker.Core.Clients;
using Broker.Core.Security;
using Broker.Core.Stores;
using Broker.Gateway;
using Broker.Hosting;
using Microsoft.Extensions.Options;

namespace Broker.Benchmarks;

/// <summary>
/// The gate's decision (key lookup through the cache, whitelist, in-memory quota) with 1,000 and
/// 1,000,000 children stored. Calls rotate over the same number of active children (1,000, spread
/// over all those stored) in both cases, so the figures differ only by how many are stored.
/// </summary>
[MemoryDiagnoser]
[ShortRunJob]
public class GateDecisionBenchmark
{
    private const int ActiveChildren = 1_000;

    private Gate gate = null!;
    private string[] active = [];
    private int next;

    [Params(1_000, 1_000_000)]
    public int Children { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var now = DateTimeOffset.UtcNow;
        var parent = new Client
        {
            ClientId = Secret.NewClientId(), Name = "Benchmark plugin", Kind = ClientKind.Parent, CreatedAt = now,
            ChildRateLimit = BenchmarkSeed.UnspendableQuota, ChildEndpoints = EndpointPattern.DefaultChildEndpoints,
        };
        var store = new DictionaryClientStore();
        store.Add(parent);
        var ids = new string[Children];
        for (var i = 0; i < Children; i++)
        {
            var child = Child(parent.ClientId, "owner", now);
            store.Add(child);
            ids[i] = child.ClientId;
        }
        var stride = Math.Max(1, Children / ActiveChildren);
        active = ids.Where((_, i) => i % stride == 0).Take(ActiveChildren).ToArray();
        var time = TimeProvider.System;
        var options = Options.Create(new GatewayOptions());
        gate = new Gate(new ClientCache(store, null!, options, Options.Create(new InstallationOptions()), time), new MemoryQuotaLimiter(time), options, time);
        // Warm the cache as a running broker's would be.
        foreach (var id in active)
        {
            Decide(id);
        }
    }

    [Benchmark]
    public GateOutcome Decide() => Decide(active[next++ % active.Length]);

    private GateOutcome Decide(string clientId)
    {
        var decision = gate.DecideAsync(clientId, "GET", "/photos/demo0001photo", CancellationToken.None);
        // A cached key and an in-memory quota decide synchronously; only a cache miss awaits.
        return (decision.IsCompletedSuccessfully ? decision.Result : decision.AsTask().GetAwaiter().GetResult()).Outcome;
    }

    public static Client Child(string parentId, string ownerId, DateTimeOffset now) => new()
    {
        ClientId = Secret.NewClientId(), Name = "Installation", Kind = ClientKind.Child, GrantTypes = [],
        TokenEndpointAuthMethod = ClientAuthMethod.None, ParentClientId = parentId, OwnerUserId = ownerId, CreatedAt = now,
    };

    /// <summary>Children held in a dictionary: the store as the cache sees it on a miss, without a database's noise.</summary>
    private sealed class DictionaryClientStore : IClientStore
    {
        private readonly Dictionary<string, Client> clients = new(StringComparer.Ordinal);

        public void Add(Client client) => clients[client.ClientId] = client;

        public Task<Client?> FindAsync(string clientId, CancellationToken cancellationToken = default) =>
            Task.FromResult(clients.GetValueOrDefault(clientId));

        public Task<bool> CreateAsync(Client client, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<bool> SetParentSettingsAsync(string clientId, RedirectPolicy policy, string? callbackPath, int childRateLimit,
            IReadOnlyList<string> childEndpoints, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<IReadOnlyList<Client>> ListChildrenOwnedByAsync(string userId, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public Task<bool> RevokeOwnedChildAsync(string userId, string clientId, DateTimeOffset now, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public Task<IReadOnlyList<Client>> ListManagedAsync(string? nameStartsWith, int limit, string? afterClientId, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public Task<WriteOutcome> ReplaceAsync(Client client, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<bool> DeleteAsync(string clientId, DateTimeOffset now, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<long> CountOpenRegisteredAsync(CancellationToken cancellationToken = default) => throw new NotSupportedException();
    }
}

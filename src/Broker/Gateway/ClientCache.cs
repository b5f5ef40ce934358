using System.Collections.Concurrent;
using Broker.Core.Clients;
using Broker.Core.Stores;
using Broker.Hosting;
using Microsoft.Extensions.Options;

namespace Broker.Gateway;

/// <summary>What a key is, as far as the gate cares.</summary>
public enum KeyStatus
{
    /// <summary>No client has this id.</summary>
    Unknown,

    /// <summary>Revoked or disabled, or a child whose parent is.</summary>
    Inactive,

    /// <summary>A parent's public key: the installation flow only.</summary>
    Parent,

    /// <summary>An ordinary application's key: it has no quota or whitelist here.</summary>
    NotChild,

    /// <summary>An installation's key, good for the gateway.</summary>
    Child,

    /// <summary>A registered client's bearer access token, good for the gateway under that client's quota.</summary>
    AccessToken,

    /// <summary>A parent's one-time installation token: good for <c>POST /clients</c> only.</summary>
    InstallationToken,
}

/// <summary>A key as the gate sees it: the child's status, owner, effective quota and whitelist.</summary>
/// <remarks>A child's key carries its own and its parent's stored versions: unmoved, the key is unchanged.</remarks>
public sealed record GateKey(KeyStatus Status, string ClientId, string? OwnerUserId = null, string? ParentClientId = null,
    int Limit = 0, EndpointWhitelist? Whitelist = null, DateTimeOffset? ExpiresAt = null, long Version = 0, long ParentVersion = 0);

/// <summary>
/// The hot path's view of keys: each key is read from the store (with its parent) at most once per
/// <see cref="GatewayOptions.ClientCacheDuration"/>, unknown keys included, so a flood of made-up keys
/// does not reach the database either. Holds at most <see cref="GatewayOptions.ClientCacheSize"/> keys.
/// The duration bounds how long a revocation or a quota change takes to reach every instance.
/// </summary>
public sealed class ClientCache(
    IClientStore clients, IGrantStore grants, IOptions<GatewayOptions> gateway, IOptions<InstallationOptions> installation, TimeProvider time,
    Storage.Database? database = null)
{
    // Bearer tokens share the cache with keys, told apart by this prefix on their hash.
    private const string TokenPrefix = "bearer:";

    private readonly ConcurrentDictionary<string, Entry> entries = new(StringComparer.Ordinal);
    private readonly long lifetimeTicks = gateway.Value.ClientCacheDuration.Ticks;
    private readonly long staleTicks = gateway.Value.StaleKeyLifetime.Ticks;
    private readonly int capacity = gateway.Value.ClientCacheSize;
    private readonly int defaultChildRateLimit = installation.Value.DefaultChildRateLimit;

    /// <summary>A bearer token, by the SHA-256 hash of its value (the value itself is never kept).</summary>
    public ValueTask<GateKey> GetTokenAsync(string tokenHash, CancellationToken cancellationToken) =>
        GetAsync(TokenPrefix + tokenHash, cancellationToken);

    public async ValueTask<GateKey> GetAsync(string clientId, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcTicks;
        if (entries.TryGetValue(clientId, out var entry) && entry.ExpiresAt > now && entry.Load.IsCompletedSuccessfully)
        {
            // Asked for again since it was loaded: RefreshHotKeysAsync reads it again before it expires.
            if (!entry.Used)
            {
                entry.Used = true;
            }
            return entry.Load.Result;
        }
        if (entry is null || entry.ExpiresAt <= now || entry.Load.IsFaulted)
        {
            entry = Renew(clientId, now, entry);
        }
        // While the database is away, a key known before is answered from its last answer at once, and
        // the reload runs behind it (stale-while-revalidate): no caller of a known key waits for a
        // database that did not answer the last time.
        if (entry.DuringOutage && entry.Known is { } known && entry.KnownUntil > now)
        {
            _ = entry.Load;
            return known;
        }
        try
        {
            return await entry.Load.WaitAsync(cancellationToken);
        }
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested
            && entry.Known is { } lastAnswer && entry.KnownUntil > time.GetUtcNow().UtcTicks && database?.IsUnavailable(exception) == true)
        {
            // Every caller that waited on the failed reload, not only the first, gets the last answer.
            return lastAnswer;
        }
    }

    // Not inline in GetAsync: the lambda's captures would cost the cached path an allocation on every call.
    private Entry Renew(string clientId, long now, Entry? expired)
    {
        MakeRoom(now);
        var fresh = Reload(clientId, now, expired);
        // Racing callers agree on one entry, so a key is loaded once however many ask at once.
        return entries.AddOrUpdate(clientId, fresh, (_, old) => old.ExpiresAt > now && !old.Load.IsFaulted ? old : fresh);
    }

    /// <summary>
    /// Reads again the keys asked for since they were loaded that expire within <paramref name="horizon"/>,
    /// a few hundred to a query, so that a key in steady use is not reloaded on a call's path (one query or
    /// two per key): first the versions of the children and their parents, then, whole, only the clients
    /// whose versions moved. Each answer stands for <see cref="GatewayOptions.ClientCacheDuration"/> from the
    /// moment its read began, as a load's does. Unknown keys and bearer tokens are left to expire.
    /// Returns how many keys were read.
    /// </summary>
    public async Task<int> RefreshHotKeysAsync(TimeSpan horizon, CancellationToken cancellationToken)
    {
        var startedAt = time.GetUtcNow().UtcTicks;
        var due = new List<KeyValuePair<string, Entry>>();
        foreach (var pair in entries)
        {
            var entry = pair.Value;
            if (entry is { Used: true, Kept: false, LoadOnce.IsValueCreated: true } && entry.ExpiresAt > startedAt
                && entry.ExpiresAt - startedAt <= horizon.Ticks && entry.Load.IsCompletedSuccessfully
                && entry.Load.Result.Status != KeyStatus.Unknown && !pair.Key.StartsWith(TokenPrefix, StringComparison.Ordinal))
            {
                due.Add(pair);
            }
        }
        if (due.Count == 0)
        {
            return 0;
        }
        // First the versions alone (two small columns): a child whose version and parent's version have not
        // moved is unchanged and keeps its answer; only the rest are read whole. Other keys (parents' keys,
        // revoked children) are few and are always read whole.
        var children = due.Where(pair => pair.Value.Load.Result.Status == KeyStatus.Child).ToList();
        var versions = children.Count == 0
            ? new Dictionary<string, long>()
            : await clients.FindVersionsAsync(
                [.. children.Select(pair => pair.Key).Concat(children.Select(pair => pair.Value.Load.Result.ParentClientId!)).Distinct(StringComparer.Ordinal)],
                cancellationToken);
        var changed = new List<KeyValuePair<string, Entry>>();
        foreach (var pair in due)
        {
            var key = pair.Value.Load.Result;
            if (key.Status == KeyStatus.Child && versions.GetValueOrDefault(pair.Key) == key.Version
                && versions.GetValueOrDefault(key.ParentClientId!) == key.ParentVersion)
            {
                StoreRead(pair, key, startedAt);
            }
            else
            {
                changed.Add(pair);
            }
        }
        if (changed.Count == 0)
        {
            return due.Count;
        }
        var found = (await clients.FindManyAsync([.. changed.Select(pair => pair.Key)], cancellationToken))
            .ToDictionary(client => client.ClientId, StringComparer.Ordinal);
        var parentIds = found.Values.Select(client => client.Role).OfType<InstallationRole>()
            .Select(installation => installation.ParentClientId).Distinct(StringComparer.Ordinal).ToList();
        var parents = (await clients.FindManyAsync(parentIds, cancellationToken)).ToDictionary(client => client.ClientId, StringComparer.Ordinal);
        foreach (var pair in changed)
        {
            var client = found.GetValueOrDefault(pair.Key);
            var parent = client?.Role is InstallationRole installation ? parents.GetValueOrDefault(installation.ParentClientId) : null;
            StoreRead(pair, Describe(pair.Key, client, parent), startedAt);
        }
        return due.Count;
    }

    // The answer of a read begun at readAt, for the cache duration from then, over the entry that was read
    // only: a load that replaced it meanwhile is as fresh or fresher.
    private void StoreRead(KeyValuePair<string, Entry> read, GateKey answer, long readAt) =>
        entries.TryUpdate(read.Key, new Entry(readAt + lifetimeTicks, new Lazy<Task<GateKey>>(Task.FromResult(answer)), null, 0, Kept: false, DuringOutage: false), read.Value);

    // A new entry for a key whose entry expired or failed: its load, and the last answer it replaces,
    // kept for the outage rule. The load puts that answer back itself when the database is unavailable,
    // so the outcome does not depend on which caller (if any) is still waiting.
    private Entry Reload(string clientId, long now, Entry? previous)
    {
        var (known, knownUntil) = previous switch
        {
            // Kept through an outage: the answer's first deadline stands (it is never pushed further).
            { Kept: true } => (previous.Known, previous.KnownUntil),
            { Load.IsCompletedSuccessfully: true } => (previous.Load.Result, previous.ExpiresAt + staleTicks),
            { Known: not null } => (previous.Known, previous.KnownUntil),
            _ => ((GateKey?)null, 0L),
        };
        Entry? reloading = null;
        reloading = new Entry(now + lifetimeTicks, new Lazy<Task<GateKey>>(() => Observed(LoadOrKeepAsync(clientId, reloading!))),
            known, knownUntil, Kept: false, DuringOutage: previous?.Kept == true);
        return reloading;
    }

    // A reload run behind a kept answer may have no caller waiting on it: its fault is observed here.
    private static Task<GateKey> Observed(Task<GateKey> load)
    {
        load.ContinueWith(static failed => _ = failed.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        return load;
    }

    private async Task<GateKey> LoadOrKeepAsync(string clientId, Entry reloading)
    {
        try
        {
            return await LoadAsync(clientId);
        }
        catch (Exception exception) when (reloading.Known is { } known && database?.IsUnavailable(exception) == true)
        {
            // The database is unavailable: the last answer stands until StaleKeyLifetime past its expiry,
            // asked again once per cache duration, counted from now (the failed load may have taken the
            // whole storage budget, longer than the cache duration itself).
            var failedAt = time.GetUtcNow().UtcTicks;
            if (reloading.KnownUntil > failedAt)
            {
                var kept = new Entry(Math.Min(failedAt + lifetimeTicks, reloading.KnownUntil),
                    new Lazy<Task<GateKey>>(Task.FromResult(known)), known, reloading.KnownUntil, Kept: true, DuringOutage: true);
                entries.TryUpdate(clientId, kept, reloading);
            }
            throw;
        }
    }

    private async Task<GateKey> LoadAsync(string clientId)
    {
        if (clientId.StartsWith(TokenPrefix, StringComparison.Ordinal))
        {
            return await LoadTokenAsync(clientId[TokenPrefix.Length..]);
        }
        // Not the caller's token: one caller giving up must not fail the load others wait on.
        var client = await clients.FindAsync(clientId, CancellationToken.None);
        var parent = client is { IsActive: true, Role: InstallationRole installation }
            ? await clients.FindAsync(installation.ParentClientId, CancellationToken.None)
            : null;
        return Describe(clientId, client, parent);
    }

    // A client (null: none has this id) as the gate sees it; parent is the child's parent, if it exists.
    private GateKey Describe(string clientId, Client? client, Client? parent)
    {
        if (client is null)
        {
            return new GateKey(KeyStatus.Unknown, clientId);
        }
        if (!client.IsActive)
        {
            return new GateKey(KeyStatus.Inactive, clientId);
        }
        if (client.Role is not InstallationRole installation)
        {
            return new GateKey(client.Role is ParentRole ? KeyStatus.Parent : KeyStatus.NotChild, clientId);
        }
        // A child whose parent is gone, revoked or disabled stops with it.
        if (parent is not { IsActive: true, Role: ParentRole settings })
        {
            return new GateKey(KeyStatus.Inactive, clientId);
        }
        return new GateKey(KeyStatus.Child, clientId, installation.OwnerUserId, parent.ClientId,
            ChildPolicy.EffectiveRateLimit(installation, settings, defaultChildRateLimit), ChildPolicy.EffectiveEndpoints(installation, settings),
            Version: client.Version, ParentVersion: parent.Version);
    }

    private async Task<GateKey> LoadTokenAsync(string tokenHash)
    {
        var token = await grants.FindTokenAsync(tokenHash, CancellationToken.None);
        if (token is null)
        {
            return new GateKey(KeyStatus.Unknown, "");
        }
        // A revoked token is refused as an unknown one is; the gate tells them apart for the security log.
        if (token.RevokedAt is not null)
        {
            return new GateKey(KeyStatus.Inactive, "");
        }
        if (InstallationRules.MayCreateChild(token))
        {
            return new GateKey(KeyStatus.InstallationToken, token.ClientId);
        }
        var client = await clients.FindAsync(token.ClientId, CancellationToken.None);
        if (client is null || !client.IsActive)
        {
            return new GateKey(KeyStatus.Inactive, token.ClientId);
        }
        return new GateKey(KeyStatus.AccessToken, client.ClientId, token.UserId, null,
            defaultChildRateLimit, ChildPolicy.RegisteredEndpoints(), token.ExpiresAt);
    }

    // Keeps the bound: first drop what has expired, then, if still full, an arbitrary tenth.
    private void MakeRoom(long now)
    {
        if (entries.Count < capacity)
        {
            return;
        }
        foreach (var (key, entry) in entries)
        {
            if (entry.ExpiresAt <= now)
            {
                entries.TryRemove(new KeyValuePair<string, Entry>(key, entry));
            }
        }
        var excess = entries.Count - (capacity - Math.Max(1, capacity / 10));
        foreach (var key in entries.Keys)
        {
            if (excess-- <= 0)
            {
                break;
            }
            entries.TryRemove(key, out _);
        }
    }

    /// <param name="ExpiresAt">When the entry is loaded again.</param>
    /// <param name="LoadOnce">The entry's one load, shared by its callers.</param>
    /// <param name="Known">The key's last answer from the database, if it had one.</param>
    /// <param name="KnownUntil">Until when <paramref name="Known"/> may stand in while the database is unavailable.</param>
    /// <param name="Kept">Whether the entry is <paramref name="Known"/> put back after a load failed for an unavailable database.</param>
    /// <param name="DuringOutage">Whether the entry reloads one that was kept: callers get <paramref name="Known"/> without waiting.</param>
    private sealed record Entry(long ExpiresAt, Lazy<Task<GateKey>> LoadOnce, GateKey? Known, long KnownUntil, bool Kept, bool DuringOutage)
    {
        public Task<GateKey> Load => LoadOnce.Value;

        /// <summary>Whether a call found the entry loaded and used it: a hot key, read again ahead of its expiry.</summary>
        public bool Used { get; set; }
    }
}

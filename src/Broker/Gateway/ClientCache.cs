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
public sealed record GateKey(KeyStatus Status, string ClientId, string? OwnerUserId = null, string? ParentClientId = null,
    int Limit = 0, EndpointWhitelist? Whitelist = null, DateTimeOffset? ExpiresAt = null);

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
            return entry.Load.Result;
        }
        var previous = entry;
        if (entry is null || entry.ExpiresAt <= now || entry.Load.IsFaulted)
        {
            MakeRoom(now);
            var fresh = new Entry(now + lifetimeTicks, now + lifetimeTicks + staleTicks, new Lazy<Task<GateKey>>(() => LoadAsync(clientId)));
            // Racing callers agree on one entry, so a key is loaded once however many ask at once.
            entry = entries.AddOrUpdate(clientId, fresh, (_, old) => old.ExpiresAt > now && !old.Load.IsFaulted ? old : fresh);
        }
        try
        {
            return await entry.Load.WaitAsync(cancellationToken);
        }
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
        {
            entries.TryRemove(new KeyValuePair<string, Entry>(clientId, entry));
            // While the database is unavailable, a key known a moment ago keeps its last answer (asked
            // again once per cache duration) until StaleKeyLifetime past its expiry: the gateway serves
            // installations it knows; only keys it has not seen get 503.
            if (previous is { Load.IsCompletedSuccessfully: true } && previous.StaleUntil > now && database?.IsUnavailable(exception) == true)
            {
                entries.TryAdd(clientId, previous with { ExpiresAt = Math.Min(now + lifetimeTicks, previous.StaleUntil) });
                return previous.Load.Result;
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
        if (client is null)
        {
            return new GateKey(KeyStatus.Unknown, clientId);
        }
        if (!client.IsActive)
        {
            return new GateKey(KeyStatus.Inactive, clientId);
        }
        if (client.Kind != ClientKind.Child)
        {
            return new GateKey(client.IsParent ? KeyStatus.Parent : KeyStatus.NotChild, clientId);
        }
        var parent = client.ParentClientId is null ? null : await clients.FindAsync(client.ParentClientId, CancellationToken.None);
        // A child whose parent is gone, revoked or disabled stops with it.
        if (parent is null || !parent.IsActive)
        {
            return new GateKey(KeyStatus.Inactive, clientId);
        }
        return new GateKey(KeyStatus.Child, clientId, client.OwnerUserId, parent.ClientId,
            ChildPolicy.EffectiveRateLimit(client, parent, defaultChildRateLimit), ChildPolicy.EffectiveEndpoints(client, parent));
    }

    private async Task<GateKey> LoadTokenAsync(string tokenHash)
    {
        var token = await grants.FindTokenAsync(tokenHash, CancellationToken.None);
        if (token is null || token.RevokedAt is not null)
        {
            return new GateKey(KeyStatus.Unknown, "");
        }
        if (token.Purpose == Core.Authorization.TokenPurpose.Installation)
        {
            return new GateKey(KeyStatus.InstallationToken, token.ClientId);
        }
        var client = await clients.FindAsync(token.ClientId, CancellationToken.None);
        if (client is null || !client.IsActive)
        {
            return new GateKey(KeyStatus.Inactive, token.ClientId);
        }
        return new GateKey(KeyStatus.AccessToken, client.ClientId, token.UserId, null,
            ChildPolicy.RegisteredRateLimit(client, defaultChildRateLimit), ChildPolicy.RegisteredEndpoints(client), token.ExpiresAt);
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

    private sealed record Entry(long ExpiresAt, long StaleUntil, Lazy<Task<GateKey>> LoadOnce)
    {
        public Task<GateKey> Load => LoadOnce.Value;
    }
}

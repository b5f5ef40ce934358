using Broker.Core.Platform;
using Broker.Core.Stores;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace Broker.Hosting;

/// <summary>
/// The tenant's flags, read through a short cache so that open registration does not read the
/// database for the flag on every call; a change reaches every instance within the cache lifetime.
/// </summary>
public sealed class TenantSettings(
    ITenantSettingsStore store, IAuditStore audit, IMemoryCache cache, IOptions<RegistrationOptions> options, TimeProvider time)
{
    public const string DynamicClientRegistrationFlag = "enable_dynamic_client_registration";

    public static readonly IReadOnlyList<string> KnownFlags = [DynamicClientRegistrationFlag];

    public async Task<bool> IsEnabledAsync(string flag, CancellationToken cancellationToken)
    {
        if (cache.TryGetValue(CacheKey(flag), out bool value))
        {
            return value;
        }
        value = await store.GetAsync(flag, cancellationToken) == "true";
        cache.Set(CacheKey(flag), value, options.Value.SettingsCacheLifetime);
        return value;
    }

    public async Task SetAsync(string flag, bool value, AuditActor actor, CancellationToken cancellationToken)
    {
        await store.SetAsync(flag, value ? "true" : "false", cancellationToken);
        cache.Remove(CacheKey(flag));
        await audit.AppendAsync(actor.Entry(AuditActions.SettingsChanged, $"tenant:{flag}", time.GetUtcNow(), $"{flag} = {(value ? "true" : "false")}"), cancellationToken);
    }

    private static string CacheKey(string flag) => $"tenant-flag:{flag}";
}

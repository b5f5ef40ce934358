using Broker.Core.Clients;
using Broker.Hosting;
using Microsoft.Extensions.Options;

namespace Broker.Gateway;

/// <summary>The <c>Gateway</c> section: which routes are gated, where they go, and how quotas are kept.</summary>
public sealed class GatewayOptions
{
    public const string Section = "Gateway";

    /// <summary>The routes of the built-in demo API, the default gateway routes.</summary>
    public static readonly IReadOnlyList<string> DemoRoutes =
        ["GET /photos", "GET /photos/*", "GET /photos/random", "GET /search/photos", "POST /photos/*/like", "GET /me"];

    /// <summary>Base URL of the upstream API; unset means the built-in demo API answers.</summary>
    public string? Upstream { get; set; }

    /// <summary><c>Memory</c> (default, one instance) or <c>Redis</c> (several instances); case-insensitive.</summary>
    public string QuotaStore { get; set; } = "Memory";

    /// <summary>The gated routes as <c>METHOD /path</c> patterns (<c>*</c> = one segment); unset means <see cref="DemoRoutes"/>.</summary>
    public string[]? Routes { get; set; }

    /// <summary>How long a child's key, status and quota are cached: the bound on a revocation or quota change taking effect.</summary>
    public TimeSpan ClientCacheDuration { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// While the database is unavailable, how long past its expiry a cached key keeps its last answer
    /// (default 5 minutes; zero turns this off). Bounds how stale a key can be during an outage.
    /// </summary>
    public TimeSpan StaleKeyLifetime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How many keys (children, and unknown keys) the cache holds at most.</summary>
    public int ClientCacheSize { get; set; } = 100_000;

    /// <summary>When the quota store cannot answer: false (default) refuses with 503, true lets calls through uncounted.</summary>
    public bool FailOpen { get; set; }

    /// <summary>How long one quota decision may take in the store before it counts as a failure.</summary>
    public TimeSpan QuotaTimeout { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How long the circuit stays open after the store failed, before one call tries it again.</summary>
    public TimeSpan QuotaBreakDuration { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Redis only: the most units of a child's quota one instance reserves ahead of its calls (1, the
    /// default, turns this off). A busy child's calls are then decided without a round trip; each reservation
    /// is also at most 1/64 of what the child has left. Off by default: while one instance holds units it
    /// has not used, another refuses the child's calls at the limit although quota is left (for up to
    /// <see cref="QuotaLeaseHold"/>), so admission across instances is no longer exact.
    /// </summary>
    public int QuotaLeaseMax { get; set; } = 1;

    /// <summary>Redis only: reserved units a child has not used for this long go back to Redis.</summary>
    public TimeSpan QuotaLeaseHold { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long the upstream may stay silent before the gateway answers 504.</summary>
    public TimeSpan UpstreamTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>For benchmarks only: also serve the demo API ungated under this path prefix (e.g. <c>/ungated</c>). Never set in production.</summary>
    public string? UngatedDemoPrefix { get; set; }

    public IReadOnlyList<string> EffectiveRoutes => Routes is { Length: > 0 } routes ? routes : DemoRoutes;

    public bool UsesRedis => string.Equals(QuotaStore?.Trim(), "Redis", StringComparison.OrdinalIgnoreCase);
}

/// <summary>Checks the gateway's settings at start, so a bad one stops the broker instead of a request.</summary>
internal sealed class GatewayOptionsValidation(IOptions<RedisOptions> redis) : IValidateOptions<GatewayOptions>
{
    public ValidateOptionsResult Validate(string? name, GatewayOptions options)
    {
        var failures = new List<string>();
        // Reject an upstream that is not an absolute http(s) URL.
        if (options.Upstream is { } upstream && !string.IsNullOrWhiteSpace(upstream)
            && !(Uri.TryCreate(upstream, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)))
        {
            failures.Add("Gateway:Upstream must be an absolute http(s) URL.");
        }
        // Reject an unknown quota store, and Redis without a server.
        if (!options.UsesRedis && !string.Equals(options.QuotaStore?.Trim(), "Memory", StringComparison.OrdinalIgnoreCase))
        {
            failures.Add("Gateway:QuotaStore must be Memory or Redis.");
        }
        if (options.UsesRedis && string.IsNullOrWhiteSpace(redis.Value.Configuration))
        {
            failures.Add("Gateway:QuotaStore is Redis, so Redis:Configuration must name the server.");
        }
        // Reject malformed route patterns.
        if (EndpointPattern.TryNormalise(options.EffectiveRoutes, out var problem) is null)
        {
            failures.Add($"Gateway:Routes: {problem}.");
        }
        // Reject non-positive durations and sizes.
        if (options.ClientCacheDuration <= TimeSpan.Zero || options.QuotaTimeout <= TimeSpan.Zero
            || options.QuotaBreakDuration < TimeSpan.FromMilliseconds(500) || options.UpstreamTimeout <= TimeSpan.Zero)
        {
            failures.Add("Gateway: ClientCacheDuration, QuotaTimeout and UpstreamTimeout must be positive, QuotaBreakDuration at least 0.5 s.");
        }
        if (options.StaleKeyLifetime < TimeSpan.Zero)
        {
            failures.Add("Gateway:StaleKeyLifetime must not be negative.");
        }
        if (options.QuotaLeaseMax < 1 || options.QuotaLeaseHold <= TimeSpan.Zero)
        {
            failures.Add("Gateway: QuotaLeaseMax must be at least 1 and QuotaLeaseHold positive.");
        }
        if (options.ClientCacheSize < 1)
        {
            failures.Add("Gateway:ClientCacheSize must be at least 1.");
        }
        // Reject an ungated prefix that is not a single absolute path.
        if (options.UngatedDemoPrefix is { Length: > 0 } prefix && (!prefix.StartsWith('/') || prefix.Length < 2 || prefix.EndsWith('/')))
        {
            failures.Add("Gateway:UngatedDemoPrefix must be a path such as /ungated.");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

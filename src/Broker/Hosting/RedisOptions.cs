using Microsoft.Extensions.Options;

namespace Broker.Hosting;

/// <summary>
/// The <c>Redis</c> section. With <see cref="Configuration"/> set, the key ring and every limit
/// (throttles, the open-registration cap, the spends under way) are shared through Redis; the quota
/// too when <c>Gateway:QuotaStore</c> is <c>Redis</c>.
/// </summary>
public sealed class RedisOptions
{
    public const string Section = "Redis";

    /// <summary>A StackExchange.Redis connection string, e.g. <c>127.0.0.1:6379</c>.</summary>
    public string? Configuration { get; set; }

    /// <summary>Prefix of every key the broker writes, so that one Redis can serve several deployments.</summary>
    public string KeyPrefix { get; set; } = "broker:";

    /// <summary>How long a limit waits for Redis before the instance counts on its own.</summary>
    public TimeSpan LimitTimeout { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>How long the limits stop asking a Redis that failed half of its recent calls.</summary>
    public TimeSpan LimitBreakDuration { get; set; } = TimeSpan.FromSeconds(5);
}

public sealed class RedisOptionsValidation : IValidateOptions<RedisOptions>
{
    public ValidateOptionsResult Validate(string? name, RedisOptions options) =>
        options.LimitTimeout <= TimeSpan.Zero || options.LimitBreakDuration < TimeSpan.FromMilliseconds(500)
            ? ValidateOptionsResult.Fail("Redis: LimitTimeout must be positive, LimitBreakDuration at least 0.5 s.")
            : ValidateOptionsResult.Success;
}

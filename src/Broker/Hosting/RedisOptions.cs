namespace Broker.Hosting;

/// <summary>The <c>Redis</c> section, used when <c>Gateway:QuotaStore</c> is <c>Redis</c>.</summary>
public sealed class RedisOptions
{
    public const string Section = "Redis";

    /// <summary>A StackExchange.Redis connection string, e.g. <c>127.0.0.1:6379</c>.</summary>
    public string? Configuration { get; set; }

    /// <summary>Prefix of every key the broker writes, so that one Redis can serve several deployments.</summary>
    public string KeyPrefix { get; set; } = "broker:";
}

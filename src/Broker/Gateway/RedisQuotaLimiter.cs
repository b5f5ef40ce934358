using System.Globalization;
using System.Threading.RateLimiting;
using Broker.Core.Quotas;
using Broker.Hosting;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Polly.Timeout;
using StackExchange.Redis;

namespace Broker.Gateway;

/// <summary>
/// Quotas shared by every instance, in Redis: one counter per child per window, read and raised by
/// one Lua script, so that a decision is atomic across instances (exactly the quota is admitted).
/// A timeout and a circuit breaker (Polly) keep a slow or absent Redis from holding calls: while it
/// cannot answer, leases come back <see cref="QuotaLease.StoreUnavailable"/> and the gate applies
/// <see cref="GatewayOptions.FailOpen"/>; the connection reconnects by itself.
/// </summary>
public sealed class RedisQuotaLimiter : QuotaLimiter
{
    // KEYS[1] the counter; ARGV: limit, cost (0 reads), lifetime in ms. Returns {admitted, used}.
    private const string Script = """
        local used = tonumber(redis.call('GET', KEYS[1]) or '0')
        local cost = tonumber(ARGV[2])
        if used + cost > tonumber(ARGV[1]) then return {0, used} end
        if cost == 0 then return {1, used} end
        used = redis.call('INCRBY', KEYS[1], cost)
        if used == cost then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
        return {1, used}
        """;

    // A counter outlives its window a little, so that a clock slightly behind still finds it.
    private static readonly TimeSpan Slack = TimeSpan.FromMinutes(5);

    private readonly RedisConnection connection;
    private readonly ResiliencePipeline pipeline;
    private readonly TimeProvider time;
    private readonly string keyPrefix;
    private readonly TimeSpan breakDuration;

    // The shared connection fails a command at once while disconnected instead of queueing it: the
    // gate's answer (503 or fail-open) must not wait for a server that is not there.
    public RedisQuotaLimiter(RedisConnection redis, IOptions<GatewayOptions> gateway, TimeProvider time)
    {
        this.time = time;
        connection = redis;
        keyPrefix = redis.KeyPrefix + "quota:";
        breakDuration = gateway.Value.QuotaBreakDuration;
        pipeline = new ResiliencePipelineBuilder { TimeProvider = time }
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                FailureRatio = 0.5,
                MinimumThroughput = 4,
                SamplingDuration = TimeSpan.FromSeconds(10),
                BreakDuration = breakDuration,
                ShouldHandle = new PredicateBuilder().Handle<RedisException>().Handle<TimeoutException>().Handle<TimeoutRejectedException>(),
            })
            .AddTimeout(gateway.Value.QuotaTimeout)
            .Build();
    }

    protected override RateLimitLease AttemptAcquireCore(QuotaRequest resource, int permitCount) =>
        throw new NotSupportedException("Redis quotas are decided asynchronously; use AcquireAsync.");

    protected override async ValueTask<RateLimitLease> AcquireAsyncCore(QuotaRequest resource, int permitCount, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var window = QuotaWindow.At(now);
        var key = string.Concat(keyPrefix, resource.ClientId, ":", window.Index.ToString(CultureInfo.InvariantCulture));
        var lifetime = (long)(window.RemainingAt(now) + Slack).TotalMilliseconds;
        try
        {
            var result = await pipeline.ExecuteAsync(
                static async (state, token) =>
                {
                    var redis = await state.connection.GetAsync().WaitAsync(token);
                    // StackExchange.Redis takes no token; WaitAsync lets the timeout abandon the call.
                    return await redis.GetDatabase().ScriptEvaluateAsync(Script, [state.key], [state.Limit, state.permitCount, state.lifetime]).WaitAsync(token);
                },
                (connection, key, resource.Limit, permitCount, lifetime),
                cancellationToken);
            var values = (long[])result!;
            return QuotaLease.Decided(values[0] == 1, resource.Limit, (int)values[1], window.RemainingAt(now));
        }
        catch (Exception exception) when (exception is ExecutionRejectedException or RedisException or TimeoutException
            && !cancellationToken.IsCancellationRequested)
        {
            return QuotaLease.Unavailable(resource.Limit, breakDuration);
        }
    }
}

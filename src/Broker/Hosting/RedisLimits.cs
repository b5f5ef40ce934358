using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Polly.Timeout;
using StackExchange.Redis;

namespace Broker.Hosting;

/// <summary>
/// Every limit's round trip to Redis (throttles, the open-registration cap, the spends under way) goes
/// through one timeout and one circuit breaker (Polly), so that a slow or absent Redis costs a caller at
/// most <see cref="RedisOptions.LimitTimeout"/>, and nothing at all while the circuit is open. A call
/// Redis cannot answer comes back unanswered and the limit counts in this instance instead: each limit
/// then holds per instance, as it does without Redis, rather than locking everyone out (sign-in,
/// registration) or letting everyone through.
/// </summary>
public sealed class RedisLimitCalls
{
    private readonly RedisConnection connection;
    private readonly ResiliencePipeline pipeline;

    public RedisLimitCalls(RedisConnection connection, IOptions<RedisOptions> options, TimeProvider time, ILogger<RedisLimitCalls> logger)
    {
        this.connection = connection;
        KeyPrefix = connection.KeyPrefix + "limit:";
        pipeline = new ResiliencePipelineBuilder { TimeProvider = time }
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                FailureRatio = 0.5,
                MinimumThroughput = 4,
                SamplingDuration = TimeSpan.FromSeconds(10),
                BreakDuration = options.Value.LimitBreakDuration,
                ShouldHandle = new PredicateBuilder().Handle<RedisException>().Handle<TimeoutException>().Handle<TimeoutRejectedException>(),
                OnOpened = _ =>
                {
                    logger.LogWarning("Redis does not answer the limits; each instance counts its own until it does");
                    return ValueTask.CompletedTask;
                },
                OnClosed = _ =>
                {
                    logger.LogInformation("Redis answers the limits again; they are counted once across instances");
                    return ValueTask.CompletedTask;
                },
            })
            .AddTimeout(options.Value.LimitTimeout)
            .Build();
    }

    /// <summary>Before every limit key: the deployment's <c>Redis:KeyPrefix</c>, then <c>limit:</c>.</summary>
    public string KeyPrefix { get; }

    /// <summary>
    /// A key for <paramref name="value"/> under <paramref name="rule"/>. Values (e-mail addresses, caller
    /// addresses, token hashes) are hashed, so that Redis holds no personal data and keys stay short.
    /// </summary>
    public RedisKey Key(string rule, string value) =>
        string.Concat(KeyPrefix, rule, ":", Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)).AsSpan(0, 16)));

    /// <summary>Runs <paramref name="call"/> against Redis; not answered when Redis is down, slow or its circuit open.</summary>
    public async ValueTask<RedisAnswer<T>> RunAsync<T>(Func<IDatabase, Task<T>> call, CancellationToken cancellationToken)
    {
        try
        {
            var value = await pipeline.ExecuteAsync(
                static async (state, token) =>
                {
                    var redis = await state.connection.GetAsync().WaitAsync(token);
                    // StackExchange.Redis takes no token: WaitAsync lets the timeout abandon the call.
                    return await state.call(redis.GetDatabase()).WaitAsync(token);
                },
                (connection, call),
                cancellationToken);
            return new RedisAnswer<T>(true, value);
        }
        catch (Exception exception) when (exception is ExecutionRejectedException or RedisException or TimeoutException)
        {
            return default;
        }
    }
}

/// <summary>What Redis answered, or <see cref="Answered"/> false when it could not.</summary>
public readonly record struct RedisAnswer<T>(bool Answered, T Value);

/// <summary>Throttles counted once for every instance, in Redis, each falling back to an in-process count while Redis cannot answer.</summary>
public sealed class RedisThrottles(RedisLimitCalls calls) : IThrottleStore
{
    public IKeyedThrottle Create(string rule, int permitsPerWindow, TimeSpan window) =>
        new RedisKeyedThrottle(calls, rule, permitsPerWindow, window);
}

/// <summary>
/// A fixed window per key that opens with the key's first permit taken and lasts the rule's window (the
/// key's lifetime in Redis), as the in-process <see cref="KeyedThrottle"/> counts. One Lua script reads and
/// raises the count, so instances asking together never take more than the permits between them.
/// </summary>
public sealed class RedisKeyedThrottle(RedisLimitCalls calls, string rule, int permitsPerWindow, TimeSpan window) : IKeyedThrottle, IDisposable
{
    // KEYS[1] the count; ARGV[1] the permits, ARGV[2] what to take (0 only asks), ARGV[3] the window in ms.
    // Returns -1 when a permit was there (and was taken), else the milliseconds until the window ends.
    private const string Script = """
        local used = tonumber(redis.call('GET', KEYS[1]) or '0')
        if used >= tonumber(ARGV[1]) then
          local left = redis.call('PTTL', KEYS[1])
          if left < 0 then
            redis.call('PEXPIRE', KEYS[1], ARGV[3])
            left = tonumber(ARGV[3])
          end
          return left
        end
        local cost = tonumber(ARGV[2])
        if cost > 0 and redis.call('INCRBY', KEYS[1], cost) == cost then
          redis.call('PEXPIRE', KEYS[1], ARGV[3])
        end
        return -1
        """;

    private readonly KeyedThrottle local = new(permitsPerWindow, window);
    private readonly RedisValue permits = permitsPerWindow;
    private readonly RedisValue windowMilliseconds = (long)Math.Ceiling(window.TotalMilliseconds);

    public async ValueTask<TimeSpan?> BlockedForAsync(string key, CancellationToken cancellationToken)
    {
        var answer = await EvaluateAsync(key, 0, cancellationToken);
        return answer.Answered ? answer.Value : await local.BlockedForAsync(key, cancellationToken);
    }

    public async ValueTask<TimeSpan?> TryTakePermitAsync(string key, CancellationToken cancellationToken)
    {
        var answer = await EvaluateAsync(key, 1, cancellationToken);
        return answer.Answered ? answer.Value : await local.TryTakePermitAsync(key, cancellationToken);
    }

    public async ValueTask RecordFailureAsync(string key, CancellationToken cancellationToken)
    {
        if (!(await EvaluateAsync(key, 1, cancellationToken)).Answered)
        {
            await local.RecordFailureAsync(key, cancellationToken);
        }
    }

    private async ValueTask<RedisAnswer<TimeSpan?>> EvaluateAsync(string key, int cost, CancellationToken cancellationToken)
    {
        RedisKey[] keys = [calls.Key(rule, key)];
        RedisValue[] arguments = [permits, cost, windowMilliseconds];
        var answer = await calls.RunAsync(database => database.ScriptEvaluateAsync(Script, keys, arguments), cancellationToken);
        if (!answer.Answered)
        {
            return default;
        }
        var left = (long)answer.Value;
        return new RedisAnswer<TimeSpan?>(true, left < 0 ? null : TimeSpan.FromMilliseconds(Math.Max(left, 1)));
    }

    public void Dispose() => local.Dispose();
}

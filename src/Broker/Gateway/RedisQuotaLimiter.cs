using System.Globalization;
using System.Threading.Channels;
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
/// Quotas shared by every instance, in Redis: one counter per child per window, read and raised by a
/// Lua script, so that a decision is atomic across instances (exactly the quota is admitted).
/// Calls that arrive together are decided together: while one round trip is out, the calls behind it
/// queue, and the next round trip carries all of them in one script run that decides each in turn.
/// Redis still decides every call and nothing is reserved ahead, so batching neither admits past the
/// quota nor leaves quota stranded with an instance that dies.
/// A timeout and a circuit breaker (Polly), per round trip, keep a slow or absent Redis from holding
/// calls: while it cannot answer, leases come back <see cref="QuotaLease.StoreUnavailable"/> and the
/// gate applies <see cref="GatewayOptions.FailOpen"/>; the connection reconnects by itself.
/// </summary>
public sealed class RedisQuotaLimiter : QuotaLimiter
{
    // KEYS[i] a counter; ARGV[3i-2..3i] its limit, cost (0 reads) and lifetime in ms. Counters are
    // decided in order, so a key given twice sees its first call counted. Returns {admitted, used} per key.
    private const string Script = """
        local decisions = {}
        for i, key in ipairs(KEYS) do
          local limit, cost = tonumber(ARGV[3 * i - 2]), tonumber(ARGV[3 * i - 1])
          local used = tonumber(redis.call('GET', key) or '0')
          local admitted = 1
          if used + cost > limit then
            admitted = 0
          elseif cost > 0 then
            used = redis.call('INCRBY', key, cost)
            if used == cost then redis.call('PEXPIRE', key, ARGV[3 * i]) end
          end
          decisions[2 * i - 1], decisions[2 * i] = admitted, used
        end
        return decisions
        """;

    // A counter outlives its window a little, so that a clock slightly behind still finds it.
    private static readonly TimeSpan Slack = TimeSpan.FromMinutes(5);

    // Bounds one script run: Redis serves nothing else while it runs.
    private const int MaxBatch = 128;

    private static readonly ResiliencePropertyKey<TimeSpan> TimeLeft = new("quota.time-left");

    private readonly RedisConnection connection;
    private readonly ResiliencePipeline pipeline;
    private readonly TimeProvider time;
    private readonly string keyPrefix;
    private readonly TimeSpan quotaTimeout;
    private readonly TimeSpan breakDuration;
    private readonly Channel<PendingAcquisition> pending = Channel.CreateUnbounded<PendingAcquisition>(
        new UnboundedChannelOptions { SingleReader = true });
    private readonly Task deciding;

    // The shared connection fails a command at once while disconnected instead of queueing it: the
    // gate's answer (503 or fail-open) must not wait for a server that is not there.
    public RedisQuotaLimiter(RedisConnection redis, IOptions<GatewayOptions> gateway, TimeProvider time, BrokerTelemetry? telemetry = null)
    {
        var circuit = new CircuitBreakerStateProvider();
        telemetry?.WatchQuotaStore(() => circuit.CircuitState is CircuitState.Closed or CircuitState.HalfOpen);
        this.time = time;
        connection = redis;
        keyPrefix = redis.KeyPrefix + "quota:";
        quotaTimeout = gateway.Value.QuotaTimeout;
        breakDuration = gateway.Value.QuotaBreakDuration;
        pipeline = new ResiliencePipelineBuilder { TimeProvider = time }
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                FailureRatio = 0.5,
                MinimumThroughput = 4,
                SamplingDuration = TimeSpan.FromSeconds(10),
                BreakDuration = breakDuration,
                StateProvider = circuit,
                ShouldHandle = new PredicateBuilder().Handle<RedisException>().Handle<TimeoutException>().Handle<TimeoutRejectedException>(),
            })
            // What is left of the oldest waiter's QuotaTimeout: no call waits longer than that in all.
            .AddTimeout(new TimeoutStrategyOptions
            {
                TimeoutGenerator = static arguments => ValueTask.FromResult(arguments.Context.Properties.GetValue(TimeLeft, TimeSpan.Zero)),
            })
            .Build();
        // The loop serves every call to come: it must not keep the context (and the trace) of the request
        // that happened to create the limiter, or every Redis span would hang under that one request.
        using (ExecutionContext.SuppressFlow())
        {
            deciding = Task.Run(DecideWhileOpenAsync);
        }
    }

    protected override RateLimitLease AttemptAcquireCore(QuotaRequest resource, int permitCount) =>
        throw new NotSupportedException("Redis quotas are decided asynchronously; use AcquireAsync.");

    protected override ValueTask<RateLimitLease> AcquireAsyncCore(QuotaRequest resource, int permitCount, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var window = QuotaWindow.At(now);
        var acquisition = new PendingAcquisition(
            string.Concat(keyPrefix, resource.ClientId, ":", window.Index.ToString(CultureInfo.InvariantCulture)),
            resource.Limit,
            permitCount,
            (long)(window.RemainingAt(now) + Slack).TotalMilliseconds,
            window.RemainingAt(now),
            time.GetTimestamp());
        acquisition.WatchCancellation(cancellationToken);
        ObjectDisposedException.ThrowIf(!pending.Writer.TryWrite(acquisition), this);
        return new ValueTask<RateLimitLease>(acquisition.Task);
    }

    // One round trip at a time: what queues meanwhile is the next batch, so the busier the gate, the
    // more calls each round trip decides.
    private async Task DecideWhileOpenAsync()
    {
        var batch = new List<PendingAcquisition>(MaxBatch);
        while (await pending.Reader.WaitToReadAsync())
        {
            while (batch.Count < MaxBatch && pending.Reader.TryRead(out var acquisition))
            {
                // A caller that went away while queued is not counted.
                if (!acquisition.Task.IsCompleted)
                {
                    batch.Add(acquisition);
                }
            }
            if (batch.Count > 0)
            {
                await DecideAsync(batch);
                batch.Clear();
            }
        }
    }

    private async Task DecideAsync(List<PendingAcquisition> batch)
    {
        var timeLeft = quotaTimeout - time.GetElapsedTime(batch[0].Arrived);
        // The batch's oldest call has waited its whole timeout behind a slow round trip: answer
        // without asking a Redis that has just shown it cannot keep up.
        if (timeLeft <= TimeSpan.Zero)
        {
            AnswerUnavailable(batch);
            return;
        }
        var context = ResilienceContextPool.Shared.Get();
        context.Properties.Set(TimeLeft, timeLeft);
        try
        {
            var keys = new RedisKey[batch.Count];
            var arguments = new RedisValue[3 * batch.Count];
            for (var i = 0; i < batch.Count; i++)
            {
                keys[i] = batch[i].Key;
                arguments[3 * i] = batch[i].Limit;
                arguments[3 * i + 1] = batch[i].Cost;
                arguments[3 * i + 2] = batch[i].LifetimeMilliseconds;
            }
            var decisions = await pipeline.ExecuteAsync(
                static async (context, state) =>
                {
                    var redis = await state.connection.GetAsync().WaitAsync(context.CancellationToken);
                    // StackExchange.Redis loads the script once per server and then sends its hash (EVALSHA,
                    // again the text after a NOSCRIPT). It takes no token; WaitAsync lets the timeout abandon the call.
                    var decisions = await redis.GetDatabase().ScriptEvaluateAsync(Script, state.keys, state.arguments).WaitAsync(context.CancellationToken);
                    return (long[])decisions!;
                },
                context,
                (connection, keys, arguments));
            for (var i = 0; i < batch.Count; i++)
            {
                var acquisition = batch[i];
                acquisition.Answer(QuotaLease.Decided(decisions[2 * i] == 1, acquisition.Limit, (int)decisions[2 * i + 1], acquisition.ResetAfter));
            }
        }
        catch (Exception exception) when (exception is ExecutionRejectedException or RedisException or TimeoutException)
        {
            AnswerUnavailable(batch);
        }
        catch (Exception exception)
        {
            // Not a store fault: each caller sees it, as it would without the batch; the next batch goes on.
            foreach (var acquisition in batch)
            {
                acquisition.Fail(exception);
            }
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private void AnswerUnavailable(List<PendingAcquisition> batch)
    {
        foreach (var acquisition in batch)
        {
            acquisition.Answer(QuotaLease.Unavailable(acquisition.Limit, breakDuration));
        }
    }

    protected override void Dispose(bool disposing)
    {
        pending.Writer.TryComplete();
        base.Dispose(disposing);
    }

    protected override async ValueTask DisposeAsyncCore()
    {
        pending.Writer.TryComplete();
        await deciding;
        await base.DisposeAsyncCore();
    }

    /// <summary>A call waiting for its batch: what Redis needs to decide it and what its lease reports.</summary>
    private sealed class PendingAcquisition(RedisKey key, int limit, int cost, long lifetimeMilliseconds, TimeSpan resetAfter, long arrived)
        // Continuations run on the thread pool: the batch must not run its callers' requests in turn.
        : TaskCompletionSource<RateLimitLease>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        private CancellationTokenRegistration cancellation;

        public RedisKey Key { get; } = key;

        public int Limit { get; } = limit;

        public int Cost { get; } = cost;

        public long LifetimeMilliseconds { get; } = lifetimeMilliseconds;

        public TimeSpan ResetAfter { get; } = resetAfter;

        public long Arrived { get; } = arrived;

        // The caller stops waiting at once; its batch, queued or out, goes on for the others.
        public void WatchCancellation(CancellationToken cancellationToken) =>
            cancellation = cancellationToken.UnsafeRegister(
                static (state, token) => ((PendingAcquisition)state!).TrySetCanceled(token), this);

        public void Answer(QuotaLease lease)
        {
            cancellation.Unregister();
            TrySetResult(lease);
        }

        public void Fail(Exception exception)
        {
            cancellation.Unregister();
            TrySetException(exception);
        }
    }
}

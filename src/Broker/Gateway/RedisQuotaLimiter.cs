using System.Collections.Concurrent;
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
/// A busy child's round trip also reserves units ahead (<see cref="ReservedUnits"/>, up to
/// <see cref="GatewayOptions.QuotaLeaseMax"/>, never more than 1/64 of what it has left): its next calls
/// take them here without a round trip. Reserved units are counted in Redis at once, so no instance admits
/// past the quota; units unused for <see cref="GatewayOptions.QuotaLeaseHold"/> go back, and those an
/// instance held when it died stay counted until the hour ends.
/// A timeout and a circuit breaker (Polly), per round trip, keep a slow or absent Redis from holding
/// calls: while it cannot answer, leases come back <see cref="QuotaLease.StoreUnavailable"/> and the
/// gate applies <see cref="GatewayOptions.FailOpen"/>; the connection reconnects by itself.
/// </summary>
public sealed class RedisQuotaLimiter : QuotaLimiter
{
    // KEYS[i] a counter; ARGV[4i-3..4i] its limit, cost (0 reads), lifetime in ms and the units wanted (the
    // call's and any to reserve ahead). Counters are decided in order, so a key given twice sees its first
    // call counted, and a later call of a key takes what an earlier one reserved in this run. Returns
    // {admitted, place} per key (place: the counter's value that the call's unit occupies, or the count
    // when refused or read), then {i, first, last} for each key's reserved places not handed out.
    private const string Script = """
        local decisions, held, order = {}, {}, {}
        for i, key in ipairs(KEYS) do
          local limit, cost, want = tonumber(ARGV[4 * i - 3]), tonumber(ARGV[4 * i - 2]), tonumber(ARGV[4 * i])
          local admitted, place = 1, 0
          local h = held[key]
          if cost == 1 and h and h[2] <= h[3] then
            place = h[2]
            h[2] = h[2] + 1
            h[1] = i
          else
            local used = tonumber(redis.call('GET', key) or '0')
            place = used
            if used + cost > limit then
              admitted = 0
            elseif cost > 0 then
              local units = cost
              if cost == 1 then units = math.max(1, math.min(want, math.floor((limit - used) / 64))) end
              local total = redis.call('INCRBY', key, units)
              if total == units then redis.call('PEXPIRE', key, ARGV[4 * i - 1]) end
              place = used + cost
              if units > cost then
                if not held[key] then order[#order + 1] = key end
                held[key] = {i, place + 1, total}
              end
            end
          end
          decisions[2 * i - 1], decisions[2 * i] = admitted, place
        end
        for _, key in ipairs(order) do
          local h = held[key]
          if h[2] <= h[3] then
            decisions[#decisions + 1] = h[1]
            decisions[#decisions + 1] = h[2]
            decisions[#decisions + 1] = h[3]
          end
        end
        return decisions
        """;

    // Hands reserved units back: KEYS[i] a counter, ARGV[i] the units (a counter already gone stays gone).
    private const string ReturnScript = """
        for i, key in ipairs(KEYS) do
          if redis.call('EXISTS', key) == 1 then redis.call('DECRBY', key, ARGV[i]) end
        end
        return 0
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
    private readonly int leaseMax;
    private readonly TimeSpan leaseHold;
    private readonly ConcurrentDictionary<(string ClientId, long Window), ReservedUnits> reserved = new();
    private readonly CancellationTokenSource stopping = new();
    private readonly Task returning;

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
        leaseMax = gateway.Value.QuotaLeaseMax;
        leaseHold = gateway.Value.QuotaLeaseHold;
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
            // Nothing is ever reserved when reservations are off: no loop to look for idle units.
            returning = leaseMax > 1 ? Task.Run(ReturnIdleUnitsAsync) : Task.CompletedTask;
        }
    }

    protected override RateLimitLease AttemptAcquireCore(QuotaRequest resource, int permitCount) =>
        throw new NotSupportedException("Redis quotas are decided asynchronously; use AcquireAsync.");

    protected override ValueTask<RateLimitLease> AcquireAsyncCore(QuotaRequest resource, int permitCount, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var stamp = time.GetTimestamp();
        var window = QuotaWindow.At(now);
        var want = permitCount;
        if (permitCount == 1 && leaseMax > 1)
        {
            // A unit reserved ahead decides the call here, with the place it holds in the shared count.
            var units = reserved.GetValueOrDefault((resource.ClientId, window.Index));
            if (units is not null && units.TryTake(resource.Limit, stamp, out var place))
            {
                return new ValueTask<RateLimitLease>(QuotaLease.Decided(true, resource.Limit, (int)place, window.RemainingAt(now)));
            }
            want = units?.NextWant(stamp, leaseHold, leaseMax, time) ?? 1;
        }
        var acquisition = new PendingAcquisition(
            resource.ClientId,
            window.Index,
            CounterKey(resource.ClientId, window.Index),
            resource.Limit,
            permitCount,
            want,
            (long)(window.RemainingAt(now) + Slack).TotalMilliseconds,
            window.RemainingAt(now),
            stamp);
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
            var arguments = new RedisValue[4 * batch.Count];
            for (var i = 0; i < batch.Count; i++)
            {
                keys[i] = batch[i].Key;
                arguments[4 * i] = batch[i].Limit;
                arguments[4 * i + 1] = batch[i].Cost;
                arguments[4 * i + 2] = batch[i].LifetimeMilliseconds;
                arguments[4 * i + 3] = batch[i].Want;
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
            // Reserved places first, so that a caller answered below finds them for its next call.
            var answeredAt = time.GetTimestamp();
            for (var at = 2 * batch.Count; at + 2 < decisions.Length; at += 3)
            {
                Reserve(batch[(int)decisions[at] - 1], decisions[at + 1], decisions[at + 2], answeredAt);
            }
            for (var i = 0; i < batch.Count; i++)
            {
                var acquisition = batch[i];
                if (acquisition.Cost == 1 && leaseMax > 1 && decisions[2 * i] == 1)
                {
                    // Its child's pace, for the size of the next reservation.
                    Reserve(acquisition, 1, 0, answeredAt);
                }
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

    // A child's counter for one hour in Redis.
    private string CounterKey(string clientId, long window) =>
        string.Concat(keyPrefix, clientId, ":", window.ToString(CultureInfo.InvariantCulture));

    // Places [first, last] reserved for a child (none when first > last): kept in its entry, or a fresh one
    // when the entry was retired meanwhile.
    private void Reserve(PendingAcquisition acquisition, long first, long last, long now)
    {
        var key = (acquisition.ClientId, acquisition.Window);
        while (true)
        {
            var entry = reserved.GetOrAdd(key, static _ => new ReservedUnits());
            if (entry.TryAdd(first, last, now))
            {
                return;
            }
            reserved.TryRemove(new KeyValuePair<(string, long), ReservedUnits>(key, entry));
        }
    }

    // Units unused for QuotaLeaseHold go back to Redis, so that other instances can admit them; a past
    // window's are dropped (its counter ends with it).
    private async Task ReturnIdleUnitsAsync()
    {
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                await Task.Delay(leaseHold / 2, time, stopping.Token);
                await ReturnUnitsAsync(all: false);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
    }

    private async Task ReturnUnitsAsync(bool all)
    {
        var now = time.GetTimestamp();
        var window = QuotaWindow.At(time.GetUtcNow()).Index;
        var keys = new List<RedisKey>();
        var units = new List<RedisValue>();
        foreach (var (key, entry) in reserved)
        {
            if (entry.TryRetire(now, leaseHold, all, time) is not { } unused)
            {
                continue;
            }
            reserved.TryRemove(new KeyValuePair<(string, long), ReservedUnits>(key, entry));
            if (unused > 0 && key.Window == window)
            {
                keys.Add(CounterKey(key.ClientId, key.Window));
                units.Add(unused);
            }
        }
        if (keys.Count == 0)
        {
            return;
        }
        try
        {
            var redis = await connection.GetAsync().WaitAsync(quotaTimeout);
            await redis.GetDatabase().ScriptEvaluateAsync(ReturnScript, [.. keys], [.. units]).WaitAsync(quotaTimeout);
        }
        catch (Exception exception) when (exception is RedisException or TimeoutException)
        {
            // Not handed back: they stay counted until the window ends, as a dead instance's would.
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
        stopping.Cancel();
        base.Dispose(disposing);
    }

    // A stopping instance hands back what it reserved, so that only a crash leaves units counted.
    protected override async ValueTask DisposeAsyncCore()
    {
        pending.Writer.TryComplete();
        stopping.Cancel();
        await deciding;
        await returning;
        await ReturnUnitsAsync(all: true);
        await base.DisposeAsyncCore();
    }

    /// <summary>A call waiting for its batch: what Redis needs to decide it and what its lease reports.</summary>
    private sealed class PendingAcquisition(
        string clientId, long window, RedisKey key, int limit, int cost, int want, long lifetimeMilliseconds, TimeSpan resetAfter, long arrived)
        // Continuations run on the thread pool: the batch must not run its callers' requests in turn.
        : TaskCompletionSource<RateLimitLease>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        private CancellationTokenRegistration cancellation;

        public string ClientId { get; } = clientId;

        public long Window { get; } = window;

        public RedisKey Key { get; } = key;

        public int Want { get; } = want;

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

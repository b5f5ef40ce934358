using System.Collections.Concurrent;
using System.Threading.RateLimiting;
using Broker.Core.Quotas;

namespace Broker.Gateway;

/// <summary>One child's call against its hourly quota; a permit count of zero reads the quota without spending.</summary>
public readonly record struct QuotaRequest(string ClientId, int Limit);

/// <summary>
/// The hourly quota of every child, as a System.Threading.RateLimiting limiter partitioned by client.
/// The quota's size travels with each request (it can change while a window is open), so the
/// partitions are kept here rather than by <see cref="PartitionedRateLimiter.Create{TResource,TPartitionKey}"/>,
/// whose partitions fix their options when first made.
/// </summary>
public abstract class QuotaLimiter : PartitionedRateLimiter<QuotaRequest>
{
    public override RateLimiterStatistics? GetStatistics(QuotaRequest resource) => null;
}

/// <summary>A quota decision, with what the rate-limit headers report.</summary>
public sealed class QuotaLease : RateLimitLease
{
    private static readonly string[] RetryAfterOnly = [MetadataName.RetryAfter.Name];

    private QuotaLease(bool acquired, bool unavailable, int limit, int remaining, TimeSpan resetAfter)
    {
        IsAcquired = acquired;
        StoreUnavailable = unavailable;
        Limit = limit;
        Remaining = remaining;
        ResetAfter = resetAfter;
    }

    public override bool IsAcquired { get; }

    /// <summary>The quota store could not answer; nothing was counted.</summary>
    public bool StoreUnavailable { get; }

    public int Limit { get; }

    public int Remaining { get; }

    /// <summary>Until the window ends (a quota decision), or until the store is tried again (unavailable).</summary>
    public TimeSpan ResetAfter { get; }

    public static QuotaLease Decided(bool acquired, int limit, int used, TimeSpan resetAfter) =>
        new(acquired, false, limit, Math.Max(0, limit - used), resetAfter);

    public static QuotaLease Unavailable(int limit, TimeSpan retryAfter) => new(false, true, limit, limit, retryAfter);

    public override IEnumerable<string> MetadataNames => IsAcquired ? [] : RetryAfterOnly;

    public override bool TryGetMetadata(string metadataName, out object? metadata)
    {
        if (!IsAcquired && metadataName == MetadataName.RetryAfter.Name)
        {
            metadata = ResetAfter;
            return true;
        }
        metadata = null;
        return false;
    }
}

/// <summary>
/// Quotas of one instance, in memory. Each child's counter is one 64-bit word (window index in the
/// high half, calls admitted in the low half) changed by compare-and-swap, so racing calls admit
/// exactly the quota without a lock; counters of past windows are dropped as windows turn.
/// </summary>
public sealed class MemoryQuotaLimiter(TimeProvider time) : QuotaLimiter
{
    private readonly ConcurrentDictionary<string, Counter> counters = new(StringComparer.Ordinal);
    private long sweptWindow = -1;

    protected override RateLimitLease AttemptAcquireCore(QuotaRequest resource, int permitCount)
    {
        var now = time.GetUtcNow();
        var window = QuotaWindow.At(now);
        SweepIfWindowTurned(window.Index);
        var counter = counters.GetOrAdd(resource.ClientId, static _ => new Counter());
        while (true)
        {
            var seen = Volatile.Read(ref counter.Word);
            if (seen == Counter.Removed)
            {
                // The sweep retired this counter between our lookup and now: use its successor.
                counters.TryRemove(new KeyValuePair<string, Counter>(resource.ClientId, counter));
                counter = counters.GetOrAdd(resource.ClientId, static _ => new Counter());
                continue;
            }
            var used = (seen >> 32) == window.Index ? (int)(seen & 0xFFFFFFFF) : 0;
            if (used + permitCount > resource.Limit)
            {
                return QuotaLease.Decided(false, resource.Limit, used, window.RemainingAt(now));
            }
            if (permitCount == 0)
            {
                return QuotaLease.Decided(true, resource.Limit, used, window.RemainingAt(now));
            }
            var next = (window.Index << 32) | (uint)(used + permitCount);
            if (Interlocked.CompareExchange(ref counter.Word, next, seen) == seen)
            {
                return QuotaLease.Decided(true, resource.Limit, used + permitCount, window.RemainingAt(now));
            }
        }
    }

    protected override ValueTask<RateLimitLease> AcquireAsyncCore(QuotaRequest resource, int permitCount, CancellationToken cancellationToken) =>
        ValueTask.FromResult(AttemptAcquireCore(resource, permitCount));

    // Memory stays proportional to the children active this hour: once per window turn, drop the rest.
    private void SweepIfWindowTurned(long window)
    {
        var swept = Volatile.Read(ref sweptWindow);
        if (swept == window || Interlocked.CompareExchange(ref sweptWindow, window, swept) != swept)
        {
            return;
        }
        foreach (var (clientId, counter) in counters)
        {
            // Retire a counter only if no call counted on it meanwhile (the swap fails if one did).
            var seen = Volatile.Read(ref counter.Word);
            if ((seen >> 32) < window && seen != Counter.Removed
                && Interlocked.CompareExchange(ref counter.Word, Counter.Removed, seen) == seen)
            {
                counters.TryRemove(new KeyValuePair<string, Counter>(clientId, counter));
            }
        }
    }

    private sealed class Counter
    {
        public const long Removed = long.MinValue;

        public long Word;
    }
}

using System.Threading.RateLimiting;

namespace Broker.Hosting;

/// <summary>
/// A fixed-window allowance per key (an account, an address, a client_id). Used two ways: failures take a
/// permit and a key with none left is refused until its window ends (<see cref="BlockedForAsync"/>,
/// <see cref="RecordFailureAsync"/>: wrong passwords, wrong client secrets), or every attempt takes one
/// (<see cref="TryTakePermitAsync"/>: open registrations). Asynchronous, so that a store shared by every
/// instance can stand behind it.
/// </summary>
public interface IKeyedThrottle
{
    /// <summary>How long <paramref name="key"/> stays refused for having failed too often; null when it is not.</summary>
    ValueTask<TimeSpan?> BlockedForAsync(string key, CancellationToken cancellationToken);

    /// <summary>Takes one permit for <paramref name="key"/> (a plain per-key rate limit): null when one was left, else how long until one is.</summary>
    ValueTask<TimeSpan?> TryTakePermitAsync(string key, CancellationToken cancellationToken);

    /// <summary>Records one failure against <paramref name="key"/>.</summary>
    ValueTask RecordFailureAsync(string key, CancellationToken cancellationToken);
}

/// <summary>
/// Makes each rule's throttle. The in-process one (<see cref="InProcessThrottles"/>) counts per instance;
/// a distributed store counts once for all of them, keeping each rule's keys apart by its name.
/// </summary>
public interface IThrottleStore
{
    IKeyedThrottle Create(string rule, int permitsPerWindow, TimeSpan window);
}

/// <summary>Throttles counted in this instance's memory: the default, and right for a single instance.</summary>
public sealed class InProcessThrottles : IThrottleStore
{
    public IKeyedThrottle Create(string rule, int permitsPerWindow, TimeSpan window) => new KeyedThrottle(permitsPerWindow, window);
}

/// <summary>An in-process <see cref="IKeyedThrottle"/>, built on System.Threading.RateLimiting.</summary>
public sealed class KeyedThrottle : IKeyedThrottle, IDisposable
{
    private readonly PartitionedRateLimiter<string> limiter;

    public KeyedThrottle(int permitsPerWindow, TimeSpan window)
    {
        limiter = PartitionedRateLimiter.Create<string, string>(key => RateLimitPartition.GetFixedWindowLimiter(
            key, _ => new FixedWindowRateLimiterOptions
            {
                PermitLimit = permitsPerWindow,
                Window = window,
                QueueLimit = 0,
                AutoReplenishment = true,
            }));
    }

    public ValueTask<TimeSpan?> BlockedForAsync(string key, CancellationToken cancellationToken)
    {
        // Asking for zero permits reports exhaustion without taking anything.
        using var lease = limiter.AttemptAcquire(key, 0);
        return ValueTask.FromResult(lease.IsAcquired ? null : RetryAfter(lease));
    }

    public ValueTask<TimeSpan?> TryTakePermitAsync(string key, CancellationToken cancellationToken)
    {
        using var lease = limiter.AttemptAcquire(key);
        return ValueTask.FromResult(lease.IsAcquired ? null : RetryAfter(lease));
    }

    public ValueTask RecordFailureAsync(string key, CancellationToken cancellationToken)
    {
        using var lease = limiter.AttemptAcquire(key);
        return ValueTask.CompletedTask;
    }

    private static TimeSpan? RetryAfter(RateLimitLease lease) =>
        lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromMinutes(1);

    public void Dispose() => limiter.Dispose();
}

/// <summary>The sign-in and client-authentication throttles, one per rule, each a singleton.</summary>
public sealed class Throttles(IKeyedThrottle loginsPerAccount, IKeyedThrottle loginsPerAddress, IKeyedThrottle clientAuthentications)
{
    public IKeyedThrottle LoginsPerAccount { get; } = loginsPerAccount;

    public IKeyedThrottle LoginsPerAddress { get; } = loginsPerAddress;

    public IKeyedThrottle ClientAuthentications { get; } = clientAuthentications;
}

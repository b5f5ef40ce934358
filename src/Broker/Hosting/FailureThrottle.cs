using System.Threading.RateLimiting;

namespace Broker.Hosting;

/// <summary>
/// Counts failures (wrong passwords, wrong client secrets) per key in fixed windows, and says when a
/// key has spent its allowance. Built on System.Threading.RateLimiting: a failure takes a permit,
/// and a key with none left is refused until its window ends.
/// </summary>
public sealed class FailureThrottle : IDisposable
{
    private readonly PartitionedRateLimiter<string> limiter;

    public FailureThrottle(int failuresPerWindow, TimeSpan window)
    {
        limiter = PartitionedRateLimiter.Create<string, string>(key => RateLimitPartition.GetFixedWindowLimiter(
            key, _ => new FixedWindowRateLimiterOptions
            {
                PermitLimit = failuresPerWindow,
                Window = window,
                QueueLimit = 0,
                AutoReplenishment = true,
            }));
    }

    /// <summary>Whether <paramref name="key"/> has failed too often; <paramref name="retryAfter"/> says for how long.</summary>
    public bool IsBlocked(string key, out TimeSpan retryAfter)
    {
        // Asking for zero permits reports exhaustion without taking anything.
        using var lease = limiter.AttemptAcquire(key, 0);
        if (lease.IsAcquired)
        {
            retryAfter = TimeSpan.Zero;
            return false;
        }
        retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromMinutes(1);
        return true;
    }

    /// <summary>Takes one permit for <paramref name="key"/> if any is left (a plain per-key rate limit).</summary>
    public bool TryAcquire(string key, out TimeSpan retryAfter)
    {
        using var lease = limiter.AttemptAcquire(key);
        retryAfter = lease.IsAcquired || !lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? TimeSpan.FromMinutes(1) : after;
        return lease.IsAcquired;
    }

    /// <summary>Records one failure against <paramref name="key"/>.</summary>
    public void RecordFailure(string key)
    {
        using var lease = limiter.AttemptAcquire(key);
    }

    public void Dispose() => limiter.Dispose();
}

/// <summary>The throttles of the broker, one per rule, each a singleton.</summary>
public sealed class Throttles(FailureThrottle loginsPerAccount, FailureThrottle loginsPerAddress, FailureThrottle clientAuthentications)
{
    public FailureThrottle LoginsPerAccount { get; } = loginsPerAccount;

    public FailureThrottle LoginsPerAddress { get; } = loginsPerAddress;

    public FailureThrottle ClientAuthentications { get; } = clientAuthentications;
}

using System.Threading.RateLimiting;

namespace Broker.Hosting;

/// <summary>
/// A fixed-window allowance per key (an account, an address, a client_id), built on
/// System.Threading.RateLimiting. Used two ways: failures take a permit and a key with none left is
/// refused until its window ends (<see cref="IsBlocked"/>, <see cref="RecordFailure"/>: wrong passwords,
/// wrong client secrets), or every attempt takes one (<see cref="TryAcquire"/>: open registrations).
/// </summary>
public sealed class KeyedThrottle : IDisposable
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
public sealed class Throttles(KeyedThrottle loginsPerAccount, KeyedThrottle loginsPerAddress, KeyedThrottle clientAuthentications)
{
    public KeyedThrottle LoginsPerAccount { get; } = loginsPerAccount;

    public KeyedThrottle LoginsPerAddress { get; } = loginsPerAddress;

    public KeyedThrottle ClientAuthentications { get; } = clientAuthentications;
}

using Broker.Core.Stores;

namespace Broker.Installation;

/// <summary>
/// Deletes authorization codes and access tokens a day after they expired, so the grant tables hold
/// what is live (plus a day, in which a replayed code is still recognised as one and revokes what it
/// issued). Installation tokens are kept: an idempotent retry of POST /clients refers to them.
/// </summary>
public sealed class ExpiredGrantCleanup(IGrantStore grants, TimeProvider time, ILogger<ExpiredGrantCleanup> logger) : BackgroundService
{
    public static readonly TimeSpan Grace = TimeSpan.FromDays(1);

    /// <summary>One pass; how many rows it deleted.</summary>
    public Task<int> RunOnceAsync(CancellationToken cancellationToken) => grants.PurgeExpiredAsync(time.GetUtcNow() - Grace, cancellationToken);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromHours(1), time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await RunOnceAsync(stoppingToken);
            }
            catch (Exception exception) when (exception is System.Data.Common.DbException or Storage.DatabaseUnavailableException)
            {
                // The next pass tries again; nothing here is urgent.
                logger.LogWarning(exception, "Purging expired codes and tokens failed");
            }
        }
    }
}

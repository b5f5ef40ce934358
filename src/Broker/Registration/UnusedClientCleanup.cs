using Broker.Core.Platform;
using Broker.Core.Stores;
using Broker.Hosting;
using Microsoft.Extensions.Options;

namespace Broker.Registration;

/// <summary>
/// Removes open-registered clients that were never used (no token, no API call) within
/// <see cref="RegistrationOptions.UnusedClientLifetime"/>: open registration needs no credential, so
/// abandoned registrations would otherwise accumulate up to the tenant cap. Runs every hour (or every
/// tenth of the lifetime, if shorter); several instances running it at once delete each client once.
/// </summary>
public sealed class UnusedClientCleanup(
    IClientStore clients, IOptions<RegistrationOptions> options, TimeProvider time, ILogger<UnusedClientCleanup> logger)
    : BackgroundService
{
    /// <summary>One pass; returns how many clients it removed.</summary>
    public async Task<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        return await clients.DeleteUnusedOpenRegisteredAsync(now - options.Value.UnusedClientLifetime, now,
            removed => new AuditActor("system:cleanup").Entry(AuditActions.ClientDeleted, "tenant:open-registration", now,
                $"removed {removed} open-registered clients never used within {options.Value.UnusedClientLifetime}"), cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = TimeSpan.FromTicks(Math.Min(TimeSpan.FromHours(1).Ticks, options.Value.UnusedClientLifetime.Ticks / 10));
        using var timer = new PeriodicTimer(interval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await RunOnceAsync(stoppingToken);
            }
            catch (Exception exception) when (exception is System.Data.Common.DbException or TimeoutException)
            {
                // The next pass tries again; nothing here is urgent.
                logger.LogWarning(exception, "Clean-up of unused open-registered clients failed");
            }
        }
    }
}

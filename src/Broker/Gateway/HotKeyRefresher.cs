using Microsoft.Extensions.Options;

namespace Broker.Gateway;

/// <summary>
/// Four times per <see cref="GatewayOptions.ClientCacheDuration"/>, reads again the hot keys that expire
/// within the next two rounds (<see cref="ClientCache.RefreshHotKeysAsync"/>). A failed round changes
/// nothing: those keys expire and load on a call's path, where the outage rules apply.
/// </summary>
internal sealed class HotKeyRefresher(ClientCache cache, IOptions<GatewayOptions> options, TimeProvider time, ILogger<HotKeyRefresher> logger)
    : BackgroundService
{
    // A timer needs a period of a millisecond or more; a round this often is plenty for any cache duration.
    private static readonly TimeSpan ShortestRound = TimeSpan.FromMilliseconds(100);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var round = options.Value.ClientCacheDuration / 4;
        if (round < ShortestRound)
        {
            round = ShortestRound;
        }
        using var timer = new PeriodicTimer(round, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await cache.RefreshHotKeysAsync(round * 2, stoppingToken);
                }
                catch (Exception exception) when (!stoppingToken.IsCancellationRequested)
                {
                    logger.LogDebug(exception, "Reading hot keys ahead of their expiry failed; they load on calls as they expire.");
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}

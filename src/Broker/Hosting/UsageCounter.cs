using System.Collections.Concurrent;
using Broker.Core.Platform;
using Broker.Core.Stores;
using Microsoft.Extensions.Options;

namespace Broker.Hosting;

/// <summary>
/// Counts the gateway's calls per installation and UTC clock hour, by outcome, in memory, and adds the
/// sums to the database every <see cref="PlatformOptions.UsageFlushInterval"/>: one row per
/// installation and hour, a few statements a flush, never a write per call. A call costs one dictionary
/// lookup and one interlocked increment.
/// </summary>
public sealed class UsageCounter(IUsageStore store, IOptions<PlatformOptions> options, TimeProvider time, ILogger<UsageCounter> logger)
    : BackgroundService
{
    private sealed class Counts(string parentClientId)
    {
        public readonly string ParentClientId = parentClientId;
        public long Admitted;
        public long NotWhitelisted;
        public long QuotaSpent;
        public long Unavailable;
    }

    private readonly ConcurrentDictionary<(string ClientId, long Hour), Counts> counts = new();

    // One flush at a time: the timer's and a caller's (tests, shutdown) never interleave.
    private readonly SemaphoreSlim flushing = new(1, 1);

    /// <summary>One call of an installation, decided by the gate.</summary>
    public void Count(string clientId, string parentClientId, UsageOutcome outcome)
    {
        var hour = UsageHour.HourOf(time.GetUtcNow()).ToUnixTimeMilliseconds();
        var entry = counts.GetOrAdd((clientId, hour), static (_, parent) => new Counts(parent), parentClientId);
        switch (outcome)
        {
            case UsageOutcome.Admitted: Interlocked.Increment(ref entry.Admitted); break;
            case UsageOutcome.NotWhitelisted: Interlocked.Increment(ref entry.NotWhitelisted); break;
            case UsageOutcome.QuotaSpent: Interlocked.Increment(ref entry.QuotaSpent); break;
            default: Interlocked.Increment(ref entry.Unavailable); break;
        }
    }

    /// <summary>Adds what was counted since the last flush to the database.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        await flushing.WaitAsync(cancellationToken);
        try
        {
            var batch = new List<UsageHour>();
            var currentHour = UsageHour.HourOf(time.GetUtcNow()).ToUnixTimeMilliseconds();
            foreach (var ((clientId, hour), entry) in counts)
            {
                // Taken, not read: a call counted meanwhile stays for the next flush.
                var taken = new UsageHour
                {
                    ClientId = clientId,
                    ParentClientId = entry.ParentClientId,
                    Hour = DateTimeOffset.FromUnixTimeMilliseconds(hour),
                    Admitted = Interlocked.Exchange(ref entry.Admitted, 0),
                    NotWhitelisted = Interlocked.Exchange(ref entry.NotWhitelisted, 0),
                    QuotaSpent = Interlocked.Exchange(ref entry.QuotaSpent, 0),
                    Unavailable = Interlocked.Exchange(ref entry.Unavailable, 0),
                };
                if (taken.Admitted + taken.NotWhitelisted + taken.QuotaSpent + taken.Unavailable > 0)
                {
                    batch.Add(taken);
                }
                // Hours that ended before the previous one get no more calls: forget them.
                if (hour < currentHour - TimeSpan.FromHours(1).TotalMilliseconds)
                {
                    counts.TryRemove((clientId, hour), out _);
                }
            }
            try
            {
                await store.AddAsync(batch, cancellationToken);
            }
            catch
            {
                // Nothing was added (all or none): put the counts back for the next flush.
                foreach (var hour in batch)
                {
                    var entry = counts.GetOrAdd((hour.ClientId, hour.Hour.ToUnixTimeMilliseconds()), static (_, parent) => new Counts(parent), hour.ParentClientId);
                    Interlocked.Add(ref entry.Admitted, hour.Admitted);
                    Interlocked.Add(ref entry.NotWhitelisted, hour.NotWhitelisted);
                    Interlocked.Add(ref entry.QuotaSpent, hour.QuotaSpent);
                    Interlocked.Add(ref entry.Unavailable, hour.Unavailable);
                }
                throw;
            }
        }
        finally
        {
            flushing.Release();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.UsageFlushInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await FlushQuietlyAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: the last counts are written below.
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await FlushQuietlyAsync(cancellationToken);
    }

    private async Task FlushQuietlyAsync(CancellationToken cancellationToken)
    {
        try
        {
            await FlushAsync(cancellationToken);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            // Usage is for the charts: a database away keeps the counts in memory until the next flush.
            logger.LogWarning(exception, "Could not write the hourly usage counts; they are kept for the next flush");
        }
    }
}

/// <summary>The gateway's routes as <c>METHOD /path</c> patterns: what a whitelist may offer.</summary>
public sealed record GatewayRoutes(IReadOnlyList<string> Patterns);

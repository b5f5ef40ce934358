using Broker.Core.Quotas;
using Broker.Gateway;
using Broker.Hosting;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Broker.Tests.Gateway;

/// <summary>
/// A busy child's units reserved ahead in Redis (Gateway:QuotaLeaseMax): counted in Redis at once, taken
/// here without a round trip, handed back when unused, and never more than the quota across instances.
/// </summary>
public sealed class RedisQuotaLeaseTests
{
    [RedisFact]
    public async Task A_busy_childs_calls_are_counted_ahead_in_redis_each_reports_its_own_place_and_unused_units_go_back()
    {
        using var connection = Connect(out var prefix);
        await using var limiter = Reserving(connection, TimeSpan.FromMilliseconds(400));
        var child = new QuotaRequest("busy", 100_000);

        var remaining = new List<int>();
        for (var call = 0; call < 300; call++)
        {
            var lease = (QuotaLease)await limiter.AcquireAsync(child, 1);
            lease.IsAcquired.Should().BeTrue();
            remaining.Add(lease.Remaining);
        }

        remaining.Should().Equal(Enumerable.Range(0, 300).Select(call => 100_000 - 1 - call), "one instance reports exactly what is left");
        var counter = await CounterAsync(connection, prefix, child);
        counter.Should().BeGreaterThan(300, "units were reserved ahead of the calls").And.BeLessThanOrEqualTo(300 + 64);
        // Unused for QuotaLeaseHold, the reserved units go back: Redis then holds exactly what was spent.
        for (var look = 0; look < 50 && counter != 300; look++)
        {
            await Task.Delay(100);
            counter = await CounterAsync(connection, prefix, child);
        }
        counter.Should().Be(300);
    }

    [RedisFact]
    public async Task Two_instances_reserving_ahead_never_admit_past_the_quota_and_a_silent_one_strands_at_most_one_reservation()
    {
        using var connection = Connect(out var prefix);
        // The second instance never hands anything back in this test, as if it had died holding its units.
        await using var first = Reserving(connection, TimeSpan.FromMilliseconds(300));
        await using var silent = Reserving(connection, TimeSpan.FromHours(1));
        var child = new QuotaRequest("shared", 3_000);

        var leases = await Task.WhenAll(Enumerable.Range(0, 5_000).Select(call =>
            (call % 2 == 0 ? first : silent).AcquireAsync(child, 1).AsTask()));
        var admitted = leases.Count(lease => lease.IsAcquired);

        admitted.Should().BeLessThanOrEqualTo(3_000, "no instance admits past the quota");
        var counter = await CounterAsync(connection, prefix, child);
        counter.Should().BeLessThanOrEqualTo(3_000);
        counter.Should().BeGreaterThanOrEqualTo(admitted).And.BeLessThanOrEqualTo(admitted + 2 * 64,
            "what is counted but not spent is what the instances still hold: a reservation or two at most");
    }

    // A connection of the test's own: its keys under a fresh prefix.
    private static RedisConnection Connect(out string prefix)
    {
        prefix = $"test:{Guid.NewGuid():N}:";
        var redis = Environment.GetEnvironmentVariable(RedisFactAttribute.Variable)!;
        return new RedisConnection(Options.Create(new RedisOptions { Configuration = redis, KeyPrefix = prefix }));
    }

    // An instance that reserves ahead (reservations are off by default) and hands back units unused for the hold.
    private static RedisQuotaLimiter Reserving(RedisConnection connection, TimeSpan hold) =>
        new(connection, Options.Create(new GatewayOptions { QuotaLeaseMax = 64, QuotaLeaseHold = hold }), TimeProvider.System);

    // What Redis counts for the child this hour.
    private static async Task<long> CounterAsync(RedisConnection connection, string prefix, QuotaRequest child)
    {
        RedisKey key = $"{prefix}quota:{child.ClientId}:{QuotaWindow.At(DateTimeOffset.UtcNow).Index}";
        return (long)await (await connection.GetAsync()).GetDatabase().StringGetAsync(key);
    }
}

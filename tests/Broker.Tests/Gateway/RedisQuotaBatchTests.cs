using System.Threading.RateLimiting;
using Broker.Gateway;
using Broker.Hosting;
using Broker.Tests.Faults;
using Microsoft.Extensions.Options;

namespace Broker.Tests.Gateway;

/// <summary>
/// The Redis quota store decides the calls that arrive together in one script run: every call is still
/// decided once, in Redis, against its own counter, and every caller gets its own answer.
/// </summary>
public sealed class RedisQuotaBatchTests
{
    // Long enough that only what a test does to Redis answers a call, never the timeout.
    private static readonly TimeSpan PatientTimeout = TimeSpan.FromSeconds(30);

    // A guard against a call that is never answered, far below PatientTimeout; not a measure of speed.
    private static readonly TimeSpan Hung = TimeSpan.FromSeconds(15);

    [RedisFact]
    public async Task Two_instances_racing_on_one_redis_admit_exactly_each_quota_and_count_each_call_once()
    {
        var redis = Environment.GetEnvironmentVariable(RedisFactAttribute.Variable)!;
        var prefix = $"test:{Guid.NewGuid():N}:";
        await using var first = new QuotaInstance(redis, prefix, PatientTimeout);
        await using var second = new QuotaInstance(redis, prefix, PatientTimeout);
        // Thirty children of different quotas and one hot child; each asked twice its quota and three
        // more times, the children taking turns, the calls spread over both instances and all waiting at
        // once, so that batches hold many keys and, towards the end, the hot key many times.
        var children = Enumerable.Range(0, 30).Select(i => new QuotaRequest($"child{i}", 5 + i)).Append(new QuotaRequest("hot", 300)).ToList();
        var calls = Enumerable.Range(0, 2 * 300 + 3)
            .SelectMany(turn => children.Where(child => turn < 2 * child.Limit + 3))
            .ToArray();

        var leases = await Task.WhenAll(calls.Select((call, i) =>
            (i % 2 == 0 ? first : second).Limiter.AcquireAsync(call, 1).AsTask()));

        foreach (var child in children)
        {
            var answered = leases.Where((_, i) => calls[i] == child).Cast<QuotaLease>().ToList();
            answered.Should().NotContain(lease => lease.StoreUnavailable);
            var admitted = answered.Where(lease => lease.IsAcquired).ToList();
            admitted.Should().HaveCount(child.Limit, $"{child.ClientId} may make exactly its quota of calls");
            // Each admitted call saw its own count: a decision handed to the wrong caller would repeat one.
            admitted.Select(lease => lease.Remaining).Should().BeEquivalentTo(Enumerable.Range(0, child.Limit));
            answered.Where(lease => !lease.IsAcquired).Should().OnlyContain(lease => lease.Remaining == 0 && lease.Limit == child.Limit);
        }
    }

    [RedisFact]
    public async Task Two_brokers_sharing_one_redis_admit_exactly_each_childs_quota_under_concurrent_calls()
    {
        var redis = Environment.GetEnvironmentVariable(RedisFactAttribute.Variable)!;
        var prefix = $"test:{Guid.NewGuid():N}:";
        using var first = new BrokerFactory();
        RedisQuotaTests.UseRedis(first, redis, prefix);
        using var firstHttp = GatewayCalls.StartOnKestrel(first);
        using var second = new BrokerFactory();
        RedisQuotaTests.UseRedis(second, redis, prefix);
        second.Settings["Storage:ConnectionString"] = $"Data Source={first.DatabasePath}";
        using var secondHttp = GatewayCalls.StartOnKestrel(second);
        var parent = await first.CreateParentAsync(childRateLimit: 100);
        var owner = await first.CreateUserAsync();
        var children = new List<(string ClientId, int Quota)>();
        foreach (var quota in new[] { 7, 13, 20, 31, 100 })
        {
            children.Add(((await GatewayCalls.CreateChildAsync(first, parent, owner, rateLimit: quota)).ClientId, quota));
        }
        var calls = Enumerable.Range(0, 2 * 100 + 3)
            .SelectMany(turn => children.Where(child => turn < 2 * child.Quota + 3))
            .ToList();

        var responses = await Task.WhenAll(calls.Select((call, i) =>
            GatewayCalls.CallAsync(i % 2 == 0 ? firstHttp : secondHttp, call.ClientId, "/photos")));

        foreach (var child in children)
        {
            var answered = responses.Where((_, i) => calls[i] == child).ToList();
            answered.Count(r => r.StatusCode == System.Net.HttpStatusCode.OK).Should().Be(child.Quota);
            answered.Count(r => r.StatusCode == System.Net.HttpStatusCode.TooManyRequests).Should().Be(child.Quota + 3);
            // The headers report each admitted call's own count.
            answered.Where(r => r.StatusCode == System.Net.HttpStatusCode.OK)
                .Select(r => int.Parse(GatewayCalls.Header(r, "X-Ratelimit-Remaining"), System.Globalization.CultureInfo.InvariantCulture))
                .Should().BeEquivalentTo(Enumerable.Range(0, child.Quota));
        }
    }

    [RedisServerFact]
    public async Task Redis_dying_under_a_round_trip_answers_every_waiting_call_as_unavailable()
    {
        var port = GatewayCalls.FreePort();
        using var redis = await PrivateRedis.StartAsync(port);
        await using var instance = new QuotaInstance($"127.0.0.1:{port}", "dying:", PatientTimeout);
        (await instance.Limiter.AcquireAsync(new QuotaRequest("warm", 10), 1)).IsAcquired.Should().BeTrue();

        // Frozen, the server holds the first round trip unanswered while the other calls queue behind it.
        await FrozenStoreTests.SignalAsync("STOP", redis.Id);
        var waiting = Enumerable.Range(0, 300).Select(i => instance.Limiter.AcquireAsync(new QuotaRequest($"child{i % 40}", 10), 1).AsTask()).ToList();
        redis.Kill();
        var leases = await Task.WhenAll(waiting).WaitAsync(Hung);

        leases.Cast<QuotaLease>().Should().OnlyContain(lease => lease.StoreUnavailable && !lease.IsAcquired && lease.Limit == 10);
    }

    [RedisServerFact]
    public async Task A_caller_that_goes_away_is_answered_at_once_and_the_others_beside_it_get_their_own_decisions()
    {
        var port = GatewayCalls.FreePort();
        using var redis = await PrivateRedis.StartAsync(port);
        await using var instance = new QuotaInstance($"127.0.0.1:{port}", "leaving:", PatientTimeout);
        var child = new QuotaRequest("child", 10);
        (await instance.Limiter.AcquireAsync(child, 0)).IsAcquired.Should().BeTrue();

        // Frozen, the server holds the first round trip unanswered while the other calls queue behind it.
        await FrozenStoreTests.SignalAsync("STOP", redis.Id);
        Task<RateLimitLease> before, after;
        try
        {
            before = instance.Limiter.AcquireAsync(child, 1).AsTask();
            using var leaving = new CancellationTokenSource();
            var leaver = instance.Limiter.AcquireAsync(child, 1, leaving.Token).AsTask();
            after = instance.Limiter.AcquireAsync(child, 1).AsTask();
            leaving.Cancel();
            // Answered while Redis still answers no one.
            await leaver.Invoking(call => call.WaitAsync(Hung)).Should().ThrowAsync<OperationCanceledException>();
            before.IsCompleted.Should().BeFalse();
            after.IsCompleted.Should().BeFalse();
        }
        finally
        {
            await FrozenStoreTests.SignalAsync("CONT", redis.Id);
        }

        var first = (QuotaLease)await before.WaitAsync(Hung);
        var last = (QuotaLease)await after.WaitAsync(Hung);
        first.IsAcquired.Should().BeTrue();
        first.Remaining.Should().Be(9);
        last.IsAcquired.Should().BeTrue();
        // The cancelled call spent its unit only if its round trip had already left (like any call
        // abandoned in flight); still queued, it was dropped.
        last.Remaining.Should().BeOneOf(8, 7);
        ((QuotaLease)await instance.Limiter.AcquireAsync(child, 0)).Remaining.Should().Be(last.Remaining);
    }

    /// <summary>What one broker instance holds for quotas: its own connection to Redis and its limiter.</summary>
    private sealed class QuotaInstance : IAsyncDisposable
    {
        private readonly RedisConnection connection;

        public QuotaInstance(string configuration, string prefix, TimeSpan quotaTimeout)
        {
            connection = new RedisConnection(Options.Create(new RedisOptions { Configuration = configuration, KeyPrefix = prefix }));
            Limiter = new RedisQuotaLimiter(connection, Options.Create(new GatewayOptions { QuotaTimeout = quotaTimeout }), TimeProvider.System);
        }

        public RedisQuotaLimiter Limiter { get; }

        public async ValueTask DisposeAsync()
        {
            await Limiter.DisposeAsync();
            connection.Dispose();
        }
    }
}

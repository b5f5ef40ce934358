using Broker.Core.Clients;
using System.Diagnostics;
using System.Net;
using Broker.Core.Stores;
using Microsoft.Extensions.DependencyInjection;
using static Broker.Tests.Gateway.GatewayCalls;

namespace Broker.Tests.Gateway;

/// <summary>The Redis quota store: shared across instances, and what happens while Redis is away.</summary>
public sealed class RedisQuotaTests
{
    internal static void UseRedis(BrokerFactory broker, string configuration, string prefix)
    {
        broker.Settings["Gateway:QuotaStore"] = "Redis";
        broker.Settings["Redis:Configuration"] = configuration;
        broker.Settings["Redis:KeyPrefix"] = prefix;
    }

    [RedisFact]
    public async Task Two_instances_sharing_one_redis_admit_exactly_the_quota_and_both_see_a_revocation()
    {
        var redis = Environment.GetEnvironmentVariable(RedisFactAttribute.Variable)!;
        var prefix = $"test:{Guid.NewGuid():N}:";
        using var first = new BrokerFactory();
        UseRedis(first, redis, prefix);
        using var firstHttp = StartOnKestrel(first);
        using var second = new BrokerFactory();
        UseRedis(second, redis, prefix);
        second.Settings["Storage:ConnectionString"] = $"Data Source={first.DatabasePath}";
        using var secondHttp = StartOnKestrel(second);
        var parent = await first.CreateParentAsync(childRateLimit: 40);
        var child = await CreateChildAsync(first, parent, await first.CreateUserAsync());

        var responses = await Task.WhenAll(Enumerable.Range(0, 200).Select(i =>
            CallAsync(i % 2 == 0 ? firstHttp : secondHttp, child.ClientId, "/photos")));

        responses.Count(r => r.StatusCode == HttpStatusCode.OK).Should().Be(40);
        responses.Count(r => r.StatusCode == HttpStatusCode.TooManyRequests).Should().Be(160);
        // Once spent, it is spent on both instances.
        (await CallAsync(firstHttp, child.ClientId, "/photos")).StatusCode.Should().Be(HttpStatusCode.TooManyRequests);
        (await CallAsync(secondHttp, child.ClientId, "/photos")).StatusCode.Should().Be(HttpStatusCode.TooManyRequests);

        // A revocation through one instance reaches the other within the cache duration.
        (await first.Services.GetRequiredService<IClientStore>().RevokeOwnedChildAsync(((InstallationRole)child.Role).OwnerUserId, child.ClientId, first.Time.GetUtcNow()))
            .Should().BeTrue();
        first.Time.Advance(TimeSpan.FromSeconds(5));
        second.Time.Advance(TimeSpan.FromSeconds(5));
        (await CallAsync(firstHttp, child.ClientId, "/photos")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await CallAsync(secondHttp, child.ClientId, "/photos")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Without_redis_the_gate_answers_503_with_retry_after()
    {
        using var broker = new BrokerFactory();
        UseRedis(broker, $"127.0.0.1:{FreePort()},connectTimeout=500", "test:");
        var parent = await broker.CreateParentAsync();
        var child = await CreateChildAsync(broker, parent, await broker.CreateUserAsync());
        var api = broker.CreateApiClient();

        for (var i = 0; i < 6; i++)
        {
            var response = await CallAsync(api, child.ClientId, "/photos");
            response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
            (await ErrorAsync(response)).Should().Be("temporarily_unavailable");
            Header(response, "Retry-After").Should().Be("5");
            Header(response, "X-Ratelimit-Limit").Should().Be("3000");
        }
    }

    [Fact]
    public async Task Configured_to_fail_open_the_gate_lets_calls_through_uncounted_without_redis()
    {
        using var broker = new BrokerFactory();
        UseRedis(broker, $"127.0.0.1:{FreePort()},connectTimeout=500", "test:");
        broker.Settings["Gateway:FailOpen"] = "true";
        var parent = await broker.CreateParentAsync();
        var child = await CreateChildAsync(broker, parent, await broker.CreateUserAsync());

        var response = await CallAsync(broker.CreateApiClient(), child.ClientId, "/photos");
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        Header(response, "X-Ratelimit-Limit").Should().Be("3000");
        // Whitelist and keys are still enforced.
        (await CallAsync(broker.CreateApiClient(), child.ClientId, "/me")).StatusCode.Should().Be(HttpStatusCode.Forbidden);
    }

    [RedisServerFact]
    public async Task Redis_stopped_mid_test_gives_503_then_the_gate_recovers_without_a_restart()
    {
        var port = FreePort();
        using var broker = new BrokerFactory();
        UseRedis(broker, $"127.0.0.1:{port},connectTimeout=1000", "test:");
        var parent = await broker.CreateParentAsync(childRateLimit: 100);
        var child = await CreateChildAsync(broker, parent, await broker.CreateUserAsync());
        var api = broker.CreateApiClient();

        using (var redis = await PrivateRedis.StartAsync(port))
        {
            // The broker first met this port closed (its key ring lives in Redis), so wait for its reconnect.
            var connected = Stopwatch.StartNew();
            while ((await api.GetAsync("/readyz")).StatusCode != HttpStatusCode.OK && connected.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(100);
            }
            (await CallAsync(api, child.ClientId, "/photos")).StatusCode.Should().Be(HttpStatusCode.OK);
            redis.Kill();
            await redis.WaitForExitAsync();
        }
        for (var i = 0; i < 6; i++)
        {
            var down = await CallAsync(api, child.ClientId, "/photos");
            down.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
            down.Headers.Contains("Retry-After").Should().BeTrue();
        }

        using var restarted = await PrivateRedis.StartAsync(port);
        var recovered = false;
        var deadline = Stopwatch.StartNew();
        while (!recovered && deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            // The circuit lets a call try again once its break has passed on the broker's clock.
            broker.Time.Advance(TimeSpan.FromSeconds(5));
            recovered = (await CallAsync(api, child.ClientId, "/photos")).StatusCode == HttpStatusCode.OK;
            if (!recovered)
            {
                await Task.Delay(200);
            }
        }
        recovered.Should().BeTrue("the gate reconnects to Redis by itself");
        restarted.Kill();
    }

}

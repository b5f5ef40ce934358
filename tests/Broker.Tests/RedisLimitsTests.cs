using System.Net;
using Broker.Hosting;
using Broker.Tests.Gateway;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.Tests;

/// <summary>The limits' Redis store itself: its script under racing callers, and what a broker does while Redis is away.</summary>
public sealed class RedisLimitsTests
{
    [RedisFact]
    public async Task Racing_callers_on_two_instances_take_exactly_the_permits_of_one_window()
    {
        var prefix = $"test:{Guid.NewGuid():N}:";
        using var a = new BrokerFactory { Settings = { ["Redis:Configuration"] = Environment.GetEnvironmentVariable(RedisFactAttribute.Variable), ["Redis:KeyPrefix"] = prefix } };
        using var b = new BrokerFactory { Settings = { ["Redis:Configuration"] = Environment.GetEnvironmentVariable(RedisFactAttribute.Variable), ["Redis:KeyPrefix"] = prefix } };
        var onA = a.Services.GetRequiredService<IThrottleStore>().Create("test-rule", 7, TimeSpan.FromMinutes(1));
        var onB = b.Services.GetRequiredService<IThrottleStore>().Create("test-rule", 7, TimeSpan.FromMinutes(1));

        var answers = await Task.WhenAll(Enumerable.Range(0, 40).Select(i =>
            (i % 2 == 0 ? onA : onB).TryTakePermitAsync("203.0.113.9", CancellationToken.None).AsTask()));

        answers.Count(retryAfter => retryAfter is null).Should().Be(7);
        answers.Where(retryAfter => retryAfter is not null).Should().OnlyContain(retryAfter => retryAfter > TimeSpan.Zero && retryAfter <= TimeSpan.FromMinutes(1));
        (await onB.BlockedForAsync("203.0.113.9", CancellationToken.None)).Should().NotBeNull();
        (await onA.BlockedForAsync("198.51.100.1", CancellationToken.None)).Should().BeNull("another key has its own count");
    }

    [Fact]
    public async Task While_Redis_is_away_client_authentication_is_still_throttled_by_the_instances_own_count()
    {
        // (Pages need the key ring, which lives in Redis when it is configured: the token endpoint does not.)
        using var broker = new BrokerFactory { Settings = { ["Redis:Configuration"] = $"127.0.0.1:{GatewayCalls.FreePort()},connectTimeout=200" } };
        var parent = await broker.CreateParentAsync();
        var api = broker.CreateApiClient();
        var wrongSecret = parent with { ClientSecret = "not-the-secret" };

        // Installation:FailedClientAuthenticationsPerWindow is 10.
        for (var attempt = 0; attempt < 10; attempt++)
        {
            (await Installation.RequestTokenAsync(api, wrongSecret, "any-code")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        }
        var throttled = await Installation.RequestTokenAsync(api, parent, "any-code");

        throttled.StatusCode.Should().Be(HttpStatusCode.TooManyRequests);
        throttled.Headers.RetryAfter.Should().NotBeNull();
    }
}

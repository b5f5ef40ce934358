using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Broker.Tests.Gateway;
using Broker.Tests.ScaleOut;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.Tests.Faults;

/// <summary>
/// A store that accepts connections and never answers (its processes stopped with SIGSTOP): every
/// request still gets its answer in time, and the gateway keeps serving the keys it knows.
/// </summary>
[Collection(nameof(TimedFaults))]
public sealed class FrozenStoreTests
{
    private static readonly TimeSpan AnswerBound = TimeSpan.FromSeconds(2) + TimeSpan.FromSeconds(1);

    [SkippableFact]
    public async Task With_the_database_frozen_every_request_answers_within_the_budget()
    {
        Skip.If(PrivatePostgres.SkipReason is not null, PrivatePostgres.SkipReason);
        await using var postgres = await PrivatePostgres.StartAsync();
        using var broker = OnPostgres(postgres);
        var parent = await broker.CreateParentAsync();
        await broker.CreateUserAsync();
        var installation = new Installation(broker);
        await installation.Browser.SignInAsync();
        var api = broker.CreateApiClient();
        var token = await installation.InstallationTokenAsync(parent, api);
        var code = await installation.ApproveAsync(parent);

        await postgres.FreezeAsync();
        try
        {
            var (ready, probeTook) = await TimedCall.RunAsync(() => api.GetAsync("/readyz"));
            probeTook.Should().BeLessThan(TimedCall.ReadinessBound, "the probe is bounded by 3 s");
            ready.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
            (await ready.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("database").GetString().Should().Be("down");

            var requests = await Task.WhenAll(
                TimedCall.RunAsync(() => Installation.CreateChildAsync(api, token, new { name = "During the freeze" })),
                TimedCall.RunAsync(() => Installation.RequestTokenAsync(api, parent, code)),
                TimedCall.RunAsync(() => GatewayCalls.CallAsync(api, Core.Security.Secret.NewClientId(), "/photos")));
            foreach (var (response, took) in requests)
            {
                took.Should().BeLessThan(AnswerBound, "it answers within the budget");
                response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable, await response.Content.ReadAsStringAsync());
                response.Headers.RetryAfter.Should().NotBeNull();
            }
        }
        finally
        {
            await postgres.ThawAsync();
        }

        var recovered = Stopwatch.StartNew();
        while ((await api.GetAsync("/readyz")).StatusCode != HttpStatusCode.OK && recovered.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(200);
        }
        (await api.GetAsync("/readyz")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await Installation.RequestTokenAsync(api, parent, code)).StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [SkippableFact]
    public async Task With_the_database_frozen_keys_seen_before_keep_being_served_to_many_concurrent_callers()
    {
        Skip.If(PrivatePostgres.SkipReason is not null, PrivatePostgres.SkipReason);
        await using var postgres = await PrivatePostgres.StartAsync();
        using var broker = OnPostgres(postgres);
        // Enough quota for every call below: only the key lookup is under test.
        var parent = await broker.CreateParentAsync(childRateLimit: 10_000);
        var child = await GatewayCalls.CreateChildAsync(broker, parent, await broker.CreateUserAsync());
        var api = broker.CreateApiClient();
        (await GatewayCalls.CallAsync(api, child.ClientId, "/photos")).StatusCode.Should().Be(HttpStatusCode.OK);

        await postgres.FreezeAsync();
        try
        {
            // Through two expiries of the key's cache entry: the first one's reload waits for the
            // database (its callers all get the last answer when it fails); at the second the last
            // answer is given at once while the reload runs behind it.
            for (var expiry = 0; expiry < 2; expiry++)
            {
                broker.Time.Advance(TimeSpan.FromSeconds(6));
                var statuses = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
                {
                    var seen = new List<HttpStatusCode>();
                    for (var call = 0; call < 300; call++)
                    {
                        seen.Add((await GatewayCalls.CallAsync(api, child.ClientId, "/photos")).StatusCode);
                    }
                    return seen;
                })));
                statuses.SelectMany(seen => seen).Should().OnlyContain(status => status == HttpStatusCode.OK);
            }
        }
        finally
        {
            await postgres.ThawAsync();
        }
    }

    private static BrokerFactory OnPostgres(PrivatePostgres postgres)
    {
        var broker = new BrokerFactory();
        broker.Settings["Storage:Provider"] = "Postgres";
        broker.Settings["Storage:ConnectionString"] = postgres.ConnectionString;
        broker.Settings["Storage:Timeout"] = "00:00:02";
        broker.Settings["Storage:Retries"] = "1";
        broker.Settings["Storage:RetryDelay"] = "00:00:00.050";
        return broker;
    }

    [RedisServerFact]
    public async Task With_Redis_frozen_the_gate_and_readiness_answer_within_their_bounds()
    {
        var port = GatewayCalls.FreePort();
        using var redis = await PrivateRedis.StartAsync(port);
        // The quota store's timeout and circuit run on the broker's clock: here the real one, since a
        // frozen server is only noticed as real time passes.
        using var broker = new BrokerFactory { TestServices = services => services.AddSingleton(TimeProvider.System) };
        broker.Settings["Gateway:QuotaStore"] = "Redis";
        broker.Settings["Redis:Configuration"] = $"127.0.0.1:{port},connectTimeout=1000";
        broker.Settings["Redis:KeyPrefix"] = "frozen:";
        var parent = await broker.CreateParentAsync(childRateLimit: 100);
        var child = await GatewayCalls.CreateChildAsync(broker, parent, await broker.CreateUserAsync());
        var api = broker.CreateApiClient();
        var connected = Stopwatch.StartNew();
        while ((await api.GetAsync("/readyz")).StatusCode != HttpStatusCode.OK && connected.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(100);
        }
        (await GatewayCalls.CallAsync(api, child.ClientId, "/photos")).StatusCode.Should().Be(HttpStatusCode.OK);

        await SignalAsync("STOP", redis.Id);
        try
        {
            // Gateway:QuotaTimeout is 500 ms: each call is refused with 503 well within a second more.
            for (var i = 0; i < 4; i++)
            {
                var (refused, took) = await TimedCall.RunAsync(() => GatewayCalls.CallAsync(api, child.ClientId, "/photos"));
                took.Should().BeLessThan(TimeSpan.FromMilliseconds(500) + TimeSpan.FromSeconds(1), "the quota store is bounded by 500 ms");
                refused.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
                refused.Headers.RetryAfter.Should().NotBeNull();
            }
            var (ready, probeTook) = await TimedCall.RunAsync(() => api.GetAsync("/readyz"));
            probeTook.Should().BeLessThan(TimedCall.ReadinessBound, "the probe is bounded by 3 s");
            ready.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
            (await ready.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("redis").GetString().Should().Be("down");
        }
        finally
        {
            await SignalAsync("CONT", redis.Id);
            redis.Kill();
        }
    }

    internal static async Task SignalAsync(string signal, int processId)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", $"-{signal} {processId}") { UseShellExecute = false })!;
        await kill.WaitForExitAsync();
        kill.ExitCode.Should().Be(0);
    }
}

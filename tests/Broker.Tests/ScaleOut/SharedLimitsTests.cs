using System.Net;
using System.Net.Http.Json;
using Broker.Tests.Gateway;

namespace Broker.Tests.ScaleOut;

/// <summary>
/// Two brokers on Kestrel over one PostgreSQL and one Redis, an attacker's requests spread over both:
/// each limit stops them at its documented count, not at twice it.
/// </summary>
public sealed class SharedLimitsTests
{
    private static string? SkipReason => TwoInstanceTests.SkipReason;

    [SkippableFact]
    public async Task A_brute_force_login_spread_over_two_instances_is_stopped_at_the_accounts_count()
    {
        Skip.If(SkipReason is not null, SkipReason);
        await using var postgres = await TestPostgres.CreateAsync();
        var prefix = $"test:{Guid.NewGuid():N}:";
        using var a = Instance(postgres, prefix);
        using var aApi = GatewayCalls.StartOnKestrel(a);
        using var b = Instance(postgres, prefix);
        using var bApi = GatewayCalls.StartOnKestrel(b);
        await a.CreateUserAsync();
        var (onA, onB) = Browsers(aApi, bApi);

        // Accounts:FailedLoginsPerAccount is 5: five guesses, alternating instances, are judged.
        for (var guess = 0; guess < 5; guess++)
        {
            var response = await (guess % 2 == 0 ? onA : onB).TrySignInAsync("owner@blog.example", $"guess {guess}!!");
            response.StatusCode.Should().Be(HttpStatusCode.Unauthorized, $"guess {guess} is within the account's count");
        }

        // Then neither instance lets the account try again, not even with the right password.
        foreach (var browser in new[] { onA, onB })
        {
            var refused = await browser.TrySignInAsync("owner@blog.example", "correct horse battery");
            refused.StatusCode.Should().Be(HttpStatusCode.TooManyRequests);
            refused.Headers.RetryAfter!.Delta.Should().BePositive();
        }
    }

    [SkippableFact]
    public async Task Guesses_at_many_accounts_from_one_address_over_two_instances_are_stopped_at_the_addresss_count()
    {
        Skip.If(SkipReason is not null, SkipReason);
        await using var postgres = await TestPostgres.CreateAsync();
        var prefix = $"test:{Guid.NewGuid():N}:";
        using var a = Instance(postgres, prefix);
        using var aApi = GatewayCalls.StartOnKestrel(a);
        using var b = Instance(postgres, prefix);
        using var bApi = GatewayCalls.StartOnKestrel(b);
        var (onA, onB) = Browsers(aApi, bApi);

        // Accounts:FailedLoginsPerAddress is 20: one guess each at twenty accounts, over both instances.
        for (var account = 0; account < 20; account++)
        {
            var response = await (account % 2 == 0 ? onA : onB).TrySignInAsync($"user{account}@blog.example", "a guess!!");
            response.StatusCode.Should().Be(HttpStatusCode.Unauthorized, $"guess {account} is within the address's count");
        }

        (await onA.TrySignInAsync("user20@blog.example", "a guess!!")).StatusCode.Should().Be(HttpStatusCode.TooManyRequests);
        (await onB.TrySignInAsync("user21@blog.example", "a guess!!")).StatusCode.Should().Be(HttpStatusCode.TooManyRequests);
    }

    [SkippableFact]
    public async Task Registrations_from_one_address_racing_over_two_instances_get_the_addresss_count()
    {
        Skip.If(SkipReason is not null, SkipReason);
        await using var postgres = await TestPostgres.CreateAsync();
        var prefix = $"test:{Guid.NewGuid():N}:";
        using var a = Instance(postgres, prefix, ("Registration:PermitsPerMinutePerAddress", "4"));
        using var aApi = GatewayCalls.StartOnKestrel(a);
        using var b = Instance(postgres, prefix, ("Registration:PermitsPerMinutePerAddress", "4"));
        using var bApi = GatewayCalls.StartOnKestrel(b);
        await Registrations.EnableAsync(a);

        var responses = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => RegisterAsync(i % 2 == 0 ? aApi : bApi, $"Sync {i}")));

        responses.Count(r => r.StatusCode == HttpStatusCode.Created).Should().Be(4);
        responses.Count(r => r.StatusCode == HttpStatusCode.TooManyRequests).Should().Be(8);
    }

    [SkippableFact]
    public async Task Registrations_racing_over_two_instances_stop_at_the_tenants_cap()
    {
        Skip.If(SkipReason is not null, SkipReason);
        await using var postgres = await TestPostgres.CreateAsync();
        var prefix = $"test:{Guid.NewGuid():N}:";
        using var a = Instance(postgres, prefix, ("Registration:MaxOpenClients", "3"));
        using var aApi = GatewayCalls.StartOnKestrel(a);
        using var b = Instance(postgres, prefix, ("Registration:MaxOpenClients", "3"));
        using var bApi = GatewayCalls.StartOnKestrel(b);
        await Registrations.EnableAsync(a);

        var responses = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => RegisterAsync(i % 2 == 0 ? aApi : bApi, $"Sync {i}")));

        responses.Count(r => r.StatusCode == HttpStatusCode.Created).Should().Be(3);
        responses.Count(r => r.StatusCode == HttpStatusCode.Forbidden).Should().Be(7);
    }

    private static BrokerFactory Instance(TestPostgres postgres, string redisPrefix, params (string Key, string Value)[] settings)
    {
        var broker = new BrokerFactory();
        broker.Settings["Storage:Provider"] = "Postgres";
        broker.Settings["Storage:ConnectionString"] = postgres.ConnectionString;
        broker.Settings["Redis:Configuration"] = Environment.GetEnvironmentVariable(RedisFactAttribute.Variable);
        broker.Settings["Redis:KeyPrefix"] = redisPrefix;
        foreach (var (key, value) in settings)
        {
            broker.Settings[key] = value;
        }
        return broker;
    }

    // One attacker's cookie jar, whose requests the load balancer sends to either instance.
    private static (Browser OnA, Browser OnB) Browsers(HttpClient aApi, HttpClient bApi)
    {
        var cookies = new HttpClientHandler { AllowAutoRedirect = false, UseCookies = true, CookieContainer = new CookieContainer() };
        return (new Browser(new HttpClient(cookies, disposeHandler: false) { BaseAddress = aApi.BaseAddress }),
            new Browser(new HttpClient(cookies, disposeHandler: false) { BaseAddress = bApi.BaseAddress }));
    }

    private static Task<HttpResponseMessage> RegisterAsync(HttpClient api, string name) =>
        api.PostAsJsonAsync("/oidc/register", new
        {
            client_name = name,
            application_type = "service",
            redirect_uris = new[] { "https://sync.example/unused" },
            grant_types = new[] { "client_credentials" },
            token_endpoint_auth_method = "client_secret_post",
        });
}

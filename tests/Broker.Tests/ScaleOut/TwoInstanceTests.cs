using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Broker.Core.Stores;
using Broker.Tests.Gateway;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.Tests.ScaleOut;

/// <summary>
/// Two brokers on Kestrel over one PostgreSQL and one Redis, as behind a load balancer: a browser's
/// steps and racing API calls land on either instance.
/// </summary>
public sealed class TwoInstanceTests
{
    /// <summary>Why two instances on PostgreSQL and Redis cannot run here, or null.</summary>
    internal static string? SkipReason => TestPostgres.SkipReason
        ?? (string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(RedisFactAttribute.Variable))
            ? $"{RedisFactAttribute.Variable} is not set (.ci/run starts Redis and sets it)"
            : null);

    [SkippableFact]
    public async Task Installation_started_on_one_instance_finishes_on_the_other_and_one_time_steps_stay_exactly_once()
    {
        Skip.If(SkipReason is not null, SkipReason);
        await using var postgres = await TestPostgres.CreateAsync();
        var prefix = $"test:{Guid.NewGuid():N}:";
        using var a = Instance(postgres, prefix);
        using var aApi = GatewayCalls.StartOnKestrel(a);
        using var b = Instance(postgres, prefix);
        using var bApi = GatewayCalls.StartOnKestrel(b);
        var parent = await a.CreateParentAsync();
        var owner = await a.CreateUserAsync();

        // One browser (one cookie jar) whose requests the load balancer sends to either instance.
        using var cookies = new HttpClientHandler { AllowAutoRedirect = false, UseCookies = true, CookieContainer = new CookieContainer() };
        var onA = new Browser(new HttpClient(cookies, disposeHandler: false) { BaseAddress = aApi.BaseAddress });
        var onB = new Browser(new HttpClient(cookies, disposeHandler: false) { BaseAddress = bApi.BaseAddress });

        // Login and consent page on A; the approval (A's session cookie and antiforgery token) on B.
        await onA.SignInAsync();
        var consent = await onA.GetAsync(Installation.AuthorizeUrl(parent.Client.ClientId));
        consent.StatusCode.Should().Be(HttpStatusCode.OK, await consent.Content.ReadAsStringAsync());
        var approved = await onB.SubmitAsync(await Browser.FormAsync(consent, "/oauth/authorize"), ("decision", "approve"));
        approved.StatusCode.Should().Be(HttpStatusCode.Redirect, await approved.Content.ReadAsStringAsync());
        var code = Browser.RedirectQuery(approved)["code"];

        // The token from A, the child from B.
        var token = await Installation.TokenAsync(aApi, parent, code);
        var created = await Installation.CreateChildAsync(bApi, token, new { name = "My blog" });
        created.StatusCode.Should().Be(HttpStatusCode.Created, await created.Content.ReadAsStringAsync());

        // A code redeemed by racing calls on both instances: one token, every other call refused.
        var racedCode = await ApproveAsync(onB, parent.Client.ClientId);
        var redemptions = await Task.WhenAll(Enumerable.Range(0, 10).Select(i =>
            Installation.RequestTokenAsync(i % 2 == 0 ? aApi : bApi, parent, racedCode)));
        redemptions.Count(r => r.StatusCode == HttpStatusCode.OK).Should().Be(1);
        redemptions.Count(r => r.StatusCode == HttpStatusCode.BadRequest).Should().Be(9);

        // A token spent by racing calls on both instances: one child, every other call refused.
        var racedToken = await Installation.TokenAsync(bApi, parent, await ApproveAsync(onA, parent.Client.ClientId));
        var spends = await Task.WhenAll(Enumerable.Range(0, 10).Select(i =>
            Installation.CreateChildAsync(i % 2 == 0 ? aApi : bApi, racedToken, new { name = $"Racer {i}" })));
        spends.Count(r => r.StatusCode == HttpStatusCode.Created).Should().Be(1);
        spends.Count(r => (int)r.StatusCode is >= 200 and < 300).Should().Be(1);
        var winner = await spends.Single(r => r.StatusCode == HttpStatusCode.Created).Content.ReadFromJsonAsync<JsonElement>();

        var children = await b.Services.GetRequiredService<IClientStore>().ListChildrenOwnedByAsync(owner.UserId);
        children.Select(child => child.Name).Should().BeEquivalentTo("My blog", winner.GetProperty("name").GetString());
    }

    private static BrokerFactory Instance(TestPostgres postgres, string redisPrefix)
    {
        var broker = new BrokerFactory();
        broker.Settings["Storage:Provider"] = "Postgres";
        broker.Settings["Storage:ConnectionString"] = postgres.ConnectionString;
        broker.Settings["Gateway:QuotaStore"] = "Redis";
        broker.Settings["Redis:Configuration"] = Environment.GetEnvironmentVariable(RedisFactAttribute.Variable);
        broker.Settings["Redis:KeyPrefix"] = redisPrefix;
        return broker;
    }

    private static async Task<string> ApproveAsync(Browser browser, string parentClientId)
    {
        var consent = await browser.GetAsync(Installation.AuthorizeUrl(parentClientId));
        var approved = await browser.SubmitAsync(await Browser.FormAsync(consent, "/oauth/authorize"), ("decision", "approve"));
        approved.StatusCode.Should().Be(HttpStatusCode.Redirect, await approved.Content.ReadAsStringAsync());
        return Browser.RedirectQuery(approved)["code"];
    }
}

using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Broker.Core.Clients;
using Broker.Core.Stores;
using Microsoft.Extensions.DependencyInjection;
using static Broker.Tests.Gateway.GatewayCalls;

namespace Broker.Tests.Gateway;

/// <summary>The gate over the demo API through HTTP: keys, whitelist, quota, cache bound; the hour driven by the fake clock.</summary>
public sealed class GateTests : IDisposable
{
    private readonly BrokerFactory broker = new();

    public void Dispose() => broker.Dispose();

    /// <summary>A child of a new parent (with that child quota) and an API client to call with.</summary>
    private async Task<(Client Child, HttpClient Api)> ChildAsync(int? childRateLimit = null)
    {
        var parent = await broker.CreateParentAsync(childRateLimit: childRateLimit);
        return (await CreateChildAsync(broker, parent, await broker.CreateUserAsync()), broker.CreateApiClient());
    }

    [Fact]
    public async Task A_child_from_the_installation_flow_calls_the_api_with_its_quota_headers()
    {
        var parent = await broker.CreateParentAsync();
        await broker.CreateUserAsync();
        var flow = new Installation(broker);
        await flow.Browser.SignInAsync("owner@blog.example", "correct horse battery");
        var api = broker.CreateApiClient();
        var created = await Installation.CreateChildAsync(api, await flow.InstallationTokenAsync(parent, api), new { name = "Blog" });
        var childId = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("client_id").GetString()!;

        var photos = await CallAsync(api, childId, "/photos");
        photos.StatusCode.Should().Be(HttpStatusCode.OK);
        Header(photos, "X-Ratelimit-Limit").Should().Be("3000");
        Header(photos, "X-Ratelimit-Remaining").Should().Be("2999");
        Header(photos, "RateLimit-Policy").Should().Be("\"hourly\";q=3000;w=3600");
        Header(photos, "RateLimit").Should().Be("\"hourly\";r=2999;t=3600");
        (await photos.Content.ReadFromJsonAsync<JsonElement>()).GetArrayLength().Should().Be(10);

        // The seed's other way to name the key: ?client_id=.
        var byQuery = await api.GetAsync($"/photos/random?client_id={childId}");
        byQuery.StatusCode.Should().Be(HttpStatusCode.OK);
        Header(byQuery, "X-Ratelimit-Remaining").Should().Be("2998");
    }

    [Fact]
    public async Task Unknown_malformed_and_missing_keys_get_401_as_json()
    {
        var api = broker.CreateApiClient();
        foreach (var response in new[]
        {
            await CallAsync(api, "Abcdefghijklmnopqrstuvwxyz0123", "/photos"),
            await CallAsync(api, "not a key", "/photos"),
            await api.GetAsync("/photos?client_id=-rf"),
            await api.GetAsync("/photos"),
        })
        {
            response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
            (await ErrorAsync(response)).Should().Be("invalid_client");
            response.Headers.WwwAuthenticate.ToString().Should().StartWith("Client-ID");
        }
        var bearer = new HttpRequestMessage(HttpMethod.Get, "/photos");
        bearer.Headers.TryAddWithoutValidation("Authorization", "Bearer abc");
        (await api.SendAsync(bearer)).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Two_different_or_repeated_keys_get_400()
    {
        var api = broker.CreateApiClient();
        var twoKeys = await CallAsync(api, "Abcdefghijklmnopqrstuvwxyz0123", "/photos?client_id=Zbcdefghijklmnopqrstuvwxyz0123");
        twoKeys.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await ErrorAsync(twoKeys)).Should().Be("invalid_request");
        var repeated = await api.GetAsync("/photos?client_id=a&client_id=b");
        repeated.StatusCode.Should().Be(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Parent_and_standard_keys_get_403()
    {
        var parent = await broker.CreateParentAsync();
        var standard = await broker.CreateApplicationAsync("Ordinary app", "https://app.example/cb");
        var api = broker.CreateApiClient();

        var byParent = await CallAsync(api, parent.Client.ClientId, "/photos");
        byParent.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await ErrorAsync(byParent)).Should().Be("unauthorized_client");
        (await CallAsync(api, standard.Client.ClientId, "/photos")).StatusCode.Should().Be(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task An_endpoint_outside_the_whitelist_gets_403_and_spends_no_quota()
    {
        var (child, api) = await ChildAsync(5);

        // The default child whitelist is the seed's public read API: no likes, no /me.
        var like = await CallAsync(api, child.ClientId, "/photos/demo0001photo/like", HttpMethod.Post);
        like.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await ErrorAsync(like)).Should().Be("insufficient_scope");
        Header(like, "X-Ratelimit-Remaining").Should().Be("5");
        (await CallAsync(api, child.ClientId, "/me")).StatusCode.Should().Be(HttpStatusCode.Forbidden);

        var read = await CallAsync(api, child.ClientId, "/photos/demo0001photo");
        read.StatusCode.Should().Be(HttpStatusCode.OK);
        Header(read, "X-Ratelimit-Remaining").Should().Be("4");
    }

    [Fact]
    public async Task The_quota_admits_its_size_per_clock_hour_then_429_until_the_hour_turns()
    {
        var (child, api) = await ChildAsync(3);
        broker.Time.Advance(TimeSpan.FromMinutes(59));

        for (var remaining = 2; remaining >= 0; remaining--)
        {
            var admitted = await CallAsync(api, child.ClientId, "/photos");
            admitted.StatusCode.Should().Be(HttpStatusCode.OK);
            Header(admitted, "X-Ratelimit-Remaining").Should().Be(remaining.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        var spent = await CallAsync(api, child.ClientId, "/photos");
        spent.StatusCode.Should().Be(HttpStatusCode.TooManyRequests);
        (await ErrorAsync(spent)).Should().Be("rate_limit_exceeded");
        Header(spent, "Retry-After").Should().Be("60");
        Header(spent, "X-Ratelimit-Remaining").Should().Be("0");
        Header(spent, "RateLimit").Should().Be("\"hourly\";r=0;t=60");

        // One second before the hour turns, still spent; at the turn, a fresh quota (the window is the clock hour).
        broker.Time.Advance(TimeSpan.FromSeconds(59));
        (await CallAsync(api, child.ClientId, "/photos")).StatusCode.Should().Be(HttpStatusCode.TooManyRequests);
        broker.Time.Advance(TimeSpan.FromSeconds(1));
        var fresh = await CallAsync(api, child.ClientId, "/photos");
        fresh.StatusCode.Should().Be(HttpStatusCode.OK);
        Header(fresh, "X-Ratelimit-Remaining").Should().Be("2");
    }

    [Fact]
    public async Task A_childs_own_settings_only_narrow_its_parents()
    {
        var parent = await broker.CreateParentAsync(childRateLimit: 3);
        var owner = await broker.CreateUserAsync();
        var narrower = await CreateChildAsync(broker, parent, owner, rateLimit: 2, endpoints: ["GET /photos", "GET /me"]);
        var wider = await CreateChildAsync(broker, parent, owner, rateLimit: 10);
        var api = broker.CreateApiClient();

        Header(await CallAsync(api, narrower.ClientId, "/photos"), "X-Ratelimit-Limit").Should().Be("2");
        Header(await CallAsync(api, wider.ClientId, "/photos"), "X-Ratelimit-Limit").Should().Be("3");
        // Its own list names /me, which the parent does not grant; and it leaves out /photos/random, which the parent does.
        (await CallAsync(api, narrower.ClientId, "/me")).StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await CallAsync(api, narrower.ClientId, "/photos/random")).StatusCode.Should().Be(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Revocation_and_quota_changes_take_effect_within_the_cache_duration()
    {
        var parent = await broker.CreateParentAsync(childRateLimit: 50);
        var owner = await broker.CreateUserAsync();
        var child = await CreateChildAsync(broker, parent, owner);
        var api = broker.CreateApiClient();
        (await CallAsync(api, child.ClientId, "/photos")).StatusCode.Should().Be(HttpStatusCode.OK);

        await broker.Administration.EnableParentAsync(parent.Client.ClientId, RedirectPolicy.Installation, "/broker/callback", 7, []);
        broker.Time.Advance(TimeSpan.FromSeconds(5));
        Header(await CallAsync(api, child.ClientId, "/photos"), "X-Ratelimit-Limit").Should().Be("7");

        (await broker.Services.GetRequiredService<IClientStore>().RevokeOwnedChildAsync(owner.UserId, child.ClientId, broker.Time.GetUtcNow())).Should().BeTrue();
        broker.Time.Advance(TimeSpan.FromSeconds(5));
        (await CallAsync(api, child.ClientId, "/photos")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Racing_calls_admit_exactly_the_quota()
    {
        var (child, api) = await ChildAsync(25);

        var responses = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => CallAsync(api, child.ClientId, "/photos")));
        responses.Count(r => r.StatusCode == HttpStatusCode.OK).Should().Be(25);
        responses.Count(r => r.StatusCode == HttpStatusCode.TooManyRequests).Should().Be(75);
    }

    [Fact]
    public async Task The_demo_api_answers_bad_input_with_json_4xx()
    {
        var (child, api) = await ChildAsync();

        var missing = await CallAsync(api, child.ClientId, "/photos/nosuchphoto");
        missing.StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await ErrorAsync(missing)).Should().Be("not_found");
        (await CallAsync(api, child.ClientId, "/search/photos")).StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await CallAsync(api, child.ClientId, "/photos?per_page=abc")).StatusCode.Should().Be(HttpStatusCode.BadRequest);
        var found = await CallAsync(api, child.ClientId, "/search/photos?query=forest&per_page=2");
        found.StatusCode.Should().Be(HttpStatusCode.OK);
        (await found.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("results").GetArrayLength().Should().Be(2);
    }
}

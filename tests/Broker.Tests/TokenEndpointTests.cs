using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Broker.Tests;

/// <summary>POST /oauth/token: client authentication, grant rules, code rules, races.</summary>
public sealed class TokenEndpointTests : SignedInOwnerTest
{

    private static async Task<string> ErrorOf(HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString()!;

    private Task<HttpResponseMessage> PostAsync(Dictionary<string, string> fields, AuthenticationHeaderValue? authorization = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/oauth/token") { Content = new FormUrlEncodedContent(fields) };
        request.Headers.Authorization = authorization;
        return Api.SendAsync(request);
    }

    private static AuthenticationHeaderValue Basic(string id, string secret) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Uri.EscapeDataString(id)}:{Uri.EscapeDataString(secret)}")));

    [Fact]
    public async Task Client_secret_basic_works_as_well_as_the_seeds_post()
    {
        var code = await Flow.ApproveAsync(Parent);
        var response = await PostAsync(
            new() { ["grant_type"] = "authorization_code", ["code"] = code, ["redirect_uri"] = Installation.InstallationRedirect },
            Basic(Parent.Client.ClientId, Parent.ClientSecret));
        response.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task A_wrong_secret_is_401_invalid_client_with_a_challenge()
    {
        var code = await Flow.ApproveAsync(Parent);
        var response = await Installation.RequestTokenAsync(Api, Parent with { ClientSecret = new string('0', 64) }, code);
        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        response.Headers.WwwAuthenticate.Should().NotBeEmpty();
        (await ErrorOf(response)).Should().Be("invalid_client");
        // The code was not spent by the failed attempt.
        (await Installation.RequestTokenAsync(Api, Parent, code)).StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Two_authentication_methods_at_once_are_refused()
    {
        var response = await PostAsync(
            new() { ["grant_type"] = "authorization_code", ["code"] = "x", ["redirect_uri"] = Installation.InstallationRedirect, ["client_secret"] = Parent.ClientSecret },
            Basic(Parent.Client.ClientId, Parent.ClientSecret));
        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await ErrorOf(response)).Should().Be("invalid_request");
    }

    [Theory]
    [InlineData("client_credentials")]
    [InlineData("password")]
    [InlineData("refresh_token")]
    [InlineData("urn:ietf:params:oauth:grant-type:device_code")]
    public async Task A_parent_key_may_use_nothing_but_the_authorization_code_grant(string grantType)
    {
        var response = await PostAsync(new()
        {
            ["grant_type"] = grantType, ["client_id"] = Parent.Client.ClientId, ["client_secret"] = Parent.ClientSecret,
        });
        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await ErrorOf(response)).Should().Be("unauthorized_client");
    }

    [Fact]
    public async Task An_ordinary_application_asking_for_an_unimplemented_grant_gets_unsupported_grant_type()
    {
        var app = await Broker.CreateApplicationAsync("Ordinary", "https://app.example/cb");
        var response = await PostAsync(new()
        {
            ["grant_type"] = "password", ["client_id"] = app.Client.ClientId, ["client_secret"] = app.ClientSecret,
        });
        (await ErrorOf(response)).Should().Be("unsupported_grant_type");
    }

    [Fact]
    public async Task Missing_and_repeated_parameters_are_invalid_request()
    {
        var missing = await PostAsync(new() { ["client_id"] = Parent.Client.ClientId, ["client_secret"] = Parent.ClientSecret });
        (await ErrorOf(missing)).Should().Be("invalid_request");

        var repeated = new HttpRequestMessage(HttpMethod.Post, "/oauth/token")
        {
            Content = new StringContent("grant_type=authorization_code&grant_type=authorization_code&client_id=" + Parent.Client.ClientId,
                Encoding.UTF8, "application/x-www-form-urlencoded"),
        };
        var response = await Api.SendAsync(repeated);
        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await ErrorOf(response)).Should().Be("invalid_request");
    }

    [Fact]
    public async Task A_json_body_is_refused()
    {
        var response = await Api.PostAsJsonAsync("/oauth/token", new { grant_type = "authorization_code" });
        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await ErrorOf(response)).Should().Be("invalid_request");
    }

    [Fact]
    public async Task A_code_is_bound_to_its_client()
    {
        var other = await Broker.CreateParentAsync("Other Plugin");
        var code = await Flow.ApproveAsync(Parent);
        var response = await Installation.RequestTokenAsync(Api, other, code);
        (await ErrorOf(response)).Should().Be("invalid_grant");
    }

    [Fact]
    public async Task A_code_is_bound_to_its_redirect_uri()
    {
        var code = await Flow.ApproveAsync(Parent);
        var response = await Installation.RequestTokenAsync(Api, Parent, code, "https://evil.example/broker/callback");
        (await ErrorOf(response)).Should().Be("invalid_grant");
    }

    [Fact]
    public async Task A_code_lives_at_most_ten_minutes()
    {
        var code = await Flow.ApproveAsync(Parent);
        Broker.Time.Advance(TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(1));
        var response = await Installation.RequestTokenAsync(Api, Parent, code);
        (await ErrorOf(response)).Should().Be("invalid_grant");
    }

    [Fact]
    public async Task A_replayed_code_is_refused_and_revokes_the_token_it_issued()
    {
        var code = await Flow.ApproveAsync(Parent);
        var token = await Installation.TokenAsync(Api, Parent, code);
        var replay = await Installation.RequestTokenAsync(Api, Parent, code);
        replay.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await ErrorOf(replay)).Should().Be("invalid_grant");
        var spend = await Installation.CreateChildAsync(Api, token, new { name = "Too late" });
        spend.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Two_parallel_redemptions_of_one_code_succeed_once()
    {
        for (var round = 0; round < 5; round++)
        {
            var code = await Flow.ApproveAsync(Parent);
            var responses = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => Installation.RequestTokenAsync(Api, Parent, code)));
            responses.Count(r => r.StatusCode == HttpStatusCode.OK).Should().Be(1);
            responses.Count(r => r.StatusCode == HttpStatusCode.BadRequest).Should().Be(1);
        }
    }

    [Fact]
    public async Task Repeated_failed_authentication_of_one_client_is_throttled()
    {
        var code = await Flow.ApproveAsync(Parent);
        var wrong = Parent with { ClientSecret = new string('f', 64) };
        for (var i = 0; i < 10; i++)
        {
            (await Installation.RequestTokenAsync(Api, wrong, code)).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        }
        var throttled = await Installation.RequestTokenAsync(Api, Parent, code);
        throttled.StatusCode.Should().Be(HttpStatusCode.TooManyRequests);
        throttled.Headers.RetryAfter.Should().NotBeNull();
    }
}

/// <summary>The optional installation token lifetime.</summary>
public sealed class TokenLifetimeTests : IDisposable
{
    private readonly BrokerFactory broker = new();

    public TokenLifetimeTests() => broker.Settings["Installation:TokenLifetime"] = "00:05:00";

    public void Dispose() => broker.Dispose();

    [Fact]
    public async Task A_bounded_token_says_so_and_stops_working_when_it_expires()
    {
        var parent = await broker.CreateParentAsync();
        await broker.CreateUserAsync();
        var flow = new Installation(broker);
        await flow.Browser.SignInAsync();
        var api = broker.CreateApiClient();
        var response = await Installation.RequestTokenAsync(api, parent, await flow.ApproveAsync(parent));
        var json = await response.Content.ReadFromJsonAsync<JsonElement>();
        json.GetProperty("expires_in").GetInt64().Should().Be(300);
        broker.Time.Advance(TimeSpan.FromMinutes(5));
        var spend = await Installation.CreateChildAsync(api, json.GetProperty("access_token").GetString()!, new { name = "Late" });
        spend.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
    }
}

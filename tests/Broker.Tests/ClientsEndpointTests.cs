using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Broker.Core.Stores;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.Tests;

/// <summary>POST /clients: the one-time token, body validation, idempotency and races.</summary>
public sealed class ClientsEndpointTests : SignedInOwnerTest
{

    private Task<string> TokenAsync() => Flow.InstallationTokenAsync(Parent, Api);

    private Task<HttpResponseMessage> PostRawAsync(string token, string body, string contentType)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/clients") { Content = new StringContent(body, Encoding.UTF8) };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return Api.SendAsync(request);
    }

    private static async Task<JsonElement> JsonOf(HttpResponseMessage response) =>
        await response.Content.ReadFromJsonAsync<JsonElement>();

    private async Task<int> ChildCountAsync()
    {
        var owner = await Broker.Services.GetRequiredService<IUserStore>().FindByEmailAsync("owner@blog.example");
        return (await Broker.Services.GetRequiredService<IClientStore>().ListChildrenOwnedByAsync(owner!.UserId)).Count;
    }

    [Fact]
    public async Task A_form_encoded_body_works_like_json()
    {
        var token = await TokenAsync();
        var response = await PostRawAsync(token, "name=My+Blog&description=blog.example", "application/x-www-form-urlencoded");
        response.StatusCode.Should().Be(HttpStatusCode.Created);
        var json = await JsonOf(response);
        json.GetProperty("name").GetString().Should().Be("My Blog");
        json.GetProperty("description").GetString().Should().Be("blog.example");
    }

    public static TheoryData<string, string> InvalidBodies => new()
    {
        { "{}", "application/json" },
        { "{\"name\":\"\"}", "application/json" },
        { "{\"name\":\"   \"}", "application/json" },
        { "{\"name\":42}", "application/json" },
        { "{\"name\":\"ok\",\"description\":7}", "application/json" },
        { "{\"name\":\"a\",\"name\":\"b\"}", "application/json" },
        { $"{{\"name\":\"{new string('n', 201)}\"}}", "application/json" },
        { $"{{\"name\":\"ok\",\"description\":\"{new string('d', 2001)}\"}}", "application/json" },
        { "{\"name\":\"bell\\u0007\"}", "application/json" },
        { "{\"name\":\"line\\nbreak\"}", "application/json" },
        { "{\"name\":\"lone \\ud800 surrogate\"}", "application/json" },
        { "[\"name\"]", "application/json" },
        { "{\"name\": \"unterminated", "application/json" },
        { "not json at all", "application/json" },
        { "{\"name\":\"ok\"}", "application/json; charset=latin1" },
        { "{\"name\":\"ok\"}", "text/plain" },
        { "name=a&name=b", "application/x-www-form-urlencoded" },
        { "description=only", "application/x-www-form-urlencoded" },
    };

    [Theory]
    [MemberData(nameof(InvalidBodies))]
    public async Task An_invalid_body_is_400_invalid_client_metadata_and_leaves_the_token_unspent(string body, string contentType)
    {
        var token = await TokenAsync();
        var refused = await PostRawAsync(token, body, contentType);
        refused.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await JsonOf(refused)).GetProperty("error").GetString().Should().Be("invalid_client_metadata");
        (await ChildCountAsync()).Should().Be(0);

        var accepted = await Installation.CreateChildAsync(Api, token, new { name = "Fixed" });
        accepted.StatusCode.Should().Be(HttpStatusCode.Created);
    }

    [Fact]
    public async Task Markup_in_a_name_is_kept_as_text_and_encoded_on_the_apps_page()
    {
        var token = await TokenAsync();
        var created = await Installation.CreateChildAsync(Api, token, new { name = "<img src=x onerror=alert(1)>" });
        (await JsonOf(created)).GetProperty("name").GetString().Should().Be("<img src=x onerror=alert(1)>");
        var page = await (await Flow.Browser.GetAsync("/account/apps")).Content.ReadAsStringAsync();
        page.Should().NotContain("<img src=x").And.Contain("&lt;img src=x onerror=alert(1)&gt;");
    }

    [Theory]
    [InlineData(null)]
    [InlineData("Basic abc")]
    [InlineData("Bearer ")]
    [InlineData("Bearer 0000000000000000000000000000000000000000000000000000000000000000")]
    public async Task Missing_or_unknown_tokens_are_401_invalid_token(string? authorization)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/clients") { Content = JsonContent.Create(new { name = "x" }) };
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }
        var response = await Api.SendAsync(request);
        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        response.Headers.WwwAuthenticate.ToString().Should().StartWith("Bearer");
        (await JsonOf(response)).GetProperty("error").GetString().Should().Be("invalid_token");
    }

    [Fact]
    public async Task A_token_of_an_ordinary_application_is_403_insufficient_scope()
    {
        var app = await Broker.CreateApplicationAsync("Ordinary", "https://app.example/cb");
        var code = await Flow.ApproveAsync(app, "https://app.example/cb");
        var token = await Installation.TokenAsync(Api, app, code, "https://app.example/cb");
        var response = await Installation.CreateChildAsync(Api, token, new { name = "Nope" });
        response.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await JsonOf(response)).GetProperty("error").GetString().Should().Be("insufficient_scope");
    }

    [Fact]
    public async Task Parallel_calls_with_one_token_make_exactly_one_child()
    {
        for (var round = 0; round < 3; round++)
        {
            var token = await TokenAsync();
            var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
                Installation.CreateChildAsync(Api, token, new { name = $"Racer {i}" })));
            responses.Count(r => r.StatusCode == HttpStatusCode.Created).Should().Be(1);
            responses.Where(r => r.StatusCode != HttpStatusCode.Created).Should().OnlyContain(r => r.StatusCode == HttpStatusCode.Unauthorized);
        }
        (await ChildCountAsync()).Should().Be(3);
    }

    [Fact]
    public async Task A_retry_with_the_same_idempotency_key_returns_the_same_child()
    {
        var token = await TokenAsync();
        var first = await Installation.CreateChildAsync(Api, token, new { name = "Blog", description = "d" }, "key-1");
        first.StatusCode.Should().Be(HttpStatusCode.Created);
        var retry = await Installation.CreateChildAsync(Api, token, new { name = "Blog", description = "d" }, "key-1");
        retry.StatusCode.Should().Be(HttpStatusCode.Created);
        (await JsonOf(retry)).GetProperty("client_id").GetString().Should().Be((await JsonOf(first)).GetProperty("client_id").GetString());
        (await ChildCountAsync()).Should().Be(1);

        var otherBody = await Installation.CreateChildAsync(Api, token, new { name = "Other" }, "key-1");
        otherBody.StatusCode.Should().Be(HttpStatusCode.UnprocessableEntity);
        var otherKey = await Installation.CreateChildAsync(Api, token, new { name = "Blog", description = "d" }, "key-2");
        otherKey.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        var noKey = await Installation.CreateChildAsync(Api, token, new { name = "Blog", description = "d" });
        noKey.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await ChildCountAsync()).Should().Be(1);
    }

    [Fact]
    public async Task Parallel_retries_with_one_idempotency_key_make_one_child_and_never_a_second()
    {
        var token = await TokenAsync();
        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ =>
            Installation.CreateChildAsync(Api, token, new { name = "Same" }, "same-key")));
        // Each answer is the first response or "still in progress" (409), never a second child.
        responses.Should().OnlyContain(r => r.StatusCode == HttpStatusCode.Created || r.StatusCode == HttpStatusCode.Conflict);
        var ids = new HashSet<string>();
        foreach (var response in responses.Where(r => r.StatusCode == HttpStatusCode.Created))
        {
            ids.Add((await JsonOf(response)).GetProperty("client_id").GetString()!);
        }
        ids.Should().HaveCount(1);
        (await ChildCountAsync()).Should().Be(1);
    }

    [Fact]
    public async Task A_malformed_idempotency_key_is_refused_and_spends_nothing()
    {
        var token = await TokenAsync();
        var request = new HttpRequestMessage(HttpMethod.Post, "/clients") { Content = JsonContent.Create(new { name = "x" }) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        request.Headers.TryAddWithoutValidation("Idempotency-Key", new string('k', 300));
        (await Api.SendAsync(request)).StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await Installation.CreateChildAsync(Api, token, new { name = "x" })).StatusCode.Should().Be(HttpStatusCode.Created);
    }

    [Fact]
    public async Task The_owner_revokes_an_installation_from_the_apps_page_and_nobody_else_can()
    {
        var token = await TokenAsync();
        var childId = (await JsonOf(await Installation.CreateChildAsync(Api, token, new { name = "Mine" }))).GetProperty("client_id").GetString()!;

        // Someone else, signed in, cannot revoke it.
        await Broker.CreateUserAsync("stranger@example.com");
        var stranger = new Browser(Broker.CreateBrowser());
        await stranger.SignInAsync("stranger@example.com");
        var strangerPage = await stranger.GetAsync("/account/apps");
        var strangerForm = await Browser.FormAsync(strangerPage, "/account/logout");
        var refused = await stranger.Http.PostAsync($"/account/apps/{childId}/revoke", new FormUrlEncodedContent(strangerForm.Fields));
        refused.StatusCode.Should().Be(HttpStatusCode.NotFound);

        var page = await Flow.Browser.GetAsync("/account/apps");
        var revoked = await Flow.Browser.SubmitAsync(await Browser.FormAsync(page, $"/account/apps/{childId}/revoke"));
        revoked.StatusCode.Should().Be(HttpStatusCode.Redirect);
        var child = await Broker.Services.GetRequiredService<IClientStore>().FindAsync(childId);
        child!.RevokedAt.Should().NotBeNull();
        child.IsActive.Should().BeFalse();
    }
}

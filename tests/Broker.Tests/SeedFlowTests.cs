using Broker.Core.Clients;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Broker.Core.Stores;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.Tests;

/// <summary>The five steps of the Unsplash seed, exactly as it shows them, driven through the real pages.</summary>
public sealed class SeedFlowTests : IDisposable
{
    private readonly BrokerFactory broker = new();

    public void Dispose() => broker.Dispose();

    [Fact]
    public async Task Five_steps_mint_a_child_with_its_own_key_quota_and_whitelist()
    {
        var parent = await broker.CreateParentAsync();
        var owner = await broker.CreateUserAsync();
        var flow = new Installation(broker);
        var api = broker.CreateApiClient();

        // Step 1: not signed in, so the broker asks to log in and then returns to the same request.
        var authorizeUrl = Installation.AuthorizeUrl(parent.Client.ClientId);
        var first = await flow.Browser.GetAsync(authorizeUrl);
        first.StatusCode.Should().Be(HttpStatusCode.Redirect);
        first.Headers.Location!.ToString().Should().StartWith("/account/login?returnUrl=");
        var loginPage = await flow.Browser.FollowAsync(first);
        var loginForm = await Browser.FormAsync(loginPage, "/account/login");
        loginForm.Fields.Should().ContainKey("__RequestVerificationToken");
        var signedIn = await flow.Browser.SubmitAsync(loginForm, ("email", "owner@blog.example"), ("password", "correct horse battery"));
        signedIn.StatusCode.Should().Be(HttpStatusCode.Redirect);
        signedIn.Headers.Location!.ToString().Should().Be(authorizeUrl);

        // The consent page names the plugin, its client_id and the installation's host.
        var consent = await flow.Browser.FollowAsync(signedIn);
        consent.StatusCode.Should().Be(HttpStatusCode.OK);
        var html = await consent.Content.ReadAsStringAsync();
        html.Should().Contain("Ghost Unsplash Plugin").And.Contain(parent.Client.ClientId).And.Contain("blog.example");
        consent.Headers.GetValues("X-Frame-Options").Should().Equal("DENY");
        consent.Headers.GetValues("Content-Security-Policy").Single().Should().Contain("frame-ancestors 'none'");
        consent.Headers.CacheControl!.NoStore.Should().BeTrue();

        // Step 2: approval redirects to redirect_uri with code, state and iss.
        var approved = await flow.Browser.SubmitAsync(await Browser.FormAsync(consent, "/oauth/authorize"), ("decision", "approve"));
        approved.StatusCode.Should().Be(HttpStatusCode.Redirect);
        approved.Headers.Location!.GetLeftPart(UriPartial.Path).Should().Be(Installation.InstallationRedirect);
        var query = Browser.RedirectQuery(approved);
        query["state"].Should().Be("xyz");
        query["iss"].Should().Be(BrokerFactory.Issuer);
        var code = query["code"];

        // Step 3: the token response is exactly the seed's.
        var tokenResponse = await Installation.RequestTokenAsync(api, parent, code);
        tokenResponse.StatusCode.Should().Be(HttpStatusCode.OK);
        tokenResponse.Headers.CacheControl!.NoStore.Should().BeTrue();
        var token = await tokenResponse.Content.ReadFromJsonAsync<JsonElement>();
        token.EnumerateObject().Select(p => p.Name).Should().BeEquivalentTo("access_token", "token_type", "scope", "created_at");
        token.GetProperty("access_token").GetString().Should().MatchRegex("^[0-9a-f]{64}$");
        token.GetProperty("token_type").GetString().Should().Be("bearer");
        token.GetProperty("scope").GetString().Should().Be("public");
        token.GetProperty("created_at").GetInt64().Should().Be(broker.Time.GetUtcNow().ToUnixTimeSeconds());

        // Step 4: POST /clients with the one-time bearer token.
        var created = await Installation.CreateChildAsync(api, token.GetProperty("access_token").GetString()!,
            new { name = "Beverly's Plugin instance", description = "" });
        created.StatusCode.Should().Be(HttpStatusCode.Created);
        var child = await created.Content.ReadFromJsonAsync<JsonElement>();
        child.EnumerateObject().Select(p => p.Name).Should().Equal("name", "description", "client_id");
        child.GetProperty("name").GetString().Should().Be("Beverly's Plugin instance");
        child.GetProperty("description").GetString().Should().Be("");
        var childId = child.GetProperty("client_id").GetString()!;
        childId.Should().MatchRegex("^[A-Za-z][A-Za-z0-9]{23,}$");

        // Step 5: the child belongs to the user and the parent, records its origin, takes the parent's quota.
        var stored = await broker.Services.GetRequiredService<IClientStore>().FindAsync(childId);
        var installation = stored!.Role.Should().BeOfType<InstallationRole>().Subject;
        installation.OwnerUserId.Should().Be(owner.UserId);
        installation.ParentClientId.Should().Be(parent.Client.ClientId);
        installation.Origin.Should().Be("https://blog.example");
        (installation.RateLimit ?? (parent.Client.Role as ParentRole)?.ChildRateLimit).Should().Be(3000);

        // The token was spent by that call.
        var again = await Installation.CreateChildAsync(api, token.GetProperty("access_token").GetString()!, new { name = "Second" });
        again.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString().Should().Be("invalid_token");

        // The site owner sees the installation on their apps page.
        var apps = await flow.Browser.GetAsync("/account/apps");
        var appsHtml = await apps.Content.ReadAsStringAsync();
        appsHtml.Should().Contain(childId).And.Contain("blog.example").And.Contain("Ghost Unsplash Plugin");
    }
}

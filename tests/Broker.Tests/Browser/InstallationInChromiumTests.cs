using Broker.Hosting;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;

namespace Broker.Tests.Chromium;

/// <summary>
/// The pages as a site owner uses them, in Chromium: the installation from the login page to the
/// callback, a password reset through the mail, and every page checked with axe-core and for sideways
/// scrolling on a phone (360 px) and a small laptop (1024 px).
/// </summary>
public sealed class InstallationInChromiumTests : IAsyncLifetime
{
    private ChromiumBroker session = null!;

    public async Task InitializeAsync() => session = await ChromiumBroker.StartAsync();

    public async Task DisposeAsync()
    {
        if (session is not null)
        {
            await session.DisposeAsync();
        }
    }

    [SkippableFact]
    public async Task A_site_owner_installs_a_plugin_from_the_login_page_to_the_callback_page()
    {
        var parent = await session.CreateParentAsync("Ghost Unsplash Plugin", "GET /photos/*", "GET /search/photos");
        var page = await session.NewPageAsync();
        var site = new Uri(session.Address).Authority;

        await page.GotoAsync(session.AuthorizeUrl(parent));
        (await page.Locator("main").InnerTextAsync()).Should().Contain("Ghost Unsplash Plugin asks to be installed on your site").And.Contain(site);
        await ChromiumBroker.ScreenshotAsync(page, "1-login");
        await ChromiumBroker.SignInAsync(page);

        var consent = await page.Locator("main").InnerTextAsync();
        consent.Should().Contain($"Install Ghost Unsplash Plugin on this site?").And.Contain(site)
            .And.Contain("read photos").And.Contain("search photos").And.Contain($"Signed in as {ChromiumBroker.OwnerEmail}")
            .And.Contain("/account/apps").And.NotContain("Access: public");
        await ChromiumBroker.ScreenshotAsync(page, "2-consent");

        // "Not you?" signs out and comes back to the same request once someone signs in.
        await page.GetByRole(AriaRole.Button, new() { Name = "Not you? Sign out" }).ClickAsync();
        (await page.Locator("h1").InnerTextAsync()).Should().Be("Sign in");
        (await page.Locator("main").InnerTextAsync()).Should().Contain("Ghost Unsplash Plugin");
        await ChromiumBroker.SignInAsync(page);
        await page.GetByRole(AriaRole.Button, new() { Name = "Approve" }).ClickAsync();

        (await page.Locator("h1").InnerTextAsync()).Should().Be("Installation approved");
        await ChromiumBroker.ScreenshotAsync(page, "3-callback");
        var code = await page.Locator("pre code").First.InnerTextAsync();
        (await page.Locator("main").InnerTextAsync()).Should().Contain($"curl -s {session.Address}/oauth/token -d client_id={parent.Client.ClientId}");
        using var api = new HttpClient { BaseAddress = new Uri(session.Address) };
        var token = await api.PostAsync("/oauth/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["client_id"] = parent.Client.ClientId,
            ["client_secret"] = parent.ClientSecret,
            ["redirect_uri"] = session.Address + "/demo/callback",
            ["code"] = code,
            ["grant_type"] = "authorization_code",
        }));
        token.StatusCode.Should().Be(HttpStatusCode.OK, "the code on the page is the real one");
        (await token.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token_type").GetString().Should().Be("bearer");
    }

    [SkippableFact]
    public async Task A_forgotten_password_is_reset_through_the_mail_and_the_new_one_signs_in()
    {
        var page = await session.NewPageAsync(360);
        await page.GotoAsync(session.Address + "/account/login");
        await page.GetByRole(AriaRole.Link, new() { Name = "Forgot password?" }).ClickAsync();
        await page.GetByLabel("E-mail").FillAsync(ChromiumBroker.OwnerEmail);
        await page.GetByRole(AriaRole.Button, new() { Name = "Send the link" }).ClickAsync();
        (await page.Locator("h1").InnerTextAsync()).Should().Be("Check your e-mail");

        var mail = await session.Smtp.NextAsync();
        mail.To.Should().Be(ChromiumBroker.OwnerEmail);
        await page.GotoAsync(mail.Link);
        await ChromiumBroker.ScreenshotAsync(page, "4-reset");
        await page.GetByLabel("New password").FillAsync("a brand new passphrase");
        await page.GetByRole(AriaRole.Button, new() { Name = "Change password" }).ClickAsync();
        (await page.Locator("h1").InnerTextAsync()).Should().Be("Password changed");

        await page.GetByRole(AriaRole.Link, new() { Name = "Sign in with your new password" }).ClickAsync();
        await ChromiumBroker.SignInAsync(page, "a brand new passphrase");
        (await page.Locator("h1").InnerTextAsync()).Should().Be("Your installations");
    }

    [SkippableTheory]
    [InlineData(360)]
    [InlineData(1024)]
    public async Task Every_page_a_site_owner_sees_passes_axe_and_never_scrolls_sideways(int width)
    {
        var parent = await session.CreateParentAsync(
            "A plugin with a rather long name that keeps going to test wrapping on small screens",
            "GET /photos/*", "POST /collections", "GET /users/*/likes");
        var page = await session.NewPageAsync(width);
        var problems = new List<string>();

        async Task CheckAsync(string name)
        {
            problems.AddRange((await ChromiumBroker.SeriousAccessibilityProblemsAsync(page)).Select(problem => $"{name}: {problem}"));
            if (await ChromiumBroker.OverflowsAsync(page))
            {
                problems.Add($"{name}: scrolls sideways at {width} px");
            }
            await ChromiumBroker.ScreenshotAsync(page, $"{name}-{width}");
        }

        await page.GotoAsync(session.AuthorizeUrl(parent));
        await CheckAsync("login");
        await page.GetByRole(AriaRole.Link, new() { Name = "Create one" }).ClickAsync();
        await CheckAsync("join");
        await page.GetByRole(AriaRole.Link, new() { Name = "Sign in", Exact = true }).ClickAsync();
        await ChromiumBroker.SignInAsync(page);
        await CheckAsync("consent");
        await page.GetByRole(AriaRole.Button, new() { Name = "Approve" }).ClickAsync();
        await InstallAsync(parent, page);
        await page.GotoAsync(session.Address + "/account/apps");
        await CheckAsync("apps");
        await page.GotoAsync(session.Address + "/account/forgot");
        await CheckAsync("forgot");
        await page.GetByLabel("E-mail").FillAsync(ChromiumBroker.OwnerEmail);
        await page.GetByRole(AriaRole.Button, new() { Name = "Send the link" }).ClickAsync();
        await page.GotoAsync((await session.Smtp.NextAsync()).Link);
        await CheckAsync("reset");

        problems.Should().BeEmpty();
    }

    // The installation's side, after the approval: the code from the callback becomes a child with a long name.
    private async Task InstallAsync(Hosting.CreatedApplication parent, IPage callback)
    {
        var code = await callback.Locator("pre code").First.InnerTextAsync();
        using var api = new HttpClient { BaseAddress = new Uri(session.Address) };
        var token = await api.PostAsync("/oauth/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["client_id"] = parent.Client.ClientId,
            ["client_secret"] = parent.ClientSecret,
            ["redirect_uri"] = session.Address + "/demo/callback",
            ["code"] = code,
            ["grant_type"] = "authorization_code",
        }));
        var accessToken = (await token.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("access_token").GetString();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/clients")
        {
            Content = JsonContent.Create(new { name = "My photography blog with a very long installation name that must wrap", description = "x" }),
        };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", accessToken);
        (await api.SendAsync(request)).StatusCode.Should().Be(HttpStatusCode.Created);
    }
}

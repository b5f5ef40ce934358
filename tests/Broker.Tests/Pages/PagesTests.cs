using System.Net;
using Broker.Core.Clients;
using Broker.Core.Security;
using Broker.Core.Stores;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.Tests.Pages;

/// <summary>What the site owner reads on the login, join, consent and apps pages, and the branding around them.</summary>
public sealed class PagesTests : IAsyncLifetime
{
    private const string Logo = "https://vendor.example/logo.png";
    private const string Markup = "<script>alert(1)</script>";

    private readonly BrokerFactory broker = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        broker.Dispose();
        return Task.CompletedTask;
    }

    private IClientStore Clients => broker.Services.GetRequiredService<IClientStore>();

    /// <summary>A parent under the installation policy, created by the platform or registered by anyone.</summary>
    private async Task<Client> ParentAsync(string name, RegistrationSource source, params string[] childEndpoints)
    {
        var parent = new Client
        {
            ClientId = Secret.NewClientId(),
            Metadata = new ClientMetadata
            {
                ClientName = name,
                RedirectUris = ["https://vendor.example/broker/callback"],
                LogoUri = Logo,
                ClientUri = "https://vendor.example/plugin",
            },
            Role = new ParentRole
            {
                RedirectPolicy = RedirectPolicy.Installation,
                CallbackPath = "/broker/callback",
                ChildEndpoints = childEndpoints.Length > 0 ? childEndpoints : null,
            },
            Source = source,
            CreatedAt = broker.Time.GetUtcNow(),
        };
        (await Clients.CreateAsync(parent)).Should().BeTrue();
        return parent;
    }

    private static async Task<string> TextAsync(HttpResponseMessage response) => await response.Content.ReadAsStringAsync();

    [Fact]
    public async Task Login_and_join_say_which_application_asks_and_for_which_site()
    {
        var parent = await ParentAsync("Ghost Unsplash Plugin", RegistrationSource.Admin);
        var browser = new Browser(broker.CreateBrowser());

        var login = await browser.FollowAsync(await browser.GetAsync(Installation.AuthorizeUrl(parent.ClientId)));
        var join = await browser.GetAsync("/account/join?returnUrl=" + Uri.EscapeDataString(Installation.AuthorizeUrl(parent.ClientId)));

        foreach (var page in new[] { await TextAsync(login), await TextAsync(join) })
        {
            page.Should().Contain("<bdi>Ghost Unsplash Plugin</bdi> asks to be installed on your site")
                .And.Contain("<p class=\"host\">blog.example</p>");
        }
        (await TextAsync(await browser.GetAsync("/account/login"))).Should().NotContain("asks to be installed");
    }

    [Fact]
    public async Task Consent_names_who_is_signed_in_the_site_and_the_access_in_plain_words()
    {
        var parent = await ParentAsync("Ghost Unsplash Plugin", RegistrationSource.Admin, "GET /photos/*", "POST /collections", "GET /users/*/likes");
        await broker.CreateUserAsync();
        var browser = new Browser(broker.CreateBrowser());
        await browser.SignInAsync();

        var consent = await TextAsync(await browser.GetAsync(Installation.AuthorizeUrl(parent.ClientId)));

        consent.Should().Contain("Signed in as <strong>owner@blog.example</strong>")
            .And.Contain("<p class=\"host\">blog.example</p>")
            .And.Contain("<li>read photos</li>").And.Contain("<li>add collections</li>").And.Contain("<li>GET /users/*/likes</li>")
            .And.Contain("href=\"/account/apps\"")
            .And.NotContain("Access: public");
    }

    [Fact]
    public async Task Not_you_signs_out_and_comes_back_to_the_same_authorize_request()
    {
        var parent = await ParentAsync("Ghost Unsplash Plugin", RegistrationSource.Admin);
        await broker.CreateUserAsync();
        var browser = new Browser(broker.CreateBrowser());
        await browser.SignInAsync();
        var authorizeUrl = Installation.AuthorizeUrl(parent.ClientId);

        var signedOut = await browser.SubmitAsync(await Browser.FormAsync(await browser.GetAsync(authorizeUrl), "/account/logout"));

        signedOut.Headers.Location!.ToString().Should().Be("/account/login?returnUrl=" + Uri.EscapeDataString(authorizeUrl));
        var signInAgain = await browser.FollowAsync(signedOut);
        var form = await Browser.FormAsync(signInAgain, "/account/login");
        var back = await browser.SubmitAsync(form, ("email", "owner@blog.example"), ("password", "correct horse battery"));
        back.Headers.Location!.ToString().Should().Be(authorizeUrl);
    }

    [Fact]
    public async Task A_logo_is_shown_only_for_a_parent_the_platform_created()
    {
        var verified = await ParentAsync("Verified Plugin", RegistrationSource.Admin);
        var registered = await ParentAsync("Registered Plugin", RegistrationSource.Open);
        await broker.CreateUserAsync();
        var browser = new Browser(broker.CreateBrowser());
        await browser.SignInAsync();

        var verifiedConsent = await TextAsync(await browser.GetAsync(Installation.AuthorizeUrl(verified.ClientId)));
        var registeredConsent = await TextAsync(await browser.GetAsync(Installation.AuthorizeUrl(registered.ClientId)));

        verifiedConsent.Should().Contain($"<img src=\"{Logo}\" alt=\"\">").And.Contain("Verified by Broker")
            .And.Contain("<a href=\"https://vendor.example/plugin\" rel=\"noopener noreferrer nofollow\">vendor.example</a>");
        registeredConsent.Should().NotContain(Logo).And.Contain("Unverified")
            .And.Contain("<a href=\"https://vendor.example/plugin\" rel=\"noopener noreferrer nofollow\">vendor.example</a>");
    }

    [Fact]
    public async Task Names_and_addresses_are_escaped_on_every_page_that_shows_them()
    {
        var parent = await ParentAsync(Markup, RegistrationSource.Admin);
        const string email = "<i>o</i>@blog.example";
        await broker.CreateUserAsync(email);
        var authorizeUrl = Installation.AuthorizeUrl(parent.ClientId);
        var browser = new Browser(broker.CreateBrowser());
        var pages = new List<string>
        {
            await TextAsync(await browser.FollowAsync(await browser.GetAsync(authorizeUrl))),
            await TextAsync(await browser.GetAsync("/account/join?returnUrl=" + Uri.EscapeDataString(authorizeUrl))),
        };
        await browser.SignInAsync(email);
        pages.Add(await TextAsync(await browser.GetAsync(authorizeUrl)));
        pages.Add(await TextAsync(await browser.GetAsync("/account/apps")));

        foreach (var page in pages)
        {
            page.Should().NotContain(Markup).And.NotContain("<i>o</i>");
        }
        pages[0].Should().Contain("&lt;script&gt;alert(1)&lt;/script&gt;");
        pages[2].Should().Contain("&lt;i&gt;o&lt;/i&gt;@blog.example");
    }

    [Fact]
    public async Task Configured_branding_names_and_colours_the_pages_through_the_served_stylesheet()
    {
        broker.Settings["Branding:ProductName"] = "Acme <Keys>";
        broker.Settings["Branding:AccentColor"] = "#7B1FA2";
        broker.Settings["Branding:LogoUri"] = "https://acme.example/logo.svg";
        var api = broker.CreateApiClient();

        var login = await api.GetAsync("/account/login");
        var stylesheet = await api.GetAsync("/static/broker.css");

        var html = await TextAsync(login);
        html.Should().Contain("<title>Sign in · Acme &lt;Keys&gt;</title>")
            .And.Contain("<img src=\"https://acme.example/logo.svg\" alt=\"\"><span>Acme &lt;Keys&gt;</span>")
            .And.NotContain("style=");
        (await TextAsync(stylesheet)).Should().StartWith(":root { --accent: #7b1fa2;");
        login.Headers.GetValues("Content-Security-Policy").Single().Should().Contain("style-src 'self';");
    }

    [Theory]
    [InlineData("Branding:AccentColor", "#ffd700")]
    [InlineData("Branding:AccentColor", "blue")]
    [InlineData("Branding:BackgroundColor", "#333333")]
    [InlineData("Branding:LogoUri", "http://127.0.0.1/logo.png")]
    [InlineData("Branding:ProductName", "")]
    public void Branding_that_would_be_unreadable_or_unsafe_is_refused(string key, string value)
    {
        var options = new Broker.Http.BrandingOptions();
        new ConfigurationBuilder().AddInMemoryCollection([new(key, value)]).Build().GetSection("Branding").Bind(options);

        var validation = new Broker.Http.BrandingOptionsValidation().Validate(null, options);

        validation.Failed.Should().BeTrue();
        validation.FailureMessage.Should().Contain(key);
    }
}

/// <summary>The Development demo ends on the broker's own callback page.</summary>
public sealed class DemoCallbackTests : IDisposable
{
    private readonly BrokerFactory broker = new();

    public void Dispose() => broker.Dispose();

    [Fact]
    public async Task In_Development_the_callback_page_shows_the_code_and_the_token_command()
    {
        broker.Settings["environment"] = "Development";
        var app = await broker.Administration.CreateApplicationAsync("Demo", ["https://demo.example/demo/callback"]);
        var parent = await broker.Administration.EnableParentAsync(app.Value!.Client.ClientId, RedirectPolicy.Installation, "/demo/callback", null, []);
        parent.Problem.Should().BeNull();
        await broker.CreateUserAsync();
        var flow = new Installation(broker);
        await flow.Browser.SignInAsync();
        var callback = BrokerFactory.Issuer + "/demo/callback";

        var code = await flow.ApproveAsync(app.Value with { Client = parent.Value! }, callback);
        var page = await flow.Browser.GetAsync($"/demo/callback?code={code}&state=xyz&iss={Uri.EscapeDataString(BrokerFactory.Issuer)}");

        page.StatusCode.Should().Be(HttpStatusCode.OK);
        (await page.Content.ReadAsStringAsync()).Should().Contain($"<pre><code>{code}</code></pre>")
            .And.Contain($"curl -s {BrokerFactory.Issuer}/oauth/token -d client_id={app.Value.Client.ClientId}")
            .And.Contain($"--data-urlencode redirect_uri={callback} -d code={code} -d grant_type=authorization_code");
    }

    [Fact]
    public async Task Outside_Development_there_is_no_demo_callback()
    {
        var response = await broker.CreateBrowser().GetAsync("/demo/callback?code=x");
        response.StatusCode.Should().Be(HttpStatusCode.NotFound);
    }
}

using System.Net;

namespace Broker.Tests;

/// <summary>Join, login, logout, throttling and return URLs, through the real pages.</summary>
public sealed class AccountTests : IAsyncLifetime
{
    private readonly BrokerFactory broker = new();

    public Task InitializeAsync() => broker.CreateUserAsync();

    public Task DisposeAsync()
    {
        broker.Dispose();
        return Task.CompletedTask;
    }

    private static async Task<HttpResponseMessage> PostLoginAsync(Browser browser, string email, string password, string returnUrl = "/account/apps")
    {
        var form = await Browser.FormAsync(await browser.GetAsync($"/account/login?returnUrl={Uri.EscapeDataString(returnUrl)}"), "/account/login");
        return await browser.SubmitAsync(form, ("email", email), ("password", password));
    }

    [Fact]
    public async Task Joining_creates_an_account_signs_in_and_returns_to_the_flow()
    {
        var parent = await broker.CreateParentAsync();
        var browser = new Browser(broker.CreateBrowser());
        var authorizeUrl = Installation.AuthorizeUrl(parent.Client.ClientId);
        var toLogin = await browser.GetAsync(authorizeUrl);
        var loginPage = await browser.FollowAsync(toLogin);
        var joinLink = (await loginPage.Content.ReadAsStringAsync()).Split("href=\"")[2].Split('"')[0].Replace("&amp;", "&", StringComparison.Ordinal);
        var joinPage = await browser.GetAsync(joinLink);
        var joined = await browser.SubmitAsync(await Browser.FormAsync(joinPage, "/account/join"), ("email", "new@site.example"), ("password", "a long enough password"));
        joined.StatusCode.Should().Be(HttpStatusCode.Redirect);
        joined.Headers.Location!.ToString().Should().Be(authorizeUrl);
        (await browser.FollowAsync(joined)).StatusCode.Should().Be(HttpStatusCode.OK);

        var again = new Browser(broker.CreateBrowser());
        var duplicate = await again.SubmitAsync(await Browser.FormAsync(await again.GetAsync("/account/join"), "/account/join"),
            ("email", "NEW@site.example"), ("password", "a long enough password"));
        duplicate.StatusCode.Should().Be(HttpStatusCode.Conflict);
    }

    [Theory]
    [InlineData("not-an-email", "long enough password")]
    [InlineData("a@b.example", "short")]
    [InlineData("", "long enough password")]
    public async Task Join_refuses_bad_addresses_and_weak_passwords(string email, string password)
    {
        var browser = new Browser(broker.CreateBrowser());
        var response = await browser.SubmitAsync(await Browser.FormAsync(await browser.GetAsync("/account/join"), "/account/join"), ("email", email), ("password", password));
        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task A_wrong_password_is_401_and_does_not_say_which_part_was_wrong()
    {
        var browser = new Browser(broker.CreateBrowser());
        var wrongPassword = await PostLoginAsync(browser, "owner@blog.example", "wrong password!");
        var unknownUser = await PostLoginAsync(browser, "nobody@blog.example", "wrong password!");
        wrongPassword.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        unknownUser.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await wrongPassword.Content.ReadAsStringAsync()).Should().Contain("Wrong e-mail or password.");
        (await unknownUser.Content.ReadAsStringAsync()).Should().Contain("Wrong e-mail or password.");
    }

    [Fact]
    public async Task Repeated_failed_logins_lock_the_account_for_a_while_even_with_the_right_password()
    {
        var browser = new Browser(broker.CreateBrowser());
        for (var i = 0; i < 5; i++)
        {
            (await PostLoginAsync(browser, "owner@blog.example", $"guess {i}!!")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        }
        var locked = await PostLoginAsync(browser, "owner@blog.example", "correct horse battery");
        locked.StatusCode.Should().Be(HttpStatusCode.TooManyRequests);
        locked.Headers.RetryAfter.Should().NotBeNull();
    }

    [Fact]
    public async Task A_login_form_without_its_antiforgery_token_is_refused()
    {
        var browser = new Browser(broker.CreateBrowser());
        var form = await Browser.FormAsync(await browser.GetAsync("/account/login"), "/account/login");
        form.Fields.Remove("__RequestVerificationToken");
        var response = await browser.SubmitAsync(form, ("email", "owner@blog.example"), ("password", "correct horse battery"));
        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
    }

    [Theory]
    [InlineData("https://evil.example/")]
    [InlineData("//evil.example/")]
    [InlineData("/\\evil.example/")]
    [InlineData("javascript:alert(1)")]
    public async Task A_return_url_off_this_site_is_replaced_by_the_apps_page(string returnUrl)
    {
        var browser = new Browser(broker.CreateBrowser());
        var response = await PostLoginAsync(browser, "owner@blog.example", "correct horse battery", returnUrl);
        response.StatusCode.Should().Be(HttpStatusCode.Redirect);
        response.Headers.Location!.ToString().Should().Be("/account/apps");
    }

    [Fact]
    public async Task Logging_out_ends_the_session()
    {
        var browser = new Browser(broker.CreateBrowser());
        await browser.SignInAsync();
        var apps = await browser.GetAsync("/account/apps");
        apps.StatusCode.Should().Be(HttpStatusCode.OK);
        var loggedOut = await browser.SubmitAsync(await Browser.FormAsync(apps, "/account/logout"));
        loggedOut.StatusCode.Should().Be(HttpStatusCode.Redirect);
        (await browser.GetAsync("/account/apps")).StatusCode.Should().Be(HttpStatusCode.Redirect);
    }
}

using System.Net;

namespace Broker.Tests.Pages;

/// <summary>"Forgot password?" through the real pages and a real SMTP server on loopback.</summary>
public sealed class PasswordResetTests : IAsyncLifetime
{
    private const string Email = "owner@blog.example";
    private const string OldPassword = "correct horse battery";
    private const string NewPassword = "a brand new passphrase";

    private readonly LoopbackSmtpServer smtp = new();
    private readonly BrokerFactory broker = new();

    public async Task InitializeAsync()
    {
        foreach (var (key, value) in smtp.BrokerSettings)
        {
            broker.Settings[key] = value;
        }
        await broker.CreateUserAsync(Email, OldPassword);
    }

    public async Task DisposeAsync()
    {
        broker.Dispose();
        await smtp.DisposeAsync();
    }

    private static async Task<HttpResponseMessage> RequestResetAsync(Browser browser, string email)
    {
        var login = await browser.GetAsync("/account/login");
        (await login.Content.ReadAsStringAsync()).Should().Contain("href=\"/account/forgot\"", "the login page offers the reset");
        var form = await Browser.FormAsync(await browser.GetAsync("/account/forgot"), "/account/forgot");
        return await browser.SubmitAsync(form, ("email", email));
    }

    private static async Task<HttpResponseMessage> ChooseNewPasswordAsync(Browser browser, string link, string password = NewPassword)
    {
        var form = await Browser.FormAsync(await browser.GetAsync(link), "/account/reset");
        return await browser.SubmitAsync(form, ("password", password));
    }

    private async Task<HttpResponseMessage> SignInAsync(string password)
    {
        var browser = new Browser(broker.CreateBrowser());
        var form = await Browser.FormAsync(await browser.GetAsync("/account/login"), "/account/login");
        return await browser.SubmitAsync(form, ("email", Email), ("password", password));
    }

    [Fact]
    public async Task The_answer_is_the_same_for_an_unknown_address_and_only_the_account_gets_a_mail()
    {
        var browser = new Browser(broker.CreateBrowser());
        var unknown = await RequestResetAsync(browser, "nobody@blog.example");
        var known = await RequestResetAsync(browser, Email);

        unknown.StatusCode.Should().Be(HttpStatusCode.OK);
        known.StatusCode.Should().Be(HttpStatusCode.OK);
        (await unknown.Content.ReadAsStringAsync()).Replace("nobody@blog.example", Email, StringComparison.Ordinal)
            .Should().Be(await known.Content.ReadAsStringAsync());
        // The mailer takes requests in order: when the account's mail is here, the unknown one was handled.
        var mail = await smtp.NextAsync();
        mail.To.Should().Be(Email);
        mail.Subject.Should().Be("Reset your Broker password");
        mail.Text.Should().Contain("30 minutes");
        smtp.Waiting.Should().Be(0);
    }

    [Fact]
    public async Task The_link_sets_a_new_password_once_and_ends_the_sessions_opened_with_the_old_one()
    {
        var signedIn = new Browser(broker.CreateBrowser());
        await signedIn.SignInAsync(Email, OldPassword);
        (await signedIn.GetAsync("/account/apps")).StatusCode.Should().Be(HttpStatusCode.OK);

        await RequestResetAsync(new Browser(broker.CreateBrowser()), Email);
        var link = (await smtp.NextAsync()).Link;
        link.Should().StartWith($"{BrokerFactory.Issuer}/account/reset?token=");
        Uri.UnescapeDataString(link.Split("token=")[1]).Should().MatchRegex("^[0-9a-f]{64}$", "the token carries 256 bits");
        var resetter = new Browser(broker.CreateBrowser());
        var changed = await ChooseNewPasswordAsync(resetter, link);

        changed.StatusCode.Should().Be(HttpStatusCode.OK);
        (await changed.Content.ReadAsStringAsync()).Should().Contain("Password changed");
        (await SignInAsync(OldPassword)).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await SignInAsync(NewPassword)).StatusCode.Should().Be(HttpStatusCode.Redirect);
        (await signedIn.GetAsync("/account/apps")).StatusCode.Should().Be(HttpStatusCode.Redirect, "the old session ended");
        var again = await resetter.GetAsync(link);
        again.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await again.Content.ReadAsStringAsync()).Should().Contain("expired or has already been used");
    }

    [Fact]
    public async Task Two_racing_uses_of_one_link_change_the_password_once()
    {
        await RequestResetAsync(new Browser(broker.CreateBrowser()), Email);
        var link = (await smtp.NextAsync()).Link;
        var first = new Browser(broker.CreateBrowser());
        var second = new Browser(broker.CreateBrowser());
        var firstForm = await Browser.FormAsync(await first.GetAsync(link), "/account/reset");
        var secondForm = await Browser.FormAsync(await second.GetAsync(link), "/account/reset");

        var answers = await Task.WhenAll(
            first.SubmitAsync(firstForm, ("password", "first racer's password")),
            second.SubmitAsync(secondForm, ("password", "second racer's password")));

        answers.Select(answer => answer.StatusCode).Should().BeEquivalentTo([HttpStatusCode.OK, HttpStatusCode.BadRequest]);
        var winner = answers[0].StatusCode == HttpStatusCode.OK ? "first racer's password" : "second racer's password";
        (await SignInAsync(winner)).StatusCode.Should().Be(HttpStatusCode.Redirect);
    }

    [Fact]
    public async Task A_link_stops_working_after_its_lifetime()
    {
        await RequestResetAsync(new Browser(broker.CreateBrowser()), Email);
        var link = (await smtp.NextAsync()).Link;
        var browser = new Browser(broker.CreateBrowser());
        var form = await Browser.FormAsync(await browser.GetAsync(link), "/account/reset");

        broker.Time.Advance(TimeSpan.FromMinutes(30));

        (await browser.GetAsync(link)).StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await browser.SubmitAsync(form, ("password", NewPassword))).StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await SignInAsync(OldPassword)).StatusCode.Should().Be(HttpStatusCode.Redirect);
    }

    [Fact]
    public async Task Requests_are_throttled_per_address_typed_whether_or_not_it_has_an_account()
    {
        var browser = new Browser(broker.CreateBrowser());
        foreach (var email in new[] { Email, "nobody@blog.example" })
        {
            for (var i = 0; i < 3; i++)
            {
                (await RequestResetAsync(browser, email)).StatusCode.Should().Be(HttpStatusCode.OK);
            }
            var throttled = await RequestResetAsync(browser, email);
            throttled.StatusCode.Should().Be(HttpStatusCode.TooManyRequests);
            throttled.Headers.RetryAfter.Should().NotBeNull();
        }
    }

    [Fact]
    public async Task A_weak_new_password_is_refused_and_the_link_still_works()
    {
        await RequestResetAsync(new Browser(broker.CreateBrowser()), Email);
        var link = (await smtp.NextAsync()).Link;
        var browser = new Browser(broker.CreateBrowser());

        (await ChooseNewPasswordAsync(browser, link, "short")).StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await ChooseNewPasswordAsync(browser, link)).StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task A_reset_form_without_its_antiforgery_token_is_refused()
    {
        var browser = new Browser(broker.CreateBrowser());
        var form = await Browser.FormAsync(await browser.GetAsync("/account/forgot"), "/account/forgot");
        form.Fields.Remove("__RequestVerificationToken");
        (await browser.SubmitAsync(form, ("email", Email))).StatusCode.Should().Be(HttpStatusCode.BadRequest);
    }
}

/// <summary>A deployment that cannot send mail offers no reset rather than one that silently fails.</summary>
public sealed class PasswordResetWithoutMailTests : IDisposable
{
    private readonly BrokerFactory broker = new();

    public void Dispose() => broker.Dispose();

    [Fact]
    public async Task Without_an_SMTP_server_outside_Development_there_is_no_reset_link_or_page()
    {
        var browser = new Browser(broker.CreateBrowser());
        (await (await browser.GetAsync("/account/login")).Content.ReadAsStringAsync()).Should().NotContain("Forgot password?");
        (await browser.GetAsync("/account/forgot")).StatusCode.Should().Be(HttpStatusCode.NotFound);
    }
}

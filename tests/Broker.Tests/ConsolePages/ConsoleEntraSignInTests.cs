using System.Net;
using System.Security.Cryptography;
using AngleSharp.Html.Parser;
using Broker.Console;
using Broker.Core.Platform;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Tests.ConsolePages;

/// <summary>
/// The console's sign-in with Microsoft Entra ID over real HTTP: the broker's real OpenID Connect handler
/// (Microsoft.Identity.Web) against <see cref="FakeEntraId"/> on loopback, cookies carried between the
/// requests as a browser carries them. Only where the metadata comes from differs from production.
/// </summary>
public sealed class ConsoleEntraSignInTests : IAsyncLifetime
{
    private const string OpsObjectId = "11111111-2222-3333-4444-555555555555";

    private readonly ConsoleHarness harness = new();
    private FakeEntraId entra = null!;

    private string ParentPath => $"/console/parents/{harness.Parent.Client.ClientId}";

    public async Task InitializeAsync()
    {
        entra = await FakeEntraId.StartAsync();
        var broker = harness.Broker;
        broker.Settings["Console:EntraId"] = "true";
        broker.Settings["AzureAd:Instance"] = "https://login.microsoftonline.com/";
        broker.Settings["AzureAd:TenantId"] = FakeEntraId.TenantId;
        broker.Settings["AzureAd:ClientId"] = FakeEntraId.ClientId;
        broker.Settings["AzureAd:ClientSecret"] = FakeEntraId.ClientSecret;
        broker.TestServices = services => services.PostConfigure<OpenIdConnectOptions>(ConsoleEntraSignIn.Scheme, options =>
        {
            // Entra's metadata from the fake provider on loopback instead of login.microsoftonline.com.
            options.Configuration = null;
            options.ConfigurationManager = new ConfigurationManager<OpenIdConnectConfiguration>(
                entra.MetadataAddress, new OpenIdConnectConfigurationRetriever(), new HttpDocumentRetriever { RequireHttps = false });
            // Microsoft.Identity.Web's issuer validator reads Entra's instance metadata; the fixed issuer replaces it.
            options.TokenValidationParameters.IssuerValidator = null;
            options.TokenValidationParameters.ValidIssuer = FakeEntraId.Issuer;
        });
        await harness.InitializeAsync();
        // The correlation cookie expires by the broker's (fake) clock, the id token by the real one: align them.
        broker.Time.SetUtcNow(DateTimeOffset.UtcNow);
    }

    public async Task DisposeAsync()
    {
        await harness.DisposeAsync();
        await entra.DisposeAsync();
    }

    /// <summary>The login page's Entra button, the provider, and the callback; the callback's answer.</summary>
    private async Task<(Browser Browser, HttpResponseMessage Callback)> SignInWithEntraAsync(
        EntraUser user, string returnUrl = "/console/parents", Func<Dictionary<string, string>, Dictionary<string, string>>? tamper = null)
    {
        entra.NextUser = user;
        var browser = new Browser(harness.Broker.CreateBrowser());
        var login = await browser.GetAsync($"/console/login?returnUrl={Uri.EscapeDataString(returnUrl)}");
        var challenge = await browser.SubmitAsync(await Browser.FormAsync(login, ConsoleEndpoints.EntraLoginPath));
        challenge.StatusCode.Should().Be(HttpStatusCode.Redirect, await challenge.Content.ReadAsStringAsync());
        challenge.Headers.Location!.ToString().Should().StartWith(entra.BaseAddress + "/authorize");
        // The correlation and nonce cookies must come back on Entra's cross-site POST: SameSite=None, so Secure; console only.
        challenge.Headers.GetValues("Set-Cookie").Where(cookie => cookie.StartsWith(".AspNetCore.", StringComparison.Ordinal)).Should().HaveCount(2)
            .And.AllSatisfy(cookie => cookie.Should().Contain("path=/console").And.Contain("samesite=none").And.Contain("secure"));

        using var provider = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        var posted = await provider.GetAsync(challenge.Headers.Location);
        posted.StatusCode.Should().Be(HttpStatusCode.OK, await posted.Content.ReadAsStringAsync());
        var form = new HtmlParser().ParseDocument(await posted.Content.ReadAsStringAsync()).Forms.Single();
        form.Action.Should().Be(BrokerFactory.Issuer + ConsoleEntraSignIn.CallbackPath);
        var fields = form.Elements.OfType<AngleSharp.Html.Dom.IHtmlInputElement>().ToDictionary(input => input.Name!, input => input.Value);
        var callback = await browser.Http.PostAsync(form.Action, new FormUrlEncodedContent(tamper is null ? fields : tamper(fields)));
        return (browser, callback);
    }

    private static bool HasConsoleSession(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Set-Cookie", out var cookies) && cookies.Any(cookie => cookie.StartsWith("broker.console=", StringComparison.Ordinal)
            && !cookie.Contains("expires=Thu, 01 Jan 1970", StringComparison.OrdinalIgnoreCase));

    private static Task<HttpResponseMessage> PostAsync(Browser browser, string action, HtmlForm tokens, params (string Name, string Value)[] fields) =>
        browser.Http.PostAsync(action, new FormUrlEncodedContent(
            tokens.Fields.Where(field => field.Key is "__RequestVerificationToken" or "version")
                .Concat(fields.Select(field => new KeyValuePair<string, string>(field.Name, field.Value)))));

    [Fact]
    public async Task Signing_in_with_entra_id_lands_on_the_console_with_the_scopes_of_the_users_app_roles()
    {
        var (browser, callback) = await SignInWithEntraAsync(new EntraUser(OpsObjectId, "Ada Ops", ["Clients.Read"]), ParentPath);

        // The callback opens the console's own strict cookie, then a page of the console's site moves on.
        callback.StatusCode.Should().Be(HttpStatusCode.Redirect, await callback.Content.ReadAsStringAsync());
        var session = callback.Headers.GetValues("Set-Cookie").Single(cookie => cookie.StartsWith("broker.console=", StringComparison.Ordinal));
        session.Should().Contain("path=/console").And.Contain("samesite=strict").And.Contain("httponly");
        var signedIn = await browser.FollowAsync(callback);
        signedIn.StatusCode.Should().Be(HttpStatusCode.OK);
        var refresh = new HtmlParser().ParseDocument(await signedIn.Content.ReadAsStringAsync()).QuerySelector("meta[http-equiv=refresh]")!;
        refresh.GetAttribute("content").Should().Be($"0; url={ParentPath}");

        var parent = await browser.GetAsync(ParentPath);
        parent.StatusCode.Should().Be(HttpStatusCode.OK);
        var text = await ConsoleHarness.TextAsync(parent);
        text.Should().Contain("Ghost Unsplash Plugin").And.Contain("ada.ops@platform.example").And.NotContain("Disable this parent");
        (await ConsoleHarness.TextAsync(await browser.GetAsync("/console/parents"))).Should().Contain("WordPress Photo Plugin");

        // Reads only: a write is refused with the scope it needs, and changes nothing.
        var tokens = await Browser.FormAsync(parent, "/console/logout");
        var refused = await PostAsync(browser, $"{ParentPath}/disable", tokens, ("version", harness.Parent.Client.Version.ToString()));
        refused.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await ConsoleHarness.TextAsync(refused)).Should().Contain(AdminScopes.ParentsWrite);
        (await harness.FindAsync(harness.Parent.Client.ClientId))!.DisabledAt.Should().BeNull();
        (await browser.GetAsync("/console/audit")).StatusCode.Should().Be(HttpStatusCode.Forbidden);

        // Signing out ends the session as for a local account.
        (await browser.SubmitAsync(tokens)).StatusCode.Should().Be(HttpStatusCode.Redirect);
        (await browser.GetAsync("/console/parents")).Headers.Location!.ToString().Should().StartWith("/console/login");
    }

    [Fact]
    public async Task An_entra_user_with_parents_write_disables_a_parent_audited_under_their_object_id_until_the_session_idles_out()
    {
        var (browser, callback) = await SignInWithEntraAsync(new EntraUser(OpsObjectId, "Ada Ops", ["Clients.Read", "Parents.Write", "Directory.Whatever"]));
        callback.StatusCode.Should().Be(HttpStatusCode.Redirect, await callback.Content.ReadAsStringAsync());

        var parent = await browser.GetAsync(ParentPath);
        var disable = await browser.SubmitAsync(await Browser.FormAsync(parent, $"{ParentPath}/disable"));

        disable.StatusCode.Should().Be(HttpStatusCode.Redirect, await disable.Content.ReadAsStringAsync());
        (await harness.FindAsync(harness.Parent.Client.ClientId))!.DisabledAt.Should().NotBeNull();
        var entry = (await harness.AuditAsync(harness.Parent.Client.ClientId))[0];
        entry.Actor.Should().Be($"entra:{OpsObjectId}");
        entry.Action.Should().Be(AuditActions.ParentDisabled);

        harness.Broker.Time.Advance(TimeSpan.FromMinutes(31));
        (await browser.GetAsync("/console/parents")).Headers.Location!.ToString().Should().StartWith("/console/login");
    }

    [Fact]
    public async Task A_bare_get_of_the_front_channel_sign_out_path_ends_no_console_session()
    {
        var (browser, callback) = await SignInWithEntraAsync(new EntraUser(OpsObjectId, "Ada Ops", ["Clients.Read"]));
        await browser.FollowAsync(callback);

        var signOut = await browser.GetAsync("/console/signout-oidc");

        signOut.StatusCode.Should().Be(HttpStatusCode.NotFound);
        HasConsoleSession(signOut).Should().BeFalse();
        (signOut.Headers.TryGetValues("Set-Cookie", out var cookies) ? cookies : []).Should().NotContain(cookie => cookie.StartsWith("broker.console=", StringComparison.Ordinal));
        (await browser.GetAsync("/console/parents")).StatusCode.Should().Be(HttpStatusCode.OK, "the session is still there");
    }

    [Fact]
    public async Task With_entra_id_unreachable_the_sign_in_button_answers_a_503_page_not_a_500()
    {
        var browser = new Browser(harness.Broker.CreateBrowser());
        var login = await browser.GetAsync("/console/login");
        var form = await Browser.FormAsync(login, ConsoleEndpoints.EntraLoginPath);
        await entra.DisposeAsync();

        var refused = await browser.SubmitAsync(form);

        refused.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        refused.Content.Headers.ContentType!.MediaType.Should().Be("text/html");
        refused.Headers.RetryAfter.Should().NotBeNull();
        (await ConsoleHarness.TextAsync(refused)).Should().Contain("cannot be reached");
    }

    [Fact]
    public async Task An_entra_user_with_no_app_role_for_the_console_is_refused_with_a_page_and_no_session()
    {
        var (browser, callback) = await SignInWithEntraAsync(new EntraUser("99999999-2222-3333-4444-555555555555", "Guest", ["Directory.Whatever"]));

        callback.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await ConsoleHarness.TextAsync(callback)).Should().Contain("no app role for the console").And.Contain("Clients.Read");
        HasConsoleSession(callback).Should().BeFalse();
        (await browser.GetAsync("/console/parents")).StatusCode.Should().Be(HttpStatusCode.Redirect);
    }

    [Theory]
    [InlineData("forged id token")]
    [InlineData("wrong nonce")]
    [InlineData("tampered state")]
    [InlineData("no state")]
    [InlineData("no code")]
    public async Task A_sign_in_that_does_not_validate_is_a_4xx_page_and_no_session(string flaw)
    {
        var tamper = (Func<Dictionary<string, string>, Dictionary<string, string>>?)null;
        switch (flaw)
        {
            case "forged id token":
                entra.ForgeWith = new RsaSecurityKey(RSA.Create(2048)) { KeyId = entra.SigningKey.KeyId };
                break;
            case "wrong nonce":
                entra.NonceOverride = "638000000000000000.bm90IHRoZSBub25jZSB0aGUgYnJva2VyIHNlbnQ";
                break;
            case "tampered state":
                tamper = fields => new(fields) { ["state"] = fields["state"][..^4] + "AAAA" };
                break;
            case "no state":
                tamper = fields => fields.Where(field => field.Key != "state").ToDictionary();
                break;
            default:
                tamper = fields => fields.Where(field => field.Key != "code").ToDictionary();
                break;
        }

        var (browser, callback) = await SignInWithEntraAsync(new EntraUser(OpsObjectId, "Ada Ops", ["Parents.Write"]), tamper: tamper);

        callback.StatusCode.Should().Be(HttpStatusCode.Unauthorized, await callback.Content.ReadAsStringAsync());
        callback.Content.Headers.ContentType!.MediaType.Should().Be("text/html");
        (await ConsoleHarness.TextAsync(callback)).Should().Contain("Sign-in failed");
        HasConsoleSession(callback).Should().BeFalse();
        (await browser.GetAsync("/console/parents")).StatusCode.Should().Be(HttpStatusCode.Redirect);
    }

    [Theory]
    [InlineData("https://evil.example/")]
    [InlineData("//evil.example/console")]
    [InlineData("/account/apps")]
    public async Task After_an_entra_sign_in_the_browser_only_moves_on_to_a_console_page(string returnUrl)
    {
        var (browser, callback) = await SignInWithEntraAsync(new EntraUser(OpsObjectId, "Ada Ops", ["Clients.Read"]), returnUrl);

        var signedIn = await browser.FollowAsync(callback);
        var refresh = new HtmlParser().ParseDocument(await signedIn.Content.ReadAsStringAsync()).QuerySelector("meta[http-equiv=refresh]")!;
        refresh.GetAttribute("content").Should().Be("0; url=/console/parents");
        var direct = await browser.GetAsync($"{ConsoleEndpoints.SignedInPath}?returnUrl={Uri.EscapeDataString(returnUrl)}");
        (await direct.Content.ReadAsStringAsync()).Should().Contain("url=/console/parents").And.NotContain("evil.example");
    }

    [Fact]
    public async Task Local_accounts_still_sign_in_beside_the_entra_button()
    {
        var ops = await harness.SignInAsync(ConsoleHarness.OpsEmail);

        var audit = await ops.GetAsync("/console/audit");
        audit.StatusCode.Should().Be(HttpStatusCode.OK, audit.Headers.Location?.ToString() + await audit.Content.ReadAsStringAsync());
    }
}

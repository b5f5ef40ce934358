using System.Net;
using Broker.Core.Authorization;
using Broker.Core.Clients;

namespace Broker.Tests;

/// <summary>The authorization endpoint: refusals on a page or by redirect, consent, PKCE.</summary>
public sealed class AuthorizeTests : SignedInOwnerTest
{

    private async Task ShouldShowErrorPageAsync(string url, string expectedText)
    {
        var response = await Flow.Browser.GetAsync(url);
        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        response.Headers.Location.Should().BeNull("an unvalidated redirect_uri must never be redirected to");
        response.Content.Headers.ContentType!.MediaType.Should().Be("text/html");
        (await response.Content.ReadAsStringAsync()).Should().Contain(expectedText);
    }

    [Fact]
    public Task An_unknown_client_gets_an_error_page_not_a_redirect() =>
        ShouldShowErrorPageAsync(Installation.AuthorizeUrl("Nope0000000000000000000000000000"), "unknown client_id");

    [Fact]
    public Task A_missing_client_id_gets_an_error_page() =>
        ShouldShowErrorPageAsync("/oauth/authorize?redirect_uri=https%3A%2F%2Fblog.example%2Fbroker%2Fcallback&response_type=code", "client_id is required");

    [Fact]
    public Task A_missing_redirect_uri_gets_an_error_page() =>
        ShouldShowErrorPageAsync($"/oauth/authorize?client_id={Parent.Client.ClientId}&response_type=code", "redirect_uri is required");

    [Theory]
    [InlineData("http://blog.example/broker/callback", "https")]
    [InlineData("https://blog.example/other/callback", "/broker/callback")]
    [InlineData("https://blog.example/broker/callback/", "/broker/callback")]
    [InlineData("https://user@blog.example/broker/callback", "user-info")]
    [InlineData("https://blog.example/broker/callback#frag", "fragment")]
    [InlineData("/broker/callback", "absolute")]
    [InlineData("https://blög.example/broker/callback", "ASCII")]
    public Task An_installation_redirect_outside_the_parents_policy_gets_an_error_page(string redirectUri, string reason) =>
        ShouldShowErrorPageAsync(Installation.AuthorizeUrl(Parent.Client.ClientId, redirectUri), reason);

    [Theory]
    [InlineData("https://blog.example/broker/%63allback", "percent-encode")]
    [InlineData("https://blog.example/broker/x/../callback", "segment")]
    [InlineData("https://blog.example/broker/./callback", "segment")]
    [InlineData("https://blog.example/./broker/callback", "segment")]
    public Task A_redirect_path_that_only_canonicalises_to_the_callback_path_gets_an_error_page(string redirectUri, string reason) =>
        ShouldShowErrorPageAsync(Installation.AuthorizeUrl(Parent.Client.ClientId, redirectUri), reason);

    [Theory]
    [InlineData("/broker/x/../callback")]
    [InlineData("/broker/%63allback")]
    public async Task A_parent_cannot_be_given_a_callback_path_with_two_spellings(string callbackPath)
    {
        var app = await Broker.CreateApplicationAsync("Dotted Plugin", "https://vendor.example/broker/callback");
        var parent = await Broker.Administration.EnableParentAsync(app.Client.ClientId, RedirectPolicy.Installation, callbackPath, null, []);
        parent.Problem.Should().NotBeNull().And.Contain("callback path");
    }

    [Fact]
    public async Task A_repeated_redirect_uri_gets_an_error_page()
    {
        var url = Installation.AuthorizeUrl(Parent.Client.ClientId) + "&redirect_uri=https%3A%2F%2Fevil.example%2Fbroker%2Fcallback";
        await ShouldShowErrorPageAsync(url, "must each appear once");
    }

    [Fact]
    public async Task An_exact_policy_client_is_held_to_its_registered_uris()
    {
        var app = await Broker.CreateApplicationAsync("Exact App", "https://app.example/cb");
        await ShouldShowErrorPageAsync(Installation.AuthorizeUrl(app.Client.ClientId, "https://app.example/cb2"), "not registered");
        var ok = await Flow.Browser.GetAsync(Installation.AuthorizeUrl(app.Client.ClientId, "https://app.example/cb"));
        ok.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Any_https_installation_host_gets_a_consent_page_naming_that_host()
    {
        var response = await Flow.Browser.GetAsync(Installation.AuthorizeUrl(Parent.Client.ClientId, "https://another-site.example:8443/broker/callback?x=1"));
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var html = await response.Content.ReadAsStringAsync();
        html.Should().Contain("<p class=\"host\">another-site.example:8443</p>");
    }

    [Theory]
    [InlineData("&response_type=token", "unsupported_response_type")]
    [InlineData("&scope=write_likes", "invalid_scope")]
    [InlineData("&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbkGRaVmzW-cM&code_challenge_method=plain", "invalid_request")]
    [InlineData("&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbkGRaVmzW-cM", "invalid_request")]
    [InlineData("&code_challenge=short&code_challenge_method=S256", "invalid_request")]
    [InlineData("&state=again", "invalid_request")]
    public async Task Other_errors_return_to_the_validated_redirect_uri_with_state_and_iss(string extra, string error)
    {
        var url = $"/oauth/authorize?client_id={Parent.Client.ClientId}&redirect_uri={Uri.EscapeDataString(Installation.InstallationRedirect)}&state=s1";
        url += extra.StartsWith("&response_type", StringComparison.Ordinal) ? extra : "&response_type=code" + extra;
        var response = await Flow.Browser.GetAsync(url);
        response.StatusCode.Should().Be(HttpStatusCode.Redirect);
        response.Headers.Location!.GetLeftPart(UriPartial.Path).Should().Be(Installation.InstallationRedirect);
        var query = Browser.RedirectQuery(response);
        query["error"].Should().Be(error);
        query["iss"].Should().Be(BrokerFactory.Issuer);
        if (!extra.Contains("state=", StringComparison.Ordinal))
        {
            query["state"].Should().Be("s1");
        }
        query.Should().NotContainKey("code");
    }

    [Fact]
    public async Task Denying_returns_access_denied_with_state_and_no_code()
    {
        var consent = await Flow.Browser.GetAsync(Installation.AuthorizeUrl(Parent.Client.ClientId, state: "keep-me"));
        var denied = await Flow.Browser.SubmitAsync(await Browser.FormAsync(consent, "/oauth/authorize"), ("decision", "deny"));
        denied.StatusCode.Should().Be(HttpStatusCode.Redirect);
        var query = Browser.RedirectQuery(denied);
        query["error"].Should().Be("access_denied");
        query["state"].Should().Be("keep-me");
        query.Should().NotContainKey("code");
    }

    [Fact]
    public async Task Consent_without_the_antiforgery_token_issues_no_code()
    {
        var consent = await Flow.Browser.GetAsync(Installation.AuthorizeUrl(Parent.Client.ClientId));
        var form = await Browser.FormAsync(consent, "/oauth/authorize");
        form.Fields.Remove("__RequestVerificationToken");
        var response = await Flow.Browser.SubmitAsync(form, ("decision", "approve"));
        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        response.Headers.Location.Should().BeNull();
    }

    [Fact]
    public async Task Consent_posted_by_another_signed_in_user_with_a_stolen_form_is_refused()
    {
        // A cross-site attacker holding one user's form cannot make another user's browser approve it.
        var consent = await Flow.Browser.GetAsync(Installation.AuthorizeUrl(Parent.Client.ClientId));
        var form = await Browser.FormAsync(consent, "/oauth/authorize");
        await Broker.CreateUserAsync("victim@blog.example");
        var victim = new Browser(Broker.CreateBrowser());
        await victim.SignInAsync("victim@blog.example");
        var response = await victim.SubmitAsync(form, ("decision", "approve"));
        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Client_supplied_names_are_encoded_isolated_and_shortened_on_the_consent_page()
    {
        var name = "<script>alert(1)</script>" + new string('x', 150);
        var evil = await Broker.CreateParentAsync(name);
        var response = await Flow.Browser.GetAsync(Installation.AuthorizeUrl(evil.Client.ClientId));
        var html = await response.Content.ReadAsStringAsync();
        html.Should().NotContain("<script>");
        html.Should().Contain("<bdi>&lt;script&gt;alert(1)&lt;/script&gt;xxx");
        html.Should().NotContain(new string('x', 100)).And.Contain("&#x2026;</bdi>");
    }

    [Fact]
    public async Task A_childs_key_cannot_start_the_flow()
    {
        var code = await Flow.ApproveAsync(Parent);
        var token = await Installation.TokenAsync(Api, Parent, code);
        var created = await Installation.CreateChildAsync(Api, token, new { name = "Site" });
        var childId = (await created.Content.ReadAsStringAsync()).Split("\"client_id\":\"")[1].Split('"')[0];
        await ShouldShowErrorPageAsync(Installation.AuthorizeUrl(childId), "unauthorized_client");
    }

    [Fact]
    public async Task Pkce_S256_binds_the_code_to_the_verifier()
    {
        const string verifier = "dBjftJeZ4CVP-mJ92K9aRXQyCJXCJ0khbwSOY5Jw2lc";
        var challenge = Pkce.ChallengeOf(verifier);

        var code = await Flow.ApproveAsync(Parent, extra: $"&code_challenge={challenge}&code_challenge_method=S256");
        var missing = await Installation.RequestTokenAsync(Api, Parent, code);
        missing.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await missing.Content.ReadAsStringAsync()).Should().Contain("invalid_grant");

        var code2 = await Flow.ApproveAsync(Parent, extra: $"&code_challenge={challenge}&code_challenge_method=S256");
        var wrong = await Installation.RequestTokenAsync(Api, Parent, code2, Installation.InstallationRedirect, ("code_verifier", new string('a', 43)));
        wrong.StatusCode.Should().Be(HttpStatusCode.BadRequest);

        var code3 = await Flow.ApproveAsync(Parent, extra: $"&code_challenge={challenge}&code_challenge_method=S256");
        var right = await Installation.RequestTokenAsync(Api, Parent, code3, Installation.InstallationRedirect, ("code_verifier", verifier));
        right.StatusCode.Should().Be(HttpStatusCode.OK);

        // A verifier for a code issued without PKCE is a downgrade attempt.
        var code4 = await Flow.ApproveAsync(Parent);
        var downgrade = await Installation.RequestTokenAsync(Api, Parent, code4, Installation.InstallationRedirect, ("code_verifier", verifier));
        downgrade.StatusCode.Should().Be(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task A_parent_under_the_exact_policy_accepts_only_its_registered_uris()
    {
        var app = await Broker.CreateApplicationAsync("Exact Parent", "https://app.example/cb");
        var policy = await Broker.Administration.EnableParentAsync(app.Client.ClientId, RedirectPolicy.Exact, null, null, []);
        policy.Problem.Should().BeNull();
        var ok = await Flow.Browser.GetAsync(Installation.AuthorizeUrl(app.Client.ClientId, "https://app.example/cb"));
        ok.StatusCode.Should().Be(HttpStatusCode.OK);
        await ShouldShowErrorPageAsync(Installation.AuthorizeUrl(app.Client.ClientId, "https://blog.example/cb"), "not registered");
    }
}

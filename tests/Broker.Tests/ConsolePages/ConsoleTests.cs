using System.Net;
using AngleSharp.Html.Parser;
using Broker.Core.Clients;
using Broker.Core.Platform;
using Broker.Core.Security;
using Broker.Hosting;
using Broker.Tests.Gateway;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.Tests.ConsolePages;

/// <summary>
/// The console over real HTTP and a real SQLite file: signing in, the parents' pages and their settings,
/// rotation, the kill switch, installations, usage charts, the audit log, scopes, vendors, CSRF and timeouts.
/// </summary>
public sealed class ConsoleTests : IAsyncLifetime
{
    private readonly ConsoleHarness harness = new();

    public Task InitializeAsync() => harness.InitializeAsync();

    public Task DisposeAsync() => harness.DisposeAsync();

    private string ParentPath => $"/console/parents/{harness.Parent.Client.ClientId}";

    [Fact]
    public async Task The_platform_team_signs_in_lists_and_searches_parents()
    {
        var ops = await harness.SignInAsync(ConsoleHarness.OpsEmail);

        var all = await ConsoleHarness.TextAsync(await ops.GetAsync("/console/parents"));
        all.Should().Contain("Ghost Unsplash Plugin").And.Contain("WordPress Photo Plugin");
        var found = await ConsoleHarness.TextAsync(await ops.GetAsync("/console/parents?q=WordP"));
        found.Should().Contain("WordPress Photo Plugin").And.NotContain("Ghost Unsplash Plugin");
        var byId = await ConsoleHarness.TextAsync(await ops.GetAsync($"/console/parents?q={harness.Parent.Client.ClientId}"));
        byId.Should().Contain("Ghost Unsplash Plugin").And.NotContain("WordPress Photo Plugin");
        (await ConsoleHarness.TextAsync(await ops.GetAsync("/console/parents?q=%25"))).Should().Contain("No parent matches");
    }

    [Fact]
    public async Task Console_pages_need_a_console_session_and_a_site_owners_session_is_not_one()
    {
        var anonymous = new Browser(harness.Broker.CreateBrowser());
        var page = await anonymous.GetAsync(ParentPath);
        page.StatusCode.Should().Be(HttpStatusCode.Redirect);
        page.Headers.Location!.ToString().Should().StartWith("/console/login?returnUrl=");

        // Signed in on the account pages (the consent flow's session) is not signed in to the console.
        await anonymous.SignInAsync(ConsoleHarness.OpsEmail, ConsoleHarness.Password);
        (await anonymous.GetAsync("/console/parents")).StatusCode.Should().Be(HttpStatusCode.Redirect);
    }

    [Fact]
    public async Task Without_console_entra_id_the_login_page_offers_no_entra_sign_in_and_its_route_answers_404()
    {
        var browser = new Browser(harness.Broker.CreateBrowser());
        var page = await browser.GetAsync("/console/login");
        (await page.Content.ReadAsStringAsync()).Should().NotContain("Entra");

        var form = await Browser.FormAsync(page, "/console/login");
        var entra = await browser.Http.PostAsync("/console/login/entra", new FormUrlEncodedContent(form.Fields));

        entra.StatusCode.Should().Be(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task An_account_that_is_neither_of_the_team_nor_a_vendor_is_refused_and_a_wrong_password_says_so()
    {
        var browser = new Browser(harness.Broker.CreateBrowser());
        var form = await Browser.FormAsync(await browser.GetAsync("/console/login"), "/console/login");

        var owner = await browser.SubmitAsync(form, ("email", ConsoleHarness.SiteOwnerEmail), ("password", ConsoleHarness.Password));
        var wrong = await browser.SubmitAsync(form, ("email", ConsoleHarness.OpsEmail), ("password", "not the password"));

        owner.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await ConsoleHarness.TextAsync(owner)).Should().Contain("no access to the console");
        wrong.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await browser.GetAsync("/console/parents")).StatusCode.Should().Be(HttpStatusCode.Redirect);
    }

    [Fact]
    public async Task Joining_with_a_listed_administrators_address_gives_no_console_rights_the_listed_user_id_does()
    {
        // The platform team plans an administrator: the entry names the id of an account not made yet,
        // labelled with its address. Someone joins with that address first, as anyone may.
        const string Planned = "lead@platform.example";
        var plannedId = Guid.CreateVersion7().ToString("N");
        harness.Broker.ChangeSettings(new Dictionary<string, string?>
        {
            ["Console:Administrators:2:UserId"] = plannedId,
            ["Console:Administrators:2:Email"] = Planned,
            ["Console:Administrators:2:Scopes:0"] = AdminScopes.ClientsRead,
            ["Console:Administrators:2:Scopes:1"] = AdminScopes.ParentsWrite,
        });
        var squatter = new Browser(harness.Broker.CreateBrowser());
        var joined = await squatter.SubmitAsync(await Browser.FormAsync(await squatter.GetAsync("/account/join"), "/account/join"),
            ("email", Planned), ("password", ConsoleHarness.Password));
        joined.StatusCode.Should().Be(HttpStatusCode.Redirect, "joining is open to any address");

        var form = await Browser.FormAsync(await squatter.GetAsync("/console/login"), "/console/login");
        var refused = await squatter.SubmitAsync(form, ("email", Planned), ("password", ConsoleHarness.Password));
        refused.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await ConsoleHarness.TextAsync(refused)).Should().Contain("no access to the console");
        (await squatter.GetAsync("/console/parents")).StatusCode.Should().Be(HttpStatusCode.Redirect);
        (await squatter.GetAsync("/console/audit")).StatusCode.Should().Be(HttpStatusCode.Redirect);

        // The account whose id is listed signs in and holds its scopes.
        var ops = await harness.SignInAsync(ConsoleHarness.OpsEmail);
        (await ops.GetAsync("/console/parents")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await ops.GetAsync("/console/audit")).StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task The_settings_form_offers_only_the_gateways_routes_and_saves_through_the_audited_write()
    {
        var ops = await harness.SignInAsync(ConsoleHarness.OpsEmail);
        var page = await ops.GetAsync(ParentPath);
        var html = new HtmlParser().ParseDocument(await page.Content.ReadAsStringAsync());
        var offered = html.QuerySelectorAll("input[name=endpoint]").Select(box => box.GetAttribute("value")).ToList();
        offered.Should().BeEquivalentTo(["GET /photos", "GET /photos/*", "GET /photos/random", "GET /search/photos", "POST /photos/*/like", "GET /me"]);
        var tokens = await Browser.FormAsync(page, $"{ParentPath}/owner");

        // Reject a route the gateway does not have: nothing is written.
        var refused = await PostAsync(ops, $"{ParentPath}/settings", tokens, ("child_rate_limit", "100"), ("endpoint", "DELETE /admin"));
        refused.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await ConsoleHarness.TextAsync(refused)).Should().Contain("not one of the gateway's routes");
        (await harness.FindAsync(harness.Parent.Client.ClientId))!.Version.Should().Be(harness.Parent.Client.Version + 1, "only the owner was named");

        var saved = await PostAsync(ops, $"{ParentPath}/settings", tokens, ("child_rate_limit", "120"), ("endpoint", "GET /me"), ("endpoint", "GET /photos"));
        saved.StatusCode.Should().Be(HttpStatusCode.Redirect);
        var parent = (ParentRole)(await harness.FindAsync(harness.Parent.Client.ClientId))!.Role;
        parent.ChildRateLimit.Should().Be(120);
        parent.ChildEndpoints.Should().BeEquivalentTo(["GET /me", "GET /photos"]);
        parent.OwnerUserId.Should().Be(harness.Vendor.UserId, "changing the settings keeps the vendor");
        var entry = (await harness.AuditAsync(harness.Parent.Client.ClientId))[0];
        entry.Action.Should().Be(AuditActions.ParentChanged);
        entry.Actor.Should().StartWith("user:");

        // The same form again is stale now: a conflict, not an overwrite.
        var stale = await PostAsync(ops, $"{ParentPath}/settings", tokens, ("child_rate_limit", "5"), ("endpoint", "GET /me"));
        stale.StatusCode.Should().Be(HttpStatusCode.Conflict);
        ((ParentRole)(await harness.FindAsync(harness.Parent.Client.ClientId))!.Role).ChildRateLimit.Should().Be(120);
    }

    [Fact]
    public async Task A_form_without_its_antiforgery_token_changes_nothing()
    {
        var ops = await harness.SignInAsync(ConsoleHarness.OpsEmail);
        var tokens = await Browser.FormAsync(await ops.GetAsync(ParentPath), $"{ParentPath}/owner");
        var forged = tokens with { Fields = tokens.Fields.Where(field => field.Key == "version").ToDictionary() };

        var response = await PostAsync(ops, $"{ParentPath}/disable", forged);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await harness.FindAsync(harness.Parent.Client.ClientId))!.DisabledAt.Should().BeNull();
    }

    [Fact]
    public async Task Every_action_asks_the_admin_APIs_scope()
    {
        var reader = await harness.SignInAsync(ConsoleHarness.ReaderEmail);
        var page = await reader.GetAsync(ParentPath);
        page.StatusCode.Should().Be(HttpStatusCode.OK);
        var html = await page.Content.ReadAsStringAsync();
        html.Should().NotContain("/settings").And.NotContain("/kill").And.NotContain("Audit log");
        var tokens = await Browser.FormAsync(await reader.GetAsync("/console/parents"), "/console/logout");
        tokens = tokens with { Fields = new(tokens.Fields) { ["version"] = harness.Parent.Client.Version.ToString() } };

        (await PostAsync(reader, $"{ParentPath}/disable", tokens)).StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await PostAsync(reader, $"{ParentPath}/rotate", tokens)).StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await reader.GetAsync($"{ParentPath}/kill")).StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await reader.GetAsync("/console/audit")).StatusCode.Should().Be(HttpStatusCode.Forbidden);
        var child = await harness.InstallAsync(harness.Parent);
        var childPath = await InstallationPathAsync(reader, harness.Parent, "blog.example");
        (await PostAsync(reader, $"{childPath}/disable", tokens)).StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await harness.FindAsync(child.ClientId))!.DisabledAt.Should().BeNull();
        (await harness.FindAsync(harness.Parent.Client.ClientId))!.DisabledAt.Should().BeNull();
    }

    [Fact]
    public async Task A_rotated_secret_is_shown_once_and_the_old_one_keeps_working_for_the_overlap()
    {
        var ops = await harness.SignInAsync(ConsoleHarness.OpsEmail);
        var page = await ops.GetAsync(ParentPath);

        var rotated = await ops.SubmitAsync(await Browser.FormAsync(page, $"{ParentPath}/rotate"));

        rotated.StatusCode.Should().Be(HttpStatusCode.OK);
        rotated.Headers.CacheControl!.NoStore.Should().BeTrue();
        var secret = new HtmlParser().ParseDocument(await rotated.Content.ReadAsStringAsync()).QuerySelector("pre code")!.TextContent;
        var parent = (await harness.FindAsync(harness.Parent.Client.ClientId))!;
        parent.SecretHash.Should().Be(Secret.Hash(secret));
        parent.PreviousSecretHash.Should().Be(Secret.Hash(harness.Parent.ClientSecret));
        (await (await ops.GetAsync(ParentPath)).Content.ReadAsStringAsync()).Should().NotContain(secret);
        (await harness.AuditAsync(parent.ClientId))[0].Action.Should().Be(AuditActions.SecretRotated);
    }

    [Fact]
    public async Task The_kill_switch_names_the_count_and_refuses_a_confirmation_of_another_count()
    {
        var first = await harness.InstallAsync(harness.Parent, "https://one.example");
        var second = await harness.InstallAsync(harness.Parent, "https://two.example");
        var other = await harness.InstallAsync(harness.OtherParent);
        var ops = await harness.SignInAsync(ConsoleHarness.OpsEmail);

        var confirmation = await ops.GetAsync($"{ParentPath}/kill");
        (await ConsoleHarness.TextAsync(confirmation)).Should().Contain("Disable Ghost Unsplash Plugin and its 2 active installations?");
        var form = await Browser.FormAsync(confirmation, $"{ParentPath}/kill");

        // A third installation arrives after the page was shown: the confirmation no longer names the truth.
        var third = await harness.InstallAsync(harness.Parent, "https://three.example");
        var refused = await ops.SubmitAsync(form);
        refused.StatusCode.Should().Be(HttpStatusCode.Conflict);
        (await ConsoleHarness.TextAsync(refused)).Should().Contain("its 3 active installations");
        (await harness.FindAsync(first.ClientId))!.DisabledAt.Should().BeNull();

        var killed = await ops.SubmitAsync(await Browser.FormAsync(refused, $"{ParentPath}/kill"));
        killed.StatusCode.Should().Be(HttpStatusCode.Redirect);
        (await harness.FindAsync(harness.Parent.Client.ClientId))!.DisabledAt.Should().NotBeNull();
        foreach (var child in new[] { first, second, third })
        {
            (await harness.FindAsync(child.ClientId))!.DisabledAt.Should().NotBeNull();
        }
        (await harness.FindAsync(other.ClientId))!.DisabledAt.Should().BeNull();
        (await harness.AuditAsync(harness.Parent.Client.ClientId))[0].Details.Should().Contain("children disabled: 3");
        (await GatewayCalls.CallAsync(harness.Broker.CreateApiClient(), first.ClientId, "/photos")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Installations_show_host_owner_dates_quota_and_status_and_can_be_disabled_enabled_and_revoked()
    {
        var child = await harness.InstallAsync(harness.Parent, "https://photos.blog.example");
        var ops = await harness.SignInAsync(ConsoleHarness.OpsEmail);
        var listPath = $"{ParentPath}/installations";

        var list = await ops.GetAsync(listPath);
        var text = await ConsoleHarness.TextAsync(list);
        var childPath = await InstallationPathAsync(ops, harness.Parent, "photos.blog.example");
        text.Should().Contain("photos.blog.example").And.Contain(ConsoleHarness.SiteOwnerEmail).And.Contain("2026-11-29 12:00 UTC")
            .And.Contain("never").And.Contain("3,000/h").And.Contain("active");

        (await ops.SubmitAsync(await Browser.FormAsync(list, $"{childPath}/disable"))).StatusCode.Should().Be(HttpStatusCode.Redirect);
        (await harness.FindAsync(child.ClientId))!.DisabledAt.Should().NotBeNull();
        list = await ops.GetAsync(listPath);
        (await ops.SubmitAsync(await Browser.FormAsync(list, $"{childPath}/enable"))).StatusCode.Should().Be(HttpStatusCode.Redirect);
        (await harness.FindAsync(child.ClientId))!.DisabledAt.Should().BeNull();
        list = await ops.GetAsync(listPath);
        (await ops.SubmitAsync(await Browser.FormAsync(list, $"{childPath}/revoke"))).StatusCode.Should().Be(HttpStatusCode.Redirect);
        (await harness.FindAsync(child.ClientId))!.RevokedAt.Should().NotBeNull();

        (await harness.AuditAsync(child.ClientId)).Select(entry => entry.Action).Should()
            .Equal(AuditActions.ChildDeleted, AuditActions.ChildEnabled, AuditActions.ChildDisabled);
        (await ConsoleHarness.TextAsync(await ops.GetAsync(listPath))).Should().Contain("revoked");
    }

    [Fact]
    public async Task Usage_charts_draw_the_hourly_counts_the_gateway_kept()
    {
        var child = await harness.InstallAsync(harness.Parent, "https://photos.blog.example");
        var api = harness.Broker.CreateApiClient();
        (await GatewayCalls.CallAsync(api, child.ClientId, "/photos")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await GatewayCalls.CallAsync(api, child.ClientId, "/photos")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await GatewayCalls.CallAsync(api, child.ClientId, "/me")).StatusCode.Should().Be(HttpStatusCode.Forbidden);
        await harness.Broker.Services.GetRequiredService<UsageCounter>().FlushAsync();
        harness.Broker.Time.Advance(TimeSpan.FromHours(1));
        (await GatewayCalls.CallAsync(api, child.ClientId, "/photos")).StatusCode.Should().Be(HttpStatusCode.OK);
        await harness.Broker.Services.GetRequiredService<UsageCounter>().FlushAsync();
        var ops = await harness.SignInAsync(ConsoleHarness.OpsEmail);

        var parentPage = await (await ops.GetAsync(ParentPath)).Content.ReadAsStringAsync();
        var childPath = await InstallationPathAsync(ops, harness.Parent, "photos.blog.example");
        var installationPage = await (await ops.GetAsync(childPath)).Content.ReadAsStringAsync();

        var bars = new HtmlParser().ParseDocument(parentPage).QuerySelectorAll("svg.chart rect.admitted title").Select(title => title.TextContent).ToList();
        bars.Should().Equal("2026-11-29 12:00 UTC: 2 admitted, 1 refused", "2026-11-29 13:00 UTC: 1 admitted, 0 refused");
        parentPage.Should().Contain("Refused: endpoint not whitelisted</td><td>1</td>");
        installationPage.Should().Contain("class=\"limit\"").And.Contain("limit 3000 an hour");
        (await ConsoleHarness.TextAsync(await ops.GetAsync(childPath))).Should().Contain("This hour: 1 of 3,000 calls");
    }

    [Fact]
    public async Task A_vendor_sees_only_their_own_parents_installations_and_usage_and_may_rotate_their_secret()
    {
        var mine = await harness.InstallAsync(harness.Parent);
        var theirs = await harness.InstallAsync(harness.OtherParent);
        var vendor = await harness.SignInAsync(ConsoleHarness.VendorEmail);

        var list = await ConsoleHarness.TextAsync(await vendor.GetAsync("/console/parents"));
        list.Should().Contain("Ghost Unsplash Plugin").And.NotContain("WordPress Photo Plugin");
        (await ConsoleHarness.TextAsync(await vendor.GetAsync("/console/parents?q=WordPress"))).Should().Contain("No parent matches");
        var otherPath = $"/console/parents/{harness.OtherParent.Client.ClientId}";
        (await vendor.GetAsync(otherPath)).StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await vendor.GetAsync($"{otherPath}/installations")).StatusCode.Should().Be(HttpStatusCode.NotFound);
        var ops = await harness.SignInAsync(ConsoleHarness.OpsEmail);
        var theirsPath = await InstallationPathAsync(ops, harness.OtherParent, "blog.example");
        var minePath = await InstallationPathAsync(vendor, harness.Parent, "blog.example");
        (await vendor.GetAsync(theirsPath)).StatusCode.Should().Be(HttpStatusCode.NotFound);
        var reference = theirsPath[(theirsPath.LastIndexOf('/') + 1)..];
        (await vendor.GetAsync($"{ParentPath}/installations/{reference}")).StatusCode.Should().Be(HttpStatusCode.NotFound, "a reference resolves only among its parent's installations");
        (await vendor.GetAsync(minePath)).StatusCode.Should().Be(HttpStatusCode.OK);
        (await vendor.GetAsync($"/console/installations/{mine.ClientId}")).StatusCode.Should().Be(HttpStatusCode.NotFound, "the console never routes by a key");
        (await vendor.GetAsync("/console/audit")).StatusCode.Should().Be(HttpStatusCode.Forbidden);

        var page = await vendor.GetAsync(ParentPath);
        (await page.Content.ReadAsStringAsync()).Should().NotContain("/settings").And.NotContain("/kill");
        var tokens = await Browser.FormAsync(page, $"{ParentPath}/rotate");
        (await PostAsync(vendor, $"{otherPath}/rotate", tokens)).StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await PostAsync(vendor, $"{minePath}/revoke", tokens)).StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await harness.FindAsync(mine.ClientId))!.RevokedAt.Should().BeNull();
        (await harness.FindAsync(harness.OtherParent.Client.ClientId))!.SecretHash.Should().Be(Secret.Hash(harness.OtherParent.ClientSecret));

        (await vendor.SubmitAsync(tokens)).StatusCode.Should().Be(HttpStatusCode.OK);
        (await harness.FindAsync(harness.Parent.Client.ClientId))!.SecretHash.Should().NotBe(Secret.Hash(harness.Parent.ClientSecret));
        (await harness.AuditAsync(harness.Parent.Client.ClientId))[0].Actor.Should().Be(AuditActions.User(harness.Vendor.UserId));
    }

    [Fact]
    public async Task The_audit_log_filters_by_actor_action_and_client()
    {
        var child = await harness.InstallAsync(harness.Parent);
        var ops = await harness.SignInAsync(ConsoleHarness.OpsEmail);
        var list = await ops.GetAsync($"{ParentPath}/installations");
        await ops.SubmitAsync(await Browser.FormAsync(list, $"{await InstallationPathAsync(ops, harness.Parent, "blog.example")}/disable"));

        var byClient = await ConsoleHarness.TextAsync(await ops.GetAsync($"/console/audit?client={child.ClientId}"));
        var byAction = await ConsoleHarness.TextAsync(await ops.GetAsync("/console/audit?action=parent.owner_changed"));
        var byActor = await ConsoleHarness.TextAsync(await ops.GetAsync("/console/audit?actor=cli:local"));

        byClient.Should().Contain("child.disabled").And.NotContain("parent.owner_changed");
        byAction.Should().Contain(harness.Parent.Client.ClientId).And.Contain(harness.OtherParent.Client.ClientId).And.NotContain("child.disabled");
        byActor.Should().Contain("parent.owner_changed").And.NotContain("child.disabled");
        (await ops.GetAsync("/console/audit?before=x")).StatusCode.Should().Be(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Markup_in_every_name_field_is_shown_as_text()
    {
        const string script = "<script>alert(1)</script>";
        var hostile = await harness.Broker.CreateParentAsync($"Evil {script} Plugin");
        await harness.Broker.CreateUserAsync("<img/src=x/onerror=alert(2)>@evil.example", ConsoleHarness.Password);
        await harness.NameOwnerAsync(hostile, "<img/src=x/onerror=alert(2)>@evil.example");
        var child = await GatewayCalls.CreateChildAsync(harness.Broker, hostile,
            (await harness.Broker.CreateUserAsync("<svg/onload=alert(3)>@blog.example", ConsoleHarness.Password)), name: $"Blog {script}");
        var ops = await harness.SignInAsync(ConsoleHarness.OpsEmail);
        var parentPath = $"/console/parents/{hostile.Client.ClientId}";

        foreach (var path in new[] { "/console/parents", parentPath, $"{parentPath}/installations", $"{parentPath}/kill",
            await InstallationPathAsync(ops, hostile, "blog.example"), $"/console/audit?client={hostile.Client.ClientId}&actor={Uri.EscapeDataString(script)}" })
        {
            var html = await (await ops.GetAsync(path)).Content.ReadAsStringAsync();
            html.Should().NotContain("<script>").And.NotContain("<img/src").And.NotContain("<svg/onload", path);
        }
        var page = await ConsoleHarness.TextAsync(await ops.GetAsync(parentPath));
        page.Should().Contain($"Evil {script} Plugin").And.Contain("<img/src=x/onerror=alert(2)>@evil.example");
    }

    [Fact]
    public async Task Console_pages_cannot_be_framed_run_no_inline_script_and_the_session_ends_when_idle()
    {
        var ops = await harness.SignInAsync(ConsoleHarness.OpsEmail);
        var page = await ops.GetAsync("/console/parents");

        var policy = string.Join(";", page.Headers.GetValues("Content-Security-Policy"));
        policy.Should().Contain("frame-ancestors 'none'").And.Contain("script-src 'self'").And.NotContain("unsafe-inline");
        page.Headers.GetValues("X-Frame-Options").Should().Equal("DENY");
        harness.Broker.Time.Advance(TimeSpan.FromMinutes(29));
        (await ops.GetAsync("/console/parents")).StatusCode.Should().Be(HttpStatusCode.OK, "a request within the timeout keeps the session");
        harness.Broker.Time.Advance(TimeSpan.FromMinutes(31));
        var expired = await ops.GetAsync("/console/parents");
        expired.StatusCode.Should().Be(HttpStatusCode.Redirect);
        expired.Headers.Location!.ToString().Should().StartWith("/console/login");
    }

    [Fact]
    public async Task The_console_cookie_is_strict_http_only_and_scoped_to_the_console()
    {
        var browser = new Browser(harness.Broker.CreateBrowser());
        var form = await Browser.FormAsync(await browser.GetAsync("/console/login"), "/console/login");

        var response = await browser.SubmitAsync(form, ("email", ConsoleHarness.OpsEmail), ("password", ConsoleHarness.Password));

        var cookie = response.Headers.GetValues("Set-Cookie").Single(value => value.StartsWith("broker.console=", StringComparison.Ordinal));
        cookie.Should().Contain("path=/console").And.Contain("samesite=strict").And.Contain("httponly");
    }

    [Fact]
    public async Task No_console_page_shows_or_links_an_installations_key_to_a_vendor_or_an_admin()
    {
        var children = new List<Client>();
        for (var index = 0; index < 52; index++)
        {
            children.Add(await harness.InstallAsync(harness.Parent, $"https://site{index}.blog.example"));
        }
        var ops = await harness.SignInAsync(ConsoleHarness.OpsEmail);
        var vendor = await harness.SignInAsync(ConsoleHarness.VendorEmail);
        var first = await ops.GetAsync($"{ParentPath}/installations");
        var disabledPath = await InstallationPathAsync(ops, harness.Parent, "site51.blog.example");
        (await ops.SubmitAsync(await Browser.FormAsync(first, $"{disabledPath}/disable"))).StatusCode.Should().Be(HttpStatusCode.Redirect);
        var pages = 0;

        foreach (var browser in new[] { ops, vendor })
        {
            var listPath = $"{ParentPath}/installations";
            var more = MoreLink(await (await browser.GetAsync(listPath)).Content.ReadAsStringAsync());
            var paths = new[]
            {
                "/console/parents", ParentPath, listPath, more, "/console/audit",
                await InstallationPathAsync(browser, harness.Parent, "site51.blog.example"),
                await InstallationPathAsync(browser, harness.Parent, Hosts(await (await browser.GetAsync(more)).Content.ReadAsStringAsync())[0], more),
            };
            foreach (var path in paths)
            {
                var response = await browser.GetAsync(path);
                var html = await response.Content.ReadAsStringAsync();
                pages += response.StatusCode == HttpStatusCode.OK ? 1 : 0;
                foreach (var child in children)
                {
                    html.Should().NotContain(child.ClientId, $"{path} must not show an installation's key");
                    path.Should().NotContain(child.ClientId);
                }
            }
        }

        pages.Should().Be(13, "every page but the audit log (the platform team's only) answers both");
        var firstHosts = Hosts(await (await ops.GetAsync($"{ParentPath}/installations")).Content.ReadAsStringAsync());
        var secondHosts = Hosts(await (await ops.GetAsync(MoreLink(await (await ops.GetAsync($"{ParentPath}/installations")).Content.ReadAsStringAsync()))).Content.ReadAsStringAsync());
        firstHosts.Should().HaveCount(50);
        firstHosts.Concat(secondHosts).Should().BeEquivalentTo(Enumerable.Range(0, 52).Select(index => $"site{index}.blog.example"), "the next page follows on by reference");
        var detail = await ConsoleHarness.TextAsync(await ops.GetAsync(disabledPath));
        detail.Should().Contain($"Key ending …{Secret.Fingerprint(children[51].ClientId)}").And.Contain("disabled");
        (await ConsoleHarness.TextAsync(await ops.GetAsync("/console/audit"))).Should().Contain($"client:…{Secret.Fingerprint(children[51].ClientId)}");
        (await ops.GetAsync($"{ParentPath}/installations?after=1-00")).StatusCode.Should().Be(HttpStatusCode.BadRequest);
    }

    /// <summary>The "More installations" link of an installations page.</summary>
    private static string MoreLink(string html) =>
        new HtmlParser().ParseDocument(html).QuerySelectorAll("a[href]").Select(link => link.GetAttribute("href")!)
            .Single(href => href.Contains("?after=", StringComparison.Ordinal));

    /// <summary>The sites an installations page lists, in order.</summary>
    private static List<string> Hosts(string html) =>
        new HtmlParser().ParseDocument(html).QuerySelectorAll("td a").Select(anchor => anchor.TextContent).ToList();

    /// <summary>The console's path of the installation of <paramref name="parent"/> on <paramref name="host"/>, from its link in the list.</summary>
    private static async Task<string> InstallationPathAsync(Browser browser, CreatedApplication parent, string host, string? listPath = null)
    {
        var html = await (await browser.GetAsync(listPath ?? $"/console/parents/{parent.Client.ClientId}/installations")).Content.ReadAsStringAsync();
        return new HtmlParser().ParseDocument(html).QuerySelectorAll("td a").Single(anchor => anchor.TextContent == host).GetAttribute("href")!;
    }

    /// <summary>Posts fields to <paramref name="action"/> with the antiforgery token (and version) of <paramref name="tokens"/>; repeated names allowed.</summary>
    private static Task<HttpResponseMessage> PostAsync(Browser browser, string action, HtmlForm tokens, params (string Name, string Value)[] fields) =>
        browser.Http.PostAsync(action, new FormUrlEncodedContent(
            tokens.Fields.Where(field => field.Key is "__RequestVerificationToken" or "version")
                .Concat(fields.Select(field => new KeyValuePair<string, string>(field.Name, field.Value)))));
}

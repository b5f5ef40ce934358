using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Broker.Core.Platform;
using Broker.Core.Stores;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.Tests.PlatformApi;

/// <summary>The /admin/v1 routes' behaviour, each test on a broker of its own.</summary>
public sealed class PlatformApiTests : IAsyncLifetime
{
    private readonly PlatformHarness harness = new();
    private HttpClient admin = null!;

    public async Task InitializeAsync()
    {
        harness.Broker.Settings["Platform:SecretRotationOverlap"] = "01:00:00";
        await harness.InitializeAsync();
        admin = await harness.AdminAsync();
    }

    public Task DisposeAsync() => harness.DisposeAsync();

    private string ParentId => harness.Parent.Client.ClientId;

    private Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, object? body = null, string? ifMatch = null) =>
        admin.SendAsync(PlatformHarness.Request(method, path, body, ifMatch));

    private static async Task<JsonElement> OkJson(HttpResponseMessage response)
    {
        response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return await PlatformHarness.JsonOf(response);
    }

    private static async Task ShouldBeProblem(HttpResponseMessage response, HttpStatusCode status, string detailContains)
    {
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(status, body);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        body.Should().Contain(detailContains);
    }

    // ---- Parents ----

    [Fact]
    public async Task A_parent_is_listed_and_shown_with_its_fingerprint_and_an_etag_never_its_secret()
    {
        var list = await OkJson(await admin.GetAsync("/admin/v1/parents"));
        var item = list.GetProperty("items").EnumerateArray().Single();
        item.GetProperty("client_id").GetString().Should().Be(ParentId);
        item.GetProperty("secret_fingerprint").GetString().Should().Be(harness.Parent.ClientSecret[^4..]);

        var response = await admin.GetAsync($"/admin/v1/parents/{ParentId}");
        var parent = await OkJson(response);
        response.Headers.ETag!.Tag.Should().Be($"\"{parent.GetProperty("version").GetInt64()}\"");
        (await response.Content.ReadAsStringAsync()).Should().NotContain(harness.Parent.ClientSecret);
    }

    [Fact]
    public async Task Enabling_a_parent_on_an_application_sets_its_child_settings()
    {
        var app = await harness.Broker.CreateApplicationAsync("Vendor", "https://vendor.example/cb");

        var parent = await OkJson(await SendAsync(HttpMethod.Put, $"/admin/v1/parents/{app.Client.ClientId}",
            new { redirect_policy = "installation", callback_path = "/wp/callback", child_rate_limit = 100, child_endpoints = new[] { "GET /photos" } }));

        parent.GetProperty("kind").GetString().Should().Be("parent");
        parent.GetProperty("child_rate_limit").GetInt32().Should().Be(100);
        parent.GetProperty("callback_path").GetString().Should().Be("/wp/callback");
        var entry = (await harness.AuditAsync())[0];
        entry.Action.Should().Be(AuditActions.ParentEnabled);
        entry.Target.Should().Be(AuditActions.Client(app.Client.ClientId));
        entry.Actor.Should().StartWith("admin-token:");
    }

    [Theory]
    [InlineData("""{"redirect_policy":"wildcard"}""", "redirect_policy")]
    [InlineData("""{"child_rate_limit":0}""", "rate limit")]
    [InlineData("""{"child_rate_limit":"many"}""", "child_rate_limit must be a whole number")]
    [InlineData("""{"child_endpoints":["FETCH /x"]}""", "method")]
    [InlineData("""{"child_endpoints":[]}""", "at least one endpoint")]
    [InlineData("""{"surprise":1}""", "unknown field 'surprise'")]
    [InlineData("""[1,2]""", "not valid")]
    [InlineData("""{"callback_path":"relative"}""", "callback")]
    [InlineData("""{}""", "name at least one")]
    [InlineData("""{"redirect_policy":"\ud800"}""", "not well-formed")]
    [InlineData("""{"callback_path":"/cb\ud800"}""", "not well-formed")]
    [InlineData("""{"child_endpoints":["GET /\ud800"]}""", "not well-formed")]
    [InlineData("""{"child_rate_limit":0,"child_rate_limit":70}""", "appears more than once")]
    [InlineData("""{"child_rate_limit":1e3}""", "child_rate_limit must be a whole number")]
    [InlineData("""{"child_rate_limit":99999999999999999999}""", "child_rate_limit must be a whole number")]
    [InlineData("not json", "not well-formed")]
    public async Task Bad_parent_settings_get_400_problem_details_and_change_nothing(string body, string detail)
    {
        var before = await harness.AuditAsync();

        await ShouldBeProblem(await SendAsync(HttpMethod.Patch, $"/admin/v1/parents/{ParentId}", body), HttpStatusCode.BadRequest, detail);

        (await harness.AuditAsync()).Should().HaveCount(before.Count);
    }

    // Every setting, as a full replacement names them.
    private static object FullSettings(string policy = "installation", int rateLimit = 100, params string[] endpoints) => new
    {
        redirect_policy = policy,
        callback_path = policy == "installation" ? "/broker/callback" : null,
        child_rate_limit = rateLimit,
        child_endpoints = endpoints.Length > 0 ? endpoints : ["GET /photos"],
    };

    [Fact]
    public async Task Patching_one_setting_keeps_the_others_and_is_audited_as_a_change()
    {
        await OkJson(await SendAsync(HttpMethod.Put, $"/admin/v1/parents/{ParentId}", FullSettings("exact", 100, "GET /photos", "GET /collections")));
        var before = await admin.GetAsync($"/admin/v1/parents/{ParentId}");
        var request = PlatformHarness.Request(HttpMethod.Patch, $"/admin/v1/parents/{ParentId}", null, before.Headers.ETag!.Tag);
        request.Content = new StringContent("""{"child_rate_limit":70}""", System.Text.Encoding.UTF8, "application/merge-patch+json");

        var response = await admin.SendAsync(request);

        var parent = await OkJson(response);
        parent.GetProperty("child_rate_limit").GetInt32().Should().Be(70);
        parent.GetProperty("redirect_policy").GetString().Should().Be("exact", "a setting the patch leaves out stays");
        parent.GetProperty("child_endpoints").EnumerateArray().Select(e => e.GetString()).Should().Equal("GET /photos", "GET /collections");
        response.Headers.ETag!.Tag.Should().NotBe(before.Headers.ETag.Tag);
        var entry = (await harness.AuditAsync())[0];
        entry.Action.Should().Be(AuditActions.ParentChanged);
        entry.Details.Should().Contain("child_rate_limit=70").And.Contain("redirect_policy=exact");
    }

    [Fact]
    public async Task Patching_a_setting_to_null_resets_it_to_its_default()
    {
        await OkJson(await SendAsync(HttpMethod.Put, $"/admin/v1/parents/{ParentId}", FullSettings("installation", 100, "GET /collections")));

        var parent = await OkJson(await SendAsync(HttpMethod.Patch, $"/admin/v1/parents/{ParentId}", """{"child_endpoints":null,"child_rate_limit":null}"""));

        parent.GetProperty("child_endpoints").EnumerateArray().Select(e => e.GetString()).Should().Equal(Core.Clients.EndpointPattern.DefaultChildEndpoints);
        parent.GetProperty("child_rate_limit").GetInt32().Should().Be(3000);
        parent.GetProperty("callback_path").GetString().Should().Be("/broker/callback");
    }

    [Fact]
    public async Task A_put_names_every_setting_or_gets_400_naming_the_missing_ones_and_changes_nothing()
    {
        await OkJson(await SendAsync(HttpMethod.Put, $"/admin/v1/parents/{ParentId}", FullSettings("exact", 100, "GET /collections")));
        var entries = (await harness.AuditAsync()).Count;

        await ShouldBeProblem(await SendAsync(HttpMethod.Put, $"/admin/v1/parents/{ParentId}", """{"child_rate_limit":70}"""),
            HttpStatusCode.BadRequest, "missing: redirect_policy, callback_path, child_endpoints");

        var parent = await OkJson(await admin.GetAsync($"/admin/v1/parents/{ParentId}"));
        parent.GetProperty("redirect_policy").GetString().Should().Be("exact");
        parent.GetProperty("child_endpoints").EnumerateArray().Select(e => e.GetString()).Should().Equal("GET /collections");
        (await harness.AuditAsync()).Should().HaveCount(entries);
        var defaults = await OkJson(await SendAsync(HttpMethod.Put, $"/admin/v1/parents/{ParentId}",
            """{"redirect_policy":null,"callback_path":null,"child_rate_limit":null,"child_endpoints":null}"""));
        defaults.GetProperty("redirect_policy").GetString().Should().Be("installation");
        defaults.GetProperty("child_endpoints").GetArrayLength().Should().Be(4);
    }

    [Fact]
    public async Task A_patch_on_an_application_that_is_not_a_parent_is_404_and_a_full_put_promotes_it()
    {
        var app = await harness.Broker.CreateApplicationAsync("Vendor", "https://vendor.example/cb");

        await ShouldBeProblem(await SendAsync(HttpMethod.Patch, $"/admin/v1/parents/{app.Client.ClientId}", new { child_rate_limit = 70 }),
            HttpStatusCode.NotFound, "no parent");
        var child = await harness.CreateChildAsync();
        await ShouldBeProblem(await SendAsync(HttpMethod.Patch, $"/admin/v1/parents/{child}", new { child_rate_limit = 70 }),
            HttpStatusCode.NotFound, "no parent");

        var parent = await OkJson(await SendAsync(HttpMethod.Put, $"/admin/v1/parents/{app.Client.ClientId}", FullSettings()));
        parent.GetProperty("kind").GetString().Should().Be("parent");
        (await harness.AuditAsync())[0].Action.Should().Be(AuditActions.ParentEnabled);
    }

    [Fact]
    public async Task A_patch_on_a_disabled_parent_changes_its_settings_and_leaves_it_disabled()
    {
        await OkJson(await SendAsync(HttpMethod.Delete, $"/admin/v1/parents/{ParentId}"));

        var parent = await OkJson(await SendAsync(HttpMethod.Patch, $"/admin/v1/parents/{ParentId}", new { child_rate_limit = 70 }));

        parent.GetProperty("status").GetString().Should().Be("disabled");
        parent.GetProperty("child_rate_limit").GetInt32().Should().Be(70);
        (await harness.AuditAsync())[0].Action.Should().Be(AuditActions.ParentChanged);
    }

    [Fact]
    public async Task A_stale_if_match_gets_412_and_changes_nothing()
    {
        var current = await admin.GetAsync($"/admin/v1/parents/{ParentId}");
        var etag = current.Headers.ETag!.Tag;
        var changed = await SendAsync(HttpMethod.Patch, $"/admin/v1/parents/{ParentId}", new { child_rate_limit = 10 }, etag);
        await OkJson(changed);
        changed.Headers.ETag!.Tag.Should().NotBe(etag);
        var entries = (await harness.AuditAsync()).Count;

        await ShouldBeProblem(await SendAsync(HttpMethod.Patch, $"/admin/v1/parents/{ParentId}", new { child_rate_limit = 20 }, etag),
            HttpStatusCode.PreconditionFailed, "no longer current");
        await ShouldBeProblem(await SendAsync(HttpMethod.Put, $"/admin/v1/parents/{ParentId}", FullSettings(), etag),
            HttpStatusCode.PreconditionFailed, "no longer current");
        await ShouldBeProblem(await SendAsync(HttpMethod.Patch, $"/admin/v1/parents/{ParentId}", new { child_rate_limit = 20 }, "W/\"x\""),
            HttpStatusCode.PreconditionFailed, "If-Match");

        (await OkJson(await admin.GetAsync($"/admin/v1/parents/{ParentId}"))).GetProperty("child_rate_limit").GetInt32().Should().Be(10);
        (await harness.AuditAsync()).Should().HaveCount(entries);
    }

    [Fact]
    public async Task Disabling_a_parent_revokes_its_unspent_installation_tokens_and_can_disable_its_children()
    {
        var child = await harness.CreateChildAsync();
        var unspent = await harness.InstallationTokenAsync();

        var disabled = await OkJson(await SendAsync(HttpMethod.Delete, $"/admin/v1/parents/{ParentId}?disable_children=true"));

        disabled.GetProperty("status").GetString().Should().Be("disabled");
        var code = await harness.Flow.Browser.GetAsync(Installation.AuthorizeUrl(ParentId));
        code.StatusCode.Should().Be(HttpStatusCode.BadRequest, "a disabled parent cannot start installations");
        var refused = await Installation.CreateChildAsync(harness.Api, unspent, new { name = "Late", description = "" });
        refused.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await OkJson(await admin.GetAsync($"/admin/v1/children/{child}"))).GetProperty("status").GetString().Should().Be("disabled");
        var entry = (await harness.AuditAsync())[0];
        entry.Action.Should().Be(AuditActions.ParentDisabled);
        entry.Details.Should().Contain("children disabled: 1");
    }

    [Fact]
    public async Task Disabling_a_parent_without_the_option_leaves_its_children_records_alone_and_enabling_it_brings_it_back()
    {
        var child = await harness.CreateChildAsync();

        await OkJson(await SendAsync(HttpMethod.Delete, $"/admin/v1/parents/{ParentId}"));

        (await OkJson(await admin.GetAsync($"/admin/v1/children/{child}"))).GetProperty("status").GetString().Should().Be("active");
        await ShouldBeProblem(await SendAsync(HttpMethod.Delete, $"/admin/v1/parents/{ParentId}"), HttpStatusCode.Conflict, "already disabled");
        var enabled = await OkJson(await SendAsync(HttpMethod.Put, $"/admin/v1/parents/{ParentId}", FullSettings()));
        enabled.GetProperty("status").GetString().Should().Be("active");
        (await harness.AuditAsync())[0].Action.Should().Be(AuditActions.ParentEnabled);
        await harness.CreateChildAsync("After");
        await ShouldBeProblem(await SendAsync(HttpMethod.Delete, $"/admin/v1/parents/{ParentId}?disable_children=maybe"),
            HttpStatusCode.BadRequest, "disable_children");
    }

    // ---- Secret rotation ----

    [Fact]
    public async Task A_rotated_out_secret_works_for_the_overlap_and_then_stops()
    {
        var rotated = await OkJson(await SendAsync(HttpMethod.Post, $"/admin/v1/parents/{ParentId}/rotate-secret"));
        var newSecret = rotated.GetProperty("client_secret").GetString()!;
        newSecret.Should().NotBe(harness.Parent.ClientSecret).And.HaveLength(64);
        rotated.GetProperty("secret_fingerprint").GetString().Should().Be(newSecret[^4..]);
        var withOld = harness.Parent;
        var withNew = harness.Parent with { ClientSecret = newSecret };

        // Inside the overlap: both secrets authenticate.
        harness.Broker.Time.Advance(TimeSpan.FromMinutes(59));
        (await Installation.RequestTokenAsync(harness.Api, withOld, await harness.Flow.ApproveAsync(withOld))).StatusCode.Should().Be(HttpStatusCode.OK);
        (await Installation.RequestTokenAsync(harness.Api, withNew, await harness.Flow.ApproveAsync(withNew))).StatusCode.Should().Be(HttpStatusCode.OK);

        // After it: only the new one.
        harness.Broker.Time.Advance(TimeSpan.FromMinutes(2));
        (await Installation.RequestTokenAsync(harness.Api, withOld, await harness.Flow.ApproveAsync(withOld))).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await Installation.RequestTokenAsync(harness.Api, withNew, await harness.Flow.ApproveAsync(withNew))).StatusCode.Should().Be(HttpStatusCode.OK);
        (await harness.AuditAsync()).Should().ContainSingle(entry => entry.Action == AuditActions.SecretRotated);
    }

    [Fact]
    public async Task Rotating_a_child_or_an_unknown_client_is_404()
    {
        var child = await harness.CreateChildAsync();
        await ShouldBeProblem(await SendAsync(HttpMethod.Post, $"/admin/v1/parents/{child}/rotate-secret"), HttpStatusCode.NotFound, "no parent");
        await ShouldBeProblem(await SendAsync(HttpMethod.Post, "/admin/v1/parents/x'--/rotate-secret"), HttpStatusCode.NotFound, "no parent");
    }

    // ---- Children ----

    [Fact]
    public async Task Children_are_listed_newest_first_in_pages_and_filtered_by_owner_and_origin()
    {
        var first = await harness.CreateChildAsync("One");
        harness.Broker.Time.Advance(TimeSpan.FromSeconds(1));
        var second = await harness.CreateChildAsync("Two");
        harness.Broker.Time.Advance(TimeSpan.FromSeconds(1));
        var third = await harness.CreateChildAsync("Three");

        var page1Response = await admin.GetAsync($"/admin/v1/parents/{ParentId}/children?limit=2");
        var page1 = await OkJson(page1Response);
        page1.GetProperty("items").EnumerateArray().Select(c => c.GetProperty("client_id").GetString()).Should().Equal(third, second);
        var next = page1.GetProperty("next").GetString()!;
        page1Response.Headers.GetValues("Link").Single().Should().Contain("rel=\"next\"");
        var page2 = await OkJson(await admin.GetAsync($"/admin/v1/parents/{ParentId}/children?limit=2&after={Uri.EscapeDataString(next)}"));
        page2.GetProperty("items").EnumerateArray().Select(c => c.GetProperty("client_id").GetString()).Should().Equal(first);
        page2.GetProperty("next").ValueKind.Should().Be(JsonValueKind.Null);

        var byOwner = await OkJson(await admin.GetAsync($"/admin/v1/parents/{ParentId}/children?owner={harness.OwnerUserId}"));
        byOwner.GetProperty("items").GetArrayLength().Should().Be(3);
        var byOtherOrigin = await OkJson(await admin.GetAsync($"/admin/v1/parents/{ParentId}/children?origin=https://other.example"));
        byOtherOrigin.GetProperty("items").GetArrayLength().Should().Be(0);
        var byOrigin = await OkJson(await admin.GetAsync($"/admin/v1/parents/{ParentId}/children?origin=https://blog.example"));
        byOrigin.GetProperty("items").GetArrayLength().Should().Be(3);
    }

    [Theory]
    [InlineData("limit=0")]
    [InlineData("limit=201")]
    [InlineData("limit=ten")]
    [InlineData("after=not-a-cursor")]
    public async Task Bad_paging_is_400(string query)
    {
        await ShouldBeProblem(await admin.GetAsync($"/admin/v1/parents/{ParentId}/children?{query}"), HttpStatusCode.BadRequest, "limit");
    }

    [Fact]
    public async Task A_child_can_be_narrowed_but_never_widened_past_its_parent()
    {
        var child = await harness.CreateChildAsync();
        var etag = (await admin.GetAsync($"/admin/v1/children/{child}")).Headers.ETag!.Tag;

        var narrowed = await OkJson(await SendAsync(HttpMethod.Patch, $"/admin/v1/children/{child}",
            new { rate_limit = 100, endpoints = new[] { "GET /photos", "GET /photos/abc" } }, etag));
        narrowed.GetProperty("rate_limit").GetInt32().Should().Be(100);
        narrowed.GetProperty("endpoints").EnumerateArray().Select(e => e.GetString()).Should().Equal("GET /photos", "GET /photos/abc");

        await ShouldBeProblem(await SendAsync(HttpMethod.Patch, $"/admin/v1/children/{child}", new { rate_limit = 3001 }), HttpStatusCode.BadRequest, "narrowed");
        await ShouldBeProblem(await SendAsync(HttpMethod.Patch, $"/admin/v1/children/{child}", new { endpoints = new[] { "POST /photos" } }), HttpStatusCode.BadRequest, "narrowed");
        await ShouldBeProblem(await SendAsync(HttpMethod.Patch, $"/admin/v1/children/{child}", new { endpoints = new[] { "GET /users/*" } }), HttpStatusCode.BadRequest, "narrowed");
        await ShouldBeProblem(await SendAsync(HttpMethod.Patch, $"/admin/v1/children/{child}", new { owner = "x" }), HttpStatusCode.BadRequest, "unknown field");
        await ShouldBeProblem(await SendAsync(HttpMethod.Patch, $"/admin/v1/children/{child}", new { rate_limit = "x" }), HttpStatusCode.BadRequest, "whole number");
        await ShouldBeProblem(await SendAsync(HttpMethod.Patch, $"/admin/v1/children/{child}", """{"endpoints":["GET /\ud800"]}"""), HttpStatusCode.BadRequest, "not well-formed");
        await ShouldBeProblem(await SendAsync(HttpMethod.Patch, $"/admin/v1/children/{child}", new { }), HttpStatusCode.BadRequest, "rate_limit");
        await ShouldBeProblem(await SendAsync(HttpMethod.Patch, $"/admin/v1/children/{child}", new { rate_limit = 5 }, etag), HttpStatusCode.PreconditionFailed, "no longer current");

        var inherited = await OkJson(await SendAsync(HttpMethod.Patch, $"/admin/v1/children/{child}", """{"rate_limit":null,"endpoints":null}"""));
        inherited.GetProperty("rate_limit").ValueKind.Should().Be(JsonValueKind.Null);
        inherited.GetProperty("endpoints").ValueKind.Should().Be(JsonValueKind.Null);
    }

    [Fact]
    public async Task A_child_is_disabled_enabled_and_deleted_for_good()
    {
        var child = await harness.CreateChildAsync();

        (await OkJson(await SendAsync(HttpMethod.Post, $"/admin/v1/children/{child}/disable"))).GetProperty("status").GetString().Should().Be("disabled");
        (await OkJson(await SendAsync(HttpMethod.Post, $"/admin/v1/children/{child}/enable"))).GetProperty("status").GetString().Should().Be("active");
        (await OkJson(await SendAsync(HttpMethod.Delete, $"/admin/v1/children/{child}"))).GetProperty("status").GetString().Should().Be("revoked");

        await ShouldBeProblem(await SendAsync(HttpMethod.Post, $"/admin/v1/children/{child}/enable"), HttpStatusCode.Conflict, "revoked for good");
        await ShouldBeProblem(await SendAsync(HttpMethod.Post, $"/admin/v1/children/{ParentId}/disable"), HttpStatusCode.NotFound, "no child");
    }

    // ---- Users ----

    [Fact]
    public async Task Disabling_a_user_disables_their_children_and_they_cannot_be_enabled_again()
    {
        var child = await harness.CreateChildAsync();
        var users = await OkJson(await admin.GetAsync("/admin/v1/users"));
        users.GetProperty("items").EnumerateArray().Single().GetProperty("user_id").GetString().Should().Be(harness.OwnerUserId);

        var disabled = await OkJson(await SendAsync(HttpMethod.Post, $"/admin/v1/users/{harness.OwnerUserId}/disable"));

        disabled.GetProperty("children_disabled").GetInt32().Should().Be(1);
        (await OkJson(await admin.GetAsync($"/admin/v1/children/{child}"))).GetProperty("status").GetString().Should().Be("disabled");
        await ShouldBeProblem(await SendAsync(HttpMethod.Post, $"/admin/v1/children/{child}/enable"), HttpStatusCode.Conflict, "owner is disabled");
        await ShouldBeProblem(await SendAsync(HttpMethod.Post, $"/admin/v1/users/{harness.OwnerUserId}/disable"), HttpStatusCode.Conflict, "already");
        await ShouldBeProblem(await SendAsync(HttpMethod.Post, "/admin/v1/users/nobody/disable"), HttpStatusCode.NotFound, "no user");
    }

    // ---- Admin tokens, last use ----

    [Fact]
    public async Task Admin_tokens_are_listed_without_their_values_and_a_revoked_one_stops_at_once()
    {
        var token = await harness.AdminTokenAsync(AdminScopes.AuditRead);
        var other = harness.Broker.CreateApiClient();
        other.DefaultRequestHeaders.Authorization = new("SSWS", token);
        (await other.GetAsync("/admin/v1/audit")).StatusCode.Should().Be(HttpStatusCode.OK);

        var listResponse = await admin.GetAsync("/admin/v1/admin-tokens");
        (await listResponse.Content.ReadAsStringAsync()).Should().NotContain(token);
        var listed = (await OkJson(listResponse)).GetProperty("items").EnumerateArray()
            .Single(t => t.GetProperty("fingerprint").GetString() == token[^4..]);
        var id = listed.GetProperty("id").GetString();

        (await SendAsync(HttpMethod.Delete, $"/admin/v1/admin-tokens/{id}")).StatusCode.Should().Be(HttpStatusCode.NoContent);

        (await other.GetAsync("/admin/v1/audit")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        await ShouldBeProblem(await SendAsync(HttpMethod.Delete, $"/admin/v1/admin-tokens/{id}"), HttpStatusCode.NotFound, "no active admin token");
    }

    [Fact]
    public async Task Last_use_of_clients_and_admin_tokens_is_recorded_off_the_request_path()
    {
        await harness.CreateChildAsync();

        var parent = await EventuallyAsync(async () =>
            await OkJson(await admin.GetAsync($"/admin/v1/parents/{ParentId}")), json => json.GetProperty("last_used_at").ValueKind == JsonValueKind.String);
        parent.GetProperty("last_used_at").GetDateTimeOffset().Should().Be(harness.Broker.Time.GetUtcNow());
        var tokens = await EventuallyAsync(async () => await OkJson(await admin.GetAsync("/admin/v1/admin-tokens")),
            json => json.GetProperty("items").EnumerateArray().Any(t => t.GetProperty("last_used_at").ValueKind == JsonValueKind.String));
        tokens.GetProperty("items").GetArrayLength().Should().Be(1);
    }

    private static async Task<JsonElement> EventuallyAsync(Func<Task<JsonElement>> read, Func<JsonElement, bool> done)
    {
        for (var attempt = 0; ; attempt++)
        {
            var value = await read();
            if (done(value) || attempt == 50)
            {
                return value;
            }
            await Task.Delay(100);
        }
    }

    // ---- Audit ----

    [Fact]
    public async Task The_audit_log_is_queried_by_action_target_actor_and_time_in_pages()
    {
        var child = await harness.CreateChildAsync();
        await SendAsync(HttpMethod.Post, $"/admin/v1/children/{child}/disable");
        harness.Broker.Time.Advance(TimeSpan.FromMinutes(5));
        await SendAsync(HttpMethod.Post, $"/admin/v1/children/{child}/enable");

        var byTarget = await OkJson(await admin.GetAsync($"/admin/v1/audit?target=client:{child}"));
        byTarget.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("action").GetString())
            .Should().Equal(AuditActions.ChildEnabled, AuditActions.ChildDisabled, AuditActions.ChildCreated);
        var created = byTarget.GetProperty("items")[2];
        created.GetProperty("actor").GetString().Should().Be($"user:{harness.OwnerUserId}");
        created.GetProperty("request_id").GetString().Should().NotBeNullOrEmpty();

        var page = await OkJson(await admin.GetAsync($"/admin/v1/audit?target=client:{child}&limit=1"));
        var next = page.GetProperty("next").GetString();
        var second = await OkJson(await admin.GetAsync($"/admin/v1/audit?target=client:{child}&limit=1&after={next}"));
        second.GetProperty("items")[0].GetProperty("action").GetString().Should().Be(AuditActions.ChildDisabled);

        var since = Uri.EscapeDataString(harness.Broker.Time.GetUtcNow().AddMinutes(-1).ToString("O"));
        var recent = await OkJson(await admin.GetAsync($"/admin/v1/audit?from={since}&action={AuditActions.ChildEnabled}"));
        recent.GetProperty("items").GetArrayLength().Should().Be(1);

        await ShouldBeProblem(await admin.GetAsync("/admin/v1/audit?from=yesterday"), HttpStatusCode.BadRequest, "ISO 8601");
        await ShouldBeProblem(await admin.GetAsync("/admin/v1/audit?after=abc"), HttpStatusCode.BadRequest, "limit");
    }
}

using System.Net;
using System.Net.Http.Headers;
using Broker.Core.Platform;
using Broker.Hosting;
using Broker.Tests.ConsolePages;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.Tests.PlatformApi;

/// <summary>
/// A parent's vendor named and removed through <c>/admin/v1/parents/{id}/owner</c>, over real HTTP, and what
/// the vendor then sees in the console (the console tests' broker: its team, vendors and parents).
/// </summary>
public sealed class ParentOwnerTests : IAsyncLifetime
{
    private const string NewVendorEmail = "vendor@new-plugins.example";
    private readonly ConsoleHarness harness = new();

    public Task InitializeAsync() => harness.InitializeAsync();

    public Task DisposeAsync() => harness.DisposeAsync();

    private async Task<HttpClient> AdminAsync(params string[] scopes)
    {
        var created = await harness.Broker.Services.GetRequiredService<PlatformAdministration>()
            .CreateAdminTokenAsync("owner tests", scopes.Length > 0 ? scopes : [.. AdminScopes.All], AuditActor.CommandLine);
        created.Problem.Should().BeNull();
        var api = harness.Broker.CreateApiClient();
        api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("SSWS", created.Value!.Value);
        return api;
    }

    private static string OwnerPath(string clientId) => $"/admin/v1/parents/{clientId}/owner";

    private async Task<IReadOnlyList<AuditEntry>> OwnerChangesAsync(string clientId) =>
        [.. (await harness.AuditAsync(clientId)).Where(entry => entry.Action == AuditActions.ParentOwnerChanged)];

    [Fact]
    public async Task A_vendor_named_through_the_admin_api_sees_the_parent_in_the_console_and_nothing_once_removed()
    {
        var vendor = await harness.Broker.CreateUserAsync(NewVendorEmail, ConsoleHarness.Password);
        var parent = (await harness.Broker.CreateParentAsync("Unowned Photo Plugin")).Client.ClientId;
        var api = await AdminAsync();
        var before = await api.GetAsync($"/admin/v1/parents/{parent}");
        (await PlatformHarness.JsonOf(before)).GetProperty("owner_user_id").ValueKind.Should().Be(System.Text.Json.JsonValueKind.Null);

        var named = await api.SendAsync(PlatformHarness.Request(HttpMethod.Put, OwnerPath(parent), new { email = NewVendorEmail }, before.Headers.ETag!.ToString()));

        named.StatusCode.Should().Be(HttpStatusCode.OK, await named.Content.ReadAsStringAsync());
        (await PlatformHarness.JsonOf(named)).GetProperty("owner_user_id").GetString().Should().Be(vendor.UserId);
        named.Headers.ETag!.ToString().Should().NotBe(before.Headers.ETag!.ToString());
        var shown = await PlatformHarness.JsonOf(await api.GetAsync($"/admin/v1/parents/{parent}"));
        shown.GetProperty("owner_user_id").GetString().Should().Be(vendor.UserId, "the parent's representation names its vendor");
        var console = await harness.SignInAsync(NewVendorEmail);
        var list = await ConsoleHarness.TextAsync(await console.GetAsync("/console/parents"));
        list.Should().Contain("Unowned Photo Plugin").And.NotContain("Ghost Unsplash Plugin").And.NotContain("WordPress Photo Plugin");
        (await console.GetAsync($"/console/parents/{parent}")).StatusCode.Should().Be(HttpStatusCode.OK);

        var removed = await api.SendAsync(PlatformHarness.Request(HttpMethod.Delete, OwnerPath(parent), ifMatch: named.Headers.ETag!.ToString()));

        removed.StatusCode.Should().Be(HttpStatusCode.OK, await removed.Content.ReadAsStringAsync());
        (await PlatformHarness.JsonOf(removed)).GetProperty("owner_user_id").ValueKind.Should().Be(System.Text.Json.JsonValueKind.Null);
        (await ConsoleHarness.TextAsync(await console.GetAsync("/console/parents"))).Should().NotContain("Unowned Photo Plugin");
        (await console.GetAsync($"/console/parents/{parent}")).StatusCode.Should().Be(HttpStatusCode.NotFound);
        var again = new Browser(harness.Broker.CreateBrowser());
        var form = await Browser.FormAsync(await again.GetAsync("/console/login"), "/console/login");
        (await again.SubmitAsync(form, ("email", NewVendorEmail), ("password", ConsoleHarness.Password))).StatusCode
            .Should().Be(HttpStatusCode.Forbidden, "an account that owns nothing has no console");

        var entries = await OwnerChangesAsync(parent);
        entries.Select(entry => entry.Details).Should().Equal("owner removed", $"owner={AuditActions.User(vendor.UserId)}");
        entries.Should().OnlyContain(entry => entry.Actor.StartsWith("admin-token:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_owner_can_be_named_by_user_id_and_naming_the_same_one_twice_or_removing_none_is_a_conflict()
    {
        var api = await AdminAsync(AdminScopes.ParentsWrite);
        var parent = harness.Parent.Client.ClientId;

        var moved = await api.SendAsync(PlatformHarness.Request(HttpMethod.Put, OwnerPath(parent), new { user_id = harness.SiteOwner.UserId }));
        var twice = await api.SendAsync(PlatformHarness.Request(HttpMethod.Put, OwnerPath(parent), new { email = ConsoleHarness.SiteOwnerEmail }));
        var removed = await api.SendAsync(PlatformHarness.Request(HttpMethod.Delete, OwnerPath(parent)));
        var none = await api.SendAsync(PlatformHarness.Request(HttpMethod.Delete, OwnerPath(parent)));

        moved.StatusCode.Should().Be(HttpStatusCode.OK, await moved.Content.ReadAsStringAsync());
        (await PlatformHarness.JsonOf(moved)).GetProperty("owner_user_id").GetString().Should().Be(harness.SiteOwner.UserId);
        twice.StatusCode.Should().Be(HttpStatusCode.Conflict);
        twice.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        removed.StatusCode.Should().Be(HttpStatusCode.OK);
        none.StatusCode.Should().Be(HttpStatusCode.Conflict);
        (await OwnerChangesAsync(parent)).Should().HaveCount(3, "the harness named the first vendor; then this one, then none");
    }

    [Theory]
    [InlineData("""{"email":"nobody@nowhere.example"}""", HttpStatusCode.BadRequest, "no account has this e-mail")]
    [InlineData("""{"user_id":"Unosuchuser000000000000000"}""", HttpStatusCode.BadRequest, "no account has the user id")]
    [InlineData("""{"email":"owner@blog.example","user_id":"Unosuchuser000000000000000"}""", HttpStatusCode.BadRequest, "exactly one of email or user_id")]
    [InlineData("""{}""", HttpStatusCode.BadRequest, "exactly one of email or user_id")]
    [InlineData("""{"email":null}""", HttpStatusCode.BadRequest, "exactly one of email or user_id")]
    [InlineData("""{"owner":"owner@blog.example"}""", HttpStatusCode.BadRequest, "owner")]
    [InlineData("""{"email":42}""", HttpStatusCode.BadRequest, "not valid here")]
    [InlineData("""[]""", HttpStatusCode.BadRequest, "not valid here")]
    public async Task A_refused_owner_is_problem_details_and_writes_nothing(string body, HttpStatusCode status, string detail)
    {
        var api = await AdminAsync();
        var parent = harness.Parent.Client.ClientId;
        var version = (await harness.FindAsync(parent))!.Version;
        var changes = (await OwnerChangesAsync(parent)).Count;

        var response = await api.SendAsync(PlatformHarness.Request(HttpMethod.Put, OwnerPath(parent), body));

        response.StatusCode.Should().Be(status);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        (await response.Content.ReadAsStringAsync()).Should().Contain(detail);
        (await harness.FindAsync(parent))!.Version.Should().Be(version);
        (await OwnerChangesAsync(parent)).Should().HaveCount(changes);
    }

    [Fact]
    public async Task An_unknown_parent_a_stale_version_and_a_token_without_parents_write_change_nothing()
    {
        var parent = harness.Parent.Client.ClientId;
        var child = (await harness.InstallAsync(harness.Parent)).ClientId;
        var version = (await harness.FindAsync(parent))!.Version;
        var api = await AdminAsync();
        var reader = await AdminAsync(AdminScopes.ClientsRead, AdminScopes.ClientsWrite, AdminScopes.AuditRead, AdminScopes.TenantWrite);
        var body = new { email = ConsoleHarness.SiteOwnerEmail };

        var unknown = await api.SendAsync(PlatformHarness.Request(HttpMethod.Put, OwnerPath("Aparentthatdoesnotexist000000000"), body));
        var ofChild = await api.SendAsync(PlatformHarness.Request(HttpMethod.Delete, OwnerPath(child)));
        var stale = await api.SendAsync(PlatformHarness.Request(HttpMethod.Put, OwnerPath(parent), body, $"\"{version - 1}\""));
        var staleRemoval = await api.SendAsync(PlatformHarness.Request(HttpMethod.Delete, OwnerPath(parent), ifMatch: $"\"{version - 1}\""));
        var forbidden = await reader.SendAsync(PlatformHarness.Request(HttpMethod.Put, OwnerPath(parent), body));
        var forbiddenRemoval = await reader.SendAsync(PlatformHarness.Request(HttpMethod.Delete, OwnerPath(parent)));

        unknown.StatusCode.Should().Be(HttpStatusCode.NotFound);
        ofChild.StatusCode.Should().Be(HttpStatusCode.NotFound, "a child has no vendor");
        stale.StatusCode.Should().Be(HttpStatusCode.PreconditionFailed);
        staleRemoval.StatusCode.Should().Be(HttpStatusCode.PreconditionFailed);
        forbidden.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await forbidden.Content.ReadAsStringAsync()).Should().Contain(AdminScopes.ParentsWrite);
        forbiddenRemoval.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        var stored = (await harness.FindAsync(parent))!;
        stored.Version.Should().Be(version);
        ((Broker.Core.Clients.ParentRole)stored.Role).OwnerUserId.Should().Be(harness.Vendor.UserId);
        (await OwnerChangesAsync(parent)).Should().HaveCount(1, "only the harness named the vendor");
    }
}

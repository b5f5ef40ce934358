using System.Net;
using Broker.Core.Platform;

namespace Broker.Tests.PlatformApi;

/// <summary>Every write leaves exactly one audit entry, naming who, what, where and which request.</summary>
public sealed class AuditTrailTests : IAsyncLifetime
{
    private readonly PlatformHarness harness = new();
    private HttpClient admin = null!;

    public async Task InitializeAsync()
    {
        await harness.InitializeAsync();
        admin = await harness.AdminAsync();
    }

    public Task DisposeAsync() => harness.DisposeAsync();

    /// <summary>Runs <paramref name="write"/> and checks it added exactly one entry, which it returns.</summary>
    private async Task<AuditEntry> OneEntryAsync(Func<Task> write, string action, string? target)
    {
        var before = await harness.AuditAsync();
        await write();
        var after = await harness.AuditAsync();
        after.Should().HaveCount(before.Count + 1, $"{action} should leave exactly one entry");
        var entry = after[0];
        entry.Action.Should().Be(action);
        if (target is not null)
        {
            entry.Target.Should().Be(target);
        }
        entry.At.Should().Be(harness.Broker.Time.GetUtcNow().AddTicks(-(harness.Broker.Time.GetUtcNow().Ticks % TimeSpan.TicksPerMillisecond)));
        return entry;
    }

    private async Task AdminWriteAsync(HttpMethod method, string path, object? body = null, HttpStatusCode expected = HttpStatusCode.OK)
    {
        var response = await admin.SendAsync(PlatformHarness.Request(method, path, body));
        response.StatusCode.Should().Be(expected, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Every_admin_write_leaves_one_entry_with_the_token_as_actor_and_the_request_id()
    {
        var parent = harness.Parent.Client.ClientId;
        var child = await harness.CreateChildAsync();
        var app = await harness.Broker.CreateApplicationAsync("Vendor", "https://vendor.example/cb");
        var writes = new (Func<Task> Write, string Action, string Target)[]
        {
            (() => AdminWriteAsync(HttpMethod.Put, $"/admin/v1/parents/{app.Client.ClientId}",
                new { redirect_policy = "installation", callback_path = "/cb", child_rate_limit = 100, child_endpoints = new[] { "GET /photos" } }), AuditActions.ParentEnabled, AuditActions.Client(app.Client.ClientId)),
            (() => AdminWriteAsync(HttpMethod.Patch, $"/admin/v1/parents/{parent}", new { child_rate_limit = 50 }), AuditActions.ParentChanged, AuditActions.Client(parent)),
            (() => AdminWriteAsync(HttpMethod.Post, $"/admin/v1/parents/{parent}/rotate-secret"), AuditActions.SecretRotated, AuditActions.Client(parent)),
            (() => AdminWriteAsync(HttpMethod.Put, $"/admin/v1/parents/{parent}/owner", new { user_id = harness.OwnerUserId }), AuditActions.ParentOwnerChanged, AuditActions.Client(parent)),
            (() => AdminWriteAsync(HttpMethod.Delete, $"/admin/v1/parents/{parent}/owner"), AuditActions.ParentOwnerChanged, AuditActions.Client(parent)),
            (() => AdminWriteAsync(HttpMethod.Patch, $"/admin/v1/children/{child}", new { rate_limit = 10 }), AuditActions.ChildChanged, AuditActions.Client(child)),
            (() => AdminWriteAsync(HttpMethod.Post, $"/admin/v1/children/{child}/disable"), AuditActions.ChildDisabled, AuditActions.Client(child)),
            (() => AdminWriteAsync(HttpMethod.Post, $"/admin/v1/children/{child}/enable"), AuditActions.ChildEnabled, AuditActions.Client(child)),
            (() => AdminWriteAsync(HttpMethod.Delete, $"/admin/v1/children/{child}"), AuditActions.ChildDeleted, AuditActions.Client(child)),
            (() => AdminWriteAsync(HttpMethod.Delete, $"/admin/v1/parents/{app.Client.ClientId}"), AuditActions.ParentDisabled, AuditActions.Client(app.Client.ClientId)),
            (() => AdminWriteAsync(HttpMethod.Post, $"/admin/v1/users/{harness.OwnerUserId}/disable"), AuditActions.UserDisabled, AuditActions.User(harness.OwnerUserId)),
        };
        foreach (var (write, action, target) in writes)
        {
            var entry = await OneEntryAsync(write, action, target);
            entry.Actor.Should().StartWith("admin-token:");
            entry.RequestId.Should().NotBeNullOrEmpty();
            harness.Broker.Time.Advance(TimeSpan.FromSeconds(1));
        }
    }

    [Fact]
    public async Task Admin_tokens_created_and_revoked_leave_one_entry_each()
    {
        var created = await harness.Platform.CreateAdminTokenAsync("audited", [AdminScopes.AuditRead], AuditActor.CommandLine);
        var tokenId = created.Value!.Token.TokenId;
        var entries = await harness.AuditAsync();
        entries[0].Action.Should().Be(AuditActions.AdminTokenCreated);
        entries[0].Actor.Should().Be("cli:local");
        entries[0].Details.Should().NotContain(created.Value.Value);

        var revoked = await OneEntryAsync(() => AdminWriteAsync(HttpMethod.Delete, $"/admin/v1/admin-tokens/{tokenId}", expected: HttpStatusCode.NoContent),
            AuditActions.AdminTokenRevoked, AuditActions.AdminToken(tokenId));
        revoked.Actor.Should().StartWith("admin-token:");
    }

    [Fact]
    public async Task A_child_created_by_an_installation_and_revoked_by_its_owner_leave_one_entry_each()
    {
        var token = await harness.InstallationTokenAsync();
        string child = "";
        await OneEntryAsync(async () =>
        {
            var response = await Installation.CreateChildAsync(harness.Api, token, new { name = "Blog", description = "" });
            response.StatusCode.Should().Be(HttpStatusCode.Created);
            child = (await PlatformHarness.JsonOf(response)).GetProperty("client_id").GetString()!;
        }, AuditActions.ChildCreated, null);
        var created = (await harness.AuditAsync())[0];
        created.Target.Should().Be(AuditActions.Client(child));
        created.Actor.Should().Be(AuditActions.User(harness.OwnerUserId));
        created.Details.Should().Contain(harness.Parent.Client.ClientId);

        var revoked = await OneEntryAsync(async () =>
        {
            var apps = await harness.Flow.Browser.GetAsync("/account/apps");
            var form = await Browser.FormAsync(apps, $"/account/apps/{child}/revoke");
            (await harness.Flow.Browser.SubmitAsync(form)).StatusCode.Should().Be(HttpStatusCode.Redirect);
        }, AuditActions.ChildRevoked, AuditActions.Client(child));
        revoked.Actor.Should().Be(AuditActions.User(harness.OwnerUserId));
    }

    [Fact]
    public async Task Refused_writes_leave_no_entry()
    {
        var child = await harness.CreateChildAsync();
        var before = (await harness.AuditAsync()).Count;

        await AdminWriteAsync(HttpMethod.Patch, $"/admin/v1/children/{child}", new { rate_limit = 999_999 }, HttpStatusCode.BadRequest);
        await AdminWriteAsync(HttpMethod.Post, $"/admin/v1/children/{harness.Parent.Client.ClientId}/disable", expected: HttpStatusCode.NotFound);
        await AdminWriteAsync(HttpMethod.Delete, "/admin/v1/admin-tokens/none", expected: HttpStatusCode.NotFound);
        var stale = PlatformHarness.Request(HttpMethod.Post, $"/admin/v1/children/{child}/disable", ifMatch: "\"99\"");
        (await admin.SendAsync(stale)).StatusCode.Should().Be(HttpStatusCode.PreconditionFailed);

        (await harness.AuditAsync()).Should().HaveCount(before);
    }
}

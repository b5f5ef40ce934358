using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Broker.Core.Platform;

namespace Broker.Tests.PlatformApi;

/// <summary>Every admin route against every kind of credential the broker knows.</summary>
public sealed class AuthorizationMatrixTests(PlatformHarness harness) : IClassFixture<PlatformHarness>
{
    /// <summary>Every admin route (/admin/v1, the Okta client API, Auth0 tenant settings) with the scope it needs; {parent}, {child}, {user}, {token} filled in per test.</summary>
    public static readonly (string Method, string Path, string Scope)[] Routes =
    [
        ("GET", "/admin/v1/parents", AdminScopes.ClientsRead),
        ("GET", "/admin/v1/parents/{parent}", AdminScopes.ClientsRead),
        ("PUT", "/admin/v1/parents/{parent}", AdminScopes.ParentsWrite),
        ("PATCH", "/admin/v1/parents/{parent}", AdminScopes.ParentsWrite),
        ("DELETE", "/admin/v1/parents/{parent}", AdminScopes.ParentsWrite),
        ("POST", "/admin/v1/parents/{parent}/rotate-secret", AdminScopes.ParentsWrite),
        ("PUT", "/admin/v1/parents/{parent}/owner", AdminScopes.ParentsWrite),
        ("DELETE", "/admin/v1/parents/{parent}/owner", AdminScopes.ParentsWrite),
        ("GET", "/admin/v1/parents/{parent}/children", AdminScopes.ClientsRead),
        ("GET", "/admin/v1/children/{child}", AdminScopes.ClientsRead),
        ("PATCH", "/admin/v1/children/{child}", AdminScopes.ClientsWrite),
        ("POST", "/admin/v1/children/{child}/disable", AdminScopes.ClientsWrite),
        ("POST", "/admin/v1/children/{child}/enable", AdminScopes.ClientsWrite),
        ("DELETE", "/admin/v1/children/{child}", AdminScopes.ClientsWrite),
        ("GET", "/admin/v1/users", AdminScopes.ClientsRead),
        ("POST", "/admin/v1/users/{user}/disable", AdminScopes.ClientsWrite),
        ("GET", "/admin/v1/admin-tokens", AdminScopes.TenantWrite),
        ("DELETE", "/admin/v1/admin-tokens/{token}", AdminScopes.TenantWrite),
        ("GET", "/admin/v1/trusted-issuers", AdminScopes.TenantWrite),
        ("POST", "/admin/v1/trusted-issuers", AdminScopes.TenantWrite),
        ("DELETE", "/admin/v1/trusted-issuers", AdminScopes.TenantWrite),
        ("GET", "/admin/v1/audit", AdminScopes.AuditRead),
        ("POST", "/oauth2/v1/clients", AdminScopes.ClientsWrite),
        ("GET", "/oauth2/v1/clients", AdminScopes.ClientsRead),
        ("GET", "/oauth2/v1/clients/{parent}", AdminScopes.ClientsRead),
        ("PUT", "/oauth2/v1/clients/{parent}", AdminScopes.ClientsWrite),
        ("POST", "/oauth2/v1/clients/{parent}/lifecycle/newSecret", AdminScopes.ClientsWrite),
        ("PUT", "/oauth2/v1/clients/{parent}/lifecycle/newSecret", AdminScopes.ClientsWrite),
        ("DELETE", "/oauth2/v1/clients/{parent}", AdminScopes.ClientsWrite),
        ("GET", "/api/v2/tenants/settings", AdminScopes.TenantWrite),
        ("PATCH", "/api/v2/tenants/settings", AdminScopes.TenantWrite),
    ];

    public static TheoryData<string, string, string> RouteData()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var (method, path, scope) in Routes)
        {
            data.Add(method, path, scope);
        }
        return data;
    }

    public static TheoryData<string, string, string, string> RefusedCredentials()
    {
        var data = new TheoryData<string, string, string, string>();
        foreach (var (method, path, scope) in Routes)
        {
            foreach (var credential in new[] { "none", "child key", "parent key", "installation token", "malformed SSWS", "revoked admin token" })
            {
                data.Add(method, path, scope, credential);
            }
        }
        return data;
    }

    // Placeholders point at ids that do not exist: authorization must refuse before any lookup.
    private static string Fill(string path) =>
        path.Replace("{parent}", "Aparentthatdoesnotexist000000000", StringComparison.Ordinal)
            .Replace("{child}", "Achildthatdoesnotexist0000000000", StringComparison.Ordinal)
            .Replace("{user}", "nouser", StringComparison.Ordinal)
            .Replace("{token}", "notoken", StringComparison.Ordinal);

    private async Task<HttpResponseMessage> SendAsync(string method, string path, AuthenticationHeaderValue? authorization)
    {
        var request = PlatformHarness.Request(new HttpMethod(method), Fill(path),
            method is "PUT" or "PATCH" ? "{}" : null);
        request.Headers.Authorization = authorization;
        return await harness.Api.SendAsync(request);
    }

    [Theory]
    [MemberData(nameof(RefusedCredentials))]
    public async Task Anything_but_an_admin_credential_gets_401_as_problem_details(string method, string path, string scope, string credential)
    {
        _ = scope;
        var authorization = credential switch
        {
            "none" => null,
            "child key" => new AuthenticationHeaderValue("Client-ID", await harness.CreateChildAsync()),
            "parent key" => new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(
                $"{harness.Parent.Client.ClientId}:{harness.Parent.ClientSecret}"))),
            "installation token" => new AuthenticationHeaderValue("Bearer", await harness.InstallationTokenAsync()),
            "malformed SSWS" => new AuthenticationHeaderValue("SSWS", "not-a-token"),
            _ => new AuthenticationHeaderValue("SSWS", await RevokedTokenAsync()),
        };

        var response = await SendAsync(method, path, authorization);

        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        response.Headers.WwwAuthenticate.ToString().Should().Contain("SSWS");
    }

    [Theory]
    [MemberData(nameof(RouteData))]
    public async Task An_admin_token_without_the_routes_scope_gets_403(string method, string path, string scope)
    {
        var others = AdminScopes.All.Where(s => s != scope).ToArray();
        var token = await harness.AdminTokenAsync(others);

        var response = await SendAsync(method, path, new AuthenticationHeaderValue("SSWS", token));

        response.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        (await response.Content.ReadAsStringAsync()).Should().Contain(scope);
    }

    [Theory]
    [MemberData(nameof(RouteData))]
    public async Task An_admin_token_with_only_the_routes_scope_is_let_through(string method, string path, string scope)
    {
        var token = await harness.AdminTokenAsync(scope);

        var response = await SendAsync(method, path, new AuthenticationHeaderValue("SSWS", token));

        // Past authorization: the route itself answers (the ids in the path do not exist, or the body is empty).
        response.StatusCode.Should().BeOneOf(HttpStatusCode.OK, HttpStatusCode.NotFound, HttpStatusCode.BadRequest);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        }
    }

    private async Task<string> RevokedTokenAsync()
    {
        var created = await harness.Platform.CreateAdminTokenAsync("to revoke", [.. AdminScopes.All], AuditActor.CommandLine);
        (await harness.Platform.RevokeAdminTokenAsync(created.Value!.Token.TokenId, AuditActor.CommandLine)).Problem.Should().BeNull();
        return created.Value.Value;
    }
}

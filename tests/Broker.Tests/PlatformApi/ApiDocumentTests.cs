using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Broker.Tests.PlatformApi;

/// <summary>The OpenAPI document and the Scalar reference page.</summary>
public sealed class ApiDocumentTests(PlatformHarness harness) : IClassFixture<PlatformHarness>
{
    /// <summary>The public protocol routes the document covers beside the admin routes, with who may call each.</summary>
    private static readonly (string Path, string Method, string? Scheme)[] ProtocolOperations =
    [
        ("/oidc/register", "post", null),
        ("/oidc/register/{clientId}", "get", "RegistrationAccessToken"),
        ("/oidc/register/{clientId}", "put", "RegistrationAccessToken"),
        ("/oidc/register/{clientId}", "delete", "RegistrationAccessToken"),
        ("/clients", "post", "InstallationToken"),
        ("/.well-known/oauth-authorization-server", "get", null),
        ("/.well-known/jwks.json", "get", null),
    ];

    /// <summary>Every write that takes <c>?dry_run=true</c>.</summary>
    private static readonly (string Path, string Method)[] DryRunOperations =
    [
        ("/oidc/register", "post"),
        ("/oidc/register/{clientId}", "put"),
        ("/oauth2/v1/clients", "post"),
        ("/oauth2/v1/clients/{clientId}", "put"),
        ("/clients", "post"),
    ];

    private static bool IsAdminPath(string path) => path.StartsWith("/admin/", StringComparison.Ordinal)
        || path.StartsWith("/oauth2/v1/clients", StringComparison.Ordinal) || path == "/api/v2/tenants/settings";

    private static IEnumerable<(string Path, string Method, JsonElement Operation)> Operations(JsonElement document) =>
        document.GetProperty("paths").EnumerateObject().SelectMany(path => path.Value.EnumerateObject()
            .Select(operation => (path.Name, operation.Name, operation.Value)));

    /// <summary>The scheme names of each alternative in the operation's security; empty when anyone may call it.</summary>
    private static List<string[]> Security(JsonElement operation) =>
        operation.TryGetProperty("security", out var security)
            ? [.. security.EnumerateArray().Select(requirement => requirement.EnumerateObject().Select(scheme => scheme.Name).ToArray())]
            : [];

    [Fact]
    public async Task The_openapi_document_lists_every_admin_and_management_route_and_the_protocol_routes_and_nothing_else()
    {
        var response = await harness.Api.GetAsync("/openapi/v1.json");
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var document = await response.Content.ReadFromJsonAsync<JsonElement>();

        var paths = document.GetProperty("paths").EnumerateObject().Select(path => path.Name).ToList();
        foreach (var (_, path, _) in AuthorizationMatrixTests.Routes)
        {
            paths.Should().Contain(path.Replace("{parent}", "{clientId}", StringComparison.Ordinal).Replace("{child}", "{clientId}", StringComparison.Ordinal)
                .Replace("{user}", "{userId}", StringComparison.Ordinal).Replace("{token}", "{tokenId}", StringComparison.Ordinal));
        }
        var operations = Operations(document).Select(operation => (operation.Path, operation.Method)).ToList();
        operations.Should().Contain(ProtocolOperations.Select(operation => (operation.Path, operation.Method)));
        paths.Should().OnlyContain(path => IsAdminPath(path) || ProtocolOperations.Any(operation => operation.Path == path));
        document.GetProperty("info").GetProperty("title").GetString().Should().Contain("registration").And.Contain("discovery");
        document.GetProperty("components").GetProperty("securitySchemes").GetProperty("SSWS").GetProperty("name").GetString().Should().Be("Authorization");
    }

    [Fact]
    public async Task The_openapi_document_states_each_operations_own_security_and_no_document_wide_requirement()
    {
        var document = await harness.Api.GetFromJsonAsync<JsonElement>("/openapi/v1.json");

        document.TryGetProperty("security", out var documentWide).Should().BeFalse(documentWide.ToString());
        var schemes = document.GetProperty("components").GetProperty("securitySchemes");
        schemes.GetProperty("RegistrationAccessToken").GetProperty("scheme").GetString().Should().Be("bearer");
        schemes.GetProperty("InstallationToken").GetProperty("scheme").GetString().Should().Be("bearer");
        schemes.TryGetProperty("EntraId", out _).Should().BeFalse("Entra ID is not configured here");
        var operations = Operations(document).ToList();
        foreach (var (path, method, operation) in operations.Where(operation => IsAdminPath(operation.Path)))
        {
            Security(operation).Should().BeEquivalentTo(new[] { new[] { "SSWS" } }, $"{method} {path} is an admin route");
        }
        foreach (var (path, method, scheme) in ProtocolOperations)
        {
            var operation = operations.Single(operation => operation.Path == path && operation.Method == method).Operation;
            if (scheme is null)
            {
                // An explicit empty list: anyone may call it, said on the operation itself.
                operation.GetProperty("security").GetArrayLength().Should().Be(0, $"anyone may call {method} {path}");
            }
            else
            {
                Security(operation).Should().BeEquivalentTo(new[] { new[] { scheme } }, $"{method} {path}");
            }
        }
    }

    [Fact]
    public async Task The_openapi_document_offers_dry_run_on_every_write_that_takes_it_and_on_no_other()
    {
        var document = await harness.Api.GetFromJsonAsync<JsonElement>("/openapi/v1.json");

        foreach (var (path, method, operation) in Operations(document))
        {
            var dryRun = operation.TryGetProperty("parameters", out var parameters)
                ? parameters.EnumerateArray().Where(parameter => parameter.GetProperty("name").GetString() == "dry_run").ToList()
                : [];
            if (DryRunOperations.Contains((path, method)))
            {
                dryRun.Should().ContainSingle($"{method} {path} takes dry_run");
                dryRun[0].GetProperty("in").GetString().Should().Be("query");
                dryRun[0].GetProperty("schema").GetProperty("type").GetString().Should().Be("boolean");
                dryRun[0].GetProperty("description").GetString().Should().Contain("refusals");
            }
            else
            {
                dryRun.Should().BeEmpty($"{method} {path} takes no dry_run");
            }
        }
    }

    [Fact]
    public async Task The_openapi_document_offers_an_entra_bearer_token_beside_ssws_on_admin_routes_where_entra_is_configured()
    {
        var entra = new PlatformHarness();
        entra.Broker.Settings["AzureAd:Instance"] = "https://login.microsoftonline.com/";
        entra.Broker.Settings["AzureAd:TenantId"] = "6f1d2c3b-0000-4000-8000-00000000abcd";
        entra.Broker.Settings["AzureAd:ClientId"] = "0a1b2c3d-1111-4222-8333-444455556666";
        await entra.InitializeAsync();
        try
        {
            var document = await entra.Api.GetFromJsonAsync<JsonElement>("/openapi/v1.json");

            document.GetProperty("components").GetProperty("securitySchemes").GetProperty("EntraId").GetProperty("scheme").GetString().Should().Be("bearer");
            var operations = Operations(document).ToList();
            foreach (var (path, method, operation) in operations.Where(operation => IsAdminPath(operation.Path)))
            {
                Security(operation).Should().BeEquivalentTo([new[] { "SSWS" }, new[] { "EntraId" }], $"{method} {path}");
            }
            var discovery = operations.Single(operation => operation.Path == "/.well-known/oauth-authorization-server").Operation;
            discovery.GetProperty("security").GetArrayLength().Should().Be(0);
            var rfc7592 = operations.Single(operation => operation.Path == "/oidc/register/{clientId}" && operation.Method == "get").Operation;
            Security(rfc7592).Should().BeEquivalentTo(new[] { new[] { "RegistrationAccessToken" } });
        }
        finally
        {
            await entra.DisposeAsync();
        }
    }

    [Fact]
    public async Task The_openapi_document_describes_patch_of_a_parent_as_a_merge_patch_beside_the_full_put()
    {
        var document = await harness.Api.GetFromJsonAsync<JsonElement>("/openapi/v1.json");

        var parent = document.GetProperty("paths").GetProperty("/admin/v1/parents/{clientId}");
        parent.GetProperty("patch").GetProperty("requestBody").GetProperty("content").EnumerateObject().Select(type => type.Name)
            .Should().Contain(["application/merge-patch+json", "application/json"]);
        parent.GetProperty("put").GetProperty("requestBody").GetProperty("content").TryGetProperty("application/json", out _).Should().BeTrue();
        parent.GetProperty("patch").GetProperty("responses").EnumerateObject().Select(response => response.Name)
            .Should().Contain(["200", "400", "404", "412"]);
    }

    [Fact]
    public async Task The_protocol_writes_document_their_bodies()
    {
        var document = await harness.Api.GetFromJsonAsync<JsonElement>("/openapi/v1.json");
        var paths = document.GetProperty("paths");

        string[] MediaTypes(string path, string method) => [.. paths.GetProperty(path).GetProperty(method)
            .GetProperty("requestBody").GetProperty("content").EnumerateObject().Select(type => type.Name)];

        MediaTypes("/clients", "post").Should().BeEquivalentTo("application/json", "application/x-www-form-urlencoded");
        MediaTypes("/oidc/register", "post").Should().BeEquivalentTo("application/json");
        MediaTypes("/oidc/register/{clientId}", "put").Should().BeEquivalentTo("application/json");
        paths.GetProperty("/clients").GetProperty("post").GetProperty("requestBody").GetProperty("content")
            .GetProperty("application/json").GetProperty("schema").ValueKind.Should().Be(JsonValueKind.Object);
    }

    [Fact]
    public async Task The_reference_page_is_served_with_a_policy_that_lets_it_run_and_still_forbids_framing()
    {
        var response = await harness.Api.GetAsync("/scalar/");
        if (response.StatusCode == HttpStatusCode.MovedPermanently || response.StatusCode == HttpStatusCode.Redirect)
        {
            response = await harness.Api.GetAsync(response.Headers.Location!);
        }

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        (await response.Content.ReadAsStringAsync()).Should().Contain("openapi/v1.json");
        var csp = response.Headers.GetValues("Content-Security-Policy").Single();
        csp.Should().Contain("frame-ancestors 'none'").And.Contain("script-src 'self' 'unsafe-inline'");
    }
}

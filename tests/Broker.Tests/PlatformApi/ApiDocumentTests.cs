using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Broker.Tests.PlatformApi;

/// <summary>The OpenAPI document and the Scalar reference page.</summary>
public sealed class ApiDocumentTests(PlatformHarness harness) : IClassFixture<PlatformHarness>
{
    [Fact]
    public async Task The_openapi_document_lists_every_admin_and_management_route_with_the_ssws_scheme_and_nothing_else()
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
        paths.Should().OnlyContain(path => path.StartsWith("/admin/", StringComparison.Ordinal)
            || path.StartsWith("/oauth2/v1/clients", StringComparison.Ordinal) || path == "/api/v2/tenants/settings");
        document.GetProperty("components").GetProperty("securitySchemes").GetProperty("SSWS").GetProperty("name").GetString().Should().Be("Authorization");
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
    public async Task The_openapi_document_offers_dry_run_on_the_okta_create_and_replace()
    {
        var document = await harness.Api.GetFromJsonAsync<JsonElement>("/openapi/v1.json");

        var paths = document.GetProperty("paths");
        foreach (var (path, method) in new[] { ("/oauth2/v1/clients", "post"), ("/oauth2/v1/clients/{clientId}", "put") })
        {
            paths.GetProperty(path).GetProperty(method).GetProperty("parameters").EnumerateArray()
                .Should().Contain(parameter => parameter.GetProperty("name").GetString() == "dry_run"
                    && parameter.GetProperty("in").GetString() == "query", $"{method} {path}");
        }
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

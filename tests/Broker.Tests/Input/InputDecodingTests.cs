using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Reflection;
using Broker.Hosting;
using Broker.Tests.PlatformApi;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.Tests.Input;

/// <summary>
/// Bodies that no reader should hand to a route (names that are not Unicode, charsets we do not
/// speak) and answers the pipeline writes itself (404, 405): each a clear 4xx in the route's own
/// error format, nothing written.
/// </summary>
public sealed class InputDecodingTests(CredentialedHarness credentials) : IClassFixture<CredentialedHarness>
{
    private PlatformHarness harness => credentials.Platform;
    private HttpClient admin => credentials.Admin;
    private string registeredId => credentials.RegisteredId;
    private string registrationToken => credentials.RegistrationToken;

    public static TheoryData<string, string> JsonRoutes => new()
    {
        { "POST", "/oidc/register" },
        { "PUT", "/oidc/register/{registered}" },
        { "POST", "/oauth2/v1/clients" },
        { "PUT", "/oauth2/v1/clients/{parent}" },
        { "PATCH", "/api/v2/tenants/settings" },
        { "PUT", "/admin/v1/parents/{parent}" },
        { "PUT", "/admin/v1/parents/{parent}/owner" },
        { "PATCH", "/admin/v1/children/{parent}" },
        { "POST", "/clients" },
    };

    // A property name that is a lone surrogate escape, or raw bytes that are not UTF-8.
    public static readonly byte[][] UndecodableNames =
    [
        """{"\ud800":1}"""u8.ToArray(),
        [(byte)'{', (byte)'"', 0xff, 0xfe, (byte)'"', (byte)':', (byte)'1', (byte)'}'],
        """{"client_id":"x","flags":{"\udfff":true},"\udbff":[]}"""u8.ToArray(),
    ];

    public static IEnumerable<object[]> JsonRoutesWithUndecodableNames() =>
        JsonRoutes.SelectMany(route => UndecodableNames.Select(body => new object[] { route[0], route[1], body }));

    [Theory]
    [MemberData(nameof(JsonRoutesWithUndecodableNames))]
    public async Task A_property_name_that_is_not_unicode_is_refused_in_the_routes_format_and_nothing_is_written(string method, string route, byte[] body)
    {
        var path = await PathOfAsync(route);
        var auditBefore = (await harness.AuditAsync()).Count;
        var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        await AuthorizeAsync(request, route);

        var response = await harness.Api.SendAsync(request);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest, await response.Content.ReadAsStringAsync());
        await ErrorFamilies.ShouldBeErrorOfItsFamilyAsync(response, path);
        (await harness.AuditAsync()).Count.Should().Be(auditBefore);
    }

    [Fact]
    public async Task A_client_id_in_the_registration_update_that_is_not_unicode_is_refused()
    {
        var request = new HttpRequestMessage(HttpMethod.Put, $"/oidc/register/{registeredId}")
        {
            Content = new StringContent("""{"client_id":"\ud800","client_name":"x","redirect_uris":["https://a.example/cb"]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", registrationToken);

        var response = await harness.Api.SendAsync(request);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        await ErrorFamilies.ShouldBeErrorOfItsFamilyAsync(response, request.RequestUri!.OriginalString);
    }

    [Fact]
    public async Task A_repeated_property_name_is_refused_by_the_reader()
    {
        var response = await admin.PatchAsync("/api/v2/tenants/settings", new StringContent(
            """{"flags":{"enable_dynamic_client_registration":true},"flags":{"enable_dynamic_client_registration":false}}""", Encoding.UTF8, "application/json"));

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await response.Content.ReadAsStringAsync()).Should().Contain("more than once");
    }

    [Theory]
    [InlineData("/oauth/token")]
    [InlineData("/oauth/authorize")]
    [InlineData("/account/login")]
    [InlineData("/account/join")]
    [InlineData("/account/logout")]
    [InlineData("/account/apps/abc/revoke")]
    [InlineData("/clients")]
    public async Task A_form_in_a_charset_other_than_utf8_is_refused_in_the_routes_format(string path)
    {
        foreach (var charset in new[] { "utf-7", "klingon", "iso-8859-1", "\"utf-16\"" })
        {
            var content = new ByteArrayContent("grant_type=client_credentials&email=a%40b.example&password=x&name=n"u8.ToArray());
            content.Headers.TryAddWithoutValidation("Content-Type", $"application/x-www-form-urlencoded; charset={charset}");

            var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
            if (path == "/clients")
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await harness.InstallationTokenAsync());
            }

            var response = await harness.Broker.CreateApiClient().SendAsync(request);

            response.StatusCode.Should().Be(HttpStatusCode.BadRequest, $"{path} with charset {charset}: {await response.Content.ReadAsStringAsync()}");
            await ErrorFamilies.ShouldBeErrorOfItsFamilyAsync(response, path);
        }
    }

    [Theory]
    [InlineData("GET", "/", null)]
    [InlineData("GET", "/no/such/path", null)]
    [InlineData("GET", "/admin/v1/no-such-thing", null)]
    [InlineData("GET", "/oauth2/v1/no/such/thing", null)]
    [InlineData("GET", "/account/no-such-page", null)]
    [InlineData("DELETE", "/oauth/token", null)]
    [InlineData("PUT", "/oauth/authorize", null)]
    [InlineData("PATCH", "/account/login", null)]
    [InlineData("POST", "/readyz", null)]
    [InlineData("DELETE", "/api/v2/tenants/settings", null)]
    [InlineData("POST", "/admin/v1/audit", null)]
    [InlineData("GET", "/oidc/register", null)]
    [InlineData("PUT", "/admin/v1/parents/x", "text/plain")]
    [InlineData("PATCH", "/admin/v1/children/x", "application/xml")]
    public async Task Answers_the_pipeline_writes_itself_carry_a_body_in_the_routes_format(string method, string path, string? contentType)
    {
        var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (contentType is not null)
        {
            request.Content = new StringContent("x", Encoding.UTF8, contentType);
        }

        var response = await harness.Broker.CreateApiClient().SendAsync(request);

        ((int)response.StatusCode).Should().BeOneOf(404, 405, 415);
        await ErrorFamilies.ShouldBeErrorOfItsFamilyAsync(response, path);
    }

    [Fact]
    public void No_route_binds_a_body_or_form_past_the_readers()
    {
        // A parameter the framework would fill from the body (a record, a form, a stream) would decode
        // the body its own way, around RequestJson and RequestForms; routes take the request, route
        // values and services only.
        var services = harness.Broker.Services;
        var isService = services.GetRequiredService<IServiceProviderIsService>();
        Type[] plumbing = [typeof(HttpContext), typeof(HttpRequest), typeof(HttpResponse), typeof(CancellationToken), typeof(System.Security.Claims.ClaimsPrincipal)];
        var handlers = services.GetRequiredService<EndpointDataSource>().Endpoints
            .Select(endpoint => endpoint.Metadata.GetMetadata<MethodInfo>())
            .OfType<MethodInfo>()
            .ToList();
        handlers.Should().NotBeEmpty();
        var boundFromBody = handlers
            .SelectMany(handler => handler.GetParameters().Select(parameter => (handler, parameter)))
            .Where(pair => !plumbing.Contains(pair.parameter.ParameterType)
                && !isService.IsService(pair.parameter.ParameterType)
                && Type.GetTypeCode(Nullable.GetUnderlyingType(pair.parameter.ParameterType) ?? pair.parameter.ParameterType) == TypeCode.Object)
            .Select(pair => $"{pair.handler.DeclaringType?.Name}.{pair.handler.Name}({pair.parameter.ParameterType.Name} {pair.parameter.Name})")
            .ToList();
        boundFromBody.Should().BeEmpty();
    }

    [Fact]
    public void No_protocol_route_lets_routing_refuse_a_media_type_before_its_own_error()
    {
        // Routing answers a body type outside a route's Accepts with a bare 415 before the handler runs. The
        // admin routes' 415 is ProblemDetails, their format; the OAuth routes owe their own error (400
        // invalid_client_metadata, invalid_request), so they must not declare Accepts (DocumentsBody instead).
        var protocolRoutesWithAccepts = harness.Broker.Services.GetRequiredService<EndpointDataSource>().Endpoints
            .Where(endpoint => endpoint.Metadata.GetMetadata<AdminEndpointMetadata>() is null
                && endpoint.Metadata.GetMetadata<Microsoft.AspNetCore.Http.Metadata.IAcceptsMetadata>() is { ContentTypes.Count: > 0 })
            .Select(endpoint => endpoint.DisplayName)
            .ToList();
        protocolRoutesWithAccepts.Should().BeEmpty();
    }

    private Task<string> PathOfAsync(string route) => Task.FromResult(
        route.Replace("{registered}", registeredId, StringComparison.Ordinal)
            .Replace("{parent}", harness.Parent.Client.ClientId, StringComparison.Ordinal));

    private async Task AuthorizeAsync(HttpRequestMessage request, string route)
    {
        if (route.StartsWith("/oidc/register/", StringComparison.Ordinal))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", registrationToken);
        }
        else if (route == "/clients")
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await harness.InstallationTokenAsync());
        }
        else if (route != "/oidc/register")
        {
            request.Headers.Authorization = admin.DefaultRequestHeaders.Authorization;
        }
    }
}

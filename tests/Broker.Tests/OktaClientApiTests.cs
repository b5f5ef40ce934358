using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Broker.Core.Platform;
using Broker.Registration;
using Broker.Tests.PlatformApi;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.Tests;

/// <summary>Every request of the Okta seed replayed against /oauth2/v1/clients, with its response shape checked.</summary>
public sealed class OktaClientApiTests : IAsyncLifetime
{
    // The seed's create request, byte for byte but for the name (names are unique per test).
    private static string SeedCreateBody(string name) => $$"""
        {
          "client_name": "{{name}}",
          "client_uri": "https://www.example-application.com",
          "logo_uri": "https://www.example-application.com/logo.png",
          "application_type": "web",
          "redirect_uris": [
             "https://www.example-application.com/oauth2/redirectUri"
          ],
          "post_logout_redirect_uris": [
            "https://www.example-application.com/oauth2/postLogoutRedirectUri"
          ],
          "response_types": [
             "code",
             "id_token"
          ],
          "grant_types": [
             "authorization_code",
             "refresh_token"
          ],
          "token_endpoint_auth_method": "client_secret_post",
          "initiate_login_uri": "https://www.example-application.com/oauth2/login"
        }
        """;

    private static readonly string[] ModelFields =
    [
        "client_id", "client_id_issued_at", "client_name", "client_uri", "logo_uri", "application_type", "redirect_uris",
        "post_logout_redirect_uris", "response_types", "grant_types", "token_endpoint_auth_method", "initiate_login_uri",
    ];

    private readonly PlatformHarness harness = new();
    private HttpClient admin = null!;

    public async Task InitializeAsync()
    {
        await harness.InitializeAsync();
        admin = await harness.AdminAsync(AdminScopes.ClientsRead, AdminScopes.ClientsWrite);
    }

    public Task DisposeAsync() => harness.DisposeAsync();

    private Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? body = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }
        request.Headers.Accept.ParseAdd("application/json");
        return admin.SendAsync(request);
    }

    private async Task<JsonElement> CreateAsync(string name)
    {
        var response = await SendAsync(HttpMethod.Post, "/oauth2/v1/clients", SeedCreateBody(name));
        response.StatusCode.Should().Be(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private static void ShouldHaveTheModel(JsonElement client, bool withSecret)
    {
        var names = client.EnumerateObject().Select(p => p.Name).ToList();
        names.Should().Contain(ModelFields);
        if (withSecret)
        {
            client.GetProperty("client_secret").GetString().Should().MatchRegex("^[0-9a-f]{64}$");
            client.GetProperty("client_secret_expires_at").GetInt64().Should().Be(0);
        }
        else
        {
            names.Should().NotContain("client_secret");
        }
    }

    [Fact]
    public async Task Register_new_client_answers_201_with_the_model_and_the_secret_once()
    {
        var response = await SendAsync(HttpMethod.Post, "/oauth2/v1/clients", SeedCreateBody("Example OAuth Client"));
        response.StatusCode.Should().Be(HttpStatusCode.Created);
        response.Headers.Location!.ToString().Should().StartWith("/oauth2/v1/clients/");
        var client = await response.Content.ReadFromJsonAsync<JsonElement>();
        ShouldHaveTheModel(client, withSecret: true);
        client.GetProperty("client_name").GetString().Should().Be("Example OAuth Client");
        client.GetProperty("response_types").EnumerateArray().Select(e => e.GetString()).Should().Equal("code", "id_token");
        client.GetProperty("grant_types").EnumerateArray().Select(e => e.GetString()).Should().Equal("authorization_code", "refresh_token");
        client.GetProperty("initiate_login_uri").GetString().Should().Be("https://www.example-application.com/oauth2/login");

        var audit = await harness.AuditAsync();
        audit.Should().ContainSingle(e => e.Action == AuditActions.ClientCreated && e.Target == AuditActions.Client(client.GetProperty("client_id").GetString()!));
    }

    [Fact]
    public async Task Get_oauth_client_answers_the_model_without_the_secret()
    {
        var created = await CreateAsync("Get Me");
        var response = await SendAsync(HttpMethod.Get, $"/oauth2/v1/clients/{created.GetProperty("client_id").GetString()}");
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        ShouldHaveTheModel(await response.Content.ReadFromJsonAsync<JsonElement>(), withSecret: false);
        (await SendAsync(HttpMethod.Get, "/oauth2/v1/clients/Anonexistentclient000000000000000")).StatusCode.Should().Be(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task List_with_defaults_pages_with_link_headers()
    {
        for (var i = 0; i < 5; i++)
        {
            await CreateAsync($"Listed {i}");
        }
        var first = await SendAsync(HttpMethod.Get, "/oauth2/v1/clients?limit=2");
        first.StatusCode.Should().Be(HttpStatusCode.OK);
        LinkTo(first, "self").Should().NotBeNull();
        var url = LinkTo(first, "next")!;
        var page = await first.Content.ReadFromJsonAsync<JsonElement>();
        page.GetArrayLength().Should().Be(2);
        page.EnumerateArray().Select(c => c.TryGetProperty("client_secret", out var secret)).Should().OnlyContain(hasSecret => !hasSecret);

        // Following next links walks every client once.
        var seen = page.EnumerateArray().Select(c => c.GetProperty("client_id").GetString()).ToList();
        while (true)
        {
            var response = await SendAsync(HttpMethod.Get, url);
            var items = await response.Content.ReadFromJsonAsync<JsonElement>();
            seen.AddRange(items.EnumerateArray().Select(c => c.GetProperty("client_id").GetString()));
            var nextLink = LinkTo(response, "next");
            if (nextLink is null)
            {
                break;
            }
            url = nextLink;
        }
        seen.Should().OnlyHaveUniqueItems();
        seen.Should().HaveCount(6, "five created here and the harness's parent");
    }

    // The path and query of the Link with this relation (RFC 8288), whether sent as one header or several.
    private static string? LinkTo(HttpResponseMessage response, string relation)
    {
        var links = string.Join(", ", response.Headers.TryGetValues("Link", out var values) ? values : []);
        foreach (var link in links.Split(", <"))
        {
            var trimmed = link.TrimStart('<');
            if (trimmed.EndsWith($"rel=\"{relation}\"", StringComparison.Ordinal))
            {
                return trimmed[..trimmed.IndexOf('>', StringComparison.Ordinal)].Replace(BrokerFactory.Issuer, "", StringComparison.Ordinal);
            }
        }
        return null;
    }

    [Fact]
    public async Task Search_client_applications_starts_with_the_name_exact_matches_first()
    {
        await CreateAsync("Payroll Application Extra");
        await CreateAsync("Payroll Application");
        await CreateAsync("Billing");
        var response = await SendAsync(HttpMethod.Get, "/oauth2/v1/clients?q=Payroll%20Application&limit=10");
        var names = (await response.Content.ReadFromJsonAsync<JsonElement>()).EnumerateArray().Select(c => c.GetProperty("client_name").GetString()).ToList();
        names.Should().Equal("Payroll Application", "Payroll Application Extra");
    }

    [Theory]
    [InlineData("limit=0")]
    [InlineData("limit=201")]
    [InlineData("limit=abc")]
    [InlineData("after=../etc")]
    public async Task Bad_list_parameters_are_400_problem_details(string query)
    {
        var response = await SendAsync(HttpMethod.Get, $"/oauth2/v1/clients?{query}");
        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
    }

    [Fact]
    public async Task Update_client_application_is_a_full_replace()
    {
        var created = await CreateAsync("Before Update");
        var id = created.GetProperty("client_id").GetString()!;
        var body = SeedCreateBody("Updated OAuth Client").Replace("{", $"{{\n  \"client_id\": \"{id}\",", StringComparison.Ordinal);
        var updated = await SendAsync(HttpMethod.Put, $"/oauth2/v1/clients/{id}", body);
        updated.StatusCode.Should().Be(HttpStatusCode.OK, await updated.Content.ReadAsStringAsync());
        var json = await updated.Content.ReadFromJsonAsync<JsonElement>();
        ShouldHaveTheModel(json, withSecret: false);
        json.GetProperty("client_name").GetString().Should().Be("Updated OAuth Client");

        // Missing settings are refused: partial updates are not supported.
        var partial = await SendAsync(HttpMethod.Put, $"/oauth2/v1/clients/{id}", """{"client_name":"Partial"}""");
        partial.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await partial.Content.ReadAsStringAsync()).Should().Contain("partial");
        // The read-only times are refused in the body.
        var withTimes = await SendAsync(HttpMethod.Put, $"/oauth2/v1/clients/{id}",
            SeedCreateBody("Timed").Replace("{", "{\n  \"client_id_issued_at\": 1453913425,", StringComparison.Ordinal));
        withTimes.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        var kept = await (await SendAsync(HttpMethod.Get, $"/oauth2/v1/clients/{id}")).Content.ReadFromJsonAsync<JsonElement>();
        kept.GetProperty("client_name").GetString().Should().Be("Updated OAuth Client");
    }

    [Fact]
    public async Task Replace_refuses_a_body_naming_another_client_and_changes_neither()
    {
        var target = (await CreateAsync("Target")).GetProperty("client_id").GetString()!;
        var other = (await CreateAsync("Other")).GetProperty("client_id").GetString()!;

        var refused = await SendAsync(HttpMethod.Put, $"/oauth2/v1/clients/{target}",
            SeedCreateBody("Hijacked").Replace("{", $$"""{"client_id":"{{other}}",""", StringComparison.Ordinal));

        refused.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        refused.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        var problem = await refused.Content.ReadFromJsonAsync<JsonElement>();
        problem.GetProperty("error").GetString().Should().Be("invalid_request");
        problem.GetProperty("detail").GetString().Should().Contain("client_id");
        foreach (var (id, name) in new[] { (target, "Target"), (other, "Other") })
        {
            var kept = await (await SendAsync(HttpMethod.Get, $"/oauth2/v1/clients/{id}")).Content.ReadFromJsonAsync<JsonElement>();
            kept.GetProperty("client_name").GetString().Should().Be(name);
        }
    }

    [Theory]
    [InlineData("\"client_secret\":\"0000000000000000000000000000000000000000000000000000000000000000\"")]
    [InlineData("\"client_id_issued_at\":1")]
    [InlineData("\"client_secret_expires_at\":1")]
    [InlineData("\"registration_access_token\":\"0000000000000000000000000000000000000000000000000000000000000000\"")]
    [InlineData("\"registration_client_uri\":\"https://broker.test/oidc/register/x\"")]
    public async Task Replace_refuses_a_changed_server_set_field(string field)
    {
        var id = (await CreateAsync("Server Set")).GetProperty("client_id").GetString()!;

        var refused = await SendAsync(HttpMethod.Put, $"/oauth2/v1/clients/{id}", SeedCreateBody("Changed").Replace("{", "{" + field + ",", StringComparison.Ordinal));

        refused.StatusCode.Should().Be(HttpStatusCode.BadRequest, await refused.Content.ReadAsStringAsync());
        (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString().Should().Be("invalid_request");
    }

    [Fact]
    public async Task Replace_accepts_the_server_set_fields_echoed_as_read()
    {
        var created = await CreateAsync("Echoed");
        var id = created.GetProperty("client_id").GetString()!;
        var echoed = $$"""{"client_id":"{{id}}","client_secret":"{{created.GetProperty("client_secret").GetString()}}","client_id_issued_at":{{created.GetProperty("client_id_issued_at").GetInt64()}},"client_secret_expires_at":0,""";

        var replaced = await SendAsync(HttpMethod.Put, $"/oauth2/v1/clients/{id}", SeedCreateBody("Echoed Again").Replace("{", echoed, StringComparison.Ordinal));

        replaced.StatusCode.Should().Be(HttpStatusCode.OK, await replaced.Content.ReadAsStringAsync());
        (await replaced.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("client_name").GetString().Should().Be("Echoed Again");
    }

    [Theory]
    [InlineData("POST")]
    [InlineData("PUT")]
    public async Task Generate_new_client_secret_shows_a_new_secret_and_the_old_one_stops(string method)
    {
        var created = await CreateAsync($"Rotate {method}");
        var id = created.GetProperty("client_id").GetString()!;
        var response = await SendAsync(new HttpMethod(method), $"/oauth2/v1/clients/{id}/lifecycle/newSecret");
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var json = await response.Content.ReadFromJsonAsync<JsonElement>();
        ShouldHaveTheModel(json, withSecret: true);
        var secret = json.GetProperty("client_secret").GetString();
        secret.Should().NotBe(created.GetProperty("client_secret").GetString());
    }

    [Fact]
    public async Task Remove_client_application_answers_204_and_its_credentials_stop_at_once()
    {
        var created = await CreateAsync("Service To Remove".Replace("Service", "Doomed", StringComparison.Ordinal));
        var id = created.GetProperty("client_id").GetString()!;
        (await SendAsync(HttpMethod.Delete, $"/oauth2/v1/clients/{id}")).StatusCode.Should().Be(HttpStatusCode.NoContent);
        (await SendAsync(HttpMethod.Get, $"/oauth2/v1/clients/{id}")).StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await SendAsync(HttpMethod.Delete, $"/oauth2/v1/clients/{id}")).StatusCode.Should().Be(HttpStatusCode.NotFound);
        var token = await harness.Api.PostAsync("/oauth/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code", ["code"] = "x", ["redirect_uri"] = "https://www.example-application.com/oauth2/redirectUri",
            ["client_id"] = id, ["client_secret"] = created.GetProperty("client_secret").GetString()!,
        }));
        token.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        // Its name is free again.
        await CreateAsync("Doomed To Remove");
    }

    [Fact]
    public async Task A_taken_name_and_invalid_metadata_are_400_naming_the_field()
    {
        await CreateAsync("Taken");
        var taken = await SendAsync(HttpMethod.Post, "/oauth2/v1/clients", SeedCreateBody("Taken"));
        taken.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await taken.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString().Should().Be("invalid_client_metadata");

        var badRedirect = await SendAsync(HttpMethod.Post, "/oauth2/v1/clients",
            SeedCreateBody("Bad Redirect").Replace("https://www.example-application.com/oauth2/redirectUri", "http://www.example-application.com/cb", StringComparison.Ordinal));
        badRedirect.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        var problem = await badRedirect.Content.ReadFromJsonAsync<JsonElement>();
        problem.GetProperty("error").GetString().Should().Be("invalid_redirect_uri");
        problem.GetProperty("status").GetInt32().Should().Be(400);
    }

    [Fact]
    public async Task A_service_client_needs_no_redirect_uri_and_shows_no_secret_for_auth_method_none()
    {
        var service = await SendAsync(HttpMethod.Post, "/oauth2/v1/clients",
            """{"client_name":"Batch","application_type":"service","grant_types":["client_credentials"],"redirect_uris":null,"response_types":null}""");
        service.StatusCode.Should().Be(HttpStatusCode.Created, await service.Content.ReadAsStringAsync());
        var spa = await SendAsync(HttpMethod.Post, "/oauth2/v1/clients",
            """{"client_name":"Spa","application_type":"browser","redirect_uris":["https://spa.example/cb"]}""");
        spa.StatusCode.Should().Be(HttpStatusCode.Created);
        var json = await spa.Content.ReadFromJsonAsync<JsonElement>();
        json.TryGetProperty("client_secret", out _).Should().BeFalse();
        json.GetProperty("token_endpoint_auth_method").GetString().Should().Be("none");
    }

    [Fact]
    public async Task Tenant_settings_turn_open_registration_on_and_off_with_an_audit_entry()
    {
        var tenant = await harness.AdminAsync(AdminScopes.TenantWrite);
        var read = await tenant.GetFromJsonAsync<JsonElement>("/api/v2/tenants/settings");
        read.GetProperty("flags").GetProperty("enable_dynamic_client_registration").GetBoolean().Should().BeFalse();
        var patch = new HttpRequestMessage(HttpMethod.Patch, "/api/v2/tenants/settings")
        {
            Content = new StringContent("""{ "flags": { "enable_dynamic_client_registration": true } }""", Encoding.UTF8, "application/json"),
        };
        var patched = await tenant.SendAsync(patch);
        patched.StatusCode.Should().Be(HttpStatusCode.OK);
        (await patched.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("flags").GetProperty("enable_dynamic_client_registration").GetBoolean().Should().BeTrue();
        (await harness.AuditAsync()).Should().ContainSingle(e => e.Action == AuditActions.SettingsChanged);

        var register = await harness.Api.PostAsync("/oidc/register", new StringContent(
            """{"client_name":"Now Allowed","redirect_uris":["https://a.example/cb"]}""", Encoding.UTF8, "application/json"));
        register.StatusCode.Should().Be(HttpStatusCode.Created);

        var bad = new HttpRequestMessage(HttpMethod.Patch, "/api/v2/tenants/settings")
        {
            Content = new StringContent("""{ "flags": { "enable_dynamic_client_registration": "yes", "unknown": true } }""", Encoding.UTF8, "application/json"),
        };
        (await tenant.SendAsync(bad)).StatusCode.Should().Be(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Open_registered_clients_never_used_are_cleaned_up_and_used_ones_kept()
    {
        await Registrations.EnableAsync(harness.Broker);
        async Task<JsonElement> RegisterAsync(string name)
        {
            var response = await harness.Api.PostAsync("/oidc/register", new StringContent(
                $$"""{"client_name":"{{name}}","application_type":"service","grant_types":["client_credentials"],"redirect_uris":["https://a.example/cb"]}""",
                Encoding.UTF8, "application/json"));
            response.StatusCode.Should().Be(HttpStatusCode.Created);
            return await response.Content.ReadFromJsonAsync<JsonElement>();
        }
        var unused = await RegisterAsync("Abandoned");
        var used = await RegisterAsync("In Use");
        var token = await harness.Api.PostAsync("/oauth/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials", ["client_id"] = used.GetProperty("client_id").GetString()!,
            ["client_secret"] = used.GetProperty("client_secret").GetString()!,
        }));
        token.StatusCode.Should().Be(HttpStatusCode.OK);
        var clients = harness.Broker.Services.GetRequiredService<Core.Stores.IClientStore>();
        // Last use is written in the background; wait for it (bounded) rather than for a time.
        for (var i = 0; i < 100 && (await clients.FindAsync(used.GetProperty("client_id").GetString()!))!.LastUsedAt is null; i++)
        {
            await Task.Delay(50);
        }

        // Advancing the clock may already fire the hourly pass; an explicit one then finds nothing left.
        harness.Broker.Time.Advance(TimeSpan.FromDays(31));
        await harness.Broker.Services.GetRequiredService<UnusedClientCleanup>().RunOnceAsync(CancellationToken.None);
        (await harness.AuditAsync()).Should().ContainSingle(e => e.Actor == "system:cleanup" && e.Details!.Contains("removed 1 "));
        (await clients.FindAsync(unused.GetProperty("client_id").GetString()!))!.DeletedAt.Should().NotBeNull();
        (await clients.FindAsync(used.GetProperty("client_id").GetString()!))!.DeletedAt.Should().BeNull();
    }
}

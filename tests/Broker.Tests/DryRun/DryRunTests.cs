using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Broker.Core.Clients;
using Broker.Core.Platform;
using Broker.Core.Stores;
using Broker.Tests.PlatformApi;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.Tests.DryRun;

/// <summary>
/// <c>?dry_run=true</c> on open registration, the Okta client API and <c>POST /clients</c>: every refusal at
/// once, nothing written or spent, and for every refusal the real call refusing with the same error.
/// </summary>
public sealed class DryRunTests : IAsyncLifetime
{
    private const string Valid = """{"client_name":"Dry","redirect_uris":["https://app.example/cb"]}""";

    private readonly PlatformHarness harness = new();
    private HttpClient admin = null!;

    public async Task InitializeAsync()
    {
        // Two registrations per case from one address: more than the default 30 a minute.
        harness.Broker.Settings["Registration:PermitsPerMinutePerAddress"] = "1000";
        await harness.InitializeAsync();
        admin = await harness.AdminAsync(AdminScopes.ClientsRead, AdminScopes.ClientsWrite);
        await Registrations.EnableAsync(harness.Broker);
    }

    public Task DisposeAsync() => harness.DisposeAsync();

    private IClientStore Clients => harness.Broker.Services.GetRequiredService<IClientStore>();

    private static Task<HttpResponseMessage> SendAsync(HttpClient http, HttpMethod method, string path, string body, string? bearer = null)
    {
        var request = new HttpRequestMessage(method, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (bearer is not null)
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", bearer);
        }
        return http.SendAsync(request);
    }

    private static async Task<JsonElement> JsonOf(HttpResponseMessage response) => await response.Content.ReadFromJsonAsync<JsonElement>();

    private static string Text(JsonElement element, string name) => element.GetProperty(name).GetString()!;

    // Every open-registration rule reachable over HTTP, each with a body that breaks it first. (field_once is the
    // reader's to refuse before any rule runs; full_replace belongs to the Okta PUT and client_name_unique needs a
    // stored client: both have their own tests below.)
    public static readonly (string Rule, string Body)[] OneFaultEach =
    [
        ("body_is_object", """["client_name"]"""),
        ("field_type", """{"client_name":"Dry","redirect_uris":"https://app.example/cb"}"""),
        ("client_name", """{"client_name":"  ","redirect_uris":["https://app.example/cb"]}"""),
        ("application_type", """{"client_name":"Dry","application_type":"desktop","redirect_uris":["https://app.example/cb"]}"""),
        ("token_endpoint_auth_method", """{"client_name":"Dry","token_endpoint_auth_method":"private_key_jwt","redirect_uris":["https://app.example/cb"]}"""),
        ("grant_retired", """{"client_name":"Dry","grant_types":["authorization_code","password"],"redirect_uris":["https://app.example/cb"]}"""),
        ("grant_for_application_type", """{"client_name":"Dry","application_type":"native","grant_types":["authorization_code","client_credentials"],"redirect_uris":["https://app.example/cb"]}"""),
        ("authorization_code_required", """{"client_name":"Dry","grant_types":["refresh_token"],"response_types":[],"redirect_uris":["https://app.example/cb"]}"""),
        ("client_credentials_needs_secret", """{"client_name":"Dry","application_type":"service","grant_types":["client_credentials"],"token_endpoint_auth_method":"none","redirect_uris":["https://app.example/cb"]}"""),
        ("response_type_known", """{"client_name":"Dry","response_types":["code","token"],"redirect_uris":["https://app.example/cb"]}"""),
        ("response_types_match_grant_types", """{"client_name":"Dry","response_types":["id_token"],"redirect_uris":["https://app.example/cb"]}"""),
        ("redirect_uris_required", """{"client_name":"Dry","redirect_uris":[]}"""),
        ("redirect_uri", """{"client_name":"Dry","redirect_uris":["http://app.example/cb"]}"""),
        ("post_logout_redirect_uri", """{"client_name":"Dry","redirect_uris":["https://app.example/cb"],"post_logout_redirect_uris":["https://app.example/bye#x"]}"""),
        ("information_uri", """{"client_name":"Dry","redirect_uris":["https://app.example/cb"],"logo_uri":"https://127.0.0.1/logo.png"}"""),
        ("contacts", """{"client_name":"Dry","redirect_uris":["https://app.example/cb"],"contacts":[""]}"""),
    ];

    [Fact]
    public void Every_rule_of_the_validator_is_broken_by_a_case_here()
    {
        var covered = OneFaultEach.Select(c => c.Rule).Concat(["field_once", "full_replace", "client_name_unique"]);

        ClientMetadataRules.Rules.Select(rule => rule.Id).Should().BeEquivalentTo(covered);
    }

    [Fact]
    public async Task For_every_refusal_of_a_dry_run_the_real_registration_refuses_identically_and_writes_nothing()
    {
        foreach (var (rule, body) in OneFaultEach)
        {
            var before = await Clients.CountOpenRegisteredAsync();
            var dry = await SendAsync(harness.Api, HttpMethod.Post, "/oidc/register?dry_run=true", body);
            var real = await SendAsync(harness.Api, HttpMethod.Post, "/oidc/register", body);

            dry.StatusCode.Should().Be(HttpStatusCode.BadRequest, rule);
            real.StatusCode.Should().Be(HttpStatusCode.BadRequest, rule);
            var refusals = (await JsonOf(dry)).GetProperty("refusals").EnumerateArray().ToList();
            var refused = await JsonOf(real);
            Text(refusals[0], "rule").Should().Be(rule);
            Text(refusals[0], "error").Should().Be(Text(refused, "error"), rule);
            Text(refusals[0], "error_description").Should().Be(Text(refused, "error_description"), rule);
            refused.TryGetProperty("refusals", out _).Should().BeFalse("only a dry-run lists every refusal");
            (await Clients.CountOpenRegisteredAsync()).Should().Be(before, $"{rule}: a refused registration writes nothing");
        }
    }

    [Fact]
    public async Task A_dry_run_lists_every_refusal_with_its_field_rule_reference_and_hint_and_the_real_call_answers_the_first()
    {
        const string body = """
            {"client_name":"","redirect_uris":["http://one.example/cb","https://ok.example/cb","https://two.example/cb#frag"],
             "grant_types":["authorization_code","implicit"],"logo_uri":"https://10.0.0.1/logo.png","contacts":["ops@app.example",""]}
            """;

        var dry = await JsonOf(await SendAsync(harness.Api, HttpMethod.Post, "/oidc/register?dry_run=true", body));
        var real = await JsonOf(await SendAsync(harness.Api, HttpMethod.Post, "/oidc/register", body));

        var refusals = dry.GetProperty("refusals").EnumerateArray().ToList();
        refusals.Select(r => (Text(r, "field"), Text(r, "rule"))).Should().Equal(
            ("/client_name", "client_name"),
            ("/grant_types/1", "grant_retired"),
            ("/redirect_uris/0", "redirect_uri"),
            ("/redirect_uris/2", "redirect_uri"),
            ("/logo_uri", "information_uri"),
            ("/contacts/1", "contacts"));
        refusals.Should().AllSatisfy(r =>
        {
            Text(r, "reference").Should().NotBeNullOrWhiteSpace();
            Text(r, "hint").Should().NotBeNullOrWhiteSpace();
        });
        Text(refusals[2], "error").Should().Be("invalid_redirect_uri");
        Text(dry, "error_description").Should().Be(Text(refusals[0], "error_description"));
        Text(real, "error_description").Should().Be(Text(refusals[0], "error_description"));
        (await Clients.CountOpenRegisteredAsync()).Should().Be(0);
    }

    [Fact]
    public async Task A_valid_dry_run_answers_200_with_the_defaults_filled_in_and_mints_nothing()
    {
        var response = await SendAsync(harness.Api, HttpMethod.Post, "/oidc/register?dry_run=true", Valid);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var preview = await JsonOf(response);
        Text(preview, "token_endpoint_auth_method").Should().Be("client_secret_post");
        Text(preview, "application_type").Should().Be("web");
        preview.GetProperty("grant_types").EnumerateArray().Select(g => g.GetString()).Should().Equal("authorization_code");
        preview.TryGetProperty("client_id", out _).Should().BeFalse();
        preview.TryGetProperty("client_secret", out _).Should().BeFalse();
        preview.TryGetProperty("registration_access_token", out _).Should().BeFalse();
        (await Clients.CountOpenRegisteredAsync()).Should().Be(0);
        // The same body then registers for real: the dry-run took nothing it needed.
        (await SendAsync(harness.Api, HttpMethod.Post, "/oidc/register", Valid)).StatusCode.Should().Be(HttpStatusCode.Created);
    }

    [Fact]
    public async Task A_name_in_use_is_refused_by_the_dry_run_as_the_real_call_refuses_it()
    {
        (await SendAsync(harness.Api, HttpMethod.Post, "/oidc/register", Valid)).StatusCode.Should().Be(HttpStatusCode.Created);

        var dry = await JsonOf(await SendAsync(harness.Api, HttpMethod.Post, "/oidc/register?dry_run=true", Valid));
        var real = await JsonOf(await SendAsync(harness.Api, HttpMethod.Post, "/oidc/register", Valid));

        var refusal = dry.GetProperty("refusals").EnumerateArray().Should().ContainSingle().Subject;
        Text(refusal, "rule").Should().Be("client_name_unique");
        Text(refusal, "error_description").Should().Be(Text(real, "error_description"));
        (await Clients.CountOpenRegisteredAsync()).Should().Be(1);
    }

    [Theory]
    [InlineData("/oidc/register?dry_run=yes")]
    [InlineData("/oidc/register?dry_run=true&dry_run=false")]
    public async Task A_dry_run_flag_that_is_not_true_or_false_is_a_400_and_registers_nothing(string path)
    {
        var response = await SendAsync(harness.Api, HttpMethod.Post, path, Valid);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        Text(await JsonOf(response), "error").Should().Be("invalid_request");
        (await Clients.CountOpenRegisteredAsync()).Should().Be(0);
    }

    [Fact]
    public async Task The_okta_api_dry_runs_create_and_replace_in_problem_details_and_changes_nothing()
    {
        var created = await JsonOf(await SendAsync(admin, HttpMethod.Post, "/oauth2/v1/clients",
            """{"client_name":"Okta one","redirect_uris":["https://app.example/cb"]}"""));
        var clientId = Text(created, "client_id");
        var stored = await Clients.FindAsync(clientId);

        var preview = await SendAsync(admin, HttpMethod.Post, "/oauth2/v1/clients?dry_run=true",
            """{"client_name":"Okta two","application_type":"native","redirect_uris":["http://127.0.0.1/cb"]}""");
        preview.StatusCode.Should().Be(HttpStatusCode.OK);
        Text(await JsonOf(preview), "token_endpoint_auth_method").Should().Be("none", "native clients default to no secret (Okta table)");

        // A partial replace naming another client: the server-set field first, then every missing setting.
        const string partial = """{"client_id":"someoneElse","client_name":"Okta one"}""";
        var dry = await SendAsync(admin, HttpMethod.Put, $"/oauth2/v1/clients/{clientId}?dry_run=true", partial);
        var real = await SendAsync(admin, HttpMethod.Put, $"/oauth2/v1/clients/{clientId}", partial);

        dry.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        dry.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        var refusals = (await JsonOf(dry)).GetProperty("refusals").EnumerateArray().ToList();
        refusals.Select(r => (Text(r, "field"), Text(r, "rule"))).Should().Equal(
            ("/client_id", "server_set_field"),
            ("/application_type", "full_replace"),
            ("/redirect_uris", "full_replace"),
            ("/response_types", "full_replace"),
            ("/grant_types", "full_replace"),
            ("/token_endpoint_auth_method", "full_replace"));
        var refused = await JsonOf(real);
        Text(refused, "error").Should().Be(Text(refusals[0], "error"));
        Text(refused, "detail").Should().Be(Text(refusals[0], "error_description"));

        // A whole valid replace, dry: 200 with the client's id, and the stored client untouched.
        var whole = $$"""{"client_name":"Okta renamed","application_type":"web","redirect_uris":["https://app.example/cb2"],"response_types":["code"],"grant_types":["authorization_code"],"token_endpoint_auth_method":"client_secret_basic"}""";
        var replaced = await SendAsync(admin, HttpMethod.Put, $"/oauth2/v1/clients/{clientId}?dry_run=true", whole);
        replaced.StatusCode.Should().Be(HttpStatusCode.OK);
        Text(await JsonOf(replaced), "client_id").Should().Be(clientId);
        (await Clients.FindAsync(clientId)).Should().BeEquivalentTo(stored);
        (await Clients.ListManagedAsync("Okta two", 10, null)).Should().BeEmpty();
    }

    [Fact]
    public async Task A_dry_run_of_POST_clients_lists_name_and_description_refusals_and_leaves_the_token_unspent()
    {
        var token = await harness.Flow.InstallationTokenAsync(harness.Parent, harness.Api);
        var badBody = $$"""{"name":"","description":"{{new string('d', 2001)}}"}""";

        var dry = await SendAsync(harness.Api, HttpMethod.Post, "/clients?dry_run=true", badBody, token);
        var refusals = (await JsonOf(dry)).GetProperty("refusals").EnumerateArray().ToList();
        refusals.Select(r => Text(r, "field")).Should().Equal("/name", "/description");
        var real = await SendAsync(harness.Api, HttpMethod.Post, "/clients", badBody, token);
        real.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        Text(await JsonOf(real), "error_description").Should().Be(Text(refusals[0], "error_description"));

        var preview = await SendAsync(harness.Api, HttpMethod.Post, "/clients?dry_run=true", """{"name":"My blog"}""", token);
        preview.StatusCode.Should().Be(HttpStatusCode.OK);
        var child = await JsonOf(preview);
        Text(child, "name").Should().Be("My blog");
        Text(child, "parent_client_id").Should().Be(harness.Parent.Client.ClientId);
        (await Clients.ListChildrenOwnedByAsync(harness.OwnerUserId)).Should().BeEmpty();

        // The token was neither spent nor held: the real call still creates the child with it.
        (await SendAsync(harness.Api, HttpMethod.Post, "/clients", """{"name":"My blog"}""", token)).StatusCode.Should().Be(HttpStatusCode.Created);
        (await SendAsync(harness.Api, HttpMethod.Post, "/clients?dry_run=true", """{"name":"My blog"}""", token)).StatusCode
            .Should().Be(HttpStatusCode.Unauthorized, "a spent token has nothing left to try");
    }
}

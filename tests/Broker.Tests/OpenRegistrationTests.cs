using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Broker.Registration;
using Duende.IdentityModel.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.Tests;

/// <summary>Auth0-style open registration, RFC 7592 management, and registered clients using the product.</summary>
public sealed class OpenRegistrationTests : IDisposable
{
    private const string SeedBody =
        """{"client_name":"My Dynamic Application","redirect_uris": ["https://application.example.com/callback", "https://application.example.com/callback2"]}""";

    private readonly BrokerFactory broker = new();
    private HttpClient? client;

    // Created on first use, so that a test can change settings before the broker starts.
    private HttpClient api => client ??= broker.CreateApiClient();

    public void Dispose() => broker.Dispose();

    private Task EnableAsync(bool enabled = true) => Registrations.EnableAsync(broker, enabled);

    private Task<HttpResponseMessage> RegisterAsync(string body) =>
        api.PostAsync("/oidc/register", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

    private static async Task<JsonElement> JsonOf(HttpResponseMessage response) => await response.Content.ReadFromJsonAsync<JsonElement>();

    [Fact]
    public async Task Registration_is_refused_while_the_tenant_flag_is_off_and_discovery_hides_it()
    {
        var refused = await RegisterAsync(SeedBody);
        refused.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await JsonOf(refused)).GetProperty("error").GetString().Should().Be("access_denied");
        var discovery = await JsonOf(await api.GetAsync("/.well-known/oauth-authorization-server"));
        discovery.TryGetProperty("registration_endpoint", out _).Should().BeFalse();
    }

    [Fact]
    public async Task The_seeds_request_registers_a_client_with_the_seeds_response_fields()
    {
        await EnableAsync();
        var response = await RegisterAsync(SeedBody);
        response.StatusCode.Should().Be(HttpStatusCode.Created);
        var json = await JsonOf(response);
        json.GetProperty("client_name").GetString().Should().Be("My Dynamic Application");
        json.GetProperty("client_id").GetString().Should().MatchRegex("^[A-Za-z][A-Za-z0-9]{31}$");
        json.GetProperty("client_secret").GetString().Should().MatchRegex("^[0-9a-f]{64}$");
        json.GetProperty("redirect_uris").EnumerateArray().Select(e => e.GetString())
            .Should().Equal("https://application.example.com/callback", "https://application.example.com/callback2");
        json.GetProperty("client_secret_expires_at").GetInt64().Should().Be(0);
        json.GetProperty("token_endpoint_auth_method").GetString().Should().Be("client_secret_post");
        json.GetProperty("registration_access_token").GetString().Should().MatchRegex("^[0-9a-f]{64}$");
        json.GetProperty("registration_client_uri").GetString().Should().Be($"{BrokerFactory.Issuer}/oidc/register/{json.GetProperty("client_id").GetString()}");
        var discovery = await JsonOf(await api.GetAsync("/.well-known/oauth-authorization-server"));
        discovery.GetProperty("registration_endpoint").GetString().Should().Be($"{BrokerFactory.Issuer}/oidc/register");
    }

    [Theory]
    [InlineData("""{"redirect_uris":["https://a.example/cb"]}""", "invalid_client_metadata")]
    [InlineData("""{"client_name":"x"}""", "invalid_redirect_uri")]
    [InlineData("""{"client_name":"x","redirect_uris":["http://a.example/cb"]}""", "invalid_redirect_uri")]
    [InlineData("""{"client_name":"x","redirect_uris":["https://a.example/cb#f"]}""", "invalid_redirect_uri")]
    [InlineData("""{"client_name":"x","redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"client_secret_basic"}""", "invalid_client_metadata")]
    [InlineData("""{"client_name":"x","redirect_uris":["https://a.example/cb"],"grant_types":["implicit"]}""", "invalid_client_metadata")]
    [InlineData("""{"client_name":"x","redirect_uris":["https://a.example/cb"],"grant_types":["password"]}""", "invalid_client_metadata")]
    [InlineData("""{"client_name":"x","redirect_uris":["https://a.example/cb"],"response_types":["token"]}""", "invalid_client_metadata")]
    [InlineData("""{"client_name":"x","redirect_uris":["https://a.example/cb"],"logo_uri":"https://127.0.0.1/logo.png"}""", "invalid_client_metadata")]
    [InlineData("""{"client_name":"x","redirect_uris":"https://a.example/cb"}""", "invalid_client_metadata")]
    [InlineData("""[1,2]""", "invalid_client_metadata")]
    [InlineData("""{"client_name":""", "invalid_client_metadata")]
    public async Task Invalid_metadata_is_refused_naming_the_field_and_nothing_is_created(string body, string error)
    {
        await EnableAsync();
        var response = await RegisterAsync(body);
        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        var json = await JsonOf(response);
        json.GetProperty("error").GetString().Should().Be(error);
        json.GetProperty("error_description").GetString().Should().NotBeNullOrWhiteSpace();
        (await broker.Services.GetRequiredService<Core.Stores.IClientStore>().CountOpenRegisteredAsync()).Should().Be(0);
    }

    [Fact]
    public async Task Fields_only_the_server_sets_are_never_taken_from_the_caller()
    {
        await EnableAsync();
        var response = await RegisterAsync("""{"client_name":"Sly","redirect_uris":["https://a.example/cb"],"client_id":"chosenByCaller000000000000000000","client_secret":"mine","client_id_issued_at":1,"unknown_field":true}""");
        response.StatusCode.Should().Be(HttpStatusCode.Created);
        var json = await JsonOf(response);
        json.GetProperty("client_id").GetString().Should().NotBe("chosenByCaller000000000000000000");
        json.GetProperty("client_secret").GetString().Should().NotBe("mine");
        json.TryGetProperty("unknown_field", out _).Should().BeFalse();
    }

    [Fact]
    public async Task Client_names_are_unique()
    {
        await EnableAsync();
        (await RegisterAsync(SeedBody)).StatusCode.Should().Be(HttpStatusCode.Created);
        var again = await RegisterAsync(SeedBody);
        again.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await JsonOf(again)).GetProperty("error_description").GetString().Should().Contain("client_name");
    }

    [Theory]
    [InlineData("\"client_id_issued_at\":1")]
    [InlineData("\"client_secret_expires_at\":1")]
    [InlineData("\"client_secret\":\"0000000000000000000000000000000000000000000000000000000000000000\"")]
    [InlineData("\"registration_access_token\":\"0000000000000000000000000000000000000000000000000000000000000000\"")]
    [InlineData("\"registration_client_uri\":\"https://broker.test/oidc/register/someoneElse\"")]
    public async Task Rfc7592_replace_refuses_a_changed_server_set_field_as_the_okta_api_does(string field)
    {
        await EnableAsync();
        var created = await JsonOf(await RegisterAsync(SeedBody));
        var clientId = created.GetProperty("client_id").GetString()!;
        var request = new HttpRequestMessage(HttpMethod.Put, $"/oidc/register/{clientId}")
        {
            Content = new StringContent($$"""{"client_id":"{{clientId}}",{{field}},"client_name":"Renamed","redirect_uris":["https://a.example/cb"]}""",
                System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", created.GetProperty("registration_access_token").GetString());

        var refused = await api.SendAsync(request);

        refused.StatusCode.Should().Be(HttpStatusCode.BadRequest, await refused.Content.ReadAsStringAsync());
        (await JsonOf(refused)).GetProperty("error").GetString().Should().Be("invalid_request");
    }

    [Fact]
    public async Task Rfc7592_replace_accepts_the_server_set_fields_echoed_as_registered()
    {
        await EnableAsync();
        var created = await JsonOf(await RegisterAsync(SeedBody));
        var clientId = created.GetProperty("client_id").GetString()!;
        var token = created.GetProperty("registration_access_token").GetString()!;
        var body = $$"""
            {"client_id":"{{clientId}}","client_secret":"{{created.GetProperty("client_secret").GetString()}}",
             "client_id_issued_at":{{created.GetProperty("client_id_issued_at").GetInt64()}},"client_secret_expires_at":0,
             "registration_access_token":"{{token}}","registration_client_uri":"{{created.GetProperty("registration_client_uri").GetString()}}",
             "client_name":"Renamed","redirect_uris":["https://a.example/cb"]}
            """;
        var request = new HttpRequestMessage(HttpMethod.Put, $"/oidc/register/{clientId}") { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);

        var replaced = await api.SendAsync(request);

        replaced.StatusCode.Should().Be(HttpStatusCode.OK, await replaced.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Rfc7592_reads_replaces_and_deletes_with_the_registration_access_token()
    {
        await EnableAsync();
        var created = await JsonOf(await RegisterAsync(SeedBody));
        var uri = created.GetProperty("registration_client_uri").GetString()!.Replace(BrokerFactory.Issuer, "", StringComparison.Ordinal);
        var clientId = created.GetProperty("client_id").GetString()!;
        var token = created.GetProperty("registration_access_token").GetString()!;
        HttpRequestMessage Request(HttpMethod method, string? bearer, string? body = null)
        {
            var request = new HttpRequestMessage(method, uri);
            if (bearer is not null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
            }
            if (body is not null)
            {
                request.Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
            }
            return request;
        }

        (await api.SendAsync(Request(HttpMethod.Get, null))).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await api.SendAsync(Request(HttpMethod.Get, new string('0', 64)))).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        var read = await api.SendAsync(Request(HttpMethod.Get, token));
        read.StatusCode.Should().Be(HttpStatusCode.OK);
        var readJson = await JsonOf(read);
        readJson.GetProperty("client_id").GetString().Should().Be(clientId);
        readJson.TryGetProperty("client_secret", out _).Should().BeFalse("the secret is shown only when it is created or changed");

        // Every rule runs again on PUT.
        var invalid = await api.SendAsync(Request(HttpMethod.Put, token, $$"""{"client_id":"{{clientId}}","client_name":"Renamed","redirect_uris":["http://evil.example/cb"]}"""));
        invalid.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await JsonOf(invalid)).GetProperty("error").GetString().Should().Be("invalid_redirect_uri");
        var otherId = await api.SendAsync(Request(HttpMethod.Put, token, """{"client_id":"someoneElse00000000000000000000","client_name":"Renamed","redirect_uris":["https://a.example/cb"]}"""));
        otherId.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        var replaced = await api.SendAsync(Request(HttpMethod.Put, token, $$"""{"client_id":"{{clientId}}","client_name":"Renamed","redirect_uris":["https://a.example/cb"]}"""));
        replaced.StatusCode.Should().Be(HttpStatusCode.OK);
        var replacedJson = await JsonOf(replaced);
        replacedJson.GetProperty("client_name").GetString().Should().Be("Renamed");
        replacedJson.GetProperty("redirect_uris").EnumerateArray().Select(e => e.GetString()).Should().Equal("https://a.example/cb");

        (await api.SendAsync(Request(HttpMethod.Delete, token))).StatusCode.Should().Be(HttpStatusCode.NoContent);
        (await api.SendAsync(Request(HttpMethod.Get, token))).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        // Its credentials stop at once.
        var tokenResponse = await api.RequestClientCredentialsTokenAsync(new ClientCredentialsTokenRequest
        {
            Address = "/oauth/token", ClientId = clientId, ClientSecret = created.GetProperty("client_secret").GetString()!,
        });
        tokenResponse.HttpStatusCode.Should().Be(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Registrations_per_address_are_rate_limited()
    {
        broker.Settings["Registration:PermitsPerMinutePerAddress"] = "3";
        await EnableAsync();
        for (var i = 0; i < 3; i++)
        {
            (await RegisterAsync($$"""{"client_name":"App {{i}}","redirect_uris":["https://a.example/cb"]}""")).StatusCode.Should().Be(HttpStatusCode.Created);
        }
        var limited = await RegisterAsync("""{"client_name":"App 4","redirect_uris":["https://a.example/cb"]}""");
        limited.StatusCode.Should().Be(HttpStatusCode.TooManyRequests);
        limited.Headers.RetryAfter.Should().NotBeNull();
    }

    [Fact]
    public async Task The_tenant_cap_on_open_registered_clients_holds()
    {
        broker.Settings["Registration:MaxOpenClients"] = "2";
        await EnableAsync();
        (await RegisterAsync("""{"client_name":"A","redirect_uris":["https://a.example/cb"]}""")).StatusCode.Should().Be(HttpStatusCode.Created);
        (await RegisterAsync("""{"client_name":"B","redirect_uris":["https://a.example/cb"]}""")).StatusCode.Should().Be(HttpStatusCode.Created);
        (await RegisterAsync("""{"client_name":"C","redirect_uris":["https://a.example/cb"]}""")).StatusCode.Should().Be(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task A_real_client_library_registers_then_runs_the_code_flow_with_pkce_and_consent_marks_it_unverified()
    {
        await EnableAsync();
        var registration = await api.RegisterClientAsync(new DynamicClientRegistrationRequest
        {
            Address = "/oidc/register",
            Document = new DynamicClientRegistrationDocument
            {
                ClientName = "Duende Test App",
                RedirectUris = { new Uri("https://app.example/callback") },
                GrantTypes = { "authorization_code" },
                ResponseTypes = { "code" },
                TokenEndpointAuthenticationMethod = "client_secret_post",
            },
        });
        registration.IsError.Should().BeFalse(registration.Error);
        registration.ClientSecret.Should().NotBeNullOrEmpty();

        await broker.CreateUserAsync();
        var browser = new Browser(broker.CreateBrowser());
        await browser.SignInAsync();
        var verifier = Duende.IdentityModel.CryptoRandom.CreateUniqueId(64);
        var challenge = Core.Authorization.Pkce.ChallengeOf(verifier);
        var consent = await browser.GetAsync(Installation.AuthorizeUrl(registration.ClientId!, "https://app.example/callback",
            extra: $"&code_challenge={challenge}&code_challenge_method=S256"));
        consent.StatusCode.Should().Be(HttpStatusCode.OK);
        (await consent.Content.ReadAsStringAsync()).Should().Contain("Unverified").And.Contain("registered itself");
        var approved = await browser.SubmitAsync(await Browser.FormAsync(consent, "/oauth/authorize"), ("decision", "approve"));
        var code = Browser.RedirectQuery(approved)["code"];

        var token = await api.RequestAuthorizationCodeTokenAsync(new AuthorizationCodeTokenRequest
        {
            Address = "/oauth/token",
            ClientId = registration.ClientId!,
            ClientSecret = registration.ClientSecret,
            ClientCredentialStyle = ClientCredentialStyle.PostBody,
            Code = code,
            RedirectUri = "https://app.example/callback",
            CodeVerifier = verifier,
        });
        token.IsError.Should().BeFalse(token.Error);
        token.AccessToken.Should().MatchRegex("^[0-9a-f]{64}$");
        token.ExpiresIn.Should().Be(3600);
    }

    [Fact]
    public async Task A_real_client_library_registers_a_service_client_and_gets_a_client_credentials_token()
    {
        await EnableAsync();
        var registration = await Registrations.RegisterServiceClientAsync(api, "Nightly Sync");
        var token = await api.RequestClientCredentialsTokenAsync(new ClientCredentialsTokenRequest
        {
            Address = "/oauth/token", ClientId = registration.ClientId!, ClientSecret = registration.ClientSecret, Scope = "public",
        });
        token.IsError.Should().BeFalse(token.Error);
        token.ExpiresIn.Should().Be(3600);
        var wrongScope = await api.RequestClientCredentialsTokenAsync(new ClientCredentialsTokenRequest
        {
            Address = "/oauth/token", ClientId = registration.ClientId!, ClientSecret = registration.ClientSecret, Scope = "admin",
        });
        wrongScope.Error.Should().Be("invalid_scope");
    }
}

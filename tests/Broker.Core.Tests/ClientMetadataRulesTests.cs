using System.Text.Json;
using Broker.Core.Authorization;
using Broker.Core.Clients;

namespace Broker.Core.Tests;

/// <summary>The Okta seed's client model and validation table, and RFC 7591's rules, row by row.</summary>
public sealed class ClientMetadataRulesTests
{
    private static MetadataValidation Validate(string json, MetadataContract contract = MetadataContract.OktaCreate)
    {
        using var document = JsonDocument.Parse(json);
        return ClientMetadataRules.Validate(document.RootElement, contract);
    }

    private const string Web = """{"client_name":"App","redirect_uris":["https://app.example/cb"]""";

    [Fact]
    public void Okta_defaults_apply_to_a_minimal_web_client()
    {
        var metadata = Validate(Web + "}").Metadata!;
        metadata.ApplicationType.Should().Be("web");
        metadata.GrantTypes.Should().Equal("authorization_code");
        metadata.ResponseTypes.Should().Equal("code");
        metadata.TokenEndpointAuthMethod.Should().Be("client_secret_basic");
    }

    [Fact]
    public void Open_registration_defaults_to_client_secret_post_as_in_the_auth0_seed()
    {
        Validate(Web + "}", MetadataContract.OpenRegistration).Metadata!.TokenEndpointAuthMethod.Should().Be("client_secret_post");
    }

    [Fact]
    public void The_okta_seeds_create_request_is_accepted_as_given()
    {
        var metadata = Validate("""
            {"client_name":"Example OAuth Client","client_uri":"https://www.example-application.com",
             "logo_uri":"https://www.example-application.com/logo.png","application_type":"web",
             "redirect_uris":["https://www.example-application.com/oauth2/redirectUri"],
             "post_logout_redirect_uris":["https://www.example-application.com/oauth2/postLogoutRedirectUri"],
             "response_types":["code","id_token"],"grant_types":["authorization_code","refresh_token"],
             "token_endpoint_auth_method":"client_secret_post","initiate_login_uri":"https://www.example-application.com/oauth2/login"}
            """).Metadata!;
        metadata.ResponseTypes.Should().Equal("code", "id_token");
        metadata.GrantTypes.Should().Equal("authorization_code", "refresh_token");
        metadata.InitiateLoginUri.Should().Be("https://www.example-application.com/oauth2/login");
    }

    // application_type × grant_types: Okta's table, less implicit and password (RFC 9700).
    [Theory]
    [InlineData("web", "[\"authorization_code\"]", true)]
    [InlineData("web", "[\"authorization_code\",\"refresh_token\"]", true)]
    [InlineData("web", "[\"authorization_code\",\"client_credentials\"]", true)]
    [InlineData("web", "[\"client_credentials\"]", false)]
    [InlineData("web", "[\"refresh_token\"]", false)]
    [InlineData("native", "[\"authorization_code\",\"refresh_token\"]", true)]
    [InlineData("native", "[\"client_credentials\"]", false)]
    [InlineData("native", "[\"refresh_token\"]", false)]
    [InlineData("browser", "[\"authorization_code\"]", true)]
    [InlineData("browser", "[\"client_credentials\"]", false)]
    [InlineData("service", "[\"client_credentials\"]", true)]
    [InlineData("service", "[\"authorization_code\"]", false)]
    [InlineData("service", "[\"client_credentials\",\"refresh_token\"]", false)]
    public void Application_types_allow_only_their_grants(string applicationType, string grants, bool valid)
    {
        var isCodeFlow = grants.Contains("authorization_code", StringComparison.Ordinal);
        var auth = applicationType is "native" or "browser" ? "none" : "client_secret_basic";
        var json = $$"""
            {"client_name":"App","application_type":"{{applicationType}}","grant_types":{{grants}},
             "response_types":{{(isCodeFlow ? "[\"code\"]" : "[]")}},"redirect_uris":["https://app.example/cb"],
             "token_endpoint_auth_method":"{{auth}}"}
            """;
        var result = Validate(json);
        (result.Error is null).Should().Be(valid, result.Error?.Description);
        if (!valid)
        {
            result.Error!.Error.Should().Be(OAuthErrors.InvalidClientMetadata);
            result.Error.Description.Should().Contain("grant_types");
        }
    }

    [Theory]
    [InlineData("password")]
    [InlineData("implicit")]
    public void Retired_grants_are_refused_naming_the_field(string grant)
    {
        var result = Validate($$"""{"client_name":"App","redirect_uris":["https://app.example/cb"],"grant_types":["authorization_code","{{grant}}"]}""");
        result.Error!.Error.Should().Be(OAuthErrors.InvalidClientMetadata);
        result.Error.Description.Should().Contain("grant_types").And.Contain(grant);
    }

    [Theory]
    [InlineData("[\"token\"]")]
    [InlineData("[\"code\",\"token\"]")]
    [InlineData("[\"code\",\"id_token token\"]")]
    [InlineData("[\"code\",\"banana\"]")]
    public void Implicit_and_unknown_response_types_are_refused(string responseTypes)
    {
        var result = Validate($$"""{"client_name":"App","redirect_uris":["https://app.example/cb"],"response_types":{{responseTypes}}}""");
        result.Error!.Description.Should().Contain("response_types");
    }

    [Theory]
    [InlineData("[\"authorization_code\"]", "[\"id_token\"]")]
    [InlineData("[\"client_credentials\"]", "[\"code\"]")]
    public void Grant_and_response_types_must_agree(string grants, string responseTypes)
    {
        var result = Validate($$"""{"client_name":"App","application_type":"{{(grants.Contains("client", StringComparison.Ordinal) ? "service" : "web")}}","redirect_uris":["https://app.example/cb"],"grant_types":{{grants}},"response_types":{{responseTypes}}}""");
        result.Error.Should().NotBeNull();
    }

    [Theory]
    [InlineData("""{"client_name":"Svc","application_type":"service","grant_types":["client_credentials"]}""")]
    [InlineData("""{"client_name":"Svc","application_type":"service","grant_types":["client_credentials"],"redirect_uris":null,"response_types":null}""")]
    [InlineData("""{"client_name":"Svc","application_type":"service","grant_types":["client_credentials"],"redirect_uris":[],"response_types":[]}""")]
    public void Client_credentials_only_clients_need_no_redirect_uris_or_response_types(string json)
    {
        var result = Validate(json);
        result.Error.Should().BeNull(result.Error?.Description);
        result.Metadata!.RedirectUris.Should().BeEmpty();
    }

    [Fact]
    public void Open_registration_requires_redirect_uris_even_for_service_clients()
    {
        var result = Validate("""{"client_name":"Svc","application_type":"service","grant_types":["client_credentials"]}""", MetadataContract.OpenRegistration);
        result.Error!.Error.Should().Be(OAuthErrors.InvalidRedirectUri);
    }

    [Theory]
    [InlineData("""{"client_name":"App"}""")]
    [InlineData("""{"client_name":"App","redirect_uris":[]}""")]
    [InlineData("""{"client_name":"App","redirect_uris":["/relative"]}""")]
    [InlineData("""{"client_name":"App","redirect_uris":["https://app.example/cb#frag"]}""")]
    [InlineData("""{"client_name":"App","redirect_uris":["http://app.example/cb"]}""")]
    [InlineData("""{"client_name":"App","redirect_uris":["https://*.example/cb"]}""")]
    [InlineData("""{"client_name":"App","redirect_uris":["https://user:pw@app.example/cb"]}""")]
    [InlineData("""{"client_name":"App","redirect_uris":["com.example.app:/cb"]}""")]
    [InlineData("""{"client_name":"App","redirect_uris":["http://127.0.0.1:8080/cb"]}""")]
    public void Redirect_uri_problems_are_invalid_redirect_uri(string json)
    {
        Validate(json).Error!.Error.Should().Be(OAuthErrors.InvalidRedirectUri);
    }

    [Theory]
    [InlineData("http://127.0.0.1:8080/cb")]
    [InlineData("http://[::1]/cb")]
    [InlineData("com.example.app:/oauth2redirect")]
    [InlineData("https://app.example/cb")]
    public void Native_clients_may_use_loopback_http_and_reverse_dns_schemes(string uri)
    {
        var result = Validate($$"""{"client_name":"App","application_type":"native","redirect_uris":["{{uri}}"]}""");
        result.Error.Should().BeNull(result.Error?.Description);
        result.Metadata!.TokenEndpointAuthMethod.Should().Be("none");
    }

    [Fact]
    public void At_most_twenty_redirect_uris()
    {
        var uris = string.Join(",", Enumerable.Range(0, 21).Select(i => $"\"https://app.example/cb{i}\""));
        Validate($$"""{"client_name":"App","redirect_uris":[{{uris}}]}""").Error!.Error.Should().Be(OAuthErrors.InvalidRedirectUri);
    }

    [Theory]
    [InlineData("logo_uri", "http://app.example/logo.png")]
    [InlineData("client_uri", "https://localhost/")]
    [InlineData("tos_uri", "https://127.0.0.1/tos")]
    [InlineData("policy_uri", "https://10.1.2.3/policy")]
    [InlineData("logo_uri", "https://192.168.1.10/logo.png")]
    [InlineData("logo_uri", "https://172.20.0.1/logo.png")]
    [InlineData("logo_uri", "https://169.254.169.254/latest/meta-data")]
    [InlineData("logo_uri", "https://[::1]/logo.png")]
    [InlineData("logo_uri", "https://[fe80::1]/logo.png")]
    [InlineData("logo_uri", "https://[fd00::1]/logo.png")]
    [InlineData("logo_uri", "https://[::ffff:127.0.0.1]/logo.png")]
    [InlineData("client_uri", "https://printer.localhost/")]
    [InlineData("initiate_login_uri", "javascript:alert(1)")]
    [InlineData("client_uri", "/relative")]
    [InlineData("client_uri", "https://user@app.example/")]
    public void Information_uris_must_be_public_https(string field, string uri)
    {
        var result = Validate(Web + $$""","{{field}}":"{{uri}}"}""");
        result.Error!.Error.Should().Be(OAuthErrors.InvalidClientMetadata);
        result.Error.Description.Should().Contain(field);
    }

    [Theory]
    [InlineData("""{"client_name":42,"redirect_uris":["https://app.example/cb"]}""", "client_name")]
    [InlineData("""{"client_name":"App","redirect_uris":"https://app.example/cb"}""", "redirect_uris")]
    [InlineData("""{"client_name":"App","redirect_uris":[1]}""", "redirect_uris")]
    [InlineData("""{"client_name":"App","redirect_uris":["https://app.example/cb"],"grant_types":"authorization_code"}""", "grant_types")]
    [InlineData("""{"client_name":"App","redirect_uris":["https://app.example/cb"],"application_type":"desktop"}""", "application_type")]
    [InlineData("""{"client_name":"App","redirect_uris":["https://app.example/cb"],"token_endpoint_auth_method":"client_secret_jwt"}""", "token_endpoint_auth_method")]
    [InlineData("""{"client_name":"App","redirect_uris":["https://app.example/cb"],"token_endpoint_auth_method":"private_key_jwt"}""", "token_endpoint_auth_method")]
    [InlineData("""{"client_name":"App","redirect_uris":["https://app.example/cb"],"contacts":"a@b.example"}""", "contacts")]
    [InlineData("""{"redirect_uris":["https://app.example/cb"]}""", "client_name")]
    [InlineData("""{"client_name":"","redirect_uris":["https://app.example/cb"]}""", "client_name")]
    [InlineData("""{"client_name":"A\u0000B","redirect_uris":["https://app.example/cb"]}""", "client_name")]
    [InlineData("""{"client_name":"App","client_name":"Other","redirect_uris":["https://app.example/cb"]}""", "client_name")]
    [InlineData("""{"client_name":"App","application_type":"service","grant_types":["client_credentials"],"token_endpoint_auth_method":"none"}""", "client_credentials")]
    [InlineData("""["client_name"]""", "JSON object")]
    public void Malformed_fields_are_refused_naming_the_field(string json, string named)
    {
        var result = Validate(json);
        result.Error!.Error.Should().Be(OAuthErrors.InvalidClientMetadata);
        result.Error.Description.Should().Contain(named);
    }

    [Fact]
    public void Open_registration_allows_only_none_and_client_secret_post()
    {
        Validate(Web + ""","token_endpoint_auth_method":"none"}""", MetadataContract.OpenRegistration).Error.Should().BeNull();
        Validate(Web + ""","token_endpoint_auth_method":"client_secret_basic"}""", MetadataContract.OpenRegistration).Error!.Description
            .Should().Contain("token_endpoint_auth_method");
    }

    [Fact]
    public void Unknown_fields_are_ignored_and_server_set_fields_are_not_taken()
    {
        var result = Validate(Web + ""","client_id":"mine","client_secret":"mine","client_id_issued_at":1,"software_statement":"x"}""");
        result.Error.Should().BeNull();
    }

    [Theory]
    [InlineData("client_name")]
    [InlineData("application_type")]
    [InlineData("redirect_uris")]
    [InlineData("response_types")]
    [InlineData("grant_types")]
    [InlineData("token_endpoint_auth_method")]
    public void A_replace_must_give_every_setting(string missing)
    {
        var fields = new Dictionary<string, object>
        {
            ["client_name"] = "App",
            ["application_type"] = "web",
            ["redirect_uris"] = new[] { "https://app.example/cb" },
            ["response_types"] = new[] { "code" },
            ["grant_types"] = new[] { "authorization_code" },
            ["token_endpoint_auth_method"] = "client_secret_post",
        };
        Validate(JsonSerializer.Serialize(fields), MetadataContract.OktaReplace).Error.Should().BeNull();
        fields.Remove(missing);
        var result = Validate(JsonSerializer.Serialize(fields), MetadataContract.OktaReplace);
        result.Error!.Description.Should().Contain(missing).And.Contain("partial");
    }

    [Fact]
    public void A_replace_may_omit_the_client_secret()
    {
        Validate("""
            {"client_id":"x","client_name":"App","application_type":"web","redirect_uris":["https://app.example/cb"],
             "response_types":["code"],"grant_types":["authorization_code"],"token_endpoint_auth_method":"client_secret_post"}
            """, MetadataContract.OktaReplace).Error.Should().BeNull();
    }

    [Fact]
    public void Contacts_are_bounded()
    {
        var many = string.Join(",", Enumerable.Range(0, 21).Select(i => $"\"c{i}@app.example\""));
        Validate(Web + $$""","contacts":[{{many}}]}""").Error!.Description.Should().Contain("contacts");
        Validate(Web + ""","contacts":["ops@app.example"]}""").Metadata!.Contacts.Should().Equal("ops@app.example");
    }
}

using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Broker.Core.Platform;
using Broker.Hosting;
using Broker.Platform;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Tests.PlatformApi;

/// <summary>
/// Entra ID bearer tokens through Microsoft.Identity.Web's real JwtBearer scheme and our policies.
/// Only where keys come from differs from production: a local RSA key stands in for Entra's
/// metadata document, so no test touches the network.
/// </summary>
public sealed class EntraIdTests : IAsyncLifetime
{
    private const string TenantId = "6f1d2c3b-0000-4000-8000-00000000abcd";
    private const string ApiClientId = "0a1b2c3d-1111-4222-8333-444455556666";
    private static readonly string Issuer = $"https://login.microsoftonline.com/{TenantId}/v2.0";

    private readonly PlatformHarness harness = new();
    private readonly RsaSecurityKey signingKey = new(RSA.Create(2048)) { KeyId = "test-key" };

    public async Task InitializeAsync()
    {
        var broker = harness.Broker;
        broker.Settings["AzureAd:Instance"] = "https://login.microsoftonline.com/";
        broker.Settings["AzureAd:TenantId"] = TenantId;
        broker.Settings["AzureAd:ClientId"] = ApiClientId;
        broker.TestServices = services => services.PostConfigure<JwtBearerOptions>(AdminAuthentication.EntraScheme, options =>
        {
            var configuration = new OpenIdConnectConfiguration { Issuer = Issuer };
            configuration.SigningKeys.Add(signingKey);
            options.Configuration = configuration;
            options.ConfigurationManager = new StaticConfigurationManager<OpenIdConnectConfiguration>(configuration);
            // Microsoft.Identity.Web's issuer validator reads Entra's metadata; the fixed issuer replaces it.
            options.TokenValidationParameters.IssuerValidator = null;
            options.TokenValidationParameters.ValidIssuer = Issuer;
        });
        await harness.InitializeAsync();
    }

    public Task DisposeAsync() => harness.DisposeAsync();

    private string Token(string[] roles, SecurityKey? key = null, DateTime? expires = null, string audience = ApiClientId)
    {
        var now = DateTime.UtcNow;
        var claims = new Dictionary<string, object>
        {
            ["tid"] = TenantId,
            ["oid"] = "11111111-2222-3333-4444-555555555555",
            ["sub"] = "admin-subject",
            ["azp"] = "ops-tool",
            ["ver"] = "2.0",
        };
        if (roles.Length > 0)
        {
            claims["roles"] = roles;
        }
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = audience,
            IssuedAt = now.AddMinutes(-1),
            NotBefore = now.AddMinutes(-1),
            Expires = expires ?? now.AddMinutes(30),
            Claims = claims,
            SigningCredentials = new SigningCredentials(key ?? signingKey, SecurityAlgorithms.RsaSha256),
        });
    }

    private Task<HttpResponseMessage> SendAsync(string method, string path, string token, string body = "{}")
    {
        var request = PlatformHarness.Request(new HttpMethod(method), path.Replace("{parent}", harness.Parent.Client.ClientId, StringComparison.Ordinal)
            .Replace("{child}", "Achildthatdoesnotexist0000000000", StringComparison.Ordinal)
            .Replace("{user}", "nouser", StringComparison.Ordinal).Replace("{token}", "notoken", StringComparison.Ordinal),
            method is "PUT" or "PATCH" ? body : null);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return harness.Api.SendAsync(request);
    }

    public static TheoryData<string, string, string> Routes() => AuthorizationMatrixTests.RouteData();

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task A_token_with_the_mapped_app_role_is_let_through_and_one_with_another_role_gets_403(string method, string path, string scope)
    {
        var role = AdminScopes.EntraRoles.Single(pair => pair.Value == scope).Key;
        var otherRoles = AdminScopes.EntraRoles.Where(pair => pair.Value != scope).Select(pair => pair.Key).ToArray();

        var allowed = await SendAsync(method, path, Token([role]));
        var refused = await SendAsync(method, path, Token(otherRoles));

        allowed.StatusCode.Should().NotBe(HttpStatusCode.Unauthorized, await allowed.Content.ReadAsStringAsync())
            .And.NotBe(HttpStatusCode.Forbidden);
        refused.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        refused.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
    }

    [Fact]
    public async Task The_scope_names_themselves_are_accepted_as_app_role_values()
    {
        (await SendAsync("GET", "/admin/v1/audit", Token([AdminScopes.AuditRead]))).StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Theory]
    [InlineData("foreign key")]
    [InlineData("expired")]
    [InlineData("other audience")]
    [InlineData("no roles")]
    [InlineData("garbage")]
    public async Task Tokens_that_do_not_validate_get_401(string flaw)
    {
        var token = flaw switch
        {
            "foreign key" => Token(["Clients.Read"], key: new RsaSecurityKey(RSA.Create(2048)) { KeyId = "test-key" }),
            "expired" => Token(["Clients.Read"], expires: DateTime.UtcNow.AddMinutes(-10)),
            "other audience" => Token(["Clients.Read"], audience: "api://someone-else"),
            "no roles" => Token([]),
            _ => "not.a.jwt",
        };

        var response = await SendAsync("GET", "/admin/v1/parents", token);

        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        response.Headers.WwwAuthenticate.ToString().Should().Contain("Bearer");
    }

    [Fact]
    public async Task Changes_made_with_an_entra_token_are_audited_under_its_object_id()
    {
        var response = await SendAsync("PATCH", "/admin/v1/parents/{parent}", Token(["Parents.Write"]), """{"child_rate_limit":50}""");
        response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());

        (await harness.AuditAsync())[0].Actor.Should().Be("entra:11111111-2222-3333-4444-555555555555");
    }

    [Fact]
    public async Task Installation_tokens_are_still_refused_on_admin_routes_when_entra_is_on()
    {
        var response = await SendAsync("GET", "/admin/v1/parents", await harness.InstallationTokenAsync());

        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
    }
}

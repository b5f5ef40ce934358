using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Broker.Core.Platform;
using Broker.Core.Stores;
using Broker.Tests.PlatformApi;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Tests.SoftwareStatements;

/// <summary>
/// Software statements (RFC 7591 §2.3) over real HTTP: a trusted issuer added through the admin API, a
/// statement signed with its key winning over the request and naming the vendor on the consent page; every
/// kind of bad statement refused with invalid_software_statement and nothing written.
/// </summary>
public sealed class SoftwareStatementTests : IAsyncLifetime
{
    private const string IssuerName = "https://plugins.vendor.example";
    private const string Redirect = "https://app.example/callback";

    private readonly PlatformHarness harness = new();
    private readonly RSA vendorKey = RSA.Create(2048);
    private readonly RSA otherKey = RSA.Create(2048);
    private HttpClient admin = null!;

    public async Task InitializeAsync()
    {
        harness.Broker.Settings["Registration:PermitsPerMinutePerAddress"] = "1000";
        await harness.InitializeAsync();
        admin = await harness.AdminAsync(AdminScopes.TenantWrite);
        await Registrations.EnableAsync(harness.Broker);
    }

    public Task DisposeAsync()
    {
        vendorKey.Dispose();
        otherKey.Dispose();
        return harness.DisposeAsync();
    }

    private IClientStore Clients => harness.Broker.Services.GetRequiredService<IClientStore>();

    private static string Jwks(RSA key)
    {
        var parameters = key.ExportParameters(false);
        return JsonSerializer.Serialize(new
        {
            keys = new[]
            {
                new { kty = "RSA", kid = "vendor-1", use = "sig", n = Base64UrlEncoder.Encode(parameters.Modulus), e = Base64UrlEncoder.Encode(parameters.Exponent) },
            },
        });
    }

    private string Sign(RSA key, object claims, string algorithm = SecurityAlgorithms.RsaSha256) =>
        new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(JsonSerializer.Serialize(claims),
            new SigningCredentials(new RsaSecurityKey(key) { KeyId = "vendor-1" }, algorithm));

    private long InAnHour => harness.Broker.Time.GetUtcNow().AddHours(1).ToUnixTimeSeconds();

    private object VendorClaims(string issuer = IssuerName, long? exp = null) => new
    {
        iss = issuer,
        exp = exp ?? InAnHour,
        client_name = "Signed Plugin",
        redirect_uris = new[] { Redirect },
        client_uri = "https://vendor.example",
    };

    private async Task TrustVendorAsync()
    {
        var added = await admin.PostAsync("/admin/v1/trusted-issuers", new StringContent(
            $$"""{"issuer":"{{IssuerName}}","vendor_name":"Vendor Ltd","jwks":{{Jwks(vendorKey)}}}""", Encoding.UTF8, "application/json"));
        added.StatusCode.Should().Be(HttpStatusCode.Created, await added.Content.ReadAsStringAsync());
    }

    private Task<HttpResponseMessage> RegisterAsync(string? statement, string query = "") =>
        harness.Api.PostAsync("/oidc/register" + query, JsonContent.Create(new Dictionary<string, object?>
        {
            ["client_name"] = "Whatever the request says",
            ["redirect_uris"] = new[] { "https://elsewhere.example/cb" },
            ["software_statement"] = statement,
        }));

    [Fact]
    public async Task A_statement_signed_by_a_trusted_issuer_wins_over_the_request_and_names_the_vendor_on_the_consent_page()
    {
        await TrustVendorAsync();

        var response = await RegisterAsync(Sign(vendorKey, VendorClaims()));

        response.StatusCode.Should().Be(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var registered = await response.Content.ReadFromJsonAsync<JsonElement>();
        registered.GetProperty("client_name").GetString().Should().Be("Signed Plugin", "the signed fields win over the request's");
        registered.GetProperty("redirect_uris").EnumerateArray().Select(uri => uri.GetString()).Should().Equal(Redirect);
        var clientId = registered.GetProperty("client_id").GetString()!;
        (await Clients.FindAsync(clientId))!.SoftwareVendor.Should().Be("Vendor Ltd");

        var consent = await harness.Flow.Browser.GetAsync(Installation.AuthorizeUrl(clientId, Redirect));
        consent.StatusCode.Should().Be(HttpStatusCode.OK);
        var page = await consent.Content.ReadAsStringAsync();
        page.Should().Contain("Vendor Ltd").And.NotContain("Unverified");
    }

    [Fact]
    public async Task A_field_given_twice_beside_a_valid_statement_is_refused_as_in_any_request_and_nothing_is_written()
    {
        await TrustVendorAsync();
        var before = (await Clients.ListManagedAsync(null, 100, null)).Count;
        var body = $$"""{"contacts":["a@example.com"],"contacts":["b@example.com"],"software_statement":"{{Sign(vendorKey, VendorClaims())}}"}""";

        var response = await harness.Api.PostAsync("/oidc/register", new StringContent(body, Encoding.UTF8, "application/json"));

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest, await response.Content.ReadAsStringAsync());
        var error = await response.Content.ReadFromJsonAsync<JsonElement>();
        error.GetProperty("error").GetString().Should().Be("invalid_client_metadata");
        error.GetProperty("error_description").GetString().Should().Contain("contacts", "the refusal names the field given twice");
        (await Clients.ListManagedAsync(null, 100, null)).Count.Should().Be(before);
    }

    [Fact]
    public async Task Unsigned_expired_wrongly_signed_and_unknown_issuer_statements_are_refused_and_nothing_is_written()
    {
        await TrustVendorAsync();
        var header = Base64UrlEncoder.Encode("""{"alg":"none","typ":"JWT"}""");
        var payload = Base64UrlEncoder.Encode(JsonSerializer.Serialize(VendorClaims()));
        var signed = Sign(vendorKey, VendorClaims());
        var cases = new (string Name, string Statement, string Reason)[]
        {
            ("alg none", $"{header}.{payload}.", "unsigned"),
            ("signature stripped", signed[..(signed.LastIndexOf('.') + 1)], "unsigned"),
            ("expired", Sign(vendorKey, VendorClaims(exp: harness.Broker.Time.GetUtcNow().AddSeconds(-1).ToUnixTimeSeconds())), "expired"),
            ("wrong key", Sign(otherKey, VendorClaims()), "signature does not verify"),
            ("tampered claims", string.Join('.', signed.Split('.')[0],
                Base64UrlEncoder.Encode(JsonSerializer.Serialize(new { iss = IssuerName, exp = InAnHour, client_name = "Evil" })),
                signed.Split('.')[2]), "signature does not verify"),
            ("unknown issuer", Sign(vendorKey, VendorClaims(issuer: "https://stranger.example")), "not a trusted issuer"),
            ("no exp", Sign(vendorKey, new { iss = IssuerName, client_name = "No expiry" }), "must carry exp"),
            ("not a JWT", "hello", "JWT"),
            ("a claim twice", new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(
                $$"""{"iss":"{{IssuerName}}","exp":{{InAnHour}},"client_name":"One","client_name":"Two","redirect_uris":["{{Redirect}}"]}""",
                new SigningCredentials(new RsaSecurityKey(vendorKey) { KeyId = "vendor-1" }, SecurityAlgorithms.RsaSha256)), "once"),
        };

        foreach (var (name, statement, reason) in cases)
        {
            var response = await RegisterAsync(statement);

            response.StatusCode.Should().Be(HttpStatusCode.BadRequest, name);
            var error = await response.Content.ReadFromJsonAsync<JsonElement>();
            error.GetProperty("error").GetString().Should().Be("invalid_software_statement", name);
            error.GetProperty("error_description").GetString().Should().Contain(reason, name);
        }
        (await Clients.CountOpenRegisteredAsync()).Should().Be(0);
    }

    [Fact]
    public async Task A_dry_run_lists_the_statement_refusal_with_the_requests_own_refusals()
    {
        var response = await harness.Api.PostAsync("/oidc/register?dry_run=true", JsonContent.Create(new
        {
            client_name = "",
            redirect_uris = new[] { "https://app.example/cb" },
            software_statement = Sign(vendorKey, VendorClaims()),
        }));

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        var refusals = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("refusals").EnumerateArray()
            .Select(r => (r.GetProperty("field").GetString(), r.GetProperty("rule").GetString()));
        refusals.Should().Equal(("/software_statement", "software_statement"), ("/client_name", "client_name"));
    }

    [Fact]
    public async Task The_admin_api_refuses_private_keys_and_duplicates_audits_changes_and_removal_stops_the_trust()
    {
        var parameters = vendorKey.ExportParameters(true);
        var privateJwks = JsonSerializer.Serialize(new
        {
            keys = new[] { new { kty = "RSA", n = Base64UrlEncoder.Encode(parameters.Modulus), e = Base64UrlEncoder.Encode(parameters.Exponent), d = Base64UrlEncoder.Encode(parameters.D) } },
        });
        var refused = await admin.PostAsync("/admin/v1/trusted-issuers", new StringContent(
            $$"""{"issuer":"{{IssuerName}}","vendor_name":"Vendor Ltd","jwks":{{privateJwks}}}""", Encoding.UTF8, "application/json"));
        refused.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await refused.Content.ReadAsStringAsync()).Should().Contain("public");

        await TrustVendorAsync();
        var again = await admin.PostAsync("/admin/v1/trusted-issuers", new StringContent(
            $$"""{"issuer":"{{IssuerName}}","vendor_name":"Other","jwks":{{Jwks(otherKey)}}}""", Encoding.UTF8, "application/json"));
        again.StatusCode.Should().Be(HttpStatusCode.Conflict);
        var listed = await admin.GetFromJsonAsync<JsonElement>("/admin/v1/trusted-issuers");
        listed.GetProperty("items").EnumerateArray().Should().ContainSingle().Which.GetProperty("vendor_name").GetString().Should().Be("Vendor Ltd");

        (await admin.DeleteAsync($"/admin/v1/trusted-issuers?issuer={Uri.EscapeDataString(IssuerName)}")).StatusCode.Should().Be(HttpStatusCode.NoContent);
        var afterRemoval = await RegisterAsync(Sign(vendorKey, VendorClaims()));
        afterRemoval.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        var audit = harness.Broker.Services.GetRequiredService<IAuditStore>();
        (await audit.QueryAsync(new AuditQuery { Target = $"trusted-issuer:{IssuerName}" })).Items.Select(e => e.Action)
            .Should().Equal(AuditActions.TrustedIssuerRemoved, AuditActions.TrustedIssuerAdded);
    }
}

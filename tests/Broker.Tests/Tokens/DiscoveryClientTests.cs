using System.Net.Http.Json;
using System.Text.Json;
using Broker.Tests.Gateway;
using Duende.IdentityModel.Client;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Tests.Tokens;

/// <summary>
/// The broker on Kestrel over real HTTP on loopback, as Duende.IdentityModel (the most used .NET client)
/// meets it: discovery under the library's default policy (issuer, endpoints on the authority, HTTPS
/// except on loopback, a key set), then a token verified with the keys discovery returned.
/// </summary>
public sealed class DiscoveryClientTests : IDisposable
{
    private readonly BrokerFactory broker = new();

    // Only where the document lives is set: RFC 8414's path instead of OpenID Connect's. Every check
    // of the default policy stays on. (A new one each time: the library writes the authority into it.)
    private static DiscoveryPolicy DefaultPolicyAtRfc8414Path => new() { DiscoveryDocumentPath = "/.well-known/oauth-authorization-server" };

    private HttpClient StartOnLoopback(string? tokenFormat = null)
    {
        // Discovery requires the issuer to be the authority the client asked, so the broker learns its address first.
        var port = GatewayCalls.FreePort();
        broker.Settings["Broker:Issuer"] = $"http://127.0.0.1:{port}";
        if (tokenFormat is not null)
        {
            broker.Settings["Tokens:Format"] = tokenFormat;
        }
        broker.UseKestrel(port);
        broker.StartServer();
        return new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
    }

    [Fact]
    public async Task Duende_discovery_succeeds_with_its_default_policy_and_its_key_set_verifies_an_issued_token()
    {
        using var http = StartOnLoopback(tokenFormat: "Jwt");

        var discovery = await http.GetDiscoveryDocumentAsync(new DiscoveryDocumentRequest
        {
            Address = http.BaseAddress!.ToString(), Policy = DefaultPolicyAtRfc8414Path,
        });

        discovery.IsError.Should().BeFalse(discovery.Error);
        discovery.JwksUri.Should().Be($"{http.BaseAddress.ToString().TrimEnd('/')}/.well-known/jwks.json");
        discovery.KeySet!.Keys.Should().ContainSingle().Which.Alg.Should().Be("RS256");

        await Registrations.EnableAsync(broker);
        var client = await Registrations.RegisterServiceClientAsync(http, "Nightly Sync");
        var token = await http.RequestClientCredentialsTokenAsync(new ClientCredentialsTokenRequest
        {
            Address = discovery.TokenEndpoint, ClientId = client.ClientId!, ClientSecret = client.ClientSecret,
        });
        token.IsError.Should().BeFalse(token.Error);
        var keys = new JsonWebKeySet(discovery.KeySet.RawData).GetSigningKeys();
        var validated = await new JsonWebTokenHandler().ValidateTokenAsync(token.AccessToken, new TokenValidationParameters
        {
            ValidIssuer = discovery.Issuer,
            ValidAudience = discovery.Issuer,
            IssuerSigningKeys = keys,
            ValidTypes = ["at+jwt"],
            LifetimeValidator = (notBefore, expires, _, _) => notBefore <= broker.Time.GetUtcNow().UtcDateTime && broker.Time.GetUtcNow().UtcDateTime < expires,
        });
        validated.IsValid.Should().BeTrue(validated.Exception?.Message);
    }

    [Fact]
    public async Task With_opaque_tokens_the_default_discovery_still_finds_a_key_set_and_tokens_stay_opaque()
    {
        using var http = StartOnLoopback();

        var discovery = await http.GetDiscoveryDocumentAsync(new DiscoveryDocumentRequest
        {
            Address = http.BaseAddress!.ToString(), Policy = DefaultPolicyAtRfc8414Path,
        });

        discovery.IsError.Should().BeFalse(discovery.Error);
        discovery.KeySet!.Keys.Should().ContainSingle();
        await Registrations.EnableAsync(broker);
        var client = await Registrations.RegisterServiceClientAsync(http, "Nightly Sync");
        var token = await http.RequestClientCredentialsTokenAsync(new ClientCredentialsTokenRequest
        {
            Address = discovery.TokenEndpoint, ClientId = client.ClientId!, ClientSecret = client.ClientSecret,
        });
        token.AccessToken.Should().MatchRegex("^[0-9a-f]{64}$");
        token.ExpiresIn.Should().Be(3600);
    }

    [Fact]
    public async Task Without_a_key_set_in_discovery_the_default_policy_refuses_which_is_why_jwks_uri_is_always_there()
    {
        using var http = StartOnLoopback();
        var document = await http.GetFromJsonAsync<Dictionary<string, JsonElement>>("/.well-known/oauth-authorization-server");
        document!.Remove("jwks_uri");

        // The same document without jwks_uri, served by a handler, fails Duende's default policy.
        using var withoutKeySet = new HttpClient(new StaticDocument(JsonSerializer.Serialize(document))) { BaseAddress = http.BaseAddress };
        var discovery = await withoutKeySet.GetDiscoveryDocumentAsync(new DiscoveryDocumentRequest
        {
            Address = http.BaseAddress!.ToString(), Policy = DefaultPolicyAtRfc8414Path,
        });

        discovery.IsError.Should().BeTrue();
        discovery.Error.Should().Contain("Keyset is missing");
    }

    public void Dispose() => broker.Dispose();

    private sealed class StaticDocument(string json) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(new HttpResponseMessage(System.Net.HttpStatusCode.OK)
            {
                Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json"),
            });
    }
}

using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Broker.Core.Stores;
using Broker.Tests.Gateway;
using Duende.IdentityModel.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Tests.Tokens;

/// <summary>
/// <c>Tokens:Format=Jwt</c>: registered clients get RFC 9068 access tokens that a resource verifies with
/// Microsoft.IdentityModel against the keys published at <c>jwks_uri</c>, without asking the broker;
/// installation tokens stay opaque; the gateway still refuses a revoked client's token.
/// </summary>
public sealed class JwtAccessTokenTests : SignedInOwnerTest
{
    private static readonly string KeyEncryptionKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    public JwtAccessTokenTests()
    {
        Broker.Settings["Tokens:Format"] = "Jwt";
        // The key ring is encrypted as in production, so the signing keys are protected as they would be there.
        Broker.Settings["DataProtection:KeyEncryptionKey"] = KeyEncryptionKey;
    }

    [Fact]
    public async Task A_client_credentials_token_is_an_rfc_9068_jwt_that_verifies_against_the_published_keys()
    {
        var client = await RegisterAsync();
        var issued = Broker.Time.GetUtcNow();

        var token = await TokenAsync(client);

        token.ExpiresIn.Should().Be(600);
        var validated = await ValidateAsync(token.AccessToken!, await PublishedKeysAsync(Api), Broker.Time);
        validated.IsValid.Should().BeTrue(validated.Exception?.Message);
        var jwt = (JsonWebToken)validated.SecurityToken;
        jwt.Typ.Should().Be("at+jwt");
        jwt.Alg.Should().Be("RS256");
        jwt.GetClaim("client_id").Value.Should().Be(client.ClientId);
        jwt.Subject.Should().Be(client.ClientId, "a client acting for itself is its own subject (RFC 9068 §2.2)");
        jwt.GetClaim("scope").Value.Should().Be("public");
        jwt.Id.Should().NotBeNullOrEmpty();
        jwt.IssuedAt.Should().Be(issued.UtcDateTime.AddTicks(-(issued.UtcDateTime.Ticks % TimeSpan.TicksPerSecond)));
        (jwt.ValidTo - jwt.IssuedAt).Should().Be(TimeSpan.FromMinutes(10));

        var call = await CallGatewayAsync(token.AccessToken!);
        call.StatusCode.Should().Be(HttpStatusCode.OK);
        GatewayCalls.Header(call, "X-Ratelimit-Remaining").Should().Be("2999");
    }

    [Fact]
    public async Task A_token_changed_in_any_part_or_signed_by_another_key_is_refused_by_the_verifier_and_the_gateway()
    {
        var token = (await TokenAsync(await RegisterAsync())).AccessToken!;
        var parts = token.Split('.');
        var payload = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(Base64UrlEncoder.Decode(parts[1]))!;
        payload["scope"] = JsonSerializer.SerializeToElement("public admin");
        var widened = $"{parts[0]}.{Base64UrlEncoder.Encode(JsonSerializer.Serialize(payload))}.{parts[2]}";
        using var stranger = RSA.Create(2048);
        var forged = new JsonWebTokenHandler().CreateToken(
            parts[1].Length > 0 ? Base64UrlEncoder.Decode(parts[1]) : "{}",
            new SigningCredentials(new RsaSecurityKey(stranger) { KeyId = new JsonWebToken(token).Kid }, SecurityAlgorithms.RsaSha256));

        var keys = await PublishedKeysAsync(Api);
        foreach (var bad in new[] { widened, forged })
        {
            (await ValidateAsync(bad, keys, Broker.Time)).IsValid.Should().BeFalse();
            (await CallGatewayAsync(bad)).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        }
    }

    [Fact]
    public async Task A_revoked_clients_token_stops_at_the_gateway_and_elsewhere_verifies_only_until_it_expires()
    {
        var client = await RegisterAsync();
        var token = (await TokenAsync(client)).AccessToken!;
        var keys = await PublishedKeysAsync(Api);
        (await CallGatewayAsync(token)).StatusCode.Should().Be(HttpStatusCode.OK);

        using var delete = new HttpRequestMessage(HttpMethod.Delete, $"/oidc/register/{client.ClientId}");
        delete.Headers.Authorization = new AuthenticationHeaderValue("Bearer", client.RegistrationAccessToken);
        (await Api.SendAsync(delete)).StatusCode.Should().Be(HttpStatusCode.NoContent);
        // Past the gateway's key cache (Gateway:ClientCacheDuration), the one delay any instance has.
        Broker.Time.Advance(TimeSpan.FromSeconds(6));

        var refused = await CallGatewayAsync(token);
        refused.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await GatewayCalls.ErrorAsync(refused)).Should().Be("invalid_client");
        // A resource that verifies offline cannot know; the token's short life is the bound.
        (await ValidateAsync(token, keys, Broker.Time)).IsValid.Should().BeTrue();
        Broker.Time.Advance(TimeSpan.FromMinutes(10));
        (await ValidateAsync(token, keys, Broker.Time)).Exception.Should().BeOfType<SecurityTokenInvalidLifetimeException>();
    }

    [Fact]
    public async Task Installation_tokens_stay_opaque_and_still_make_a_child()
    {
        var token = await Flow.InstallationTokenAsync(Parent, Api);

        token.Should().MatchRegex("^[0-9a-f]{64}$");
        (await Installation.CreateChildAsync(Api, token, new { name = "My blog" })).StatusCode.Should().Be(HttpStatusCode.Created);
    }

    [Fact]
    public async Task A_token_issued_for_a_code_names_the_signed_in_owner_as_its_subject()
    {
        var redirect = "https://app.example/callback";
        var app = await Broker.CreateApplicationAsync("Photo Viewer", redirect);
        var consent = await Flow.Browser.GetAsync(Installation.AuthorizeUrl(app.Client.ClientId, redirect));
        var approved = await Flow.Browser.SubmitAsync(await Browser.FormAsync(consent, "/oauth/authorize"), ("decision", "approve"));
        var code = Browser.RedirectQuery(approved)["code"];

        var token = await Api.RequestAuthorizationCodeTokenAsync(new AuthorizationCodeTokenRequest
        {
            Address = "/oauth/token", ClientId = app.Client.ClientId, ClientSecret = app.ClientSecret, Code = code, RedirectUri = redirect,
        });

        token.IsError.Should().BeFalse(token.Error);
        var validated = await ValidateAsync(token.AccessToken!, await PublishedKeysAsync(Api), Broker.Time);
        validated.IsValid.Should().BeTrue(validated.Exception?.Message);
        var owner = await Broker.Services.GetRequiredService<IUserStore>().FindByEmailAsync("owner@blog.example");
        ((JsonWebToken)validated.SecurityToken).Subject.Should().Be(owner!.UserId);
        ((JsonWebToken)validated.SecurityToken).GetClaim("client_id").Value.Should().Be(app.Client.ClientId);
    }

    [Fact]
    public async Task Keys_rotate_on_schedule_the_next_published_before_it_signs_the_old_kept_until_its_tokens_expire()
    {
        var client = await RegisterAsync();
        var first = new JsonWebToken((await TokenAsync(client)).AccessToken!).Kid;
        (await PublishedKeyIdsAsync()).Should().Equal(first);

        // Two days (Tokens:KeyPublicationLead) before the 30-day interval ends, the next key is published, not used.
        Broker.Time.Advance(TimeSpan.FromDays(28) + TimeSpan.FromMinutes(1));
        var published = await PublishedKeyIdsAsync();
        published.Should().HaveCount(2).And.StartWith(first);
        var next = published[1];
        new JsonWebToken((await TokenAsync(client)).AccessToken!).Kid.Should().Be(first);

        // Its turn: new tokens carry it; a token the old key signed a minute before still verifies.
        var store = Broker.Services.GetRequiredService<ISigningKeyStore>();
        var turn = (await store.ListAsync()).Single(key => key.KeyId == next).SignsFrom;
        Broker.Time.Advance(turn - Broker.Time.GetUtcNow() - TimeSpan.FromMinutes(1));
        var lastOfTheOldKey = (await TokenAsync(client)).AccessToken!;
        new JsonWebToken(lastOfTheOldKey).Kid.Should().Be(first);
        Broker.Time.Advance(TimeSpan.FromMinutes(1));
        var fromTheNextKey = (await TokenAsync(client)).AccessToken!;
        new JsonWebToken(fromTheNextKey).Kid.Should().Be(next);
        var keys = await PublishedKeysAsync(Api);
        (await ValidateAsync(fromTheNextKey, keys, Broker.Time)).IsValid.Should().BeTrue();
        (await ValidateAsync(lastOfTheOldKey, keys, Broker.Time)).IsValid.Should().BeTrue();

        // Once every token the old key signed has expired (10 minutes, plus 5 of clock skew), it is gone.
        Broker.Time.Advance(TimeSpan.FromMinutes(16));
        (await PublishedKeyIdsAsync()).Should().Equal(next);
        (await store.ListAsync()).Select(key => key.KeyId).Should().Equal(next);
    }

    [Fact]
    public async Task Every_instance_signs_with_the_same_stored_keys_which_are_kept_only_protected_by_the_key_ring()
    {
        var client = await RegisterAsync();
        var fromA = (await TokenAsync(client)).AccessToken!;
        using var b = new BrokerFactory();
        b.Settings["Storage:ConnectionString"] = $"Data Source={Broker.DatabasePath}";
        b.Settings["Tokens:Format"] = "Jwt";
        b.Settings["DataProtection:KeyEncryptionKey"] = KeyEncryptionKey;
        using var onB = b.CreateApiClient();
        var fromB = (await onB.RequestClientCredentialsTokenAsync(new ClientCredentialsTokenRequest
        {
            Address = "/oauth/token", ClientId = client.ClientId!, ClientSecret = client.ClientSecret,
        })).AccessToken!;

        new JsonWebToken(fromB).Kid.Should().Be(new JsonWebToken(fromA).Kid);
        (await ValidateAsync(fromA, await PublishedKeysAsync(onB), b.Time)).IsValid.Should().BeTrue();
        var stored = (await b.Services.GetRequiredService<ISigningKeyStore>().ListAsync()).Should().ContainSingle().Subject;
        using var rsa = RSA.Create();
        FluentActions.Invoking(() => rsa.ImportPkcs8PrivateKey(Convert.FromBase64String(stored.ProtectedPrivateKey), out _))
            .Should().Throw<CryptographicException>("the private key is stored only as the key ring protected it");
    }

    [Fact]
    public async Task A_signing_key_the_key_ring_cannot_read_is_a_503_that_stores_no_token_not_a_500()
    {
        var client = await RegisterAsync();
        await TokenAsync(client);
        // As if the key ring that protected it were lost: the stored private half no longer unprotects.
        await using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Broker.DatabasePath}"))
        {
            await connection.OpenAsync();
            await using var tamper = connection.CreateCommand();
            tamper.CommandText = "UPDATE signing_keys SET protected_private_key = 'bm90IGEga2V5IHJpbmcgcGF5bG9hZA=='";
            (await tamper.ExecuteNonQueryAsync()).Should().Be(1);
        }
        // A new instance has no private key in memory yet: it reads the stored one.
        using var b = new BrokerFactory();
        b.Settings["Storage:ConnectionString"] = $"Data Source={Broker.DatabasePath}";
        b.Settings["Tokens:Format"] = "Jwt";
        b.Settings["DataProtection:KeyEncryptionKey"] = KeyEncryptionKey;
        using var onB = b.CreateApiClient();
        var tokensBefore = await CountAccessTokensAsync();

        for (var attempt = 0; attempt < 2; attempt++)
        {
            var refused = await onB.RequestClientCredentialsTokenAsync(new ClientCredentialsTokenRequest
            {
                Address = "/oauth/token", ClientId = client.ClientId!, ClientSecret = client.ClientSecret,
            });
            refused.HttpStatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
            JsonDocument.Parse(refused.Raw!).RootElement.GetProperty("error").GetString().Should().Be("temporarily_unavailable");
            refused.HttpResponse!.Headers.RetryAfter.Should().NotBeNull();
        }
        (await CountAccessTokensAsync()).Should().Be(tokensBefore);
        // The key set needs no private half: verifiers still get it.
        (await onB.GetAsync("/.well-known/jwks.json")).StatusCode.Should().Be(HttpStatusCode.OK);
    }

    private async Task<long> CountAccessTokensAsync()
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Broker.DatabasePath}");
        await connection.OpenAsync();
        await using var count = connection.CreateCommand();
        count.CommandText = "SELECT COUNT(*) FROM access_tokens";
        return (long)(await count.ExecuteScalarAsync())!;
    }

    [Fact]
    public async Task Racing_first_requests_on_two_new_instances_make_one_first_key_that_both_sign_with()
    {
        var client = await RegisterAsync();
        using var b = new BrokerFactory();
        b.Settings["Storage:ConnectionString"] = $"Data Source={Broker.DatabasePath}";
        b.Settings["Tokens:Format"] = "Jwt";
        b.Settings["DataProtection:KeyEncryptionKey"] = KeyEncryptionKey;
        using var onB = b.CreateApiClient();

        var keySets = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => (i % 2 == 0 ? Api : onB).GetStringAsync("/.well-known/jwks.json")));

        keySets.Distinct().Should().ContainSingle();
        var key = (await Broker.Services.GetRequiredService<ISigningKeyStore>().ListAsync()).Should().ContainSingle().Subject;
        // Whichever instance made the key, the other reads its private half through the shared key ring.
        new JsonWebToken((await TokenAsync(Api, client)).AccessToken!).Kid.Should().Be(key.KeyId);
        new JsonWebToken((await TokenAsync(onB, client)).AccessToken!).Kid.Should().Be(key.KeyId);
    }

    [Fact]
    public async Task The_key_set_is_rfc_7517_public_keys_only_and_cacheable_for_five_minutes()
    {
        var discovery = await Api.GetFromJsonAsync<JsonElement>("/.well-known/oauth-authorization-server");
        discovery.GetProperty("jwks_uri").GetString().Should().Be(BrokerFactory.Issuer + "/.well-known/jwks.json");

        var response = await Api.GetAsync("/.well-known/jwks.json");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Headers.CacheControl!.ToString().Should().Be("public, max-age=300");
        var key = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("keys").EnumerateArray().Should().ContainSingle().Subject;
        key.EnumerateObject().Select(property => property.Name).Should().BeEquivalentTo("kty", "use", "alg", "kid", "n", "e");
        key.GetProperty("kty").GetString().Should().Be("RSA");
        key.GetProperty("use").GetString().Should().Be("sig");
        key.GetProperty("alg").GetString().Should().Be("RS256");
    }

    private async Task<DynamicClientRegistrationResponse> RegisterAsync()
    {
        await Registrations.EnableAsync(Broker);
        return await Registrations.RegisterServiceClientAsync(Api, "Sync Service");
    }

    private Task<TokenResponse> TokenAsync(DynamicClientRegistrationResponse client) => TokenAsync(Api, client);

    private static async Task<TokenResponse> TokenAsync(HttpClient api, DynamicClientRegistrationResponse client)
    {
        var token = await api.RequestClientCredentialsTokenAsync(new ClientCredentialsTokenRequest
        {
            Address = "/oauth/token", ClientId = client.ClientId!, ClientSecret = client.ClientSecret,
        });
        token.IsError.Should().BeFalse(token.Error);
        return token;
    }

    private Task<HttpResponseMessage> CallGatewayAsync(string token)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/photos");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return Api.SendAsync(request);
    }

    private async Task<string[]> PublishedKeyIdsAsync() => (await PublishedKeysAsync(Api)).Select(key => key.KeyId).ToArray();

    /// <summary>The keys at the discovery document's jwks_uri, as a resource server reads them.</summary>
    internal static async Task<IList<SecurityKey>> PublishedKeysAsync(HttpClient api)
    {
        var discovery = await api.GetFromJsonAsync<JsonElement>("/.well-known/oauth-authorization-server");
        var jwksUri = new Uri(discovery.GetProperty("jwks_uri").GetString()!);
        return new JsonWebKeySet(await api.GetStringAsync(jwksUri.PathAndQuery)).GetSigningKeys();
    }

    /// <summary>What a resource server checks: signature by a published key, issuer, audience, <c>typ: at+jwt</c>, RS256, lifetime (on the broker's clock).</summary>
    internal static Task<TokenValidationResult> ValidateAsync(
        string token, IList<SecurityKey> keys, FakeTimeProvider time) =>
        new JsonWebTokenHandler().ValidateTokenAsync(token, new TokenValidationParameters
        {
            ValidIssuer = BrokerFactory.Issuer,
            ValidAudience = BrokerFactory.Issuer,
            IssuerSigningKeys = keys,
            ValidTypes = ["at+jwt"],
            ValidAlgorithms = [SecurityAlgorithms.RsaSha256],
            // The library reads the machine's clock; the tests run on the broker's fake one, so its exp and nbf
            // are compared with that.
            LifetimeValidator = (notBefore, expires, _, _) =>
                notBefore <= time.GetUtcNow().UtcDateTime && time.GetUtcNow().UtcDateTime < expires,
        });
}

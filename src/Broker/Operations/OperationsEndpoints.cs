using System.Text.Json;
using System.Text.Json.Serialization;
using Broker.Core.Authorization;
using Broker.Core.Clients;
using Broker.Hosting;
using Broker.Http;
using Broker.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Broker.Operations;

/// <summary>RFC 8414 authorization server metadata.</summary>
public sealed record ServerMetadata(
    [property: JsonPropertyName("issuer")] string Issuer,
    [property: JsonPropertyName("authorization_endpoint")] string AuthorizationEndpoint,
    [property: JsonPropertyName("token_endpoint")] string TokenEndpoint,
    [property: JsonPropertyName("jwks_uri")] string JwksUri,
    [property: JsonPropertyName("scopes_supported")] IReadOnlyCollection<string> ScopesSupported,
    [property: JsonPropertyName("response_types_supported")] IReadOnlyList<string> ResponseTypesSupported,
    [property: JsonPropertyName("response_modes_supported")] IReadOnlyList<string> ResponseModesSupported,
    [property: JsonPropertyName("grant_types_supported")] IReadOnlyList<string> GrantTypesSupported,
    [property: JsonPropertyName("token_endpoint_auth_methods_supported")] IReadOnlyList<string> TokenEndpointAuthMethodsSupported,
    [property: JsonPropertyName("code_challenge_methods_supported")] IReadOnlyList<string> CodeChallengeMethodsSupported,
    [property: JsonPropertyName("authorization_response_iss_parameter_supported")] bool AuthorizationResponseIssParameterSupported,
    [property: JsonPropertyName("access_token_signing_alg_values_supported")] IReadOnlyList<string> AccessTokenSigningAlgValuesSupported,
    [property: JsonPropertyName("registration_endpoint"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? RegistrationEndpoint);

/// <summary>An RFC 7517 JWK Set.</summary>
public sealed record JsonWebKeySetDocument([property: JsonPropertyName("keys")] IReadOnlyList<JsonElement> Keys);

public static class OperationsEndpoints
{
    // Verifiers may cache the key set this long; a new key is published far longer (Tokens:KeyPublicationLead) before it signs.
    private const string KeySetCaching = "public, max-age=300";

    public static IEndpointRouteBuilder MapOperations(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/.well-known/oauth-authorization-server", Metadata).WithTags("Discovery").DocumentsSecurity(ApiSecurity.None)
            .WithSummary("Authorization server metadata (RFC 8414); jwks_uri names the key set");
        routes.MapGet(OAuthPaths.Jwks, KeySet).WithTags("Discovery").DocumentsSecurity(ApiSecurity.None)
            .WithSummary("The key set that verifies JWT access tokens (RFC 7517, jwks_uri)");
        routes.MapGet("/healthz", () => TypedResults.Text("ok")).ExcludeFromDescription();
        routes.MapGet("/readyz", Ready).ExcludeFromDescription();
        // The Prometheus scrape, only when configured: it lists the parents' client ids and the traffic.
        var telemetry = routes.ServiceProvider.GetRequiredService<IOptions<TelemetryOptions>>().Value;
        if (telemetry.Prometheus)
        {
            routes.MapPrometheusScrapingEndpoint(telemetry.PrometheusPath).ExcludeFromDescription();
        }
        return routes;
    }

    private static async Task<Ok<ServerMetadata>> Metadata(IOptions<BrokerOptions> options, TenantSettings settings, CancellationToken cancellationToken)
    {
        var issuer = options.Value.Issuer.TrimEnd('/');
        // The registration endpoint is listed only while the tenant allows open registration.
        var registration = await settings.IsEnabledAsync(TenantSettings.DynamicClientRegistrationFlag, cancellationToken)
            ? issuer + OAuthPaths.Register
            : null;
        return TypedResults.Ok(new ServerMetadata(
            issuer,
            issuer + OAuthPaths.Authorize,
            issuer + OAuthPaths.Token,
            issuer + OAuthPaths.Jwks,
            AuthorizationRules.SupportedScopes,
            ["code"],
            ["query"],
            GrantRules.Supported,
            [ClientAuthMethod.ClientSecretBasic, ClientAuthMethod.ClientSecretPost, ClientAuthMethod.None],
            [Core.Authorization.Pkce.S256],
            true,
            [SigningKeys.Algorithm],
            registration));
    }

    // Published whatever Tokens:Format says, so that the key set is never missing (Duende.IdentityModel's
    // default discovery policy refuses a document without one) and turning JWTs on needs no wait.
    private static async Task<Ok<JsonWebKeySetDocument>> KeySet(HttpContext context, SigningKeys keys, CancellationToken cancellationToken)
    {
        var published = await keys.PublishedAsync(cancellationToken);
        context.Response.Headers.CacheControl = KeySetCaching;
        context.Response.Headers.Remove(Microsoft.Net.Http.Headers.HeaderNames.Pragma);
        return TypedResults.Ok(new JsonWebKeySetDocument(published.Select(key => JsonDocument.Parse(key.PublicJwk).RootElement.Clone()).ToList()));
    }

    // How long each dependency may take to answer the probe: a load balancer's probe must not hang.
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(3);

    // Ready when the database can take a write (a read still succeeds while another process holds
    // SQLite's write lock), and Redis answers too when one is configured; each is reported, so that an
    // operator sees which one is missing.
    private static async Task<JsonHttpResult<Readiness>> Ready(Database database, RedisConnection redis, CancellationToken cancellationToken)
    {
        var databaseUp = await ProbeAsync(token => database.ProbeWriteAsync(ProbeTimeout, token), cancellationToken);
        bool? redisUp = redis.IsConfigured
            ? await ProbeAsync(async token => await (await redis.GetAsync().WaitAsync(token)).GetDatabase().PingAsync().WaitAsync(token), cancellationToken)
            : null;
        var ready = databaseUp && redisUp != false;
        return TypedResults.Json(
            new Readiness(ready ? "ready" : "unavailable", State(databaseUp), redisUp is { } up ? State(up) : "not configured"),
            statusCode: ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
    }

    private static string State(bool up) => up ? "up" : "down";

    private static async Task<bool> ProbeAsync(Func<CancellationToken, Task> probe, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ProbeTimeout);
        try
        {
            // Stop waiting at the bound even when the client library does not stop at the token (a frozen
            // server that accepted the connection).
            await probe(timeout.Token).WaitAsync(ProbeTimeout, cancellationToken);
            return true;
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            // Any failure of the probe (unreachable, refused, timed out) is "down" for readiness.
            return false;
        }
    }
}

/// <summary>The readiness report: <c>status</c> (<c>ready</c> or <c>unavailable</c>) and each dependency's state.</summary>
public sealed record Readiness(
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("database")] string Database,
    [property: JsonPropertyName("redis")] string Redis);

using System.Text.Json.Serialization;
using Broker.Core.Authorization;
using Broker.Core.Clients;
using Broker.Hosting;
using Broker.Installation;
using Broker.Registration;
using Broker.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Broker.Operations;

/// <summary>RFC 8414 authorization server metadata.</summary>
public sealed record ServerMetadata(
    [property: JsonPropertyName("issuer")] string Issuer,
    [property: JsonPropertyName("authorization_endpoint")] string AuthorizationEndpoint,
    [property: JsonPropertyName("token_endpoint")] string TokenEndpoint,
    [property: JsonPropertyName("scopes_supported")] IReadOnlyCollection<string> ScopesSupported,
    [property: JsonPropertyName("response_types_supported")] IReadOnlyList<string> ResponseTypesSupported,
    [property: JsonPropertyName("response_modes_supported")] IReadOnlyList<string> ResponseModesSupported,
    [property: JsonPropertyName("grant_types_supported")] IReadOnlyList<string> GrantTypesSupported,
    [property: JsonPropertyName("token_endpoint_auth_methods_supported")] IReadOnlyList<string> TokenEndpointAuthMethodsSupported,
    [property: JsonPropertyName("code_challenge_methods_supported")] IReadOnlyList<string> CodeChallengeMethodsSupported,
    [property: JsonPropertyName("authorization_response_iss_parameter_supported")] bool AuthorizationResponseIssParameterSupported,
    [property: JsonPropertyName("registration_endpoint"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? RegistrationEndpoint);

public static class OperationsEndpoints
{
    public static IEndpointRouteBuilder MapOperations(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/.well-known/oauth-authorization-server", Metadata).ExcludeFromDescription();
        routes.MapGet("/healthz", () => TypedResults.Text("ok")).ExcludeFromDescription();
        routes.MapGet("/readyz", Ready).ExcludeFromDescription();
        return routes;
    }

    private static async Task<Ok<ServerMetadata>> Metadata(IOptions<BrokerOptions> options, TenantSettings settings, CancellationToken cancellationToken)
    {
        var issuer = options.Value.Issuer.TrimEnd('/');
        // The registration endpoint is listed only while the tenant allows open registration.
        var registration = await settings.IsEnabledAsync(TenantSettings.DynamicClientRegistrationFlag, cancellationToken)
            ? issuer + OpenRegistrationEndpoints.Path
            : null;
        return TypedResults.Ok(new ServerMetadata(
            issuer,
            issuer + AuthorizeEndpoints.Path,
            issuer + TokenEndpoint.Path,
            AuthorizationRules.SupportedScopes,
            ["code"],
            ["query"],
            TokenEndpoint.SupportedGrantTypes,
            [ClientAuthMethod.ClientSecretBasic, ClientAuthMethod.ClientSecretPost, ClientAuthMethod.None],
            [Core.Authorization.Pkce.S256],
            true,
            registration));
    }

    // Ready when the database answers.
    private static async Task<Results<Ok<string>, JsonHttpResult<OAuthErrorBody>>> Ready(Database database, CancellationToken cancellationToken)
    {
        try
        {
            await database.PingAsync(cancellationToken);
            return TypedResults.Ok("ready");
        }
        catch (Exception exception) when (exception is System.Data.Common.DbException or InvalidOperationException or TimeoutException)
        {
            return OAuthResults.Error(StatusCodes.Status503ServiceUnavailable, "temporarily_unavailable", "the database does not answer");
        }
    }
}

using System.Text.Json.Nodes;
using Broker.Core.Authorization;
using Broker.Core.Clients;
using Broker.Core.Security;
using Broker.Core.Stores;
using Broker.Hosting;
using Broker.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Broker.Registration;

/// <summary>
/// Auth0-style open dynamic registration (<c>POST /oidc/register</c>, RFC 7591), only while the
/// tenant flag is on, and RFC 7592 management of such a client with its registration access token.
/// </summary>
public static class OpenRegistrationEndpoints
{
    public const string Path = OAuthPaths.Register;

    public static IServiceCollection AddRegistration(this IServiceCollection services)
    {
        services.AddSingleton<ClientRegistrar>();
        services.AddSingleton<OpenRegistrationCap>();
        services.AddSingleton<IOpenRegistrationCap>(provider => provider.GetRequiredService<RedisConnection>().IsConfigured
            ? ActivatorUtilities.CreateInstance<RedisOpenRegistrationCap>(provider)
            : provider.GetRequiredService<OpenRegistrationCap>());
        services.AddSingleton<UnusedClientCleanup>();
        services.AddHostedService(provider => provider.GetRequiredService<UnusedClientCleanup>());
        services.AddSingleton(provider => new OpenRegistrationLimit(provider.GetRequiredService<IThrottleStore>().Create(
            "registrations-per-address", provider.GetRequiredService<IOptions<RegistrationOptions>>().Value.PermitsPerMinutePerAddress, TimeSpan.FromMinutes(1))));
        return services;
    }

    public static IEndpointRouteBuilder MapOpenRegistration(this IEndpointRouteBuilder routes)
    {
        var register = routes.MapGroup(Path).ExcludeFromDescription();
        register.MapPost("", Register);
        register.MapGet("/{clientId}", Read);
        register.MapPut("/{clientId}", Replace);
        register.MapDelete("/{clientId}", Delete);
        return routes;
    }

    private static async Task<Results<Created<JsonObject>, JsonHttpResult<OAuthErrorBody>>> Register(
        HttpContext context, TenantSettings settings, ClientRegistrar registrar, IOpenRegistrationCap cap,
        OpenRegistrationLimit limit, IOptions<BrokerOptions> broker)
    {
        // Reject while the tenant has not turned open registration on.
        if (!await settings.IsEnabledAsync(TenantSettings.DynamicClientRegistrationFlag, context.RequestAborted))
        {
            return OAuthResults.Error(StatusCodes.Status403Forbidden, OAuthErrors.AccessDenied,
                "open dynamic client registration is disabled for this tenant");
        }
        // Reject an address that registers too often.
        var address = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        if (await limit.Throttle.TryTakePermitAsync(address, context.RequestAborted) is { } retryAfter)
        {
            return OAuthResults.TooManyRequests(context, retryAfter, OAuthErrors.InvalidRequest, "too many registrations from this address; retry later");
        }
        var (metadata, error) = await ReadMetadataAsync(context.Request);
        if (error is not null)
        {
            return error;
        }
        // Reject once the tenant holds its cap of open-registered clients.
        if (!await cap.HasRoomAsync(context.RequestAborted))
        {
            return OAuthResults.Error(StatusCodes.Status403Forbidden, OAuthErrors.AccessDenied,
                "this tenant has reached its limit of open-registered clients");
        }
        var issued = await registrar.CreateAsync(metadata!, RegistrationSource.Open,
            AdminAuthentication.Actor(context, "open-registration"), context.RequestAborted);
        // Reject a client_name already in use (names are unique, as in the Okta seed).
        if (issued is null)
        {
            return OAuthResults.BadRequest(OAuthErrors.InvalidClientMetadata, $"client_name '{metadata!.ClientName}' is already in use");
        }
        cap.Registered();
        var location = RegistrationClientUri(broker.Value, issued.Client.ClientId);
        return TypedResults.Created(location, ClientRegistrar.Document(issued, location));
    }

    private static async Task<Results<Ok<JsonObject>, JsonHttpResult<OAuthErrorBody>>> Read(
        HttpContext context, IClientStore clients, IOptions<BrokerOptions> broker, string clientId)
    {
        var client = await AuthorizedClientAsync(context, clients, clientId);
        if (client is null)
        {
            return InvalidRegistrationToken(context);
        }
        return TypedResults.Ok(ClientRegistrar.Document(new IssuedClient(client, null, null), RegistrationClientUri(broker.Value, clientId)));
    }

    private static async Task<Results<Ok<JsonObject>, JsonHttpResult<OAuthErrorBody>>> Replace(
        HttpContext context, IClientStore clients, ClientRegistrar registrar, IOptions<BrokerOptions> broker, string clientId)
    {
        var client = await AuthorizedClientAsync(context, clients, clientId);
        if (client is null)
        {
            return InvalidRegistrationToken(context);
        }
        var (document, problem) = await RequestJson.TryReadAsync(context.Request, context.RequestAborted);
        if (document is null)
        {
            return OAuthResults.BadRequest(OAuthErrors.InvalidClientMetadata, problem!);
        }
        using (document)
        {
            // Reject a body naming another client, or changing any other field only the server sets.
            var serverFieldsProblem = ServerControlledFields.Problem(document.RootElement, client,
                RegistrationClientUri(broker.Value, clientId), clientIdRequired: true);
            if (serverFieldsProblem is not null)
            {
                return OAuthResults.BadRequest(serverFieldsProblem.Error, serverFieldsProblem.Description);
            }
            // Every validation rule runs again, as at registration.
            var validation = ClientMetadataRules.Validate(document.RootElement, MetadataContract.OpenRegistration);
            if (validation.Error is not null)
            {
                return OAuthResults.BadRequest(validation.Error.Error, validation.Error.Description);
            }
            var (issued, outcome) = await registrar.ReplaceAsync(client, validation.Metadata!,
                AdminAuthentication.Actor(context, $"registration:{clientId}"), context.RequestAborted);
            return outcome switch
            {
                WriteOutcome.Done => TypedResults.Ok(ClientRegistrar.Document(issued!, RegistrationClientUri(broker.Value, clientId))),
                WriteOutcome.Conflict => OAuthResults.BadRequest(OAuthErrors.InvalidClientMetadata, $"client_name '{validation.Metadata!.ClientName}' is already in use"),
                _ => InvalidRegistrationToken(context),
            };
        }
    }

    private static async Task<Results<NoContent, JsonHttpResult<OAuthErrorBody>>> Delete(
        HttpContext context, IClientStore clients, ClientRegistrar registrar, string clientId)
    {
        var client = await AuthorizedClientAsync(context, clients, clientId);
        if (client is null || !await registrar.DeleteAsync(client, AdminAuthentication.Actor(context, $"registration:{clientId}"), context.RequestAborted))
        {
            return InvalidRegistrationToken(context);
        }
        return TypedResults.NoContent();
    }

    /// <summary>The metadata of a registration request, or the RFC 7591 error response.</summary>
    private static async Task<(ClientMetadata? Metadata, JsonHttpResult<OAuthErrorBody>? Error)> ReadMetadataAsync(HttpRequest request)
    {
        var (document, problem) = await RequestJson.TryReadAsync(request, request.HttpContext.RequestAborted);
        if (document is null)
        {
            return (null, OAuthResults.BadRequest(OAuthErrors.InvalidClientMetadata, problem!));
        }
        using (document)
        {
            var validation = ClientMetadataRules.Validate(document.RootElement, MetadataContract.OpenRegistration);
            return validation.Error is null
                ? (validation.Metadata, null)
                : (null, OAuthResults.BadRequest(validation.Error.Error, validation.Error.Description));
        }
    }

    // The client named in the path, when the bearer token is its registration access token (fixed-time compare).
    // Unknown client, wrong token and deleted client look the same, so the endpoint reveals nothing.
    private static async Task<Client?> AuthorizedClientAsync(HttpContext context, IClientStore clients, string clientId)
    {
        var token = BearerTokens.FromHeader(context.Request);
        if (token is null || !Secret.IsWellFormedClientId(clientId))
        {
            return null;
        }
        var client = await clients.FindAsync(clientId, context.RequestAborted);
        return client is { DeletedAt: null } && Secret.Matches(token, client.RegistrationTokenHash) ? client : null;
    }

    private static JsonHttpResult<OAuthErrorBody> InvalidRegistrationToken(HttpContext context) =>
        OAuthResults.BearerError(context, StatusCodes.Status401Unauthorized, OAuthErrors.InvalidToken,
            "the registration access token is missing, invalid, or not for this client");

    /// <summary>Where RFC 7592 manages an open-registered client.</summary>
    internal static string RegistrationClientUri(BrokerOptions broker, string clientId) =>
        $"{broker.Issuer.TrimEnd('/')}{Path}/{clientId}";
}

/// <summary>The per-address limit on open registrations (a singleton).</summary>
public sealed record OpenRegistrationLimit(IKeyedThrottle Throttle);

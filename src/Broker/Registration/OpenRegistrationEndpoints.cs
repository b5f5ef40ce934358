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

    // The registration metric's source for this endpoint.
    private const string Open = "open";

    public static IServiceCollection AddRegistration(this IServiceCollection services)
    {
        services.AddSingleton<ClientRegistrar>();
        services.AddSingleton<SoftwareStatements>();
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
        var register = routes.MapGroup(Path).WithTags("Open registration (RFC 7591, RFC 7592)");
        register.MapPost("", Register).DocumentsSecurity(ApiSecurity.None).DocumentsDryRun()
            .WithSummary("Register a client (RFC 7591), while the tenant allows open registration")
            .DocumentsBody<JsonObject>("application/json")
            .Produces<OAuthErrorBody>(StatusCodes.Status400BadRequest, "application/json")
            .Produces<OAuthErrorBody>(StatusCodes.Status403Forbidden, "application/json")
            .Produces<OAuthErrorBody>(StatusCodes.Status429TooManyRequests, "application/json");
        register.MapGet("/{clientId}", Read).DocumentsSecurity(ApiSecurity.RegistrationAccessToken)
            .WithSummary("Read a registered client (RFC 7592)")
            .Produces<OAuthErrorBody>(StatusCodes.Status401Unauthorized, "application/json");
        register.MapPut("/{clientId}", Replace).DocumentsSecurity(ApiSecurity.RegistrationAccessToken).DocumentsDryRun()
            .WithSummary("Replace a registered client's metadata (RFC 7592)")
            .DocumentsBody<JsonObject>("application/json")
            .Produces<OAuthErrorBody>(StatusCodes.Status400BadRequest, "application/json")
            .Produces<OAuthErrorBody>(StatusCodes.Status401Unauthorized, "application/json");
        register.MapDelete("/{clientId}", Delete).DocumentsSecurity(ApiSecurity.RegistrationAccessToken)
            .WithSummary("Delete a registered client (RFC 7592)")
            .Produces<OAuthErrorBody>(StatusCodes.Status401Unauthorized, "application/json");
        return routes;
    }

    private static async Task<Results<Created<JsonObject>, Ok<JsonObject>, JsonHttpResult<OAuthErrorBody>>> Register(
        HttpContext context, TenantSettings settings, ClientRegistrar registrar, IOpenRegistrationCap cap,
        OpenRegistrationLimit limit, SoftwareStatements statements, IOptions<BrokerOptions> broker, BrokerTelemetry telemetry)
    {
        // Reject while the tenant has not turned open registration on.
        if (!await settings.IsEnabledAsync(TenantSettings.DynamicClientRegistrationFlag, context.RequestAborted))
        {
            telemetry.Registration(Open, "disabled");
            return OAuthResults.Error(StatusCodes.Status403Forbidden, OAuthErrors.AccessDenied,
                "open dynamic client registration is disabled for this tenant");
        }
        var (dryRun, dryRunProblem) = DryRun.Read(context.Request);
        if (dryRunProblem is not null)
        {
            return OAuthResults.BadRequest(OAuthErrors.InvalidRequest, dryRunProblem);
        }
        // Reject an address that registers too often (a dry-run takes its one permit too: it is a request).
        var address = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        if (await limit.Throttle.TryTakePermitAsync(address, context.RequestAborted) is { } retryAfter)
        {
            telemetry.Registration(Open, "throttled");
            telemetry.Throttled("registrations-per-address", address, retryAfter);
            return OAuthResults.TooManyRequests(context, retryAfter, OAuthErrors.InvalidRequest, "too many registrations from this address; retry later");
        }
        var (check, statement, unreadable) = await ReadMetadataAsync(context.Request, statements);
        if (unreadable is not null)
        {
            telemetry.Registration(Open, "invalid_metadata");
            return unreadable;
        }
        if (check!.Refusals.Count > 0)
        {
            telemetry.Registration(Open, "invalid_metadata");
            return OAuthResults.Refused(check.Refusals, dryRun);
        }
        var metadata = check.Metadata!;
        // Reject once the tenant holds its cap of open-registered clients.
        if (!await cap.HasRoomAsync(context.RequestAborted))
        {
            telemetry.Registration(Open, "capped");
            return OAuthResults.Error(StatusCodes.Status403Forbidden, OAuthErrors.AccessDenied,
                "this tenant has reached its limit of open-registered clients");
        }
        if (dryRun)
        {
            return await registrar.NameInUseAsync(metadata.ClientName, null, context.RequestAborted)
                ? OAuthResults.Refused([ClientMetadataRules.NameInUse(metadata.ClientName)], dryRun)
                : TypedResults.Ok(ClientRegistrar.Preview(metadata));
        }
        var issued = await registrar.CreateAsync(metadata, RegistrationSource.Open,
            AdminAuthentication.Actor(context, "open-registration"), context.RequestAborted, statement?.Issuer);
        // Reject a client_name already in use (names are unique, as in the Okta seed).
        if (issued is null)
        {
            return OAuthResults.Refused([ClientMetadataRules.NameInUse(metadata.ClientName)], dryRun);
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
        var (dryRun, dryRunProblem) = DryRun.Read(context.Request);
        if (dryRunProblem is not null)
        {
            return OAuthResults.BadRequest(OAuthErrors.InvalidRequest, dryRunProblem);
        }
        var (document, problem) = await RequestJson.TryReadAsync(context.Request, context.RequestAborted);
        if (document is null)
        {
            return OAuthResults.BadRequest(OAuthErrors.InvalidClientMetadata, problem!);
        }
        using (document)
        {
            // Reject a body naming another client, or changing any other field only the server sets; then
            // every validation rule runs again, as at registration.
            var check = ClientMetadataRules.Check(document.RootElement, MetadataContract.OpenRegistration);
            IReadOnlyList<Refusal> refusals = [.. ServerControlledFields.Refusals(document.RootElement, client,
                RegistrationClientUri(broker.Value, clientId), clientIdRequired: true), .. check.Refusals];
            if (refusals.Count > 0)
            {
                return OAuthResults.Refused(refusals, dryRun);
            }
            var metadata = check.Metadata!;
            if (dryRun)
            {
                return await registrar.NameInUseAsync(metadata.ClientName, clientId, context.RequestAborted)
                    ? OAuthResults.Refused([ClientMetadataRules.NameInUse(metadata.ClientName)], dryRun)
                    : TypedResults.Ok(ClientRegistrar.Preview(metadata, clientId));
            }
            var (issued, outcome) = await registrar.ReplaceAsync(client, metadata,
                AdminAuthentication.Actor(context, $"registration:{clientId}"), context.RequestAborted);
            return outcome switch
            {
                WriteOutcome.Done => TypedResults.Ok(ClientRegistrar.Document(issued!, RegistrationClientUri(broker.Value, clientId))),
                WriteOutcome.Conflict => OAuthResults.Refused([ClientMetadataRules.NameInUse(metadata.ClientName)], dryRun),
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

    /// <summary>
    /// Every rule's verdict on a registration request, the software statement's first: with a verified
    /// statement the rules judge the request's metadata under the statement's signed fields. Or the
    /// RFC 7591 error for a body that cannot be read.
    /// </summary>
    private static async Task<(MetadataCheck? Check, VerifiedStatement? Statement, JsonHttpResult<OAuthErrorBody>? Unreadable)> ReadMetadataAsync(
        HttpRequest request, SoftwareStatements statements)
    {
        var (document, problem) = await RequestJson.TryReadAsync(request, request.HttpContext.RequestAborted);
        if (document is null)
        {
            return (null, null, OAuthResults.BadRequest(OAuthErrors.InvalidClientMetadata, problem!));
        }
        using (document)
        {
            var (statement, refused) = await statements.VerifyAsync(document.RootElement, request.HttpContext.RequestAborted);
            if (statement is null)
            {
                var check = ClientMetadataRules.Check(document.RootElement, MetadataContract.OpenRegistration);
                return (refused is null ? check : new MetadataCheck(null, [refused, .. check.Refusals]), null, null);
            }
            using var merged = SoftwareStatements.Merge(document.RootElement, statement);
            return (ClientMetadataRules.Check(merged.RootElement, MetadataContract.OpenRegistration), statement, null);
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

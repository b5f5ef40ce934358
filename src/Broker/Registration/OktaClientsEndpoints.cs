using Broker.Core.Platform;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Core.Authorization;
using Broker.Core.Clients;
using Broker.Core.Security;
using Broker.Core.Stores;
using Broker.Hosting;
using Broker.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;

namespace Broker.Registration;

/// <summary>The Okta seed's client management API over the one client model (admin-authenticated).</summary>
public static class OktaClientsEndpoints
{
    public const string Path = "/oauth2/v1/clients";
    public const int DefaultLimit = 200;

    public static IEndpointRouteBuilder MapOktaClients(this IEndpointRouteBuilder routes)
    {
        var clients = routes.MapGroup(Path).WithTags("Okta client management").WithErrorFormat(ErrorFormat.Problem);
        clients.MapPost("", Create).RequireAdmin(AdminScopes.ClientsWrite).DocumentsDryRun();
        clients.MapGet("", List).RequireAdmin(AdminScopes.ClientsRead);
        clients.MapGet("/{clientId}", Read).RequireAdmin(AdminScopes.ClientsRead);
        clients.MapPut("/{clientId}", Replace).RequireAdmin(AdminScopes.ClientsWrite).DocumentsDryRun();
        clients.MapPost("/{clientId}/lifecycle/newSecret", NewSecret).RequireAdmin(AdminScopes.ClientsWrite);
        clients.MapPut("/{clientId}/lifecycle/newSecret", NewSecret).RequireAdmin(AdminScopes.ClientsWrite);
        clients.MapDelete("/{clientId}", Delete).RequireAdmin(AdminScopes.ClientsWrite);
        return routes;
    }

    private static async Task<Results<Created<JsonObject>, Ok<JsonObject>, ProblemHttpResult>> Create(HttpContext context, ClientRegistrar registrar)
    {
        var (dryRun, dryRunProblem) = DryRun.Read(context.Request);
        if (dryRunProblem is not null)
        {
            return ManagementProblems.Problem(StatusCodes.Status400BadRequest, "Invalid dry_run", dryRunProblem, OAuthErrors.InvalidRequest);
        }
        var (metadata, problem) = await ReadMetadataAsync(context.Request, MetadataContract.OktaCreate, dryRun);
        if (problem is not null)
        {
            return problem;
        }
        if (dryRun)
        {
            return await registrar.NameInUseAsync(metadata!.ClientName, null, context.RequestAborted)
                ? ManagementProblems.Refused([ClientMetadataRules.NameInUse(metadata.ClientName)], dryRun)
                : TypedResults.Ok(ClientRegistrar.Preview(metadata));
        }
        var issued = await registrar.CreateAsync(metadata!, RegistrationSource.Admin, AdminAuthentication.Actor(context), context.RequestAborted);
        // Reject a client_name in use: the Okta table marks it unique.
        if (issued is null)
        {
            return ManagementProblems.Refused([ClientMetadataRules.NameInUse(metadata!.ClientName)], dryRun);
        }
        return TypedResults.Created($"{Path}/{issued.Client.ClientId}", ClientRegistrar.Document(issued));
    }

    private static async Task<Results<Ok<JsonArray>, ProblemHttpResult>> List(
        HttpContext context, IClientStore clients, IOptions<BrokerOptions> broker, string? q, string? limit, string? after)
    {
        var pageSize = DefaultLimit;
        // Reject a limit that is not a whole number from 1 to 200.
        if (limit is not null && (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out pageSize) || pageSize is < 1 or > DefaultLimit))
        {
            return ManagementProblems.Problem(StatusCodes.Status400BadRequest, "Invalid limit", $"limit must be a whole number from 1 to {DefaultLimit}");
        }
        // Reject a cursor that is not one we hand out.
        if (after is not null && !Secret.IsWellFormedClientId(after))
        {
            return ManagementProblems.Problem(StatusCodes.Status400BadRequest, "Invalid cursor", "after must be a cursor taken from a Link header");
        }
        if (q is { Length: > ClientText.MaxNameLength })
        {
            return ManagementProblems.Problem(StatusCodes.Status400BadRequest, "Invalid query", $"q must be at most {ClientText.MaxNameLength} characters");
        }
        var page = await clients.ListManagedAsync(string.IsNullOrEmpty(q) ? null : q, pageSize, after, context.RequestAborted);
        var baseUrl = broker.Value.Issuer.TrimEnd('/') + Path;
        var query = new Dictionary<string, string?>();
        if (!string.IsNullOrEmpty(q))
        {
            query["q"] = q;
        }
        if (limit is not null)
        {
            query["limit"] = limit;
        }
        var links = new List<string> { $"<{QueryHelpers.AddQueryString(baseUrl, after is null ? query : new Dictionary<string, string?>(query) { ["after"] = after })}>; rel=\"self\"" };
        // A full page may have a successor: link to it with the last client as the cursor.
        if (page.Count == pageSize)
        {
            links.Add($"<{QueryHelpers.AddQueryString(baseUrl, new Dictionary<string, string?>(query) { ["after"] = page[^1].ClientId })}>; rel=\"next\"");
        }
        context.Response.Headers.Link = links.ToArray();
        return TypedResults.Ok(new JsonArray([.. page.Select(client => (JsonNode)ClientRegistrar.Document(new IssuedClient(client, null, null)))]));
    }

    private static async Task<Results<Ok<JsonObject>, ProblemHttpResult>> Read(HttpContext context, IClientStore clients, string clientId)
    {
        var client = await ManagedClientAsync(clients, clientId, context.RequestAborted);
        return client is null
            ? ManagementProblems.NotFound(clientId)
            : TypedResults.Ok(ClientRegistrar.Document(new IssuedClient(client, null, null)));
    }

    private static async Task<Results<Ok<JsonObject>, ProblemHttpResult>> Replace(
        HttpContext context, IClientStore clients, ClientRegistrar registrar, IOptions<BrokerOptions> broker, string clientId)
    {
        var client = await ManagedClientAsync(clients, clientId, context.RequestAborted);
        if (client is null)
        {
            return ManagementProblems.NotFound(clientId);
        }
        // A client_id in the body must be the one in the path (as RFC 7592's PUT requires), and the
        // other server-set fields may only be echoed, never changed.
        var registrationClientUri = client.Source == RegistrationSource.Open
            ? OpenRegistrationEndpoints.RegistrationClientUri(broker.Value, clientId)
            : null;
        var (dryRun, dryRunProblem) = DryRun.Read(context.Request);
        if (dryRunProblem is not null)
        {
            return ManagementProblems.Problem(StatusCodes.Status400BadRequest, "Invalid dry_run", dryRunProblem, OAuthErrors.InvalidRequest);
        }
        var (metadata, problem) = await ReadMetadataAsync(context.Request, MetadataContract.OktaReplace, dryRun,
            document => ServerControlledFields.Refusals(document, client, registrationClientUri, clientIdRequired: false));
        if (problem is not null)
        {
            return problem;
        }
        if (dryRun)
        {
            return await registrar.NameInUseAsync(metadata!.ClientName, clientId, context.RequestAborted)
                ? ManagementProblems.Refused([ClientMetadataRules.NameInUse(metadata.ClientName)], dryRun)
                : TypedResults.Ok(ClientRegistrar.Preview(metadata, clientId));
        }
        var (issued, outcome) = await registrar.ReplaceAsync(client, metadata!, AdminAuthentication.Actor(context), context.RequestAborted);
        return outcome switch
        {
            WriteOutcome.Done => TypedResults.Ok(ClientRegistrar.Document(issued!)),
            WriteOutcome.Conflict => ManagementProblems.Refused([ClientMetadataRules.NameInUse(metadata!.ClientName)], dryRun),
            _ => ManagementProblems.NotFound(clientId),
        };
    }

    private static async Task<Results<Ok<JsonObject>, ProblemHttpResult>> NewSecret(
        HttpContext context, IClientStore clients, ClientRegistrar registrar, string clientId)
    {
        var client = await ManagedClientAsync(clients, clientId, context.RequestAborted);
        if (client is null)
        {
            return ManagementProblems.NotFound(clientId);
        }
        // Reject clients that authenticate without a secret (the seed: only client_secret_post/basic).
        if (client.IsPublic)
        {
            return ManagementProblems.Problem(StatusCodes.Status400BadRequest, "No secret to renew",
                "this client's token_endpoint_auth_method is none; it has no secret", OAuthErrors.InvalidClientMetadata);
        }
        var issued = await registrar.NewSecretAsync(client, AdminAuthentication.Actor(context), context.RequestAborted);
        return issued is null ? ManagementProblems.NotFound(clientId) : TypedResults.Ok(ClientRegistrar.Document(issued));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> Delete(
        HttpContext context, IClientStore clients, ClientRegistrar registrar, string clientId)
    {
        var client = await ManagedClientAsync(clients, clientId, context.RequestAborted);
        if (client is null || !await registrar.DeleteAsync(client, AdminAuthentication.Actor(context), context.RequestAborted))
        {
            return ManagementProblems.NotFound(clientId);
        }
        return TypedResults.NoContent();
    }

    // Children are the installations' own and are managed under /admin/v1; deleted clients are gone.
    private static async Task<Client?> ManagedClientAsync(IClientStore clients, string clientId, CancellationToken cancellationToken)
    {
        if (!Secret.IsWellFormedClientId(clientId))
        {
            return null;
        }
        var client = await clients.FindAsync(clientId, cancellationToken);
        return client is { DeletedAt: null } and not { Role: InstallationRole } ? client : null;
    }

    // The metadata, or the refusal: the first for a real write, every one for a dry-run. The server-set
    // fields of a replace are judged before the metadata, so their refusals come first.
    private static async Task<(ClientMetadata? Metadata, ProblemHttpResult? Problem)> ReadMetadataAsync(
        HttpRequest request, MetadataContract contract, bool dryRun, Func<JsonElement, IReadOnlyList<Refusal>>? firstRules = null)
    {
        var (document, problem) = await RequestJson.TryReadAsync(request, request.HttpContext.RequestAborted);
        if (document is null)
        {
            return (null, ManagementProblems.Invalid(OAuthErrors.InvalidClientMetadata, problem!));
        }
        using (document)
        {
            var check = ClientMetadataRules.Check(document.RootElement, contract);
            IReadOnlyList<Refusal> refusals = [.. firstRules?.Invoke(document.RootElement) ?? [], .. check.Refusals];
            return refusals.Count == 0
                ? (check.Metadata, null)
                : (null, ManagementProblems.Refused(refusals, dryRun));
        }
    }
}

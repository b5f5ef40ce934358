using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Broker.Core.Authorization;
using Broker.Core.Clients;
using Broker.Core.Platform;
using Broker.Core.Security;
using Broker.Core.Stores;
using Broker.Hosting;
using Broker.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Broker.Installation;

/// <summary>The seed's step 4 response.</summary>
public sealed record ChildCreated(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("description")] string Description,
    [property: JsonPropertyName("client_id")] string ClientId);

/// <summary>The seed's step 4 request, as the OpenAPI document describes it (the handler reads the body itself).</summary>
public sealed record NewInstallation(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("description")] string Description);

/// <summary>What <c>POST /clients?dry_run=true</c> answers: the installation as it would be created (no id is minted).</summary>
public sealed record ChildPreview(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("description")] string Description,
    [property: JsonPropertyName("parent_client_id")] string ParentClientId,
    [property: JsonPropertyName("origin")] string? Origin);

/// <summary>
/// <c>POST /clients</c>: spends a parent's one-time installation token and mints the installation's
/// own child application. Retries carrying the same <c>Idempotency-Key</c> get the first answer back.
/// </summary>
public static class ClientsEndpoint
{
    public const string Path = "/clients";

    public static IEndpointRouteBuilder MapClients(this IEndpointRouteBuilder routes)
    {
        routes.MapPost(Path, CreateChild).WithTags("Installation").DocumentsSecurity(ApiSecurity.InstallationToken).DocumentsDryRun()
            .WithSummary("Create the installation's own application, spending the one-time installation token")
            .DocumentsBody<NewInstallation>("application/json", "application/x-www-form-urlencoded")
            .Produces<OAuthErrorBody>(StatusCodes.Status400BadRequest, "application/json")
            .Produces<OAuthErrorBody>(StatusCodes.Status401Unauthorized, "application/json")
            .Produces<OAuthErrorBody>(StatusCodes.Status403Forbidden, "application/json");
        return routes;
    }

    private sealed record ChildRequest(string Name, string Description)
    {
        public string Fingerprint => IdempotencyRules.Fingerprint(Name, Description);
    }

    private static async Task<Results<Created<ChildCreated>, Ok<ChildPreview>, JsonHttpResult<OAuthErrorBody>>> CreateChild(
        HttpContext context, IClientStore clients, IGrantStore grants, IInFlightSpends inFlight, TimeProvider time, BrokerTelemetry telemetry)
    {
        using var activity = BrokerTelemetry.Source.StartActivity("create installation");
        var presented = BearerTokens.FromHeader(context.Request);
        // Reject a call without a bearer token.
        if (presented is null)
        {
            return OAuthResults.BearerError(context, StatusCodes.Status401Unauthorized, OAuthErrors.InvalidToken,
                "an installation token is required as Authorization: Bearer");
        }
        var tokenHash = Secret.Hash(presented);
        var token = await grants.FindTokenAsync(tokenHash, context.RequestAborted);
        var now = time.GetUtcNow();
        // Reject unknown and revoked tokens.
        if (token is null || token.RevokedAt is not null || (token.ExpiresAt is { } expires && expires <= now))
        {
            return InvalidToken(context, "the token is unknown, expired or revoked");
        }
        // Reject tokens that are not installation tokens: they may not mint applications.
        if (!InstallationRules.MayCreateChild(token))
        {
            return OAuthResults.BearerError(context, StatusCodes.Status403Forbidden, OAuthErrors.InsufficientScope,
                "this token may not create applications; only a parent's installation token may");
        }
        var parent = await clients.FindAsync(token.ClientId, context.RequestAborted);
        // Reject when the parent has since been revoked, disabled or demoted.
        if (!InstallationRules.MayInstall(parent))
        {
            return InvalidToken(context, "the application that issued this token may no longer create installations");
        }
        var (idempotencyKey, keyProblem) = IdempotencyRules.ParseKey(context.Request.Headers["Idempotency-Key"]);
        if (keyProblem is not null)
        {
            return OAuthResults.BadRequest(OAuthErrors.InvalidRequest, keyProblem);
        }
        var (dryRun, dryRunProblem) = DryRun.Read(context.Request);
        if (dryRunProblem is not null)
        {
            return OAuthResults.BadRequest(OAuthErrors.InvalidRequest, dryRunProblem);
        }
        var body = await ReadBodyAsync(context.Request, context.RequestAborted);
        if (token.SpentAt is not null)
        {
            // A dry-run has nothing to replay: a spent token creates nothing more.
            return dryRun ? InvalidToken(context, "the token was already used") : await ReplayAsync(context, token, idempotencyKey, body, clients);
        }
        // Reject an unreadable body; the token stays unspent.
        if (body.Problem is not null)
        {
            return OAuthResults.BadRequest(OAuthErrors.InvalidClientMetadata, body.Problem);
        }
        // Reject an invalid name or description; the token stays unspent.
        if (body.Refusals.Count > 0)
        {
            return OAuthResults.Refused(body.Refusals, dryRun);
        }
        // A dry-run stops here: the token is neither spent nor held, and no child is made.
        if (dryRun)
        {
            var preview = InstallationRules.Child("", body.Request!.Name, body.Request.Description, parent!, token, now);
            return TypedResults.Ok(new ChildPreview(preview.Name, preview.Description, parent!.ClientId, token.Origin));
        }
        // Reject a retry while the first call with this token is still running (IETF idempotency draft).
        if (!await inFlight.TryBeginAsync(tokenHash, context.RequestAborted))
        {
            return idempotencyKey is not null
                ? OAuthResults.Error(StatusCodes.Status409Conflict, OAuthErrors.InvalidRequest,
                    "a request with this token is still in progress; retry shortly with the same Idempotency-Key")
                : InvalidToken(context, "the token is being used by another request");
        }
        try
        {
            var child = InstallationRules.Child(Secret.NewClientId(now), body.Request!.Name, body.Request.Description, parent!, token, now);
            var audit = AdminAuthentication.Actor(context, AuditActions.User(token.UserId ?? "unknown"))
                .Entry(AuditActions.ChildCreated, AuditActions.Client(child.ClientId), now, $"parent {parent!.ClientId}, origin {token.Origin}");
            var outcome = await grants.SpendInstallationTokenAsync(
                tokenHash, idempotencyKey, body.Request.Fingerprint, child, now, audit, context.RequestAborted);
            if (outcome == SpendOutcome.Created)
            {
                telemetry.InstallationStep(InstallationSteps.Completed);
                activity?.SetTag(BrokerTelemetry.ParentTag, parent!.ClientId);
                return TypedResults.Created((string?)null, new ChildCreated(child.Name, child.Description, child.ClientId));
            }
            // Lost a race (another instance spent it first): answer as a retry would be answered.
            var current = await grants.FindTokenAsync(tokenHash, context.RequestAborted);
            return current?.SpentAt is not null
                ? await ReplayAsync(context, current, idempotencyKey, body, clients)
                : InvalidToken(context, "the token is unknown, expired or revoked");
        }
        finally
        {
            await inFlight.EndAsync(tokenHash);
        }
    }

    // A spent token: the first response again for the same key and body, else a refusal.
    private static async Task<Results<Created<ChildCreated>, Ok<ChildPreview>, JsonHttpResult<OAuthErrorBody>>> ReplayAsync(
        HttpContext context, AccessToken token, string? idempotencyKey, ParsedBody body, IClientStore clients)
    {
        switch (IdempotencyRules.Decide(idempotencyKey, body.Request?.Fingerprint, token.IdempotencyKey, token.RequestFingerprint))
        {
            case ReplayDecision.AlreadyUsed:
                return InvalidToken(context, "the token was already used");
            case ReplayDecision.DifferentBody:
                return OAuthResults.Error(StatusCodes.Status422UnprocessableEntity, OAuthErrors.InvalidRequest,
                    "this Idempotency-Key was used with a different request body");
        }
        var child = token.ChildClientId is null ? null : await clients.FindAsync(token.ChildClientId, context.RequestAborted);
        if (child is null)
        {
            return InvalidToken(context, "the token was already used");
        }
        return TypedResults.Created((string?)null, new ChildCreated(child.Name, child.Description, child.ClientId));
    }

    private static JsonHttpResult<OAuthErrorBody> InvalidToken(HttpContext context, string description) =>
        OAuthResults.BearerError(context, StatusCodes.Status401Unauthorized, OAuthErrors.InvalidToken, description);

    // An unreadable body has a Problem; a readable one has its name and description, or their refusals.
    private sealed record ParsedBody(ChildRequest? Request, string? Problem, IReadOnlyList<Refusal> Refusals)
    {
        public ParsedBody(string problem) : this(null, problem, []) { }
    }

    private static async Task<ParsedBody> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        string? name;
        string? description;
        if (RequestForms.IsUrlEncodedForm(request) || request.HasFormContentType)
        {
            var form = await RequestForms.TryReadFormAsync(request, cancellationToken);
            if (form is null)
            {
                return new ParsedBody("the body is not a well-formed form");
            }
            if (form["name"].Count > 1 || form["description"].Count > 1)
            {
                return new ParsedBody("name and description must each appear once");
            }
            name = RequestForms.SingleValue(form["name"]);
            description = RequestForms.SingleValue(form["description"]);
        }
        else if (RequestJson.IsJson(request))
        {
            var parsed = await ReadJsonAsync(request, cancellationToken);
            if (parsed.Problem is not null)
            {
                return new ParsedBody(parsed.Problem);
            }
            (name, description) = (parsed.Name, parsed.Description);
        }
        else
        {
            return new ParsedBody("the body must be application/json or application/x-www-form-urlencoded");
        }
        var refusals = ClientText.ChildRefusals(name, description);
        return refusals.Count == 0
            ? new ParsedBody(new ChildRequest(name!.Trim(), description ?? ""), null, [])
            : new ParsedBody(null, null, refusals);
    }

    private static async Task<(string? Name, string? Description, string? Problem)> ReadJsonAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var (document, problem) = await RequestJson.TryReadAsync(request, cancellationToken);
        if (document is null)
        {
            return (null, null, problem);
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return (null, null, "the body must be a JSON object");
            }
            string? name = null;
            string? description = null;
            foreach (var property in document.RootElement.EnumerateObject())
            {
                // Unknown fields are ignored; known ones must be strings (description may be null). The reader
                // has refused a name given twice.
                if (property.Name is not ("name" or "description"))
                {
                    continue;
                }
                if (!Core.JsonText.TryGetString(property.Value, out var text) || (text is null && property.Name == "name"))
                {
                    return (null, null, $"'{property.Name}' must be a string of valid Unicode text");
                }
                if (property.Name == "name")
                {
                    name = text;
                }
                else
                {
                    description = text;
                }
            }
            return (name, description, null);
        }
    }
}

using System.Text.Json;
using System.Text.Json.Serialization;
using Broker.Core.Platform;
using Broker.Core.Security;
using Broker.Core.Webhooks;
using Broker.Hosting;
using Broker.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using static Broker.Core.Platform.AdminScopes;

namespace Broker.Webhooks;

/// <summary>A subscription as the platform team sees it: never its secret.</summary>
public sealed record WebhookView(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("url")] string Url,
    [property: JsonPropertyName("event_types")] IReadOnlyList<string> EventTypes,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("created_at")] DateTimeOffset CreatedAt,
    [property: JsonPropertyName("delivered_through")] long DeliveredThrough,
    [property: JsonPropertyName("failures")] int Failures,
    [property: JsonPropertyName("last_error")] string? LastError,
    [property: JsonPropertyName("parked_at")] DateTimeOffset? ParkedAt,
    [property: JsonPropertyName("previous_secret_expires_at")] DateTimeOffset? PreviousSecretExpiresAt)
{
    public static WebhookView From(WebhookSubscription subscription) => new(
        subscription.Id, subscription.Url, subscription.EventTypes, subscription.ParkedAt is null ? "active" : "parked",
        subscription.CreatedAt, subscription.Cursor, subscription.Failures, subscription.LastError, subscription.ParkedAt,
        subscription.PreviousSecretExpiresAt);
}

/// <summary>A new subscription, or a rotated one: the secret is shown here once.</summary>
public sealed record WebhookWithSecretView(
    [property: JsonPropertyName("subscription")] WebhookView Subscription,
    [property: JsonPropertyName("secret")] string Secret);

public sealed record WebhookListView([property: JsonPropertyName("items")] IReadOnlyList<WebhookView> Items);

public sealed record CreateWebhookRequest(
    [property: JsonPropertyName("url")] string? Url,
    [property: JsonPropertyName("event_types")] IReadOnlyList<string>? EventTypes,
    [property: JsonPropertyName("secret")] string? Secret);

public sealed record ReplayWebhookRequest([property: JsonPropertyName("from_event_id")] long? FromEventId);

/// <summary>
/// Audit webhooks: subscriptions under <c>/admin/v1/webhooks</c> and the dispatcher that delivers the
/// audit log to them. Reading needs <c>audit:read</c>; changing needs <c>tenant:write</c> as well, since a
/// subscription receives the whole audit log.
/// </summary>
public static class WebhooksApi
{
    public const string Path = "/admin/v1/webhooks";

    private static readonly JsonSerializerOptions StrictJson = new()
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    public static IServiceCollection AddWebhooks(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<WebhookOptions>().Bind(configuration.GetSection(WebhookOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<WebhookOptions>, WebhookOptionsValidation>();
        services.AddSingleton<WebhookSender>();
        services.AddSingleton<WebhookSecrets>();
        services.AddHostedService<WebhookDispatcher>();
        return services;
    }

    public static IEndpointRouteBuilder MapWebhooks(this IEndpointRouteBuilder routes)
    {
        var webhooks = routes.MapGroup(Path).WithTags("Webhooks").WithErrorFormat(ErrorFormat.Problem);
        webhooks.MapGet("", List).RequireAdmin(AuditRead);
        webhooks.MapPost("", Create).RequireAdmin(AuditRead).RequireAdmin(TenantWrite).Accepts<CreateWebhookRequest>("application/json")
            .ProducesProblem(StatusCodes.Status400BadRequest);
        webhooks.MapGet("/{id}", Get).RequireAdmin(AuditRead).ProducesProblem(StatusCodes.Status404NotFound);
        webhooks.MapDelete("/{id}", Delete).RequireAdmin(AuditRead).RequireAdmin(TenantWrite).ProducesProblem(StatusCodes.Status404NotFound);
        webhooks.MapPost("/{id}/rotate-secret", RotateSecret).RequireAdmin(AuditRead).RequireAdmin(TenantWrite)
            .ProducesProblem(StatusCodes.Status404NotFound);
        webhooks.MapPost("/{id}/replay", Replay).RequireAdmin(AuditRead).RequireAdmin(TenantWrite).Accepts<ReplayWebhookRequest>("application/json")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        return routes;
    }

    private static async Task<Ok<WebhookListView>> List(HttpContext context, IWebhookStore store) =>
        TypedResults.Ok(new WebhookListView((await store.ListAsync(context.RequestAborted)).Select(WebhookView.From).ToList()));

    private static async Task<Results<Ok<WebhookView>, ProblemHttpResult>> Get(HttpContext context, IWebhookStore store, string id) =>
        await store.FindAsync(id, context.RequestAborted) is { } subscription ? TypedResults.Ok(WebhookView.From(subscription)) : NotFound(id);

    private static async Task<Results<Created<WebhookWithSecretView>, ProblemHttpResult>> Create(
        HttpContext context, IWebhookStore store, WebhookSecrets secrets, IOptions<WebhookOptions> options, TimeProvider time)
    {
        var (body, problem) = await RequestJson.TryReadAsync<CreateWebhookRequest>(context.Request, StrictJson, context.RequestAborted);
        if (body is null)
        {
            return BadRequest(problem!);
        }
        // Reject a URL the dispatcher must not call (SSRF) or could not.
        if (WebhookRules.UrlProblem(body.Url, options.Value.AllowInternalAddresses) is { } urlProblem)
        {
            return BadRequest(urlProblem);
        }
        var eventTypes = body.EventTypes ?? [];
        // Reject null entries, then unknown event types.
        if (eventTypes.Any(type => type is null))
        {
            return BadRequest("event_types must be a list of strings");
        }
        if (WebhookRules.EventTypesProblem(eventTypes) is { } typesProblem)
        {
            return BadRequest(typesProblem);
        }
        // Reject a supplied secret that is not a Standard Webhooks secret of enough entropy.
        if (body.Secret is not null && WebhookRules.SecretBytes(body.Secret) is null)
        {
            return BadRequest("secret must be 'whsec_' and the base64 of 24 to 64 random bytes (leave it out to have one generated)");
        }
        var secret = body.Secret ?? WebhookRules.NewSecret();
        var now = time.GetUtcNow();
        var id = "wh" + Secret.NewClientId(now)[1..];
        var subscription = await store.CreateAsync(new WebhookSubscription
        {
            Id = id,
            Url = body.Url!,
            EventTypes = [.. eventTypes.Distinct(StringComparer.Ordinal)],
            ProtectedSecret = secrets.Protect(secret),
            CreatedAt = now,
        }, AdminAuthentication.Actor(context).Entry(AuditActions.WebhookCreated, AuditActions.Webhook(id), now, AuditedUrl(body.Url!)), context.RequestAborted);
        return TypedResults.Created($"{Path}/{id}", new WebhookWithSecretView(WebhookView.From(subscription), secret));
    }

    // The receiver's scheme and host only: a URL's path or query often carries the receiver's own secret
    // (chat webhooks do), and the audit log is read by every audit:read token and every subscriber.
    private static string AuditedUrl(string url) => new Uri(url).GetLeftPart(UriPartial.Authority);

    private static async Task<Results<NoContent, ProblemHttpResult>> Delete(HttpContext context, IWebhookStore store, TimeProvider time, string id)
    {
        var audit = AdminAuthentication.Actor(context).Entry(AuditActions.WebhookDeleted, AuditActions.Webhook(id), time.GetUtcNow());
        return await store.DeleteAsync(id, audit, context.RequestAborted) ? TypedResults.NoContent() : NotFound(id);
    }

    private static async Task<Results<Ok<WebhookWithSecretView>, ProblemHttpResult>> RotateSecret(
        HttpContext context, IWebhookStore store, WebhookSecrets secrets, IOptions<PlatformOptions> platform, TimeProvider time, string id)
    {
        var now = time.GetUtcNow();
        var secret = WebhookRules.NewSecret();
        var audit = AdminAuthentication.Actor(context).Entry(AuditActions.WebhookSecretRotated, AuditActions.Webhook(id), now);
        // The old secret keeps signing for the same overlap as a rotated client secret, so receivers switch at leisure.
        if (!await store.RotateSecretAsync(id, secrets.Protect(secret), now + platform.Value.SecretRotationOverlap, audit, context.RequestAborted))
        {
            return NotFound(id);
        }
        var subscription = (await store.FindAsync(id, context.RequestAborted))!;
        return TypedResults.Ok(new WebhookWithSecretView(WebhookView.From(subscription), secret));
    }

    private static async Task<Results<Ok<WebhookView>, ProblemHttpResult>> Replay(HttpContext context, IWebhookStore store, TimeProvider time, string id)
    {
        long? from = null;
        // An empty body replays from where the subscription stopped.
        if (context.Request.ContentLength is not 0 || context.Request.Headers.ContentType.Count > 0)
        {
            var (body, problem) = await RequestJson.TryReadAsync<ReplayWebhookRequest>(context.Request, StrictJson, context.RequestAborted);
            if (body is null)
            {
                return BadRequest(problem!);
            }
            // Reject an id no audit entry can have.
            if (body.FromEventId is < 1)
            {
                return BadRequest("from_event_id must be the id of an audit entry (1 or more)");
            }
            from = body.FromEventId;
        }
        var audit = AdminAuthentication.Actor(context).Entry(AuditActions.WebhookReplayed, AuditActions.Webhook(id), time.GetUtcNow(),
            from is null ? "from where it stopped" : $"from audit entry {from}");
        if (!await store.ReplayAsync(id, from, audit, context.RequestAborted))
        {
            // Reject a cursor past the log's end: the subscription would silently skip entries written later.
            return await store.FindAsync(id, context.RequestAborted) is null
                ? NotFound(id)
                : BadRequest($"from_event_id {from} is past the newest audit entry; replay from an entry that exists, or from the next one");
        }
        return TypedResults.Ok(WebhookView.From((await store.FindAsync(id, context.RequestAborted))!));
    }

    private static ProblemHttpResult NotFound(string id) =>
        TypedResults.Problem($"no webhook subscription with id '{id}'", statusCode: StatusCodes.Status404NotFound, title: "Not Found");

    private static ProblemHttpResult BadRequest(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status400BadRequest, title: "Bad Request");
}

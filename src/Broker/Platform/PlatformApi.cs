using System.Globalization;
using System.Text.Json;
using Broker.Core;
using Broker.Core.Clients;
using Broker.Core.Platform;
using Broker.Core.Stores;
using Broker.Hosting;
using Broker.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Net.Http.Headers;
using static Broker.Core.Platform.AdminScopes;

namespace Broker.Platform;

/// <summary>
/// The platform team's API under <c>/admin/v1</c>: parents, children, users, admin tokens and the
/// audit log. Admin credentials only; errors are ProblemDetails; writes to a client honour If-Match.
/// </summary>
public static class PlatformApi
{
    public const string Prefix = "/admin/v1";

    /// <summary>RFC 7396's media type; plain application/json is accepted as the same merge patch.</summary>
    public const string MergePatchJson = "application/merge-patch+json";

    private const string PagingProblem = "limit must be 1 to 200 and after a cursor from a previous page";

    private static readonly JsonSerializerOptions StrictJson = new()
    {
        // A field named twice is refused by the reader (RequestJson) before this applies.
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
    };

    /// <summary>The platform's operations, for its API and the command line alike.</summary>
    public static IServiceCollection AddPlatform(this IServiceCollection services)
    {
        return services.AddAdministration();
    }

    public static IEndpointRouteBuilder MapPlatform(this IEndpointRouteBuilder routes)
    {
        var admin = routes.MapGroup(Prefix).WithTags("Platform").WithErrorFormat(ErrorFormat.Problem);
        admin.MapGet("/parents", ListParents).RequireAdmin(ClientsRead);
        admin.MapGet("/parents/{clientId}", GetParent).RequireAdmin(ClientsRead);
        admin.MapPut("/parents/{clientId}", PutParent).RequireAdmin(ParentsWrite).Accepts<ParentSettingsRequest>("application/json")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status412PreconditionFailed);
        admin.MapPatch("/parents/{clientId}", PatchParent).RequireAdmin(ParentsWrite).Accepts<ParentSettingsRequest>(MergePatchJson, "application/json")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status412PreconditionFailed);
        admin.MapDelete("/parents/{clientId}", DisableParent).RequireAdmin(ParentsWrite);
        admin.MapPost("/parents/{clientId}/rotate-secret", RotateSecret).RequireAdmin(ParentsWrite);
        admin.MapPut("/parents/{clientId}/owner", SetParentOwner).RequireAdmin(ParentsWrite).Accepts<ParentOwnerRequest>("application/json")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status412PreconditionFailed);
        admin.MapDelete("/parents/{clientId}/owner", ClearParentOwner).RequireAdmin(ParentsWrite)
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status412PreconditionFailed);
        admin.MapGet("/parents/{clientId}/children", ListChildren).RequireAdmin(ClientsRead);
        admin.MapGet("/children/{clientId}", GetChild).RequireAdmin(ClientsRead);
        admin.MapPatch("/children/{clientId}", PatchChild).RequireAdmin(ClientsWrite).Accepts<ChildLimitsRequest>("application/json");
        admin.MapPost("/children/{clientId}/disable", DisableChild).RequireAdmin(ClientsWrite);
        admin.MapPost("/children/{clientId}/enable", EnableChild).RequireAdmin(ClientsWrite);
        admin.MapDelete("/children/{clientId}", DeleteChild).RequireAdmin(ClientsWrite);
        admin.MapGet("/users", ListUsers).RequireAdmin(ClientsRead);
        admin.MapPost("/users/{userId}/disable", DisableUser).RequireAdmin(ClientsWrite);
        admin.MapGet("/admin-tokens", ListAdminTokens).RequireAdmin(TenantWrite);
        admin.MapDelete("/admin-tokens/{tokenId}", RevokeAdminToken).RequireAdmin(TenantWrite);
        admin.MapGet("/trusted-issuers", ListTrustedIssuers).RequireAdmin(TenantWrite);
        admin.MapPost("/trusted-issuers", AddTrustedIssuer).RequireAdmin(TenantWrite).Accepts<TrustedIssuerRequest>("application/json")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status409Conflict);
        admin.MapDelete("/trusted-issuers", RemoveTrustedIssuer).RequireAdmin(TenantWrite).ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapGet("/audit", QueryAudit).RequireAdmin(AuditRead);
        return routes;
    }

    // ---- Parents ----

    private static async Task<Results<Ok<PageView<ClientView>>, ProblemHttpResult>> ListParents(
        HttpContext context, IPlatformClientStore clients)
    {
        if (Paging(context.Request) is not { } paging)
        {
            return BadRequest(PagingProblem);
        }
        var page = await clients.ListParentsAsync(paging.After, paging.Limit, context.RequestAborted);
        return PageOf(context, page, ClientView.From);
    }

    private static Task<Results<Ok<ClientView>, ProblemHttpResult>> GetParent(
        HttpContext context, PlatformAdministration platform, string clientId) =>
        GetClientAsync<ParentRole>(context, platform, clientId);

    // A full replacement: every setting named (null for its default); it also makes an application a parent.
    private static Task<Results<Ok<ClientView>, ProblemHttpResult>> PutParent(
        HttpContext context, ClientAdministration administration, string clientId) =>
        ChangeParentAsync(context, administration, clientId, ParentUpdate.Replace);

    // An RFC 7396 merge patch of an existing parent's settings: what it leaves out stays.
    private static Task<Results<Ok<ClientView>, ProblemHttpResult>> PatchParent(
        HttpContext context, ClientAdministration administration, string clientId) =>
        ChangeParentAsync(context, administration, clientId, ParentUpdate.Merge);

    private static async Task<Results<Ok<ClientView>, ProblemHttpResult>> ChangeParentAsync(
        HttpContext context, ClientAdministration administration, string clientId, ParentUpdate update)
    {
        var (body, problem) = await RequestJson.TryReadAsync<Dictionary<string, JsonElement>>(context.Request, StrictJson, context.RequestAborted);
        if (body is null)
        {
            return BadRequest(problem!);
        }
        var (change, settingProblem) = ParentSettingsOf(body);
        if (change is null)
        {
            return BadRequest(settingProblem!);
        }
        if (!IfMatch(context.Request, out var ifMatch))
        {
            return PreconditionFailed();
        }
        var result = await administration.ChangeParentAsync(clientId, change, update, AdminAuthentication.Actor(context), ifMatch, context.RequestAborted);
        return ClientResult(context, result);
    }

    /// <summary>The settings a body names, each null (its default) or of the right type; read by hand to tell left out from null.</summary>
    private static (ParentSettingsChange? Change, string? Problem) ParentSettingsOf(Dictionary<string, JsonElement> body)
    {
        // Reject fields a parent does not have: a typo would otherwise change nothing, silently.
        var unknown = body.Keys.FirstOrDefault(key => !ParentSettingsChange.Names.Contains(key));
        if (unknown is not null)
        {
            return (null, $"unknown field '{unknown}'; a parent's settings are {string.Join(", ", ParentSettingsChange.Names)}");
        }
        var change = new ParentSettingsChange();
        foreach (var (name, value) in body)
        {
            switch (name)
            {
                // Reject a redirect policy we do not know.
                case "redirect_policy":
                    if (!JsonText.TryGetString(value, out var policy) || policy is not (null or "installation" or "exact"))
                    {
                        return (null, "redirect_policy must be 'installation' or 'exact' (null for installation)");
                    }
                    change = change with
                    {
                        RedirectPolicy = Setting.To<RedirectPolicy?>(policy switch { null => null, "exact" => RedirectPolicy.Exact, _ => RedirectPolicy.Installation }),
                    };
                    break;
                // Reject a callback path that is not a string (its form is the rule's to judge).
                case "callback_path":
                    if (!JsonText.TryGetString(value, out var path))
                    {
                        return (null, "callback_path must be a path like '/broker/callback' (null for the first redirect URI's)");
                    }
                    change = change with { CallbackPath = Setting.To(path) };
                    break;
                // Reject a quota that is not a whole number.
                case "child_rate_limit":
                    if (!JsonText.TryGetWholeNumber(value, out var rateLimit))
                    {
                        return (null, "child_rate_limit must be a whole number of requests per hour (null for the default)");
                    }
                    change = change with { ChildRateLimit = Setting.To(rateLimit) };
                    break;
                // Reject a whitelist that is not a list of strings.
                case "child_endpoints":
                    if (!JsonText.TryGetStrings(value, out var endpoints))
                    {
                        return (null, "child_endpoints must be a list of 'METHOD /path' strings (null for the defaults)");
                    }
                    change = change with { ChildEndpoints = Setting.To<IReadOnlyList<string>?>(endpoints) };
                    break;
            }
        }
        return (change, null);
    }

    private static async Task<Results<Ok<ClientView>, ProblemHttpResult>> DisableParent(
        HttpContext context, PlatformAdministration platform, string clientId)
    {
        // Reject anything but true/false for the children option, rather than guess.
        var option = context.Request.Query["disable_children"].ToString();
        if (option is not ("" or "true" or "false"))
        {
            return BadRequest("disable_children must be true or false");
        }
        if (!IfMatch(context.Request, out var ifMatch))
        {
            return PreconditionFailed();
        }
        var result = await platform.DisableParentAsync(clientId, option == "true", AdminAuthentication.Actor(context), ifMatch, context.RequestAborted);
        return ClientResult(context, result);
    }

    private static async Task<Results<Ok<RotatedSecretView>, ProblemHttpResult>> RotateSecret(
        HttpContext context, PlatformAdministration platform, string clientId)
    {
        if (!IfMatch(context.Request, out var ifMatch))
        {
            return PreconditionFailed();
        }
        var result = await platform.RotateSecretAsync(clientId, AdminAuthentication.Actor(context), ifMatch, context.RequestAborted);
        if (result.Problem is not null)
        {
            return Problem(result.Problem, result.Failure);
        }
        var (client, secret) = (result.Value!.Client, result.Value.ClientSecret);
        SetETag(context, client);
        return TypedResults.Ok(new RotatedSecretView(client.ClientId, secret, client.SecretFingerprint, client.PreviousSecretExpiresAt));
    }

    // The vendor: one account, named by e-mail or user id, through the console's own operation.
    private static async Task<Results<Ok<ClientView>, ProblemHttpResult>> SetParentOwner(
        HttpContext context, PlatformAdministration platform, string clientId)
    {
        var (body, problem) = await RequestJson.TryReadAsync<ParentOwnerRequest>(context.Request, StrictJson, context.RequestAborted);
        if (body is null)
        {
            return BadRequest(problem!);
        }
        // Reject a body naming neither or both: which account is meant must be unambiguous (DELETE removes the owner).
        if (string.IsNullOrWhiteSpace(body.Email) == string.IsNullOrWhiteSpace(body.UserId))
        {
            return BadRequest("name the owner by exactly one of email or user_id; DELETE removes the owner");
        }
        if (!IfMatch(context.Request, out var ifMatch))
        {
            return PreconditionFailed();
        }
        var owner = string.IsNullOrWhiteSpace(body.Email) ? ParentOwner.ByUserId(body.UserId) : ParentOwner.ByEmail(body.Email);
        var result = await platform.SetParentOwnerAsync(clientId, owner, AdminAuthentication.Actor(context), ifMatch, context.RequestAborted);
        return ClientResult(context, result);
    }

    private static async Task<Results<Ok<ClientView>, ProblemHttpResult>> ClearParentOwner(
        HttpContext context, PlatformAdministration platform, string clientId)
    {
        if (!IfMatch(context.Request, out var ifMatch))
        {
            return PreconditionFailed();
        }
        var result = await platform.SetParentOwnerAsync(clientId, ParentOwner.None, AdminAuthentication.Actor(context), ifMatch, context.RequestAborted);
        return ClientResult(context, result);
    }

    // ---- Children ----

    private static async Task<Results<Ok<PageView<ClientView>>, ProblemHttpResult>> ListChildren(
        HttpContext context, PlatformAdministration platform, IPlatformClientStore clients, string clientId)
    {
        if (Paging(context.Request) is not { } paging)
        {
            return BadRequest(PagingProblem);
        }
        var owner = Filter(context.Request, "owner");
        var origin = Filter(context.Request, "origin");
        // Reject filters too long to be an id or an origin.
        if (owner?.Length > 64 || origin?.Length > 2048)
        {
            return BadRequest("owner must be a user id and origin a scheme://host[:port] origin");
        }
        var parent = await platform.FindAsync<ParentRole>(clientId, null, context.RequestAborted);
        if (parent.Problem is not null)
        {
            return Problem(parent.Problem, parent.Failure);
        }
        var page = await clients.ListChildrenAsync(clientId, owner, origin, paging.After, paging.Limit, context.RequestAborted);
        return PageOf(context, page, ClientView.From);
    }

    private static Task<Results<Ok<ClientView>, ProblemHttpResult>> GetChild(
        HttpContext context, PlatformAdministration platform, string clientId) =>
        GetClientAsync<InstallationRole>(context, platform, clientId);

    private static async Task<Results<Ok<ClientView>, ProblemHttpResult>> PatchChild(
        HttpContext context, PlatformAdministration platform, string clientId)
    {
        var (body, problem) = await RequestJson.TryReadAsync<Dictionary<string, JsonElement>>(context.Request, StrictJson, context.RequestAborted);
        if (body is null)
        {
            return BadRequest(problem!);
        }
        // Reject fields other than the two a child's owner-independent limits consist of.
        var unknown = body.Keys.FirstOrDefault(key => key is not ("rate_limit" or "endpoints"));
        if (unknown is not null)
        {
            return BadRequest($"unknown field '{unknown}'; a child's rate_limit and endpoints can be changed");
        }
        int? rateLimit = null;
        if (body.TryGetValue("rate_limit", out var rateValue) && rateValue.ValueKind != JsonValueKind.Null)
        {
            // Reject a quota that is not a whole number.
            if (!JsonText.TryGetWholeNumber(rateValue, out var parsed))
            {
                return BadRequest("rate_limit must be a whole number of requests per hour, or null to inherit the parent's");
            }
            rateLimit = parsed;
        }
        IReadOnlyList<string>? endpoints = null;
        if (body.TryGetValue("endpoints", out var endpointsValue) && endpointsValue.ValueKind != JsonValueKind.Null)
        {
            // Reject a whitelist that is not a list of strings.
            if (!JsonText.TryGetStrings(endpointsValue, out endpoints))
            {
                return BadRequest("endpoints must be a list of 'METHOD /path' strings, or null to inherit the parent's");
            }
        }
        if (!IfMatch(context.Request, out var ifMatch))
        {
            return PreconditionFailed();
        }
        var result = await platform.ChangeChildLimitsAsync(
            clientId, body.ContainsKey("rate_limit"), rateLimit, body.ContainsKey("endpoints"), endpoints,
            AdminAuthentication.Actor(context), ifMatch, context.RequestAborted);
        return ClientResult(context, result);
    }

    private static Task<Results<Ok<ClientView>, ProblemHttpResult>> DisableChild(HttpContext context, PlatformAdministration platform, string clientId) =>
        ChangeChildStateAsync(context, platform, clientId, ChildStateChange.Disable);

    private static Task<Results<Ok<ClientView>, ProblemHttpResult>> EnableChild(HttpContext context, PlatformAdministration platform, string clientId) =>
        ChangeChildStateAsync(context, platform, clientId, ChildStateChange.Enable);

    private static Task<Results<Ok<ClientView>, ProblemHttpResult>> DeleteChild(HttpContext context, PlatformAdministration platform, string clientId) =>
        ChangeChildStateAsync(context, platform, clientId, ChildStateChange.Delete);

    private static async Task<Results<Ok<ClientView>, ProblemHttpResult>> ChangeChildStateAsync(
        HttpContext context, PlatformAdministration platform, string clientId, ChildStateChange change)
    {
        if (!IfMatch(context.Request, out var ifMatch))
        {
            return PreconditionFailed();
        }
        var result = await platform.ChangeChildStateAsync(clientId, change, AdminAuthentication.Actor(context), ifMatch, context.RequestAborted);
        return ClientResult(context, result);
    }

    // ---- Users ----

    private static async Task<Results<Ok<PageView<UserView>>, ProblemHttpResult>> ListUsers(HttpContext context, IPlatformUserStore users)
    {
        if (Paging(context.Request) is not { } paging)
        {
            return BadRequest(PagingProblem);
        }
        var page = await users.ListAsync(paging.After, paging.Limit, context.RequestAborted);
        return PageOf(context, page, UserView.From);
    }

    private static async Task<Results<Ok<UserDisabledView>, ProblemHttpResult>> DisableUser(
        HttpContext context, PlatformAdministration platform, string userId)
    {
        var result = await platform.DisableUserAsync(userId, AdminAuthentication.Actor(context), context.RequestAborted);
        return result.Problem is not null
            ? Problem(result.Problem, result.Failure)
            : TypedResults.Ok(new UserDisabledView(userId, result.Value));
    }

    // ---- Admin tokens ----

    private static async Task<Ok<PageView<AdminTokenView>>> ListAdminTokens(HttpContext context, IAdminTokenStore tokens)
    {
        var list = await tokens.ListAsync(context.RequestAborted);
        return TypedResults.Ok(new PageView<AdminTokenView>(list.Select(AdminTokenView.From).ToList(), null));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> RevokeAdminToken(
        HttpContext context, PlatformAdministration platform, string tokenId)
    {
        var result = await platform.RevokeAdminTokenAsync(tokenId, AdminAuthentication.Actor(context), context.RequestAborted);
        return result.Problem is not null ? Problem(result.Problem, result.Failure) : TypedResults.NoContent();
    }

    // ---- Trusted issuers of software statements ----

    private static async Task<Ok<PageView<TrustedIssuerView>>> ListTrustedIssuers(HttpContext context, ITrustedIssuerStore issuers)
    {
        var list = await issuers.ListAsync(context.RequestAborted);
        return TypedResults.Ok(new PageView<TrustedIssuerView>(list.Select(TrustedIssuerView.From).ToList(), null));
    }

    private static async Task<Results<Created<TrustedIssuerView>, ProblemHttpResult>> AddTrustedIssuer(
        HttpContext context, PlatformAdministration platform)
    {
        var (body, problem) = await RequestJson.TryReadAsync<TrustedIssuerRequest>(context.Request, StrictJson, context.RequestAborted);
        if (body is null)
        {
            return BadRequest(problem!);
        }
        // Reject keys that are not a JSON object (the JWK Set); its contents are checked with the rest.
        if (body.Jwks is not { ValueKind: JsonValueKind.Object } jwks)
        {
            return BadRequest("jwks must be a JWK Set object (RFC 7517 §5)");
        }
        var result = await platform.AddTrustedIssuerAsync(body.Issuer, body.VendorName, jwks.GetRawText(),
            AdminAuthentication.Actor(context), context.RequestAborted);
        return result.Problem is not null
            ? Problem(result.Problem, result.Failure)
            : TypedResults.Created($"{Prefix}/trusted-issuers?issuer={Uri.EscapeDataString(result.Value!.Issuer)}", TrustedIssuerView.From(result.Value));
    }

    // The issuer is a URL, so it travels in the query rather than as a path segment.
    private static async Task<Results<NoContent, ProblemHttpResult>> RemoveTrustedIssuer(
        HttpContext context, PlatformAdministration platform, string? issuer)
    {
        if (TrustedIssuer.IssuerProblem(issuer) is { } problem)
        {
            return BadRequest(problem);
        }
        var result = await platform.RemoveTrustedIssuerAsync(issuer!, AdminAuthentication.Actor(context), context.RequestAborted);
        return result.Problem is not null ? Problem(result.Problem, result.Failure) : TypedResults.NoContent();
    }

    // ---- Audit ----

    private static async Task<Results<Ok<PageView<AuditEntryView>>, ProblemHttpResult>> QueryAudit(HttpContext context, IAuditStore audit)
    {
        var request = context.Request;
        // Reject a malformed page size or cursor (audit cursors are entry ids).
        if (Paging(request, after => long.TryParse(after, NumberStyles.None, CultureInfo.InvariantCulture, out _)) is not { } paging)
        {
            return BadRequest("limit must be 1 to 200 and after the next value of a previous page");
        }
        long? before = paging.After is null ? null : long.Parse(paging.After, NumberStyles.None, CultureInfo.InvariantCulture);
        // Reject times that are not ISO 8601 with an offset.
        DateTimeOffset? from = null, to = null;
        foreach (var (name, assign) in new (string, Action<DateTimeOffset>)[] { ("from", value => from = value), ("to", value => to = value) })
        {
            var text = Filter(request, name);
            if (text is null)
            {
                continue;
            }
            if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time))
            {
                return BadRequest($"{name} must be an ISO 8601 time, like 2026-11-29T12:00:00Z");
            }
            assign(time);
        }
        var query = new AuditQuery
        {
            From = from,
            To = to,
            Actor = Filter(request, "actor"),
            Action = Filter(request, "action"),
            Target = Filter(request, "target"),
            Before = before,
            Limit = paging.Limit,
        };
        var page = await audit.QueryAsync(query, context.RequestAborted);
        return PageOf(context, page, AuditEntryView.From);
    }

    // ---- Shared steps ----

    private static async Task<Results<Ok<ClientView>, ProblemHttpResult>> GetClientAsync<TRole>(
        HttpContext context, PlatformAdministration platform, string clientId)
        where TRole : ClientRole
    {
        var result = await platform.FindAsync<TRole>(clientId, null, context.RequestAborted);
        return ClientResult(context, result);
    }

    private static Results<Ok<ClientView>, ProblemHttpResult> ClientResult(HttpContext context, AdminResult<Client> result)
    {
        if (result.Problem is not null)
        {
            return Problem(result.Problem, result.Failure);
        }
        SetETag(context, result.Value!);
        return TypedResults.Ok(ClientView.From(result.Value!));
    }

    private static Ok<PageView<TView>> PageOf<T, TView>(HttpContext context, Page<T> page, Func<T, TView> view)
    {
        if (page.Next is not null)
        {
            // RFC 8288 next link, as the Okta management API pages.
            var query = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(context.Request.QueryString.Value)
                .Where(pair => pair.Key != "after")
                .Select(pair => new KeyValuePair<string, string?>(pair.Key, pair.Value.ToString()))
                .Append(new("after", page.Next));
            context.Response.Headers.Link = $"<{context.Request.PathBase}{context.Request.Path}{QueryString.Create(query)}>; rel=\"next\"";
        }
        return TypedResults.Ok(new PageView<TView>(page.Items.Select(view).ToList(), page.Next));
    }

    private static void SetETag(HttpContext context, Client client) =>
        context.Response.Headers.ETag = ETagOf(client);

    public static string ETagOf(Client client) => $"\"{client.Version.ToString(CultureInfo.InvariantCulture)}\"";

    /// <summary>
    /// The version named by If-Match: null when absent or <c>*</c>. False when the header names no
    /// version we could ever have issued: it cannot match, so the answer is 412 (RFC 9110 §13.1.1).
    /// </summary>
    private static bool IfMatch(HttpRequest request, out long? version)
    {
        version = null;
        var header = request.Headers.IfMatch.ToString().Trim();
        if (header is "" or "*")
        {
            return true;
        }
        if (!EntityTagHeaderValue.TryParse(header, out var tag) || tag.IsWeak
            || !long.TryParse(tag.Tag.AsSpan().Trim('"'), NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
        {
            return false;
        }
        version = parsed;
        return true;
    }

    private sealed record PagingParameters(string? After, int Limit);

    private static PagingParameters? Paging(HttpRequest request) =>
        Paging(request, after => PageCursor.TryDecode(after, out _, out _));

    private static PagingParameters? Paging(HttpRequest request, Func<string, bool> validCursor)
    {
        var limitText = Filter(request, "limit");
        var limit = 50;
        if (limitText is not null && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > PageCursor.MaxLimit))
        {
            return null;
        }
        var after = Filter(request, "after");
        return after is null || validCursor(after) ? new PagingParameters(after, limit) : null;
    }

    // A single-valued, non-empty query filter; repeated values count as the first.
    private static string? Filter(HttpRequest request, string name) =>
        RequestForms.SingleValue(request.Query[name]) is { Length: > 0 } value ? value : null;

    private static ProblemHttpResult BadRequest(string detail) => Problem(detail, AdminFailure.Invalid);

    private static ProblemHttpResult PreconditionFailed() =>
        TypedResults.Problem("If-Match must be an ETag this API issued, like \"3\"", statusCode: StatusCodes.Status412PreconditionFailed, title: "Precondition Failed");

    private static ProblemHttpResult Problem(string detail, AdminFailure failure)
    {
        var (status, title) = failure switch
        {
            AdminFailure.NotFound => (StatusCodes.Status404NotFound, "Not Found"),
            AdminFailure.Conflict => (StatusCodes.Status409Conflict, "Conflict"),
            AdminFailure.PreconditionFailed => (StatusCodes.Status412PreconditionFailed, "Precondition Failed"),
            _ => (StatusCodes.Status400BadRequest, "Bad Request"),
        };
        return TypedResults.Problem(detail, statusCode: status, title: title);
    }
}

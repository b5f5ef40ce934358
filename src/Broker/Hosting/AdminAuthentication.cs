using System.Diagnostics;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Broker.Core.Platform;
using Broker.Core.Security;
using Broker.Core.Stores;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.Identity.Web;
using Microsoft.Extensions.Options;

namespace Broker.Hosting;

/// <summary>Marks an endpoint as an admin endpoint: its refusals are ProblemDetails with admin challenges.</summary>
public sealed class AdminEndpointMetadata
{
    public static readonly AdminEndpointMetadata Instance = new();
}

/// <summary>
/// Admin authentication: API tokens (<c>Authorization: SSWS &lt;token&gt;</c>, as in the Okta seed)
/// and, when an <c>AzureAd</c> section is configured, Microsoft Entra ID bearer tokens whose app roles
/// map onto the same scopes. One authorization policy per scope, for every admin API to reuse.
/// </summary>
public static class AdminAuthentication
{
    public const string ApiTokenScheme = "SSWS";
    public const string EntraScheme = "EntraId";
    public const string EntraSection = "AzureAd";

    /// <summary>Claims our API token handler issues.</summary>
    public const string ScopeClaim = "broker_scope";
    public const string ActorClaim = "broker_actor";

    public static string Policy(string scope) => "admin:" + scope;

    public static IServiceCollection AddAdminAuthentication(this IServiceCollection services, IConfiguration configuration)
    {
        // No default scheme change: the account pages keep their cookie; admin policies name their schemes.
        var authentication = services.AddAuthentication()
            .AddScheme<AuthenticationSchemeOptions, ApiTokenHandler>(ApiTokenScheme, null);
        var schemes = new List<string> { ApiTokenScheme };
        var entra = configuration.GetSection(EntraSection);
        if (entra.Exists())
        {
            authentication.AddMicrosoftIdentityWebApi(entra, jwtBearerScheme: EntraScheme);
            schemes.Add(EntraScheme);
        }
        services.AddAuthorization(options =>
        {
            foreach (var scope in AdminScopes.All)
            {
                options.AddPolicy(Policy(scope), policy => policy
                    .AddAuthenticationSchemes([.. schemes])
                    .RequireAuthenticatedUser()
                    .RequireAssertion(context => HasScope(context.User, scope)));
            }
        });
        services.AddSingleton<IAuthorizationMiddlewareResultHandler, AdminAuthorizationResultHandler>();
        return services;
    }

    /// <summary>Requires the scope on this route (or group), with admin-style refusals.</summary>
    public static TBuilder RequireAdmin<TBuilder>(this TBuilder builder, string scope) where TBuilder : IEndpointConventionBuilder =>
        builder.RequireAuthorization(Policy(scope)).WithMetadata(AdminEndpointMetadata.Instance);

    /// <summary>Whether the principal holds <paramref name="scope"/>: an API token's scope claim or a mapped Entra app role.</summary>
    public static bool HasScope(ClaimsPrincipal user, string scope) =>
        user.HasClaim(ScopeClaim, scope)
        || user.Claims.Any(claim => claim.Type is "roles" or ClaimTypes.Role
            && claim.Subject?.AuthenticationType != ApiTokenScheme
            && AdminScopes.FromEntraRole(claim.Value) == scope);

    /// <summary>Who is acting, for the audit log.</summary>
    public static AuditActor Actor(HttpContext context)
    {
        var user = context.User;
        var id = user.FindFirstValue(ActorClaim)
            ?? "entra:" + (user.FindFirstValue("oid") ?? user.FindFirstValue(ClaimConstants.ObjectId)
                ?? user.FindFirstValue("sub") ?? user.FindFirstValue(ClaimTypes.NameIdentifier) ?? "unknown");
        return Actor(context, id);
    }

    /// <summary><paramref name="id"/> acting through this request: its source address and request id.</summary>
    public static AuditActor Actor(HttpContext context, string id) =>
        new(id, context.Connection.RemoteIpAddress?.ToString(), Activity.Current?.Id ?? context.TraceIdentifier);
}

/// <summary><c>Authorization: SSWS &lt;token&gt;</c>: an admin API token, looked up by its SHA-256.</summary>
internal sealed class ApiTokenHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder,
    IAdminTokenStore tokens, UsageRecorder usage, BrokerTelemetry telemetry)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    private const string Prefix = AdminAuthentication.ApiTokenScheme + " ";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        // Other schemes (Bearer, Basic, Client-ID) are not ours: no result, so the policy challenges.
        if (!header.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase))
        {
            return AuthenticateResult.NoResult();
        }
        var value = header[Prefix.Length..].Trim();
        // Reject values that cannot be a token we minted before touching the database.
        if (value.Length != 64 || !value.All(char.IsAsciiHexDigitLower))
        {
            telemetry.AuthenticationFailed(AuthenticationKinds.Admin, null, Context.Connection.RemoteIpAddress?.ToString());
            return AuthenticateResult.Fail("malformed admin token");
        }
        var token = await tokens.FindByHashAsync(Secret.Hash(value), Context.RequestAborted);
        // Reject unknown and revoked tokens; the fixed-time compare guards a store that matched loosely.
        if (token is null || token.RevokedAt is not null || !Secret.Matches(value, token.TokenHash))
        {
            telemetry.AuthenticationFailed(AuthenticationKinds.Admin, null, Context.Connection.RemoteIpAddress?.ToString());
            return AuthenticateResult.Fail("unknown or revoked admin token");
        }
        usage.AdminTokenUsed(token.TokenId);
        var claims = new List<Claim>
        {
            new(ClaimTypes.NameIdentifier, token.TokenId),
            new(ClaimTypes.Name, token.Name),
            new(AdminAuthentication.ActorClaim, AuditActions.AdminToken(token.TokenId)),
        };
        claims.AddRange(token.Scopes.Select(scope => new Claim(AdminAuthentication.ScopeClaim, scope)));
        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, AdminAuthentication.ApiTokenScheme));
        return AuthenticateResult.Success(new AuthenticationTicket(principal, AdminAuthentication.ApiTokenScheme));
    }
}

/// <summary>Admin endpoints refuse with ProblemDetails (RFC 9457) and name the schemes they accept.</summary>
internal sealed class AdminAuthorizationResultHandler(IAuthenticationSchemeProvider schemes) : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler fallback = new();

    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (authorizeResult.Succeeded || context.GetEndpoint()?.Metadata.GetMetadata<AdminEndpointMetadata>() is null)
        {
            await fallback.HandleAsync(next, context, policy, authorizeResult);
            return;
        }
        if (authorizeResult.Forbidden)
        {
            var policyName = context.GetEndpoint()?.Metadata.GetOrderedMetadata<IAuthorizeData>() is { Count: > 0 } data ? data[^1].Policy : null;
            var scope = policyName?.StartsWith("admin:", StringComparison.Ordinal) == true ? policyName["admin:".Length..] : null;
            await TypedResults.Problem(
                $"this credential lacks the scope this route needs{(scope is null ? "" : $" ({scope})")}",
                statusCode: StatusCodes.Status403Forbidden, title: "Forbidden").ExecuteAsync(context);
            return;
        }
        var challenge = $"{AdminAuthentication.ApiTokenScheme} realm=\"broker\"";
        if (await schemes.GetSchemeAsync(AdminAuthentication.EntraScheme) is not null)
        {
            challenge += ", Bearer realm=\"broker\"";
        }
        context.Response.Headers.WWWAuthenticate = challenge;
        await TypedResults.Problem(
            "admin routes need Authorization: SSWS <admin token> (or an Entra ID bearer token where configured)",
            statusCode: StatusCodes.Status401Unauthorized, title: "Unauthorized").ExecuteAsync(context);
    }
}

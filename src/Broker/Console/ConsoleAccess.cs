using System.Security.Claims;
using Broker.Core.Accounts;
using Broker.Core.Clients;
using Broker.Core.Platform;
using Broker.Core.Stores;
using Broker.Hosting;
using Broker.Http;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Microsoft.Identity.Web;

namespace Broker.Console;

/// <summary>
/// Who is signed in to the console and what they may do: the platform team holds the admin API's scopes
/// (a local account listed in <see cref="ConsoleOptions.Administrators"/> by user id, or a Microsoft Entra
/// ID user through their app roles), a vendor reads the parents their local account is named owner of and
/// may rotate their secrets. <paramref name="Id"/> is the audit log's actor id (<c>user:…</c>, <c>entra:…</c>);
/// <paramref name="Account"/> the local account, none for an Entra user.
/// </summary>
internal sealed record ConsoleUser(string Id, string Name, User? Account, IReadOnlySet<string> Scopes)
{
    public bool Can(string scope) => Scopes.Contains(scope);

    /// <summary>May see this parent, its installations and usage: the platform team with clients:read, or its vendor.</summary>
    public bool MayRead(Client parent) => Can(AdminScopes.ClientsRead) || IsVendorOf(parent);

    /// <summary>Vendors are local accounts only: an Entra user is of the platform team and owns nothing.</summary>
    public bool IsVendorOf(Client parent) =>
        Account is not null && parent.Role is ParentRole { OwnerUserId: { } owner } && owner == Account.UserId;

    /// <summary>The audit log's actor: the signed-in user, from this request's address.</summary>
    public AuditActor Actor(HttpContext context) => AdminAuthentication.Actor(context, Id);
}

/// <summary>The console's own session: a cookie of its own, on its own path, that ends after <see cref="ConsoleOptions.SessionTimeout"/> idle.</summary>
internal sealed class ConsoleAccess(IUserStore users, IOptionsMonitor<ConsoleOptions> options, IAuthenticationSchemeProvider schemes)
{
    public const string Scheme = "Console";

    /// <summary>Marks a console session opened with Microsoft Entra ID: the user's object id.</summary>
    private const string EntraObjectIdClaim = "oid";

    /// <summary>
    /// The signed-in console user: a local account still enabled and with the password they signed in with,
    /// or an Entra user while Entra sign-in is configured and one of their app roles maps to a scope; else null.
    /// </summary>
    public async Task<ConsoleUser?> CurrentAsync(HttpContext context)
    {
        // The console's identity (set by the group's filter), never the site owner's session cookie.
        if (context.User.Identity is not { IsAuthenticated: true, AuthenticationType: Scheme })
        {
            return null;
        }
        if (context.User.HasClaim(claim => claim.Type == EntraObjectIdClaim))
        {
            return await EntraSignInConfiguredAsync() ? EntraUser(context) : null;
        }
        var user = await UserSession.SignedInUserAsync(context, users);
        return user is null ? null
            : new ConsoleUser(AuditActions.User(user.UserId), user.Email, user, options.CurrentValue.ScopesOf(user.UserId));
    }

    /// <summary>Whether the platform team may sign in with Microsoft Entra ID (<see cref="ConsoleOptions.EntraId"/>, read at start).</summary>
    public async Task<bool> EntraSignInConfiguredAsync() => await schemes.GetSchemeAsync(ConsoleEntraSignIn.Scheme) is not null;

    // Scopes and actor exactly as the admin API derives them from an Entra token's roles and object id.
    private static ConsoleUser? EntraUser(HttpContext context)
    {
        var scopes = AdminScopes.All.Where(scope => AdminAuthentication.HasScope(context.User, scope)).ToHashSet(StringComparer.Ordinal);
        var actor = AdminAuthentication.Actor(context).Id;
        return scopes.Count == 0 ? null : new ConsoleUser(actor, context.User.FindFirstValue(ClaimTypes.Name) ?? actor, null, scopes);
    }

    /// <summary>The principal a console session carries: the same claims as an owner's session, under the console's scheme.</summary>
    public static ClaimsPrincipal Principal(User user) => new(new ClaimsIdentity(
        [new Claim(ClaimTypes.NameIdentifier, user.UserId), new Claim(ClaimTypes.Name, user.Email),
         new Claim(UserSession.PasswordStampClaim, UserSession.PasswordStamp(user))],
        Scheme));

    /// <summary>
    /// The principal a console session opened with Microsoft Entra ID carries, from the id token's claims:
    /// the object id, a display name and the app roles that map to a scope. Null when none maps: such a
    /// user is refused, as a local account with no access is.
    /// </summary>
    public static ClaimsPrincipal? EntraPrincipal(ClaimsPrincipal idToken)
    {
        var objectId = idToken.GetObjectId();
        var roles = idToken.Claims.Where(claim => claim.Type is "roles" or ClaimTypes.Role && AdminScopes.FromEntraRole(claim.Value) is not null)
            .Select(claim => claim.Value).Distinct(StringComparer.Ordinal).ToList();
        if (string.IsNullOrEmpty(objectId) || roles.Count == 0)
        {
            return null;
        }
        // The name identifier binds antiforgery tokens to this user; the object id is the audit actor's.
        var claims = new List<Claim>
        {
            new(ClaimTypes.NameIdentifier, "entra:" + objectId),
            new(ClaimTypes.Name, idToken.GetDisplayName() ?? objectId),
            new(EntraObjectIdClaim, objectId),
        };
        claims.AddRange(roles.Select(role => new Claim("roles", role)));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, Scheme));
    }

    /// <summary>
    /// Makes the console's session the request's user on every console route: antiforgery tokens are
    /// then bound to the console's identity, and a site owner's session never counts here.
    /// </summary>
    public static async ValueTask<object?> UseConsoleIdentityAsync(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var context = invocation.HttpContext;
        var result = await context.AuthenticateAsync(Scheme);
        context.User = result.Succeeded ? result.Principal : new ClaimsPrincipal(new ClaimsIdentity());
        return await next(invocation);
    }
}

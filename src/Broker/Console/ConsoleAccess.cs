using System.Security.Claims;
using Broker.Core.Accounts;
using Broker.Core.Clients;
using Broker.Core.Platform;
using Broker.Core.Stores;
using Broker.Hosting;
using Broker.Http;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Broker.Console;

/// <summary>
/// Who is signed in to the console and what they may do: the platform team's accounts hold the admin
/// API's scopes (from <see cref="ConsoleOptions.Administrators"/>, by user id), a vendor reads the parents it is
/// named owner of and may rotate their secrets. Both are user accounts with a password.
/// </summary>
internal sealed record ConsoleUser(User User, IReadOnlySet<string> Scopes)
{
    public bool Can(string scope) => Scopes.Contains(scope);

    /// <summary>May see this parent, its installations and usage: the platform team with clients:read, or its vendor.</summary>
    public bool MayRead(Client parent) => Can(AdminScopes.ClientsRead) || IsVendorOf(parent);

    public bool IsVendorOf(Client parent) => parent.Role is ParentRole { OwnerUserId: { } owner } && owner == User.UserId;

    /// <summary>The audit log's actor: the signed-in user, from this request's address.</summary>
    public AuditActor Actor(HttpContext context) => AdminAuthentication.Actor(context, AuditActions.User(User.UserId));
}

/// <summary>The console's own session: a cookie of its own, on its own path, that ends after <see cref="ConsoleOptions.SessionTimeout"/> idle.</summary>
internal sealed class ConsoleAccess(IUserStore users, IOptionsMonitor<ConsoleOptions> options)
{
    public const string Scheme = "Console";

    /// <summary>The signed-in console user, still enabled and with the password they signed in with; else null.</summary>
    public async Task<ConsoleUser?> CurrentAsync(HttpContext context)
    {
        // The console's identity (set by the group's filter), never the site owner's session cookie.
        if (context.User.Identity is not { IsAuthenticated: true, AuthenticationType: Scheme })
        {
            return null;
        }
        var user = await UserSession.SignedInUserAsync(context, users);
        return user is null ? null : new ConsoleUser(user, options.CurrentValue.ScopesOf(user.UserId));
    }

    /// <summary>The principal a console session carries: the same claims as an owner's session, under the console's scheme.</summary>
    public static ClaimsPrincipal Principal(User user) => new(new ClaimsIdentity(
        [new Claim(ClaimTypes.NameIdentifier, user.UserId), new Claim(ClaimTypes.Name, user.Email),
         new Claim(UserSession.PasswordStampClaim, UserSession.PasswordStamp(user))],
        Scheme));

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

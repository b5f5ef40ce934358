using System.Security.Claims;
using Broker.Core.Accounts;
using Broker.Core.Clients;
using Broker.Core.Platform;
using Broker.Core.Stores;
using Broker.Hosting;
using Broker.Http;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Identity;
using static Broker.Http.UserSession;

namespace Broker.Accounts;

/// <summary>Site owners' pages: join, login, logout, and the installations they approved.</summary>
public static class AccountEndpoints
{
    public const string JoinPath = "/account/join";

    /// <summary>What accounts need without the web (the command line uses this too): the password hasher.</summary>
    public static IServiceCollection AddAccountsCore(this IServiceCollection services)
    {
        services.AddSingleton<IPasswordHasher<User>, PasswordHasher<User>>();
        return services;
    }

    public static IServiceCollection AddAccounts(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddAccountsCore();
        services.AddAntiforgery(options =>
        {
            options.Cookie.Name = "broker.antiforgery";
            options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            // Our pages set X-Frame-Options themselves, for every response.
            options.SuppressXFrameOptionsHeader = true;
        });
        services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme)
            .AddCookie(options =>
            {
                options.Cookie.Name = "broker.session";
                options.Cookie.HttpOnly = true;
                // Lax: the authorize link arrives as a top-level navigation from the installation's site.
                options.Cookie.SameSite = SameSiteMode.Lax;
                options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                options.LoginPath = LoginPath;
                options.SlidingExpiration = true;
                options.ExpireTimeSpan = configuration.GetSection(AccountOptions.Section).Get<AccountOptions>()?.SessionLifetime
                    ?? new AccountOptions().SessionLifetime;
            });
        services.AddAuthorization();
        return services;
    }

    public static IEndpointRouteBuilder MapAccounts(this IEndpointRouteBuilder routes)
    {
        var account = routes.MapGroup("/account").ExcludeFromDescription().WithErrorFormat(ErrorFormat.Page);
        account.MapGet("/login", LoginPage);
        account.MapPost("/login", Login);
        account.MapGet("/join", JoinPage);
        account.MapPost("/join", Join);
        account.MapGet("/logout", LogoutPage);
        account.MapPost("/logout", Logout);
        account.MapGet("/apps", Apps);
        account.MapPost("/apps/{clientId}/revoke", Revoke);
        return routes;
    }

    /// <summary>Only paths on this site: never an open redirect.</summary>
    public static string SafeReturnUrl(string? returnUrl) =>
        returnUrl is { Length: > 0 and <= 8192 } && returnUrl[0] == '/'
        && !returnUrl.StartsWith("//", StringComparison.Ordinal) && !returnUrl.StartsWith("/\\", StringComparison.Ordinal)
        && returnUrl.All(c => c > ' ' && c < '\u007f')
            ? returnUrl
            : AppsPath;

    private static ContentHttpResult LoginPage(HttpContext context, IAntiforgery antiforgery, string? returnUrl) =>
        CredentialsPage(context, antiforgery, "Sign in", LoginPath, SafeReturnUrl(returnUrl), null, null);

    private static ContentHttpResult JoinPage(HttpContext context, IAntiforgery antiforgery, string? returnUrl) =>
        CredentialsPage(context, antiforgery, "Create an account", JoinPath, SafeReturnUrl(returnUrl), null, null);

    private static async Task<Results<RedirectHttpResult, ContentHttpResult>> Login(
        HttpContext context, IAntiforgery antiforgery, IUserStore users, IPasswordHasher<User> hasher, Throttles throttles)
    {
        var form = await Html.ValidFormAsync(context, antiforgery);
        if (form is null)
        {
            return Html.FormRefused();
        }
        var returnUrl = SafeReturnUrl(RequestForms.SingleValue(form["returnUrl"]));
        var email = RequestForms.SingleValue(form["email"]) ?? "";
        var password = RequestForms.SingleValue(form["password"]) ?? "";
        var accountKey = AccountRules.Normalize(email);
        var addressKey = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";

        // Reject while the account or the address has failed too often.
        if ((await throttles.LoginsPerAccount.BlockedForAsync(accountKey, context.RequestAborted)
            ?? await throttles.LoginsPerAddress.BlockedForAsync(addressKey, context.RequestAborted)) is { } retryAfter)
        {
            context.Response.Headers.RetryAfter = OAuthResults.RetryAfterSeconds(retryAfter);
            return CredentialsPage(context, antiforgery, "Sign in", LoginPath, returnUrl, email,
                "Too many failed sign-ins. Try again later.", StatusCodes.Status429TooManyRequests);
        }
        var user = accountKey.Length is > 0 and <= AccountRules.MaxEmailLength
            ? await users.FindByEmailAsync(accountKey, context.RequestAborted)
            : null;
        // Verify against a dummy hash when there is no such user, so timing does not reveal accounts.
        var verified = hasher.VerifyHashedPassword(user ?? DummyUser, user?.PasswordHash ?? DummyUser.PasswordHash,
            password.Length <= AccountRules.MaxPasswordLength ? password : "");
        // Reject a wrong e-mail or password (without saying which), and disabled accounts.
        if (user is null || verified == PasswordVerificationResult.Failed || user.DisabledAt is not null)
        {
            await throttles.LoginsPerAccount.RecordFailureAsync(accountKey, context.RequestAborted);
            await throttles.LoginsPerAddress.RecordFailureAsync(addressKey, context.RequestAborted);
            return CredentialsPage(context, antiforgery, "Sign in", LoginPath, returnUrl, email,
                "Wrong e-mail or password.", StatusCodes.Status401Unauthorized);
        }
        await SignInAsync(context, user);
        return TypedResults.Redirect(returnUrl);
    }

    private static async Task<Results<RedirectHttpResult, ContentHttpResult>> Join(
        HttpContext context, IAntiforgery antiforgery, IUserStore users, IPasswordHasher<User> hasher, TimeProvider time)
    {
        var form = await Html.ValidFormAsync(context, antiforgery);
        if (form is null)
        {
            return Html.FormRefused();
        }
        var returnUrl = SafeReturnUrl(RequestForms.SingleValue(form["returnUrl"]));
        var email = RequestForms.SingleValue(form["email"]);
        var password = RequestForms.SingleValue(form["password"]);
        var problem = AccountRules.EmailProblem(email) ?? AccountRules.PasswordProblem(password);
        // Reject a malformed address or a weak password, saying which.
        if (problem is not null)
        {
            return CredentialsPage(context, antiforgery, "Create an account", JoinPath, returnUrl, email, problem, StatusCodes.Status400BadRequest);
        }
        var user = UserAccounts.New(email!, password!, hasher, time.GetUtcNow());
        // Reject an address that already has an account.
        if (!await users.CreateAsync(user, context.RequestAborted))
        {
            return CredentialsPage(context, antiforgery, "Create an account", JoinPath, returnUrl, email,
                "An account with this e-mail exists. Sign in instead.", StatusCodes.Status409Conflict);
        }
        await SignInAsync(context, user);
        return TypedResults.Redirect(returnUrl);
    }

    private static ContentHttpResult LogoutPage(HttpContext context, IAntiforgery antiforgery) =>
        Html.Page("Sign out", $"""
            <h1>Sign out</h1>
            <form method="post" action="/account/logout">{Html.AntiforgeryField(context, antiforgery)}<button type="submit">Sign out</button></form>
            """);

    private static async Task<Results<RedirectHttpResult, ContentHttpResult>> Logout(HttpContext context, IAntiforgery antiforgery)
    {
        if (await Html.ValidFormAsync(context, antiforgery) is null)
        {
            return Html.FormRefused();
        }
        await context.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        return TypedResults.Redirect(LoginPath);
    }

    private static async Task<Results<RedirectHttpResult, ContentHttpResult>> Apps(
        HttpContext context, IAntiforgery antiforgery, IUserStore users, IClientStore clients)
    {
        var user = await SignedInUserAsync(context, users);
        if (user is null)
        {
            return TypedResults.Redirect(LoginUrl(AppsPath));
        }
        var children = await clients.ListChildrenOwnedByAsync(user.UserId, context.RequestAborted);
        var parents = new Dictionary<string, Client?>(StringComparer.Ordinal);
        foreach (var parentId in children.Select(child => child.Role).OfType<InstallationRole>().Select(installation => installation.ParentClientId).Distinct())
        {
            parents[parentId] = await clients.FindAsync(parentId, context.RequestAborted);
        }
        var antiforgeryField = Html.AntiforgeryField(context, antiforgery);
        var rows = string.Concat(children.Select(child =>
        {
            var installation = (InstallationRole)child.Role;
            var parentName = parents.GetValueOrDefault(installation.ParentClientId) is { } parent ? parent.Name : "(removed)";
            var action = child.IsActive
                ? $"""<form class="inline" method="post" action="/account/apps/{Html.Text(child.ClientId)}/revoke">{antiforgeryField}<button class="secondary" type="submit">Revoke</button></form>"""
                : "revoked";
            return $"""
                <tr>
                <td>{Html.Untrusted(child.Name)}<br><code>{Html.Text(child.ClientId)}</code></td>
                <td>{Html.Untrusted(parentName)}</td>
                <td>{Html.Text(installation.Origin is null ? "" : Core.Clients.RedirectUris.DisplayHost(installation.Origin))}</td>
                <td>{Html.Text(child.CreatedAt.ToString("yyyy-MM-dd HH:mm 'UTC'", System.Globalization.CultureInfo.InvariantCulture))}</td>
                <td>{action}</td>
                </tr>
                """;
        }));
        var table = children.Count == 0
            ? "<p>You have not installed any application yet.</p>"
            : $"<table><tr><th>Installation</th><th>Plugin</th><th>Site</th><th>Created</th><th></th></tr>{rows}</table>";
        return Html.Page("Your installations", $"""
            <h1>Your installations</h1>
            <p>Signed in as {Html.Text(user.Email)}.</p>
            {table}
            <form method="post" action="/account/logout">{antiforgeryField}<button class="secondary" type="submit">Sign out</button></form>
            """);
    }

    private static async Task<Results<RedirectHttpResult, ContentHttpResult>> Revoke(
        HttpContext context, IAntiforgery antiforgery, IUserStore users, IClientStore clients, TimeProvider time, string clientId)
    {
        var form = await Html.ValidFormAsync(context, antiforgery);
        if (form is null)
        {
            return Html.FormRefused();
        }
        var user = await SignedInUserAsync(context, users);
        if (user is null)
        {
            return TypedResults.Redirect(LoginUrl(AppsPath));
        }
        // Reject a client the user does not own or that is already revoked.
        var now = time.GetUtcNow();
        var audit = AdminAuthentication.Actor(context, AuditActions.User(user.UserId)).Entry(AuditActions.ChildRevoked, AuditActions.Client(clientId), now);
        if (!await clients.RevokeOwnedChildAsync(user.UserId, clientId, now, audit, context.RequestAborted))
        {
            return Html.Error("Not found", "You have no active installation with this client id.", StatusCodes.Status404NotFound);
        }
        return TypedResults.Redirect(AppsPath);
    }

    private static Task SignInAsync(HttpContext context, User user)
    {
        var identity = new ClaimsIdentity(
            [new Claim(ClaimTypes.NameIdentifier, user.UserId), new Claim(ClaimTypes.Name, user.Email)],
            CookieAuthenticationDefaults.AuthenticationScheme);
        return context.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, new ClaimsPrincipal(identity));
    }

    private static ContentHttpResult CredentialsPage(
        HttpContext context, IAntiforgery antiforgery, string title, string action, string returnUrl,
        string? email, string? message, int statusCode = StatusCodes.Status200OK)
    {
        var other = action == LoginPath
            ? $"""<p>No account? <a href="{Html.Text(JoinPath + "?returnUrl=" + Uri.EscapeDataString(returnUrl))}">Join</a></p>"""
            : $"""<p>Have an account? <a href="{Html.Text(LoginPath + "?returnUrl=" + Uri.EscapeDataString(returnUrl))}">Sign in</a></p>""";
        var error = message is null ? "" : $"<p class=\"error\" role=\"alert\">{Html.Text(message)}</p>";
        var passwordAutocomplete = action == LoginPath ? "current-password" : "new-password";
        return Html.Page(title, $"""
            <h1>{Html.Text(title)}</h1>
            {error}
            <form method="post" action="{Html.Text(action)}">
            {Html.AntiforgeryField(context, antiforgery)}
            {Html.Hidden("returnUrl", returnUrl)}
            <label for="email">E-mail</label>
            <input id="email" name="email" type="email" autocomplete="email" required value="{Html.Text(email)}">
            <label for="password">Password</label>
            <input id="password" name="password" type="password" autocomplete="{passwordAutocomplete}" required>
            <button type="submit">{Html.Text(title)}</button>
            </form>
            {other}
            """, statusCode);
    }

    private static readonly User DummyUser = CreateDummyUser();

    private static User CreateDummyUser()
    {
        var user = new User { UserId = "", Email = "", NormalizedEmail = "", PasswordHash = "", CreatedAt = DateTimeOffset.UnixEpoch };
        return user with { PasswordHash = new PasswordHasher<User>().HashPassword(user, Core.Security.Secret.NewToken()) };
    }
}

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
        services.AddBranding(configuration);
        services.AddPasswordResets(configuration);
        services.AddSingleton<CredentialsPages>();
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
        account.MapPasswordResets();
        return routes;
    }

    /// <summary>The caller's address, as the forwarding rules decided it.</summary>
    public static string CallerAddress(HttpContext context) => context.Connection.RemoteIpAddress?.ToString() ?? "unknown";

    /// <summary>A form's error message, announced to screen readers; empty without one.</summary>
    public static string Alert(string? message) =>
        message is null ? "" : $"<p class=\"error\" role=\"alert\">{Html.Text(message)}</p>";

    /// <summary>Only paths on this site: never an open redirect.</summary>
    public static string SafeReturnUrl(string? returnUrl) =>
        returnUrl is { Length: > 0 and <= 8192 } && returnUrl[0] == '/'
        && !returnUrl.StartsWith("//", StringComparison.Ordinal) && !returnUrl.StartsWith("/\\", StringComparison.Ordinal)
        && returnUrl.All(c => c > ' ' && c < '\u007f')
            ? returnUrl
            : AppsPath;

    private static Task<HtmlPage> LoginPage(HttpContext context, IAntiforgery antiforgery, CredentialsPages pages, string? returnUrl) =>
        pages.RenderAsync(context, antiforgery, CredentialsPages.Login, SafeReturnUrl(returnUrl), null, null);

    private static Task<HtmlPage> JoinPage(HttpContext context, IAntiforgery antiforgery, CredentialsPages pages, string? returnUrl) =>
        pages.RenderAsync(context, antiforgery, CredentialsPages.Join, SafeReturnUrl(returnUrl), null, null);

    private static async Task<Results<RedirectHttpResult, HtmlPage>> Login(
        HttpContext context, IAntiforgery antiforgery, IUserStore users, IPasswordHasher<User> hasher, Throttles throttles, CredentialsPages pages,
        BrokerTelemetry telemetry)
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
        var addressKey = CallerAddress(context);

        // Reject while the account or the address has failed too often.
        if ((await throttles.LoginsPerAccount.BlockedForAsync(accountKey, context.RequestAborted)
            ?? await throttles.LoginsPerAddress.BlockedForAsync(addressKey, context.RequestAborted)) is { } retryAfter)
        {
            telemetry.Throttled("failed-logins", addressKey, retryAfter);
            context.Response.Headers.RetryAfter = OAuthResults.RetryAfterSeconds(retryAfter);
            return await pages.RenderAsync(context, antiforgery, CredentialsPages.Login, returnUrl, email,
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
            telemetry.AuthenticationFailed(AuthenticationKinds.Login, null, addressKey);
            return await pages.RenderAsync(context, antiforgery, CredentialsPages.Login, returnUrl, email,
                "Wrong e-mail or password.", StatusCodes.Status401Unauthorized);
        }
        await SignInAsync(context, user);
        return TypedResults.Redirect(returnUrl);
    }

    private static async Task<Results<RedirectHttpResult, HtmlPage>> Join(
        HttpContext context, IAntiforgery antiforgery, IUserStore users, IPasswordHasher<User> hasher, TimeProvider time, CredentialsPages pages)
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
            return await pages.RenderAsync(context, antiforgery, CredentialsPages.Join, returnUrl, email, problem, StatusCodes.Status400BadRequest);
        }
        var user = UserAccounts.New(email!, password!, hasher, time.GetUtcNow());
        // Reject an address that already has an account.
        if (!await users.CreateAsync(user, context.RequestAborted))
        {
            return await pages.RenderAsync(context, antiforgery, CredentialsPages.Join, returnUrl, email,
                "An account with this e-mail exists. Sign in instead.", StatusCodes.Status409Conflict);
        }
        await SignInAsync(context, user);
        return TypedResults.Redirect(returnUrl);
    }

    private static HtmlPage LogoutPage(HttpContext context, IAntiforgery antiforgery) =>
        Html.Page("Sign out", $"""
            <h1>Sign out</h1>
            <form method="post" action="{LogoutPath}">{Html.AntiforgeryField(context, antiforgery)}<button type="submit">Sign out</button></form>
            """);

    private static async Task<Results<RedirectHttpResult, HtmlPage>> Logout(HttpContext context, IAntiforgery antiforgery)
    {
        var form = await Html.ValidFormAsync(context, antiforgery);
        if (form is null)
        {
            return Html.FormRefused();
        }
        await context.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        return TypedResults.Redirect(RequestForms.SingleValue(form["returnUrl"]) is { } returnUrl ? LoginUrl(SafeReturnUrl(returnUrl)) : LoginPath);
    }

    private static async Task<Results<RedirectHttpResult, HtmlPage>> Apps(
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
                : "Revoked";
            return $"""
                <tr>
                <td data-label="Site"><strong>{Html.Text(installation.Origin is null ? "" : Core.Clients.RedirectUris.DisplayHost(installation.Origin))}</strong></td>
                <td data-label="Plugin">{Html.Untrusted(parentName)}</td>
                <td data-label="Installation">{Html.Untrusted(child.Name)}<br><span class="fine">Key <code>{Html.Text(child.ClientId)}</code></span></td>
                <td data-label="Approved">{Html.Text(child.CreatedAt.ToString("yyyy-MM-dd HH:mm 'UTC'", System.Globalization.CultureInfo.InvariantCulture))}</td>
                <td>{action}</td>
                </tr>
                """;
        }));
        var table = children.Count == 0
            ? "<p>You have not installed any plugin yet.</p>"
            : $"""
              <table>
              <thead><tr><th scope="col">Site</th><th scope="col">Plugin</th><th scope="col">Installation</th><th scope="col">Approved</th><th scope="col"><span class="fine">Action</span></th></tr></thead>
              <tbody>{rows}</tbody>
              </table>
              """;
        return Html.Page("Your installations", $"""
            <h1>Your installations</h1>
            <div class="signed-in">Signed in as <strong>{Html.Text(user.Email)}</strong>. {SignOutForm(context, antiforgery, "Sign out", buttonClass: "link")}</div>
            <p>Each plugin you approved has its own key for its site. Revoke one to stop it at once; this cannot be undone.</p>
            {table}
            """, wide: true);
    }

    private static async Task<Results<RedirectHttpResult, HtmlPage>> Revoke(
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
            [new Claim(ClaimTypes.NameIdentifier, user.UserId), new Claim(ClaimTypes.Name, user.Email), new Claim(PasswordStampClaim, PasswordStamp(user))],
            CookieAuthenticationDefaults.AuthenticationScheme);
        return context.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, new ClaimsPrincipal(identity));
    }

    private static readonly User DummyUser = CreateDummyUser();

    private static User CreateDummyUser()
    {
        var user = new User { UserId = "", Email = "", NormalizedEmail = "", PasswordHash = "", CreatedAt = DateTimeOffset.UnixEpoch };
        return user with { PasswordHash = new PasswordHasher<User>().HashPassword(user, Core.Security.Secret.NewToken()) };
    }
}

using System.Globalization;
using Broker.Core.Clients;
using Broker.Core.Platform;
using Broker.Core.Stores;
using Broker.Hosting;
using Broker.Http;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using static Broker.Core.Platform.AdminScopes;

namespace Broker.Console;

/// <summary>
/// The console at <c>/console</c>: server-rendered pages for the platform team (parents, their
/// installations, usage, the audit log) and for vendors (their own parents). Every action asks the
/// admin API's scope for it and goes through the same audited write as the admin API.
/// </summary>
public static partial class ConsoleEndpoints
{
    public const string Prefix = "/console";
    public const string LoginPath = Prefix + "/login";
    public const string ParentsPath = Prefix + "/parents";
    public const string AuditPath = Prefix + "/audit";
    public const string EntraLoginPath = LoginPath + "/entra";
    public const string SignedInPath = LoginPath + "/continue";

    public static IServiceCollection AddConsole(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ConsoleOptions>().Bind(configuration.GetSection(ConsoleOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ConsoleOptions>, ConsoleOptionsValidation>();
        services.AddSingleton<ConsoleAccess>();
        services.AddAdministration();
        var timeout = configuration.GetSection(ConsoleOptions.Section).Get<ConsoleOptions>()?.SessionTimeout ?? new ConsoleOptions().SessionTimeout;
        services.AddAuthentication().AddCookie(ConsoleAccess.Scheme, options =>
        {
            options.Cookie.Name = "broker.console";
            // Only the console's own requests carry it, and never one started by another site.
            options.Cookie.Path = Prefix;
            options.Cookie.SameSite = SameSiteMode.Strict;
            options.Cookie.HttpOnly = true;
            options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            options.LoginPath = LoginPath;
            options.ExpireTimeSpan = timeout;
            options.SlidingExpiration = true;
        }).AddConsoleEntraSignIn(configuration);
        return services;
    }

    public static IEndpointRouteBuilder MapConsole(this IEndpointRouteBuilder routes)
    {
        var console = routes.MapGroup(Prefix).ExcludeFromDescription().WithErrorFormat(ErrorFormat.Page)
            .AddEndpointFilter(ConsoleAccess.UseConsoleIdentityAsync);
        console.MapGet("", () => TypedResults.Redirect(ParentsPath));
        console.MapGet("/login", LoginPage);
        console.MapPost("/login", Login);
        console.MapPost("/login/entra", EntraLogin);
        console.MapGet("/login/continue", SignedIn);
        console.MapPost("/logout", Logout);
        console.MapGet("/parents", Parents);
        console.MapGet("/parents/{clientId}", Parent);
        console.MapPost("/parents/{clientId}/settings", SaveSettings);
        console.MapPost("/parents/{clientId}/disable", DisableParent);
        console.MapPost("/parents/{clientId}/owner", SetOwner);
        console.MapPost("/parents/{clientId}/rotate", RotateSecret);
        console.MapGet("/parents/{clientId}/kill", KillSwitchPage);
        console.MapPost("/parents/{clientId}/kill", KillSwitch);
        console.MapGet("/parents/{clientId}/installations", Installations);
        console.MapGet("/parents/{clientId}/installations/{reference}", Installation);
        console.MapPost("/parents/{clientId}/installations/{reference}/{change}", ChangeInstallation);
        console.MapGet("/audit", Audit);
        return routes;
    }

    // ---- Signing in ----

    private static async Task<HtmlPage> LoginPage(HttpContext context, IAntiforgery antiforgery, ConsoleAccess access, string? returnUrl) =>
        LoginForm(context, antiforgery, await access.EntraSignInConfiguredAsync(), SafeReturnUrl(returnUrl), null, null);

    private static HtmlPage LoginForm(HttpContext context, IAntiforgery antiforgery, bool entra, string returnUrl, string? email, string? message,
        int statusCode = StatusCodes.Status200OK) =>
        Html.Page("Console sign-in", $"""
            <h1>Console</h1>
            <p>For the platform team and for vendors of a plugin. Sign in with your account.</p>
            {(message is null ? "" : $"<p class=\"error\" role=\"alert\">{Html.Text(message)}</p>")}
            <form method="post" action="{LoginPath}">
            {Html.AntiforgeryField(context, antiforgery)}
            {Html.Hidden("returnUrl", returnUrl)}
            <label for="email">E-mail</label>
            <input id="email" name="email" type="email" autocomplete="username" required value="{Html.Text(email)}">
            <label for="password">Password</label>
            <input id="password" name="password" type="password" autocomplete="current-password" required>
            <button type="submit">Sign in</button>
            </form>
            {(entra ? $"""
                <h2>Platform team</h2>
                <form method="post" action="{EntraLoginPath}">
                {Html.AntiforgeryField(context, antiforgery)}
                {Html.Hidden("returnUrl", returnUrl)}
                <button class="secondary" type="submit">Sign in with Microsoft Entra ID</button>
                </form>
                """ : "")}
            """, statusCode);

    private static async Task<Results<RedirectHttpResult, HtmlPage>> Login(
        HttpContext context, IAntiforgery antiforgery, PasswordSignIn signIn, IPlatformClientStore clients, IOptionsMonitor<ConsoleOptions> options,
        ConsoleAccess access)
    {
        var form = await Html.ValidFormAsync(context, antiforgery);
        if (form is null)
        {
            return Html.FormRefused();
        }
        var entra = await access.EntraSignInConfiguredAsync();
        var returnUrl = SafeReturnUrl(RequestForms.SingleValue(form["returnUrl"]));
        var email = RequestForms.SingleValue(form["email"]) ?? "";
        var check = await signIn.CheckAsync(email, RequestForms.SingleValue(form["password"]) ?? "",
            context.Connection.RemoteIpAddress?.ToString() ?? "unknown", context.RequestAborted);
        if (check.RetryAfter is { } retryAfter)
        {
            context.Response.Headers.RetryAfter = OAuthResults.RetryAfterSeconds(retryAfter);
            return LoginForm(context, antiforgery, entra, returnUrl, email, "Too many failed sign-ins. Try again later.", StatusCodes.Status429TooManyRequests);
        }
        if (check.User is not { } user)
        {
            return LoginForm(context, antiforgery, entra, returnUrl, email, "Wrong e-mail or password.", StatusCodes.Status401Unauthorized);
        }
        // Reject accounts that are neither of the platform team nor a vendor: there is nothing here for them.
        var vendorOf = await clients.SearchParentsAsync(new ParentSearch(OwnerUserId: user.UserId), null, 1, context.RequestAborted);
        if (options.CurrentValue.ScopesOf(user.UserId).Count == 0 && vendorOf.Items.Count == 0)
        {
            return LoginForm(context, antiforgery, entra, returnUrl, email,
                "This account has no access to the console: it is not of the platform team and owns no plugin.", StatusCodes.Status403Forbidden);
        }
        await context.SignInAsync(ConsoleAccess.Scheme, ConsoleAccess.Principal(user));
        return TypedResults.Redirect(returnUrl);
    }

    private static async Task<Results<EmptyHttpResult, HtmlPage>> EntraLogin(HttpContext context, IAntiforgery antiforgery, ConsoleAccess access)
    {
        var form = await Html.ValidFormAsync(context, antiforgery);
        if (form is null)
        {
            return Html.FormRefused();
        }
        // Reject when Entra sign-in is not configured: there is no provider to send anyone to.
        if (!await access.EntraSignInConfiguredAsync())
        {
            return Html.Error("Not available", "Signing in with Microsoft Entra ID is not configured here.", StatusCodes.Status404NotFound);
        }
        // The return address travels inside the protected state, and is a console page.
        var next = $"{SignedInPath}?returnUrl={Uri.EscapeDataString(SafeReturnUrl(RequestForms.SingleValue(form["returnUrl"])))}";
        try
        {
            // The challenge reads Entra's metadata first: run here, so that Entra being away is a page, not a 500.
            await context.ChallengeAsync(ConsoleEntraSignIn.Scheme, new AuthenticationProperties { RedirectUri = next });
            return TypedResults.Empty;
        }
        catch (Exception exception) when (exception is InvalidOperationException or HttpRequestException or IOException)
        {
            context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ConsoleEntraSignIn))
                .LogWarning("Console sign-in with Microsoft Entra ID could not start: {Reason}", exception.Message);
            context.Response.Headers.RetryAfter = "60";
            return Html.Error("Sign-in unavailable",
                "Microsoft Entra ID cannot be reached right now. Try again in a minute, or sign in with a local account.",
                StatusCodes.Status503ServiceUnavailable);
        }
    }

    // The identity provider's redirect chain started on another site, so a browser withholds the SameSite=Strict
    // console cookie from the page it lands on. This page, sent without needing it, moves on from the console's
    // own site, where the cookie is sent.
    private static HtmlPage SignedIn(string? returnUrl)
    {
        var next = SafeReturnUrl(returnUrl);
        return Html.Page("Signed in", $"""
            <h1>Signed in</h1>
            <p><a href="{Html.Text(next)}">Continue to the console</a></p>
            """, refreshTo: next);
    }

    private static async Task<Results<RedirectHttpResult, HtmlPage>> Logout(HttpContext context, IAntiforgery antiforgery)
    {
        if (await Html.ValidFormAsync(context, antiforgery) is null)
        {
            return Html.FormRefused();
        }
        await context.SignOutAsync(ConsoleAccess.Scheme);
        return TypedResults.Redirect(LoginPath);
    }

    // Only the console's own pages: never an open redirect.
    private static string SafeReturnUrl(string? returnUrl) =>
        returnUrl is { Length: <= 2048 } && (returnUrl == Prefix || returnUrl.StartsWith(Prefix + "/", StringComparison.Ordinal))
        && !returnUrl.Contains("//", StringComparison.Ordinal) && !returnUrl.Contains('\\', StringComparison.Ordinal)
        && returnUrl.All(c => c > ' ' && c < '\u007f')
            ? returnUrl
            : ParentsPath;

    // ---- Parents ----

    private static async Task<Results<RedirectHttpResult, HtmlPage>> Parents(
        HttpContext context, IAntiforgery antiforgery, ConsoleAccess access, IPlatformClientStore clients, string? q, string? after)
    {
        if (await access.CurrentAsync(context) is not { } user)
        {
            return SignInFirst(context);
        }
        // Reject a search too long to be a name or an id, and a cursor we did not issue.
        var query = string.IsNullOrWhiteSpace(q) ? null : q.Trim();
        if (query?.Length > ClientText.MaxNameLength || (after is not null && !PageCursor.TryDecode(after, out _, out _)))
        {
            return Html.Error("Bad search", $"Search by a name's beginning or a client id, at most {ClientText.MaxNameLength} characters.");
        }
        // The platform team sees every parent; a vendor only their own; an Entra user without clients:read none.
        var page = user.Can(ClientsRead) || user.Account is not null
            ? await clients.SearchParentsAsync(new ParentSearch(query, user.Can(ClientsRead) ? null : user.Account!.UserId), after, 50, context.RequestAborted)
            : new Page<Client>([], null);
        var rows = string.Concat(page.Items.Select(parent => $"""
            <tr>
            <td data-label="Name"><a href="{ParentsPath}/{Html.Text(parent.ClientId)}">{Html.Untrusted(parent.Name)}</a></td>
            <td data-label="Client id"><code>{Html.Text(parent.ClientId)}</code></td>
            <td data-label="Status">{Status(parent)}</td>
            <td data-label="Created">{Time(parent.CreatedAt)}</td>
            </tr>
            """));
        var table = page.Items.Count == 0
            ? "<p>No parent matches.</p>"
            : $"""
              <table>
              <thead><tr><th scope="col">Name</th><th scope="col">Client id</th><th scope="col">Status</th><th scope="col">Created</th></tr></thead>
              <tbody>{rows}</tbody>
              </table>
              """;
        var more = page.Next is null ? "" : $"""<p><a href="{ParentsPath}?{QueryOf(("q", query), ("after", page.Next))}">More parents</a></p>""";
        return Layout(context, antiforgery, user, user.Can(ClientsRead) ? "Parents" : "Your plugins", $"""
            <form method="get" action="{ParentsPath}" class="search" role="search">
            <label for="q">Search by name or client id</label>
            <input id="q" name="q" type="text" value="{Html.Text(query)}">
            <button type="submit">Search</button>
            </form>
            {table}
            {more}
            """);
    }

    private static async Task<Results<RedirectHttpResult, HtmlPage>> Parent(
        HttpContext context, IAntiforgery antiforgery, ConsoleAccess access, IClientStore clients, IUserStore users, IUsageStore usage,
        GatewayRoutes routes, IOptions<InstallationOptions> installation, TimeProvider time, string clientId)
    {
        if (await access.CurrentAsync(context) is not { } user)
        {
            return SignInFirst(context);
        }
        if (await ReadableParentAsync(clients, user, clientId, context.RequestAborted) is not { } parent)
        {
            return NoSuchParent(clientId);
        }
        var settings = (ParentRole)parent.Role;
        var now = time.GetUtcNow();
        var hours = await usage.HoursAsync(UsageScope.OfParent(parent.ClientId), UsageCharts.From(now), now + TimeSpan.FromHours(1), context.RequestAborted);
        var owner = settings.OwnerUserId is null ? null : await users.FindAsync(settings.OwnerUserId, context.RequestAborted);
        var antiforgeryField = Html.AntiforgeryField(context, antiforgery);
        var action = $"{ParentsPath}/{Html.Text(parent.ClientId)}";
        var version = Html.Hidden("version", parent.Version.ToString(CultureInfo.InvariantCulture));
        var manage = user.Can(ParentsWrite)
            ? $"""
              <h2>Settings</h2>
              {SettingsForm(parent, settings, routes, installation.Value.DefaultChildRateLimit, antiforgeryField, version)}
              <h2>Vendor</h2>
              <form method="post" action="{action}/owner">
              {antiforgeryField}{version}
              <label for="owner">Owner's e-mail (their account sees this plugin, its installations and usage, and may rotate its secret)</label>
              <input id="owner" name="owner" type="email" value="{Html.Text(owner?.Email)}">
              <button type="submit">Save owner</button>
              </form>
              <h2>Stop it</h2>
              <div class="actions">
              {(parent.DisabledAt is null ? $"""<form class="inline" method="post" action="{action}/disable">{antiforgeryField}{version}<button class="secondary" type="submit">Disable this parent</button></form>""" : "")}
              <a class="button danger" href="{action}/kill">Kill switch: disable it and all its installations</a>
              </div>
              """
            : "";
        var rotate = user.Can(ParentsWrite) || user.IsVendorOf(parent)
            ? $"""
              <h2>Secret</h2>
              <p>Fingerprint <code>…{Html.Text(parent.SecretFingerprint)}</code>.{(parent.PreviousSecretExpiresAt is { } until && until > now ? $" The previous secret works until {Time(until)}." : "")}</p>
              <form method="post" action="{action}/rotate">{antiforgeryField}{version}<button class="secondary" type="submit">Rotate the secret</button></form>
              """
            : "";
        return Layout(context, antiforgery, user, parent.Name, $"""
            <p>Client id <code>{Html.Text(parent.ClientId)}</code> · {Status(parent)} · created {Time(parent.CreatedAt)}{(owner is null ? "" : $" · vendor {Html.Text(owner.Email)}")}</p>
            <p><a href="{action}/installations">Installations</a></p>
            <h2>Calls per hour, last 7 days</h2>
            {UsageCharts.CallsPerHour($"Calls per hour to {parent.Name}, last 7 days", hours, now)}
            {UsageCharts.Totals(hours)}
            <h2>What installations may call</h2>
            <p>{settings.ChildRateLimit ?? installation.Value.DefaultChildRateLimit} calls an hour each; {string.Join(", ", (settings.ChildEndpoints ?? EndpointPattern.DefaultChildEndpoints).Select(pattern => $"<code>{Html.Text(pattern)}</code>"))}.</p>
            {rotate}
            {manage}
            """, untrustedTitle: true);
    }

    private static string SettingsForm(Client parent, ParentRole settings, GatewayRoutes routes, int defaultRateLimit, string antiforgeryField, string version)
    {
        var current = EndpointPattern.TryNormalise(settings.ChildEndpoints ?? EndpointPattern.DefaultChildEndpoints, out _) ?? [];
        var offered = EndpointPattern.TryNormalise(routes.Patterns, out _) ?? [];
        var boxes = string.Concat(offered.Select((pattern, index) => $"""
            <li><input type="checkbox" id="endpoint-{index}" name="endpoint" value="{Html.Text(pattern)}"{(current.Contains(pattern, StringComparer.Ordinal) ? " checked" : "")}><label class="check" for="endpoint-{index}"><code>{Html.Text(pattern)}</code></label></li>
            """));
        var enable = parent.DisabledAt is null ? "" : """<button name="enable" value="true" type="submit">Save and enable</button>""";
        return $"""
            <form method="post" action="{ParentsPath}/{Html.Text(parent.ClientId)}/settings">
            {antiforgeryField}{version}
            <label for="rate">Calls an hour for each installation</label>
            <input id="rate" name="child_rate_limit" type="number" min="1" inputmode="numeric" value="{settings.ChildRateLimit ?? defaultRateLimit}">
            <fieldset><legend>Endpoints installations may call (the gateway's routes)</legend><ul class="checks">{boxes}</ul></fieldset>
            <div class="actions"><button type="submit">Save settings</button>{enable}</div>
            </form>
            """;
    }

    private static async Task<Results<RedirectHttpResult, HtmlPage>> SaveSettings(
        HttpContext context, IAntiforgery antiforgery, ConsoleAccess access, ClientAdministration administration, GatewayRoutes routes, string clientId)
    {
        var (user, form, refusal) = await WriteRequestAsync(context, antiforgery, access, ParentsWrite);
        if (refusal is not null)
        {
            return refusal;
        }
        // Reject a quota that is not a whole number, and endpoints the gateway does not route.
        if (!int.TryParse(RequestForms.SingleValue(form!["child_rate_limit"]), NumberStyles.None, CultureInfo.InvariantCulture, out var rateLimit))
        {
            return Html.Error("Not saved", "The calls an hour must be a whole number, at least 1.");
        }
        var offered = EndpointPattern.TryNormalise(routes.Patterns, out _) ?? [];
        var chosen = form["endpoint"].Select(value => value ?? "").ToList();
        var unknown = chosen.FirstOrDefault(pattern => !offered.Contains(pattern, StringComparer.Ordinal));
        if (unknown is not null)
        {
            return Html.Error("Not saved", $"'{unknown}' is not one of the gateway's routes.");
        }
        if (chosen.Count == 0)
        {
            return Html.Error("Not saved", "Choose at least one endpoint; to stop the installations, disable the parent.");
        }
        var change = new ParentSettingsChange
        {
            ChildRateLimit = Setting.To<int?>(rateLimit),
            ChildEndpoints = Setting.To<IReadOnlyList<string>?>(chosen),
        };
        var update = RequestForms.SingleValue(form["enable"]) == "true" ? ParentUpdate.Enable : ParentUpdate.Merge;
        var result = await administration.ChangeParentAsync(clientId, change, update, user!.Actor(context), Version(form), context.RequestAborted);
        return Outcome(result, $"{ParentsPath}/{clientId}");
    }

    private static async Task<Results<RedirectHttpResult, HtmlPage>> DisableParent(
        HttpContext context, IAntiforgery antiforgery, ConsoleAccess access, PlatformAdministration platform, string clientId)
    {
        var (user, form, refusal) = await WriteRequestAsync(context, antiforgery, access, ParentsWrite);
        if (refusal is not null)
        {
            return refusal;
        }
        var result = await platform.DisableParentAsync(clientId, disableChildren: false, user!.Actor(context), Version(form!), context.RequestAborted);
        return Outcome(result, $"{ParentsPath}/{clientId}");
    }

    private static async Task<Results<RedirectHttpResult, HtmlPage>> SetOwner(
        HttpContext context, IAntiforgery antiforgery, ConsoleAccess access, PlatformAdministration platform, string clientId)
    {
        var (user, form, refusal) = await WriteRequestAsync(context, antiforgery, access, ParentsWrite);
        if (refusal is not null)
        {
            return refusal;
        }
        var result = await platform.SetParentOwnerAsync(clientId, ParentOwner.ByEmail(RequestForms.SingleValue(form!["owner"])), user!.Actor(context), Version(form), context.RequestAborted);
        return Outcome(result, $"{ParentsPath}/{clientId}");
    }

    private static async Task<Results<RedirectHttpResult, HtmlPage>> RotateSecret(
        HttpContext context, IAntiforgery antiforgery, ConsoleAccess access, IClientStore clients, PlatformAdministration platform, string clientId)
    {
        // The vendor may rotate their own parent's secret; the platform team any parent's.
        var (user, form, refusal) = await WriteRequestAsync(context, antiforgery, access, null);
        if (refusal is not null)
        {
            return refusal;
        }
        var parent = await ReadableParentAsync(clients, user!, clientId, context.RequestAborted);
        if (parent is null)
        {
            return NoSuchParent(clientId);
        }
        if (!user!.Can(ParentsWrite) && !user.IsVendorOf(parent))
        {
            return Forbidden(ParentsWrite);
        }
        var result = await platform.RotateSecretAsync(clientId, user.Actor(context), Version(form!), context.RequestAborted);
        if (result.Problem is not null)
        {
            return Failure(result.Problem, result.Failure);
        }
        var rotated = result.Value!;
        return Layout(context, antiforgery, user, "New secret", $"""
            <p>The new secret of {Html.Untrusted(rotated.Client.Name)}. <strong>It is shown this once</strong>: copy it now into the plugin's settings.</p>
            <pre><code>{Html.Text(rotated.ClientSecret)}</code></pre>
            <p>The previous secret keeps working until {Time(rotated.Client.PreviousSecretExpiresAt ?? DateTimeOffset.UtcNow)}, so installed plugins can move to the new one.</p>
            <p><a href="{ParentsPath}/{Html.Text(clientId)}">Back to the parent</a></p>
            """);
    }

    private static async Task<Results<RedirectHttpResult, HtmlPage>> KillSwitchPage(
        HttpContext context, IAntiforgery antiforgery, ConsoleAccess access, IClientStore clients, IPlatformClientStore platformClients, string clientId)
    {
        if (await access.CurrentAsync(context) is not { } user)
        {
            return SignInFirst(context);
        }
        if (!user.Can(ParentsWrite))
        {
            return Forbidden(ParentsWrite);
        }
        if (await ReadableParentAsync(clients, user, clientId, context.RequestAborted) is not { } parent)
        {
            return NoSuchParent(clientId);
        }
        var count = await platformClients.CountActiveChildrenAsync(parent.ClientId, context.RequestAborted);
        return KillSwitchConfirmation(context, antiforgery, user, parent, count, null);
    }

    private static HtmlPage KillSwitchConfirmation(
        HttpContext context, IAntiforgery antiforgery, ConsoleUser user, Client parent, int count, string? message, int statusCode = StatusCodes.Status200OK)
    {
        var installations = count == 1 ? "1 active installation" : $"{count.ToString("N0", CultureInfo.InvariantCulture)} active installations";
        return Layout(context, antiforgery, user, "Kill switch", $"""
            {(message is null ? "" : $"<p class=\"error\" role=\"alert\">{Html.Text(message)}</p>")}
            <p class="host">Disable {Html.Untrusted(parent.Name)} and its {installations}?</p>
            <p>Every installation stops at once (the gateway within seconds), its unspent installation tokens are revoked,
            and no site can install it until the platform team enables it again. Each installation then has to be enabled one by one.</p>
            <form method="post" action="{ParentsPath}/{Html.Text(parent.ClientId)}/kill">
            {Html.AntiforgeryField(context, antiforgery)}
            {Html.Hidden("version", parent.Version.ToString(CultureInfo.InvariantCulture))}
            {Html.Hidden("count", count.ToString(CultureInfo.InvariantCulture))}
            <div class="actions"><button class="danger" type="submit">Disable the parent and {installations}</button>
            <a href="{ParentsPath}/{Html.Text(parent.ClientId)}">Cancel</a></div>
            </form>
            """, statusCode);
    }

    private static async Task<Results<RedirectHttpResult, HtmlPage>> KillSwitch(
        HttpContext context, IAntiforgery antiforgery, ConsoleAccess access, IClientStore clients, IPlatformClientStore platformClients,
        PlatformAdministration platform, string clientId)
    {
        var (user, form, refusal) = await WriteRequestAsync(context, antiforgery, access, ParentsWrite);
        if (refusal is not null)
        {
            return refusal;
        }
        if (await ReadableParentAsync(clients, user!, clientId, context.RequestAborted) is not { } parent)
        {
            return NoSuchParent(clientId);
        }
        // Reject a confirmation of another count: installations came or went since the page was shown.
        var count = await platformClients.CountActiveChildrenAsync(parent.ClientId, context.RequestAborted);
        if (RequestForms.SingleValue(form!["count"]) != count.ToString(CultureInfo.InvariantCulture))
        {
            return KillSwitchConfirmation(context, antiforgery, user!, parent, count,
                "The number of active installations changed since this page was shown. Confirm again.", StatusCodes.Status409Conflict);
        }
        var result = await platform.DisableParentAsync(clientId, disableChildren: true, user!.Actor(context), Version(form), context.RequestAborted);
        return Outcome(result, $"{ParentsPath}/{clientId}");
    }

    // ---- Shared steps ----

    /// <summary>The parent when <paramref name="user"/> may see it; null for unknown ids, other roles and other vendors' parents alike.</summary>
    private static async Task<Client?> ReadableParentAsync(IClientStore clients, ConsoleUser user, string clientId, CancellationToken cancellationToken)
    {
        var client = Core.Security.Secret.IsWellFormedClientId(clientId) ? await clients.FindAsync(clientId, cancellationToken) : null;
        return client is { Role: ParentRole } && user.MayRead(client) ? client : null;
    }

    /// <summary>A write's first steps: a valid form (antiforgery), a signed-in user, and the scope (null: the handler decides).</summary>
    private static async Task<(ConsoleUser? User, IFormCollection? Form, HtmlPage? Refusal)> WriteRequestAsync(
        HttpContext context, IAntiforgery antiforgery, ConsoleAccess access, string? scope)
    {
        var form = await Html.ValidFormAsync(context, antiforgery);
        if (form is null)
        {
            return (null, null, Html.FormRefused());
        }
        var user = await access.CurrentAsync(context);
        if (user is null)
        {
            return (null, null, Html.Error("Signed out", "Your console session has ended. Sign in again.", StatusCodes.Status401Unauthorized));
        }
        return scope is not null && !user.Can(scope) ? (user, form, Forbidden(scope)) : (user, form, null);
    }

    /// <summary>The version the form was rendered from, so a change made meanwhile is a conflict rather than overwritten.</summary>
    private static long? Version(IFormCollection form) =>
        long.TryParse(RequestForms.SingleValue(form["version"]), NumberStyles.None, CultureInfo.InvariantCulture, out var version) ? version : null;

    private static Results<RedirectHttpResult, HtmlPage> Outcome<T>(AdminResult<T> result, string next) =>
        result.Problem is null ? TypedResults.Redirect(next) : Failure(result.Problem, result.Failure);

    private static HtmlPage Failure(string problem, AdminFailure failure) => failure switch
    {
        AdminFailure.NotFound => Html.Error("Not found", problem, StatusCodes.Status404NotFound),
        AdminFailure.PreconditionFailed => Html.Error("Changed meanwhile", "Someone changed this since the page was shown. Go back, reload and try again.", StatusCodes.Status409Conflict),
        AdminFailure.Conflict => Html.Error("Not changed", problem, StatusCodes.Status409Conflict),
        _ => Html.Error("Not changed", problem),
    };

    private static RedirectHttpResult SignInFirst(HttpContext context) =>
        TypedResults.Redirect($"{LoginPath}?returnUrl={Uri.EscapeDataString(context.Request.Path + context.Request.QueryString)}");

    private static HtmlPage Forbidden(string scope) =>
        Html.Error("Not allowed", $"Your account lacks the {scope} scope this needs.", StatusCodes.Status403Forbidden);

    private static HtmlPage NoSuchParent(string clientId) =>
        Html.Error("Not found", $"There is no parent you can see with client id {clientId}.", StatusCodes.Status404NotFound);

    private static string Status(Client client) =>
        client.RevokedAt is not null ? "<span class=\"badge\">revoked</span>"
        : client.DisabledAt is not null ? "<span class=\"badge\">disabled</span>"
        : "active";

    private static string Time(DateTimeOffset time) => Html.Text(time.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture));

    private static string QueryOf(params (string Name, string? Value)[] parameters) =>
        string.Join("&amp;", parameters.Where(parameter => parameter.Value is not null)
            .Select(parameter => $"{parameter.Name}={Uri.EscapeDataString(parameter.Value!)}"));

    /// <summary>A console page: the navigation the user's scopes allow, then the content.</summary>
    private static HtmlPage Layout(
        HttpContext context, IAntiforgery antiforgery, ConsoleUser user, string title, string body, int statusCode = StatusCodes.Status200OK,
        bool untrustedTitle = false)
    {
        var links = new List<string> { $"""<a href="{ParentsPath}">{(user.Can(ClientsRead) ? "Parents" : "Your plugins")}</a>""" };
        if (user.Can(AuditRead))
        {
            links.Add($"""<a href="{AuditPath}">Audit log</a>""");
        }
        var heading = untrustedTitle ? Html.Untrusted(title, 200) : Html.Text(title);
        return Html.Page(title, $"""
            <nav class="console" aria-label="Console">{string.Join(" ", links)}
            <span class="who">{Html.Text(user.Name)}{(user.Scopes.Count > 0 ? "" : " (vendor)")}</span>
            <form class="inline" method="post" action="{Prefix}/logout">{Html.AntiforgeryField(context, antiforgery)}<button class="link" type="submit">Sign out</button></form></nav>
            <h1>{heading}</h1>
            {body}
            """, statusCode, wide: true);
    }
}

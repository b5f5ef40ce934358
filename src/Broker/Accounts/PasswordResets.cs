using System.Threading.Channels;
using Broker.Core.Accounts;
using Broker.Core.Security;
using Broker.Core.Stores;
using Broker.Hosting;
using Broker.Http;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace Broker.Accounts;

/// <summary>
/// "Forgot password?": a link by e-mail that sets a new password once. The request page answers the
/// same, at once, whatever the address: the account is looked up and the mail sent afterwards by
/// <see cref="PasswordResetMailer"/>, so neither the words nor the timing tell whether an account exists.
/// </summary>
public static class PasswordResets
{
    public const string ForgotPath = "/account/forgot";
    public const string ResetPath = "/account/reset";

    public static IServiceCollection AddPasswordResets(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddMail(configuration);
        services.AddSingleton(provider =>
        {
            var store = provider.GetRequiredService<IThrottleStore>();
            var options = provider.GetRequiredService<IOptions<AccountOptions>>().Value;
            return new PasswordResetThrottles(
                store.Create("password-resets-per-account", options.PasswordResetsPerAccount, options.PasswordResetWindow),
                store.Create("password-resets-per-address", options.PasswordResetsPerAddress, options.PasswordResetWindow));
        });
        services.AddSingleton<PasswordResetMailer>();
        services.AddHostedService(provider => provider.GetRequiredService<PasswordResetMailer>());
        return services;
    }

    public static RouteGroupBuilder MapPasswordResets(this RouteGroupBuilder account)
    {
        account.MapGet("/forgot", ForgotPage);
        account.MapPost("/forgot", Forgot);
        account.MapGet("/reset", ResetPage);
        account.MapPost("/reset", Reset);
        return account;
    }

    private static HtmlPage ForgotPage(HttpContext context, IAntiforgery antiforgery, MailAvailability mail) =>
        mail.CanSend ? ForgotForm(context, antiforgery, null, null) : Unavailable();

    private static async Task<HtmlPage> Forgot(
        HttpContext context, IAntiforgery antiforgery, MailAvailability mail, PasswordResetThrottles throttles,
        PasswordResetMailer mailer, IOptions<AccountOptions> options, BrokerTelemetry telemetry)
    {
        // Reject when this deployment cannot send mail.
        if (!mail.CanSend)
        {
            return Unavailable();
        }
        var form = await Html.ValidFormAsync(context, antiforgery);
        if (form is null)
        {
            return Html.FormRefused();
        }
        var email = RequestForms.SingleValue(form["email"]);
        // Reject what is not an e-mail address (which says nothing about accounts).
        if (AccountRules.EmailProblem(email) is { } problem)
        {
            return ForgotForm(context, antiforgery, email, problem, StatusCodes.Status400BadRequest);
        }
        var accountKey = AccountRules.Normalize(email!);
        // Reject past the allowance of the address typed (existing or not) or of the caller.
        if ((await throttles.PerAccount.TryTakePermitAsync(accountKey, context.RequestAborted)
            ?? await throttles.PerAddress.TryTakePermitAsync(AccountEndpoints.CallerAddress(context), context.RequestAborted)) is { } retryAfter)
        {
            telemetry.Throttled("password-reset-requests", AccountEndpoints.CallerAddress(context), retryAfter);
            context.Response.Headers.RetryAfter = OAuthResults.RetryAfterSeconds(retryAfter);
            return ForgotForm(context, antiforgery, email, "Too many reset requests. Try again later.", StatusCodes.Status429TooManyRequests);
        }
        mailer.Enqueue(accountKey);
        return Html.Page("Check your e-mail", $"""
            <h1>Check your e-mail</h1>
            <p>If an account uses <strong>{Html.Text(email!.Trim())}</strong>, we have sent it a link to choose a new password.
            The link works once, for {Html.Text(Html.Lifetime(options.Value.PasswordResetLifetime))}.</p>
            <p class="muted">Nothing arrived? Check your spam folder, or <a href="{ForgotPath}">ask for another link</a>.</p>
            <p><a href="{UserSession.LoginPath}">Back to sign in</a></p>
            """);
    }

    // Opening the link changes nothing (mail scanners open links too): only the form's POST spends it.
    private static async Task<HtmlPage> ResetPage(
        HttpContext context, IAntiforgery antiforgery, IPasswordResetStore resets, IUserStore users, TimeProvider time, string? token)
    {
        var user = await UsableLinkOwnerAsync(token, resets, users, time, context.RequestAborted);
        return user is null ? LinkUnusable() : ResetForm(context, antiforgery, token!, user, null);
    }

    private static async Task<Results<HtmlPage, RedirectHttpResult>> Reset(
        HttpContext context, IAntiforgery antiforgery, IPasswordResetStore resets, IUserStore users,
        IPasswordHasher<User> hasher, TimeProvider time)
    {
        var form = await Html.ValidFormAsync(context, antiforgery);
        if (form is null)
        {
            return Html.FormRefused();
        }
        var token = RequestForms.SingleValue(form["token"]);
        var password = RequestForms.SingleValue(form["password"]);
        var user = await UsableLinkOwnerAsync(token, resets, users, time, context.RequestAborted);
        // Reject an unknown, expired or spent link.
        if (user is null)
        {
            return LinkUnusable();
        }
        // Reject a weak password, saying why; the link stays good.
        if (AccountRules.PasswordProblem(password) is { } problem)
        {
            return ResetForm(context, antiforgery, token!, user, problem, StatusCodes.Status400BadRequest);
        }
        // Reject the loser of a race for the same link: the conditional write decides, not the read above.
        if (!await resets.RedeemAsync(Secret.Hash(token!), hasher.HashPassword(user, password!), time.GetUtcNow(), context.RequestAborted))
        {
            return LinkUnusable();
        }
        // Sessions carry a stamp of the password they were opened with: every other one ends now.
        await context.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        return Html.Page("Password changed", $"""
            <h1>Password changed</h1>
            <p class="notice" role="status">The password of <strong>{Html.Text(user.Email)}</strong> has been changed, and every session signed in with the old one has ended.</p>
            <p><a href="{UserSession.LoginPath}">Sign in with your new password</a></p>
            """);
    }

    private static async Task<User?> UsableLinkOwnerAsync(
        string? token, IPasswordResetStore resets, IUserStore users, TimeProvider time, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(token) || token.Length > 128)
        {
            return null;
        }
        var reset = await resets.FindAsync(Secret.Hash(token), cancellationToken);
        if (reset is null || !reset.IsUsableAt(time.GetUtcNow()))
        {
            return null;
        }
        var user = await users.FindAsync(reset.UserId, cancellationToken);
        return user is { DisabledAt: null } ? user : null;
    }

    private static HtmlPage ForgotForm(HttpContext context, IAntiforgery antiforgery, string? email, string? message, int statusCode = StatusCodes.Status200OK) =>
        Html.Page("Reset your password", $"""
            <h1>Reset your password</h1>
            {AccountEndpoints.Alert(message)}
            <p>Type the e-mail address of your account. We will send it a link to choose a new password.</p>
            <form method="post" action="{ForgotPath}">
            {Html.AntiforgeryField(context, antiforgery)}
            <label for="email">E-mail</label>
            <input id="email" name="email" type="email" autocomplete="email" required value="{Html.Text(email)}">
            <button type="submit">Send the link</button>
            </form>
            <p><a href="{UserSession.LoginPath}">Back to sign in</a></p>
            """, statusCode);

    private static HtmlPage ResetForm(HttpContext context, IAntiforgery antiforgery, string token, User user, string? message, int statusCode = StatusCodes.Status200OK) =>
        Html.Page("Choose a new password", $"""
            <h1>Choose a new password</h1>
            {AccountEndpoints.Alert(message)}
            <p>For the account <strong>{Html.Text(user.Email)}</strong>.</p>
            <form method="post" action="{ResetPath}">
            {Html.AntiforgeryField(context, antiforgery)}
            {Html.Hidden("token", token)}
            <input type="email" name="username" autocomplete="username" value="{Html.Text(user.Email)}" hidden>
            <label for="password">New password (at least {AccountRules.MinPasswordLength} characters)</label>
            <input id="password" name="password" type="password" autocomplete="new-password" minlength="{AccountRules.MinPasswordLength}" required>
            <button type="submit">Change password</button>
            </form>
            """, statusCode);

    private static HtmlPage LinkUnusable() =>
        Html.Page("Link expired", $"""
            <h1>This link cannot be used</h1>
            <p class="error">It has expired or has already been used. Each link works once, for a short time.</p>
            <p><a href="{ForgotPath}">Ask for a new link</a></p>
            """, StatusCodes.Status400BadRequest);

    private static HtmlPage Unavailable() =>
        Html.Error("Password reset unavailable",
            "This service cannot send e-mail, so passwords cannot be reset here. Ask the people who run it.",
            StatusCodes.Status404NotFound);
}

/// <summary>The allowances of reset requests, per typed address and per caller address.</summary>
public sealed record PasswordResetThrottles(IKeyedThrottle PerAccount, IKeyedThrottle PerAddress);

/// <summary>
/// Looks accounts up and sends reset mails off the request path, one request at a time, in the order
/// asked. A full queue drops the request (logged): the page's answer must not depend on it.
/// </summary>
public sealed class PasswordResetMailer(
    IServiceProvider services, IOptions<AccountOptions> options, IOptions<BrokerOptions> broker,
    PageBranding branding, TimeProvider time, ILogger<PasswordResetMailer> logger) : BackgroundService
{
    private readonly Channel<string> requests = Channel.CreateBounded<string>(
        new BoundedChannelOptions(1000) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });

    /// <summary>Queues a reset for the account with this normalised e-mail, if there is one.</summary>
    public void Enqueue(string normalizedEmail)
    {
        if (!requests.Writer.TryWrite(normalizedEmail))
        {
            logger.LogWarning("Password reset request dropped: the mail queue is full");
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var normalizedEmail in requests.Reader.ReadAllAsync(stoppingToken))
        {
            try
            {
                await SendAsync(normalizedEmail, stoppingToken);
            }
            catch (Exception exception) when (exception is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                logger.LogError(exception, "A password reset mail could not be sent");
            }
        }
    }

    private async Task SendAsync(string normalizedEmail, CancellationToken cancellationToken)
    {
        var user = await services.GetRequiredService<IUserStore>().FindByEmailAsync(normalizedEmail, cancellationToken);
        if (user is not { DisabledAt: null })
        {
            return;
        }
        var resets = services.GetRequiredService<IPasswordResetStore>();
        var token = Secret.NewToken();
        var now = time.GetUtcNow();
        var lifetime = options.Value.PasswordResetLifetime;
        await resets.CreateAsync(new PasswordReset { TokenHash = Secret.Hash(token), UserId = user.UserId, CreatedAt = now, ExpiresAt = now + lifetime },
            cancellationToken);
        var link = $"{broker.Value.Issuer.TrimEnd('/')}{PasswordResets.ResetPath}?token={token}";
        await services.GetRequiredService<IMailSender>().SendAsync(new Mail(
            user.Email,
            $"Reset your {branding.ProductName} password",
            $"""
            Someone, hopefully you, asked to reset the password of the {branding.ProductName} account {user.Email}.

            To choose a new password, open this link within {Html.Lifetime(lifetime)}. It works once:

            {link}

            If you did not ask, ignore this mail: your password stays as it is.
            """), cancellationToken);
        // Spent and expired links are kept a day (a late click still gets a clear answer), then dropped.
        await resets.PurgeExpiredAsync(now - TimeSpan.FromDays(1), cancellationToken);
    }
}

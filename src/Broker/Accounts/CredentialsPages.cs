using Broker.Core.Clients;
using Broker.Http;
using Microsoft.AspNetCore.Antiforgery;

namespace Broker.Accounts;

/// <summary>
/// The sign-in and join pages. When the person arrives from an authorize request, they say which
/// application asks and for which site before asking for a password.
/// </summary>
public sealed class CredentialsPages(ISignInPurposes purposes, PageBranding branding, MailAvailability mail)
{
    /// <summary>One of the two pages: its heading, where it posts, and the other page it links to.</summary>
    public sealed record Kind(string Title, string Action, string PasswordAutocomplete, string OtherPrompt, string OtherLabel, string OtherPath);

    public static readonly Kind Login = new("Sign in", UserSession.LoginPath, "current-password", "No account yet?", "Create one", AccountEndpoints.JoinPath);

    public static readonly Kind Join = new("Create an account", AccountEndpoints.JoinPath, "new-password", "Have an account?", "Sign in", UserSession.LoginPath);

    public async Task<HtmlPage> RenderAsync(
        HttpContext context, IAntiforgery antiforgery, Kind kind, string returnUrl, string? email, string? message,
        int statusCode = StatusCodes.Status200OK)
    {
        var purpose = await purposes.DescribeAsync(returnUrl, context.RequestAborted);
        var intro = purpose is null
            ? $"<p>{(kind == Login ? "Sign in to" : "Create")} your {Html.Text(branding.ProductName)} account.</p>"
            : Intro(purpose, kind);
        var returnQuery = "?returnUrl=" + Uri.EscapeDataString(returnUrl);
        var forgot = kind == Login && mail.CanSend
            ? $"""<p><a href="{PasswordResets.ForgotPath}">Forgot password?</a></p>"""
            : "";
        var passwordHint = kind == Join ? $" (at least {Core.Accounts.AccountRules.MinPasswordLength} characters)" : "";
        return Html.Page(kind.Title, $"""
            <h1>{Html.Text(kind.Title)}</h1>
            {intro}
            {AccountEndpoints.Alert(message)}
            <form method="post" action="{kind.Action}">
            {Html.AntiforgeryField(context, antiforgery)}
            {Html.Hidden("returnUrl", returnUrl)}
            <label for="email">E-mail</label>
            <input id="email" name="email" type="email" autocomplete="email" required value="{Html.Text(email)}">
            <label for="password">Password{passwordHint}</label>
            <input id="password" name="password" type="password" autocomplete="{kind.PasswordAutocomplete}" required>
            <button type="submit">{Html.Text(kind.Title)}</button>
            </form>
            {forgot}
            <p>{Html.Text(kind.OtherPrompt)} <a href="{Html.Text(kind.OtherPath + returnQuery)}">{Html.Text(kind.OtherLabel)}</a></p>
            """, statusCode);
    }

    private string Intro(SignInPurpose purpose, Kind kind)
    {
        var application = purpose.Application;
        var asks = application.Role is ParentRole
            ? $"{Html.Untrusted(application.Name)} asks to be installed on your site:"
            : $"{Html.Untrusted(application.Name)} asks for access to your account, for the site:";
        var next = kind == Login ? "Sign in" : "Create an account";
        return $"""
            <p>{asks}</p>
            <p class="host">{Html.Text(purpose.Site)}</p>
            {ApplicationCard.Render(application, branding.ProductName)}
            <p>{next} to see what it asks for. Nothing is approved until you say so.</p>
            """;
    }
}

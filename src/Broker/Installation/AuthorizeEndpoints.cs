using Broker.Core.Authorization;
using Broker.Core.Clients;
using Broker.Core.Security;
using Broker.Core.Stores;
using Broker.Hosting;
using Broker.Core.Accounts;
using Broker.Http;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace Broker.Installation;

/// <summary>
/// The authorization endpoint (RFC 6749 §4.1.1): sign-in if needed, a consent page, then a redirect
/// carrying a code. General to every client allowed the authorization code grant.
/// </summary>
public static class AuthorizeEndpoints
{
    public const string Path = OAuthPaths.Authorize;

    private static readonly string[] SingleValued =
        ["client_id", "redirect_uri", "response_type", "scope", "state", "code_challenge", "code_challenge_method"];

    public static IEndpointRouteBuilder MapAuthorize(this IEndpointRouteBuilder routes)
    {
        routes.MapGet(Path, Authorize).ExcludeFromDescription().WithErrorFormat(ErrorFormat.Page);
        routes.MapPost(Path, Decide).ExcludeFromDescription().WithErrorFormat(ErrorFormat.Page);
        return routes;
    }

    private static async Task<Results<HtmlPage, RedirectHttpResult>> Authorize(
        HttpContext context, IClientStore clients, IUserStore users, IAntiforgery antiforgery, IOptions<BrokerOptions> broker, PageBranding branding,
        BrokerTelemetry telemetry)
    {
        using var activity = BrokerTelemetry.Source.StartActivity("authorize");
        var validation = await ValidateAsync(context.Request.Query, clients, context.RequestAborted);
        if (ErrorResult(context, validation, broker.Value.Issuer, telemetry) is { } error)
        {
            return error;
        }
        // Not signed in: login or join first, then back here with the same request.
        var user = await UserSession.SignedInUserAsync(context, users);
        if (user is null)
        {
            return TypedResults.Redirect(UserSession.LoginUrl(Path + context.Request.QueryString));
        }
        Observe(activity, validation.Request!.Client);
        if (validation.Request.Client.Role is ParentRole)
        {
            telemetry.InstallationStep(InstallationSteps.Started);
        }
        return ConsentPage(context, antiforgery, validation.Request!, user, branding.ProductName);
    }

    // A parent's client_id is public (it ships in the plugin); other clients are not named on the span.
    private static void Observe(System.Diagnostics.Activity? activity, Client client)
    {
        if (client.Role is ParentRole)
        {
            activity?.SetTag(BrokerTelemetry.ParentTag, client.ClientId);
        }
    }

    private static async Task<Results<HtmlPage, RedirectHttpResult>> Decide(
        HttpContext context, IClientStore clients, IUserStore users, IGrantStore grants, IAntiforgery antiforgery,
        IOptions<BrokerOptions> broker, IOptions<InstallationOptions> installation, TimeProvider time, BrokerTelemetry telemetry)
    {
        using var activity = BrokerTelemetry.Source.StartActivity("consent");
        // Reject a consent without a valid antiforgery token: consent is the security boundary.
        var form = await Html.ValidFormAsync(context, antiforgery);
        if (form is null)
        {
            return Html.FormRefused();
        }
        var validation = await ValidateAsync(form, clients, context.RequestAborted);
        if (ErrorResult(context, validation, broker.Value.Issuer, telemetry) is { } error)
        {
            return error;
        }
        var request = validation.Request!;
        var user = await UserSession.SignedInUserAsync(context, users);
        if (user is null)
        {
            return TypedResults.Redirect(UserSession.LoginUrl(Path + QueryOf(form)));
        }
        Observe(activity, request.Client);
        var installs = request.Client.Role is ParentRole;
        if (RequestForms.SingleValue(form["decision"]) != "approve")
        {
            if (installs)
            {
                telemetry.InstallationStep(InstallationSteps.Denied);
            }
            return RedirectWith(request.RedirectUri, broker.Value.Issuer, request.State,
                ("error", OAuthErrors.AccessDenied), ("error_description", "the user denied the request"));
        }
        var code = Secret.NewToken();
        var now = time.GetUtcNow();
        await grants.CreateCodeAsync(new AuthorizationCode
        {
            CodeHash = Secret.Hash(code),
            ClientId = request.Client.ClientId,
            UserId = user.UserId,
            RedirectUri = request.RedirectUri,
            Scope = request.Scope,
            CodeChallenge = request.CodeChallenge,
            CreatedAt = now,
            ExpiresAt = now + installation.Value.CodeLifetime,
        }, context.RequestAborted);
        if (installs)
        {
            telemetry.InstallationStep(InstallationSteps.Approved);
        }
        return RedirectWith(request.RedirectUri, broker.Value.Issuer, request.State, ("code", code));
    }

    internal static async Task<AuthorizationValidation> ValidateAsync(
        IEnumerable<KeyValuePair<string, StringValues>> parameters, IClientStore clients, CancellationToken cancellationToken)
    {
        var values = parameters.ToDictionary(pair => pair.Key, pair => pair.Value, StringComparer.Ordinal);
        string? Value(string name) => values.TryGetValue(name, out var value) ? RequestForms.SingleValue(value) : null;
        var clientId = Value("client_id");
        var client = Secret.IsWellFormedClientId(clientId) ? await clients.FindAsync(clientId!, cancellationToken) : null;
        return AuthorizationRules.Validate(
            new AuthorizationParameters(
                clientId, Value("redirect_uri"), Value("response_type"), Value("scope"), Value("state"),
                Value("code_challenge"), Value("code_challenge_method"),
                RequestForms.Repeated(values, SingleValued)),
            client);
    }

    // Errors about the client or redirect URI: a page. Others: back to the validated redirect URI.
    private static Results<HtmlPage, RedirectHttpResult>? ErrorResult(
        HttpContext context, AuthorizationValidation validation, string issuer, BrokerTelemetry telemetry)
    {
        if (validation.PageError is { } pageError)
        {
            // The client or its redirect URI is refused: no redirect, and a security event (probing for
            // an open redirect looks like this).
            telemetry.RedirectRefused(context.Connection.RemoteIpAddress?.ToString(), $"{pageError.Error}: {pageError.Description}");
            return Html.Error("This application cannot be authorized", $"{pageError.Error}: {pageError.Description}");
        }
        if (validation.RedirectError is { } redirectError)
        {
            return RedirectWith(validation.RedirectUri!, issuer, validation.State,
                ("error", redirectError.Error), ("error_description", redirectError.Description));
        }
        return null;
    }

    private static RedirectHttpResult RedirectWith(string redirectUri, string issuer, string? state, params (string Name, string Value)[] parameters)
    {
        var query = parameters.Select(parameter => new KeyValuePair<string, string?>(parameter.Name, parameter.Value)).ToList();
        if (state is not null)
        {
            query.Add(new("state", state));
        }
        // RFC 9207: the issuer on every authorization response, so a client can detect mix-up attacks.
        query.Add(new("iss", issuer));
        return TypedResults.Redirect(QueryHelpers.AddQueryString(redirectUri, query));
    }

    private static string QueryOf(IFormCollection form) =>
        QueryString.Create(form
            .Where(pair => SingleValued.Contains(pair.Key, StringComparer.Ordinal))
            .Select(pair => new KeyValuePair<string, string?>(pair.Key, pair.Value.ToString()))).ToString();

    private static HtmlPage ConsentPage(HttpContext context, IAntiforgery antiforgery, AuthorizationRequest request, User user, string productName)
    {
        var client = request.Client;
        var host = RedirectUris.DisplayHost(request.RedirectUri);
        var abilities = string.Concat(AccessDescription.Describe(ApplicationCard.GrantedEndpoints(client))
            .Select(ability => $"<li>{Html.Text(ability)}</li>"));
        var (title, headline, keyHolder) = client.Role is ParentRole
            ? ("Install plugin", $"Install {Html.Untrusted(client.Name)} on this site?", "This installation gets its own key. With it, the plugin on this site can:")
            : ("Authorize application", $"Give {Html.Untrusted(client.Name)} access?", "With this access, the application can:");
        var fields = string.Concat(
            Html.Hidden("client_id", client.ClientId),
            Html.Hidden("redirect_uri", request.RedirectUri),
            Html.Hidden("response_type", "code"),
            Html.Hidden("scope", request.Scope),
            Html.Hidden("state", request.State),
            Html.Hidden("code_challenge", request.CodeChallenge),
            Html.Hidden("code_challenge_method", request.CodeChallenge is null ? null : Pkce.S256));
        var thisRequest = Path + context.Request.QueryString;
        return Html.Page(title, $"""
            <h1>{headline}</h1>
            <p class="host">{Html.Text(host)}</p>
            {ApplicationCard.Render(client, productName)}
            <p>Approve only if you are setting this up on <strong>{Html.Text(host)}</strong> yourself. After you decide, you go back to that site.</p>
            <h2>What it can do</h2>
            <p>{keyHolder}</p>
            <ul>{abilities}</ul>
            <p>It belongs to your account. You can undo this approval at any time under <a href="{UserSession.AppsPath}">Your installations</a> ({Html.Text(UserSession.AppsPath)}).</p>
            <div class="signed-in">Signed in as <strong>{Html.Text(user.Email)}</strong>. {UserSession.SignOutForm(context, antiforgery, "Not you? Sign out", thisRequest, "link")}</div>
            <form method="post" action="{Path}">
            {Html.AntiforgeryField(context, antiforgery)}
            {fields}
            <div class="actions">
            <button type="submit" name="decision" value="approve">Approve</button>
            <button class="secondary" type="submit" name="decision" value="deny">Deny</button>
            </div>
            </form>
            <p class="fine">Client ID <code>{Html.Text(client.ClientId)}</code></p>
            """);
    }
}

/// <summary>The pending authorize request behind a sign-in's return URL, for the login and join pages.</summary>
internal sealed class PendingAuthorizations(IClientStore clients) : ISignInPurposes
{
    public async Task<SignInPurpose?> DescribeAsync(string returnUrl, CancellationToken cancellationToken)
    {
        var query = returnUrl.IndexOf('?', StringComparison.Ordinal);
        if (query < 0 || !string.Equals(returnUrl[..query], AuthorizeEndpoints.Path, StringComparison.Ordinal))
        {
            return null;
        }
        var validation = await AuthorizeEndpoints.ValidateAsync(QueryHelpers.ParseQuery(returnUrl[query..]), clients, cancellationToken);
        return validation.Request is { } request ? new SignInPurpose(request.Client, RedirectUris.DisplayHost(request.RedirectUri)) : null;
    }
}

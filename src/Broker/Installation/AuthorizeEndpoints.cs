using Broker.Core.Authorization;
using Broker.Core.Clients;
using Broker.Core.Security;
using Broker.Core.Stores;
using Broker.Hosting;
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

    private static async Task<Results<ContentHttpResult, RedirectHttpResult>> Authorize(
        HttpContext context, IClientStore clients, IUserStore users, IAntiforgery antiforgery, IOptions<BrokerOptions> broker)
    {
        var validation = await ValidateAsync(context.Request.Query, clients, context.RequestAborted);
        if (ErrorResult(validation, broker.Value.Issuer) is { } error)
        {
            return error;
        }
        // Not signed in: login or join first, then back here with the same request.
        if (await UserSession.SignedInUserAsync(context, users) is null)
        {
            return TypedResults.Redirect(UserSession.LoginUrl(Path + context.Request.QueryString));
        }
        return ConsentPage(context, antiforgery, validation.Request!);
    }

    private static async Task<Results<ContentHttpResult, RedirectHttpResult>> Decide(
        HttpContext context, IClientStore clients, IUserStore users, IGrantStore grants, IAntiforgery antiforgery,
        IOptions<BrokerOptions> broker, IOptions<InstallationOptions> installation, TimeProvider time)
    {
        // Reject a consent without a valid antiforgery token: consent is the security boundary.
        var form = await Html.ValidFormAsync(context, antiforgery);
        if (form is null)
        {
            return Html.FormRefused();
        }
        var validation = await ValidateAsync(form, clients, context.RequestAborted);
        if (ErrorResult(validation, broker.Value.Issuer) is { } error)
        {
            return error;
        }
        var request = validation.Request!;
        var user = await UserSession.SignedInUserAsync(context, users);
        if (user is null)
        {
            return TypedResults.Redirect(UserSession.LoginUrl(Path + QueryOf(form)));
        }
        if (RequestForms.SingleValue(form["decision"]) != "approve")
        {
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
        return RedirectWith(request.RedirectUri, broker.Value.Issuer, request.State, ("code", code));
    }

    private static async Task<AuthorizationValidation> ValidateAsync(
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
    private static Results<ContentHttpResult, RedirectHttpResult>? ErrorResult(AuthorizationValidation validation, string issuer)
    {
        if (validation.PageError is { } pageError)
        {
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

    private static ContentHttpResult ConsentPage(HttpContext context, IAntiforgery antiforgery, AuthorizationRequest request)
    {
        var client = request.Client;
        var host = RedirectUris.DisplayHost(request.RedirectUri);
        var headline = client.Role is ParentRole
            ? $"""
               <h1>Install {Html.Untrusted(client.Name)}?</h1>
               <p>An installation of this plugin is asking for its own API key. It runs at:</p>
               <p class="host">{Html.Text(host)}</p>
               <p>Approve only if you are setting up this plugin on <strong>{Html.Text(host)}</strong> yourself.
               The new key will belong to your account; you can revoke it any time under <a href="{UserSession.AppsPath}">your installations</a>.</p>
               """
            : $"""
               <h1>Authorize {Html.Untrusted(client.Name)}?</h1>
               {(client.Source == RegistrationSource.Open ? "<p><span class=\"badge\">Unverified</span> This application registered itself; the platform has not reviewed it.</p>" : "")}
               <p>After you approve, you will be sent to <strong>{Html.Text(host)}</strong>.</p>
               """;
        var fields = string.Concat(
            Html.Hidden("client_id", client.ClientId),
            Html.Hidden("redirect_uri", request.RedirectUri),
            Html.Hidden("response_type", "code"),
            Html.Hidden("scope", request.Scope),
            Html.Hidden("state", request.State),
            Html.Hidden("code_challenge", request.CodeChallenge),
            Html.Hidden("code_challenge_method", request.CodeChallenge is null ? null : Pkce.S256));
        return Html.Page("Authorize", $"""
            {headline}
            <p>Application: {Html.Untrusted(client.Name)}<br>Client ID: <code>{Html.Text(client.ClientId)}</code><br>Access: {Html.Text(request.Scope)}</p>
            <form method="post" action="{Path}">
            {Html.AntiforgeryField(context, antiforgery)}
            {fields}
            <button type="submit" name="decision" value="approve">Approve</button>
            <button class="secondary" type="submit" name="decision" value="deny">Deny</button>
            </form>
            """);
    }
}

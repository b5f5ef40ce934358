using Broker.Core.Platform;
using Broker.Hosting;
using Broker.Http;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.Identity.Web;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

namespace Broker.Console;

/// <summary>
/// The platform team's sign-in to the console with Microsoft Entra ID (with <see cref="ConsoleOptions.EntraId"/>):
/// Microsoft.Identity.Web's OpenID Connect handler, authorization code flow with PKCE, on the <c>AzureAd</c>
/// app registration the admin API uses. It ends in the console's own cookie; the id token's app roles
/// grant the admin API's scopes [0040].
/// </summary>
internal static class ConsoleEntraSignIn
{
    public const string Scheme = "EntraIdConsole";
    public const string CallbackPath = ConsoleEndpoints.Prefix + "/signin-oidc";

    public static AuthenticationBuilder AddConsoleEntraSignIn(this AuthenticationBuilder authentication, IConfiguration configuration)
    {
        if (!configuration.GetSection(ConsoleOptions.Section).GetValue<bool>(nameof(ConsoleOptions.EntraId)))
        {
            return authentication;
        }
        // No cookie scheme of Microsoft.Identity.Web's own: the session is the console's cookie.
        authentication.AddMicrosoftIdentityWebApp(configuration.GetSection(AdminAuthentication.EntraSection), openIdConnectScheme: Scheme, cookieScheme: null);
        // Registered after Microsoft.Identity.Web's own configuration, so these win over the shared section's values.
        authentication.Services.Configure<OpenIdConnectOptions>(Scheme, options =>
        {
            options.SignInScheme = ConsoleAccess.Scheme;
            options.ResponseType = OpenIdConnectResponseType.Code;
            options.UsePkce = true;
            options.SaveTokens = false;
            options.CallbackPath = CallbackPath;
            options.SignedOutCallbackPath = ConsoleEndpoints.Prefix + "/signout-callback-oidc";
            options.RemoteSignOutPath = ConsoleEndpoints.Prefix + "/signout-oidc";
            // Entra posts the code back from its own site: these two cookies must travel on that cross-site
            // POST (SameSite=None, hence Secure), and only to the console. The session that follows is the
            // console's SameSite=Strict cookie.
            options.CorrelationCookie.Path = ConsoleEndpoints.Prefix;
            options.NonceCookie.Path = ConsoleEndpoints.Prefix;
            var tokenValidated = options.Events.OnTokenValidated;
            options.Events.OnTokenValidated = async context =>
            {
                await tokenValidated(context);
                await ToConsoleSessionAsync(context);
            };
            options.Events.OnRemoteFailure = RefuseAsync;
            // Front-channel sign-out would end the console session on a bare GET (the handler checks sid/iss
            // only when the session holds them), a logout anyone can trigger; and in Entra's cross-site iframe
            // the strict cookie is neither sent nor cleared anyway. The path answers 404 and ends nothing.
            options.Events.OnRemoteSignOut = context =>
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                context.HandleResponse();
                return Task.CompletedTask;
            };
        });
        return authentication;
    }

    // The id token's user becomes a console user, or is refused when no app role maps to a scope.
    private static async Task ToConsoleSessionAsync(TokenValidatedContext context)
    {
        if (context.Principal is null || context.Result is not null)
        {
            return;
        }
        // Reject a user with no app role for the console: nothing here for them, as for a local account with no access.
        if (ConsoleAccess.EntraPrincipal(context.Principal) is not { } principal)
        {
            Telemetry(context.HttpContext).AuthenticationFailed(AuthenticationKinds.Login, null, context.HttpContext.Connection.RemoteIpAddress?.ToString());
            await Html.Error("No access to the console",
                $"Your Microsoft Entra ID account holds no app role for the console. Ask for one of {string.Join(", ", AdminScopes.EntraRoles.Keys)}.",
                StatusCodes.Status403Forbidden).ExecuteAsync(context.HttpContext);
            context.HandleResponse();
            return;
        }
        context.Principal = principal;
    }

    // A failed sign-in (bad state or correlation, a token that does not validate, a wrong nonce, an error
    // from Entra) is a page in words, never a 500 and never a session.
    private static async Task RefuseAsync(RemoteFailureContext context)
    {
        Telemetry(context.HttpContext).AuthenticationFailed(AuthenticationKinds.Login, null, context.HttpContext.Connection.RemoteIpAddress?.ToString());
        context.HttpContext.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ConsoleEntraSignIn))
            .LogWarning(context.Failure, "Console sign-in with Microsoft Entra ID failed");
        await Html.Error("Sign-in failed",
            "Signing in with Microsoft Entra ID did not succeed. Go back to the console's sign-in page and try again.",
            StatusCodes.Status401Unauthorized).ExecuteAsync(context.HttpContext);
        context.HandleResponse();
    }

    private static BrokerTelemetry Telemetry(HttpContext context) => context.RequestServices.GetRequiredService<BrokerTelemetry>();
}

using Broker.Core.Clients;

namespace Broker.Core.Authorization;

/// <summary>A validated request to the authorization endpoint (RFC 6749 §4.1.1).</summary>
public sealed record AuthorizationRequest(
    Client Client,
    string RedirectUri,
    string Scope,
    string? State,
    string? CodeChallenge)
{
    /// <summary>The installation's origin for parents under the installation policy, else null.</summary>
    public string? InstallationOrigin =>
        Client.Role is ParentRole ? RedirectUris.Origin(RedirectUri) : null;
}

/// <summary>
/// The outcome of validating an authorization request. Errors about the client or its redirect URI
/// are shown on a page (<see cref="PageError"/>); every other error goes back to the validated
/// redirect URI (<see cref="RedirectError"/>), as RFC 6749 §4.1.2.1 requires.
/// </summary>
public sealed record AuthorizationValidation(
    AuthorizationRequest? Request,
    OAuthError? PageError,
    OAuthError? RedirectError,
    string? RedirectUri,
    string? State)
{
    public static AuthorizationValidation Page(string error, string description) =>
        new(null, new OAuthError(error, description), null, null, null);
}

/// <summary>The parameters of an authorization request as they arrived, each at most once.</summary>
public sealed record AuthorizationParameters(
    string? ClientId,
    string? RedirectUri,
    string? ResponseType,
    string? Scope,
    string? State,
    string? CodeChallenge,
    string? CodeChallengeMethod,
    IReadOnlyList<string> RepeatedParameters);

public static class AuthorizationRules
{
    public const string PublicScope = "public";
    public const int MaxStateLength = 2048;

    /// <summary>The scopes a client may ask for. Only the seed's <c>public</c> exists so far.</summary>
    public static readonly IReadOnlySet<string> SupportedScopes = new HashSet<string>(StringComparer.Ordinal) { PublicScope };

    /// <summary>
    /// Validates an authorization request in RFC 6749's order: client and redirect URI first (a page),
    /// then the rest (a redirect carrying the error).
    /// </summary>
    public static AuthorizationValidation Validate(AuthorizationParameters parameters, Client? client)
    {
        // Reject repeated client_id or redirect_uri on a page: we cannot tell which to trust.
        if (parameters.RepeatedParameters.Contains("client_id") || parameters.RepeatedParameters.Contains("redirect_uri"))
        {
            return AuthorizationValidation.Page(OAuthErrors.InvalidRequest, "client_id and redirect_uri must each appear once");
        }
        // Reject a missing client_id.
        if (string.IsNullOrEmpty(parameters.ClientId))
        {
            return AuthorizationValidation.Page(OAuthErrors.InvalidRequest, "client_id is required");
        }
        // Reject unknown, revoked and disabled clients.
        if (client is null || !client.IsActive)
        {
            return AuthorizationValidation.Page(OAuthErrors.InvalidClient, "unknown client_id");
        }
        // Reject clients that may not use the authorization code grant (children, service clients).
        if (!client.Metadata.GrantTypes.Contains(GrantType.AuthorizationCode))
        {
            return AuthorizationValidation.Page(OAuthErrors.UnauthorizedClient, "this client may not use the authorization endpoint");
        }
        // Reject a missing redirect_uri: parents cannot list their installations, and we never guess.
        if (string.IsNullOrEmpty(parameters.RedirectUri))
        {
            return AuthorizationValidation.Page(OAuthErrors.InvalidRequest, "redirect_uri is required");
        }
        // Reject a redirect_uri the client's policy does not allow, on a page: never redirect to it.
        var redirectProblem = RedirectProblem(client, parameters.RedirectUri);
        if (redirectProblem is not null)
        {
            return AuthorizationValidation.Page(OAuthErrors.InvalidRequest, redirectProblem);
        }

        var redirectUri = parameters.RedirectUri;
        var state = parameters.State;
        AuthorizationValidation Redirect(string error, string description) =>
            new(null, null, new OAuthError(error, description), redirectUri, state is { Length: <= MaxStateLength } ? state : null);

        // Reject any other repeated parameter (RFC 6749 §3.1).
        if (parameters.RepeatedParameters.Count > 0)
        {
            return Redirect(OAuthErrors.InvalidRequest, $"parameter '{parameters.RepeatedParameters[0]}' must appear once");
        }
        // Reject an over-long state: it round-trips through a URL.
        if (state is { Length: > MaxStateLength })
        {
            return Redirect(OAuthErrors.InvalidRequest, $"state must be at most {MaxStateLength} characters");
        }
        // Reject a missing response_type, and any but code (RFC 9700: no implicit grant).
        if (string.IsNullOrEmpty(parameters.ResponseType))
        {
            return Redirect(OAuthErrors.InvalidRequest, "response_type is required");
        }
        if (parameters.ResponseType != "code")
        {
            return Redirect(OAuthErrors.UnsupportedResponseType, "only response_type=code is supported");
        }
        // Reject scopes we do not know; absent means public, as in the seed.
        var scope = string.IsNullOrWhiteSpace(parameters.Scope) ? PublicScope : parameters.Scope.Trim();
        var scopes = scope.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (scopes.Any(s => !SupportedScopes.Contains(s)))
        {
            return Redirect(OAuthErrors.InvalidScope, $"unknown scope; supported: {string.Join(' ', SupportedScopes)}");
        }
        // Reject plain PKCE, and a challenge without S256 (its default would be plain).
        if (parameters.CodeChallengeMethod is not null && parameters.CodeChallengeMethod != Pkce.S256)
        {
            return Redirect(OAuthErrors.InvalidRequest, "code_challenge_method must be S256");
        }
        if (parameters.CodeChallenge is not null && parameters.CodeChallengeMethod is null)
        {
            return Redirect(OAuthErrors.InvalidRequest, "code_challenge_method=S256 is required with code_challenge");
        }
        if (parameters.CodeChallengeMethod is not null && !Pkce.IsWellFormed(parameters.CodeChallenge))
        {
            return Redirect(OAuthErrors.InvalidRequest, "code_challenge must be 43 to 128 unreserved characters");
        }
        // Reject public clients without PKCE: nothing else binds the code to them.
        if (client.IsPublic && parameters.CodeChallenge is null)
        {
            return Redirect(OAuthErrors.InvalidRequest, "code_challenge is required for public clients");
        }
        var canonicalScope = string.Join(' ', scopes.Distinct(StringComparer.Ordinal));
        return new AuthorizationValidation(
            new AuthorizationRequest(client, redirectUri, canonicalScope, state, parameters.CodeChallenge),
            null, null, redirectUri, state);
    }

    /// <summary>Why the client's redirect policy refuses <paramref name="redirectUri"/>, or null.</summary>
    public static string? RedirectProblem(Client client, string redirectUri)
    {
        var registered = client.Metadata.RedirectUris;
        if (client.Role is ParentRole { RedirectPolicy: RedirectPolicy.Installation, CallbackPath: { } callbackPath }
            && !RedirectUris.MatchesRegistered(registered, redirectUri))
        {
            return RedirectUris.InstallationProblem(redirectUri, callbackPath);
        }
        return RedirectUris.MatchesRegistered(registered, redirectUri)
            ? null
            : "redirect_uri is not registered for this client";
    }
}

namespace Broker.Core.Authorization;

/// <summary>The error codes of RFC 6749, RFC 6750 and RFC 7591 that the broker answers with.</summary>
public static class OAuthErrors
{
    public const string InvalidRequest = "invalid_request";
    public const string InvalidClient = "invalid_client";
    public const string InvalidGrant = "invalid_grant";
    public const string UnauthorizedClient = "unauthorized_client";
    public const string UnsupportedGrantType = "unsupported_grant_type";
    public const string UnsupportedResponseType = "unsupported_response_type";
    public const string InvalidScope = "invalid_scope";
    public const string AccessDenied = "access_denied";
    public const string InvalidToken = "invalid_token";
    public const string InsufficientScope = "insufficient_scope";
    public const string InvalidClientMetadata = "invalid_client_metadata";
    public const string InvalidRedirectUri = "invalid_redirect_uri";
}

/// <summary>An OAuth error: its RFC code and a description a developer can act on.</summary>
public sealed record OAuthError(string Error, string Description);

using Broker.Core.Clients;

namespace Broker.Core.Authorization;

/// <summary>Which grant a client may ask the token endpoint for (RFC 6749 §5.2's codes, in its order).</summary>
public static class GrantRules
{
    /// <summary>The grants this server implements.</summary>
    public static readonly IReadOnlyList<string> Supported = [GrantType.AuthorizationCode, GrantType.ClientCredentials];

    /// <summary>Why <paramref name="client"/> may not use <paramref name="grantType"/>, or null when it may.</summary>
    public static OAuthError? Problem(Client client, string? grantType)
    {
        // Reject a missing grant_type.
        if (string.IsNullOrEmpty(grantType))
        {
            return new OAuthError(OAuthErrors.InvalidRequest, "grant_type is required");
        }
        // Reject every grant but authorization_code for parents: their keys are public.
        if (client.Role is ParentRole && grantType != GrantType.AuthorizationCode)
        {
            return new OAuthError(OAuthErrors.UnauthorizedClient, "a parent application may only use the authorization_code grant");
        }
        // Reject grants this server does not implement, then grants this client may not use.
        if (!Supported.Contains(grantType))
        {
            return new OAuthError(OAuthErrors.UnsupportedGrantType, $"grant_type '{grantType}' is not supported");
        }
        if (!client.Metadata.GrantTypes.Contains(grantType))
        {
            return new OAuthError(OAuthErrors.UnauthorizedClient, $"this client may not use grant_type '{grantType}'");
        }
        return null;
    }
}

namespace Broker.Http;

/// <summary>
/// Where the OAuth endpoints are mapped: each feature maps its own, and the discovery document
/// (RFC 8414) lists them all.
/// </summary>
public static class OAuthPaths
{
    public const string Authorize = "/oauth/authorize";

    public const string Token = "/oauth/token";

    public const string Register = "/oidc/register";

    /// <summary>The RFC 7517 key set that verifies JWT access tokens (discovery's <c>jwks_uri</c>).</summary>
    public const string Jwks = "/.well-known/jwks.json";
}

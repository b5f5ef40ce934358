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
}

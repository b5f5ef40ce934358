namespace Broker.Http;

/// <summary>RFC 6750 §2.1: the bearer token of a request's Authorization header.</summary>
public static class BearerTokens
{
    // A JWT access token (RS256) is about 800 characters; room for longer claims, far below header limits.
    public const int MaxLength = 4096;

    /// <summary>The token, or null when the header is absent, repeated, of another scheme, empty or over-long.</summary>
    public static string? FromHeader(HttpRequest request)
    {
        var header = request.Headers.Authorization;
        if (header.Count != 1)
        {
            return null;
        }
        var value = header[0]!;
        const string scheme = "Bearer ";
        if (!value.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        var token = value[scheme.Length..].Trim();
        return token.Length is > 0 and <= MaxLength ? token : null;
    }
}

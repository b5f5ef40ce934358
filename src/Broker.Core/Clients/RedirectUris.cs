using System.Net;

namespace Broker.Core.Clients;

/// <summary>Redirect URI rules: at registration, and when the authorization endpoint matches one.</summary>
public static class RedirectUris
{
    public const int MaxLength = 2048;
    public const int MaxCount = 20;

    private static readonly string[] ForbiddenQueryParameters = ["code", "state", "iss", "error"];

    /// <summary>Why <paramref name="uri"/> may not be registered, or null when it may.</summary>
    public static string? RegistrationProblem(string? uri, bool nativeClient = false)
    {
        var problem = ShapeProblem(uri, out var parsed);
        if (problem is not null)
        {
            return problem;
        }
        // Reject wildcards: matching is by exact string (RFC 9700 §4.1.3).
        if (uri!.Contains('*'))
        {
            return $"redirect URI '{uri}' must not contain a wildcard";
        }
        var scheme = parsed!.Scheme;
        if (scheme == Uri.UriSchemeHttps)
        {
            return null;
        }
        // Reject plain http except on loopback for native clients (RFC 8252 §7.3).
        if (scheme == Uri.UriSchemeHttp)
        {
            return IsLoopback(parsed) && nativeClient
                ? null
                : $"redirect URI '{uri}' must use https (http only on a loopback address for native clients)";
        }
        // Reject custom schemes except for native clients (RFC 8252 §7.1), which use reverse-DNS names.
        return nativeClient && scheme.Contains('.')
            ? null
            : $"redirect URI '{uri}' must use https";
    }

    /// <summary>
    /// Whether a client whose policy is <see cref="RedirectPolicy.Exact"/> registered <paramref name="requested"/>:
    /// exact string match, except that a loopback http URI matches on any port (RFC 8252 §7.3).
    /// </summary>
    public static bool MatchesRegistered(IReadOnlyList<string> registered, string requested)
    {
        foreach (var candidate in registered)
        {
            if (string.Equals(candidate, requested, StringComparison.Ordinal))
            {
                return true;
            }
        }
        var requestedWithoutPort = LoopbackWithoutPort(requested);
        if (requestedWithoutPort is null)
        {
            return false;
        }
        foreach (var candidate in registered)
        {
            if (string.Equals(LoopbackWithoutPort(candidate), requestedWithoutPort, StringComparison.Ordinal))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// Why <paramref name="requested"/> is not an installation callback of a parent whose callback
    /// path is <paramref name="callbackPath"/>, or null when it is.
    /// </summary>
    public static string? InstallationProblem(string requested, string callbackPath)
    {
        var problem = ShapeProblem(requested, out var parsed);
        if (problem is not null)
        {
            return problem;
        }
        // Reject anything but https, and http on loopback (a local test installation).
        if (!(parsed!.Scheme == Uri.UriSchemeHttps || (parsed.Scheme == Uri.UriSchemeHttp && IsLoopback(parsed))))
        {
            return "the installation's redirect URI must use https (http only on a loopback address)";
        }
        // Reject any path but the parent's registered callback path, compared as written (RFC 9700
        // §4.1.3): Uri's canonical path would let /x/../cb, /./cb or /%63b pass for /cb, while the
        // installation's server may route them elsewhere.
        var rawPath = RawPath(requested);
        var pathProblem = PathSpellingProblem(rawPath);
        if (pathProblem is not null)
        {
            return $"the installation's redirect URI {pathProblem}";
        }
        if (!string.Equals(rawPath, callbackPath, StringComparison.Ordinal))
        {
            return $"the installation's redirect URI must have the path '{callbackPath}'";
        }
        return null;
    }

    /// <summary>The origin (scheme://host[:port]) of an absolute URI, as the installation is shown and recorded.</summary>
    public static string Origin(string uri)
    {
        var parsed = new Uri(uri, UriKind.Absolute);
        return parsed.GetLeftPart(UriPartial.Authority);
    }

    /// <summary>The host (with a non-default port) of an absolute URI, for showing to people.</summary>
    public static string DisplayHost(string uri)
    {
        var parsed = new Uri(uri, UriKind.Absolute);
        return parsed.IsDefaultPort ? parsed.Host : $"{parsed.Host}:{parsed.Port}";
    }

    /// <summary>Whether a callback path has the shape we accept for parents.</summary>
    public static string? CallbackPathProblem(string? path)
    {
        // Reject a missing or relative path, and anything with query, fragment or wildcard.
        if (string.IsNullOrEmpty(path) || !path.StartsWith('/') || path.StartsWith("//", StringComparison.Ordinal)
            || path.Length > 512 || path.Any(c => c is '?' or '#' or '*' || c <= ' ' || c > '~'))
        {
            return "the callback path must be an absolute path such as /broker/callback, without query, fragment or wildcard";
        }
        var spellingProblem = PathSpellingProblem(path);
        return spellingProblem is null ? null : $"the callback path {spellingProblem}";
    }

    // One spelling per path: no dot segments, no backslash (browsers read it as a slash), and no
    // percent-encoded unreserved character or malformed escape (RFC 3986 §6.2.2.2), so that the
    // string compared is the path every server sees.
    private static string? PathSpellingProblem(string path)
    {
        if (path.Contains('\\'))
        {
            return "must not contain a backslash";
        }
        foreach (var segment in path.Split('/'))
        {
            if (segment is "." or "..")
            {
                return "must not contain a '.' or '..' segment";
            }
        }
        for (var i = path.IndexOf('%'); i >= 0; i = path.IndexOf('%', i + 1))
        {
            if (i + 2 >= path.Length || !char.IsAsciiHexDigit(path[i + 1]) || !char.IsAsciiHexDigit(path[i + 2]))
            {
                return "must not contain a malformed percent-escape";
            }
            var decoded = (char)Convert.ToInt32(path.Substring(i + 1, 2), 16);
            if (char.IsAsciiLetterOrDigit(decoded) || decoded is '-' or '.' or '_' or '~')
            {
                return $"must not percent-encode the unreserved character '{decoded}'";
            }
        }
        return null;
    }

    /// <summary>
    /// The path of an absolute URI exactly as written: after the authority, up to the query or fragment.
    /// A backslash ends the authority, as browsers read it in http(s) URIs (so <c>https://host\x/cb</c>
    /// has the path <c>\x/cb</c>, which a browser follows to <c>/x/cb</c>).
    /// </summary>
    public static string RawPath(string uri)
    {
        var start = uri.IndexOf("//", StringComparison.Ordinal);
        start = start < 0 ? uri.IndexOf(':') + 1 : uri.IndexOfAny(['/', '\\', '?', '#'], start + 2);
        if (start < 0)
        {
            return "";
        }
        var end = uri.IndexOfAny(['?', '#'], start);
        return end < 0 ? uri[start..] : uri[start..end];
    }

    // The rules every redirect URI obeys, registered or requested.
    private static string? ShapeProblem(string? uri, out Uri? parsed)
    {
        parsed = null;
        // Reject missing and over-long URIs.
        if (string.IsNullOrEmpty(uri))
        {
            return "redirect URI is required";
        }
        if (uri.Length > MaxLength)
        {
            return $"redirect URI must be at most {MaxLength} characters";
        }
        // Reject anything but printable ASCII: URIs are ASCII (RFC 3986), and exact matching must not
        // depend on how an IRI was converted.
        if (uri.Any(c => c <= ' ' || c > '~'))
        {
            return "redirect URI must be printable ASCII; percent-encode other characters and use the punycode host";
        }
        // Reject relative URIs.
        // On Unix, Uri reads "/path" and "//host/path" as absolute file URIs, so the scheme must be written.
        if (!Uri.TryCreate(uri, UriKind.Absolute, out parsed) || string.IsNullOrEmpty(parsed.Scheme)
            || !uri.StartsWith(parsed.Scheme + ":", StringComparison.OrdinalIgnoreCase))
        {
            return $"redirect URI '{uri}' must be absolute";
        }
        // Reject fragments (RFC 6749 §3.1.2).
        if (uri.Contains('#'))
        {
            return $"redirect URI '{uri}' must not contain a fragment";
        }
        // Reject user-info: it makes the real host hard to see.
        if (!string.IsNullOrEmpty(parsed.UserInfo) || RawAuthority(uri).Contains('@'))
        {
            return $"redirect URI '{uri}' must not contain a user-info part";
        }
        if ((parsed.Scheme == Uri.UriSchemeHttp || parsed.Scheme == Uri.UriSchemeHttps) && string.IsNullOrEmpty(parsed.Host))
        {
            return $"redirect URI '{uri}' must name a host";
        }
        // Reject the parameters the authorization response adds: they would be ambiguous.
        var query = parsed.Query.TrimStart('?');
        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var name = Uri.UnescapeDataString(pair.Split('=')[0]);
            if (ForbiddenQueryParameters.Contains(name, StringComparer.Ordinal))
            {
                return $"redirect URI '{uri}' must not carry a '{name}' query parameter";
            }
        }
        return null;
    }

    /// <summary>Loopback by literal address, or the name localhost.</summary>
    public static bool IsLoopback(Uri uri) =>
        string.Equals(uri.Host, "localhost", StringComparison.OrdinalIgnoreCase)
        || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));

    // The authority as written, before Uri parsing could drop an empty user-info part ("https://@host").
    private static string RawAuthority(string uri)
    {
        var start = uri.IndexOf("//", StringComparison.Ordinal);
        if (start < 0)
        {
            return "";
        }
        start += 2;
        var end = uri.IndexOfAny(['/', '?', '#'], start);
        return end < 0 ? uri[start..] : uri[start..end];
    }

    // A loopback http URI as written, minus its port: only the port may differ (RFC 8252 §7.3), so
    // nothing is normalised, and URIs with user-info or a fragment are not loopback redirects at all.
    private static string? LoopbackWithoutPort(string uri)
    {
        if (!Uri.TryCreate(uri, UriKind.Absolute, out var parsed) || parsed.Scheme != Uri.UriSchemeHttp
            || !IsLoopback(parsed) || uri.Contains('#'))
        {
            return null;
        }
        var authority = RawAuthority(uri);
        if (authority.Length == 0 || authority.Contains('@'))
        {
            return null;
        }
        var start = uri.IndexOf("//", StringComparison.Ordinal) + 2;
        var colon = authority.LastIndexOf(':');
        var host = colon > authority.LastIndexOf(']') ? authority[..colon] : authority;
        return uri[..start] + host + uri[(start + authority.Length)..];
    }
}

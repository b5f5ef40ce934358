namespace Broker.Core.Clients;

/// <summary>
/// A whitelisted endpoint, written <c>METHOD /path</c>, where a <c>*</c> segment matches exactly one
/// path segment (<c>GET /photos/*</c> matches <c>/photos/abc</c> but not <c>/photos</c> or <c>/photos/a/b</c>).
/// </summary>
public sealed record EndpointPattern(string Method, IReadOnlyList<string> Segments)
{
    private static readonly HashSet<string> Methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];

    /// <summary>The endpoints a child may call when its parent names none: the seed's public read API.</summary>
    public static readonly IReadOnlyList<string> DefaultChildEndpoints =
        ["GET /photos", "GET /photos/*", "GET /photos/random", "GET /search/photos"];

    public const int MaxPatternLength = 200;
    public const int MaxPatternsPerClient = 100;

    public override string ToString() => $"{Method} /{string.Join('/', Segments)}";

    /// <summary>Parses <c>METHOD /path</c>; null with <paramref name="problem"/> set when malformed.</summary>
    public static EndpointPattern? TryParse(string? text, out string? problem)
    {
        problem = null;
        // Reject empty or over-long patterns.
        if (string.IsNullOrWhiteSpace(text) || text.Length > MaxPatternLength)
        {
            problem = $"an endpoint must be 'METHOD /path' of at most {MaxPatternLength} characters";
            return null;
        }
        var parts = text.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        // Reject anything but exactly a method and a path.
        if (parts.Length != 2)
        {
            problem = $"endpoint '{text}' must be 'METHOD /path'";
            return null;
        }
        var method = parts[0].ToUpperInvariant();
        // Reject unknown methods.
        if (!Methods.Contains(method))
        {
            problem = $"endpoint '{text}' has an unknown method; use one of {string.Join(", ", Methods)}";
            return null;
        }
        var path = parts[1];
        // Reject relative paths, queries and fragments.
        if (!path.StartsWith('/') || path.Contains('?') || path.Contains('#'))
        {
            problem = $"endpoint '{text}' must have an absolute path without query or fragment";
            return null;
        }
        var segments = path == "/" ? [] : path[1..].Split('/');
        foreach (var segment in segments)
        {
            // Reject empty, dot and partial-wildcard segments: they would match in surprising ways.
            if (segment.Length == 0 || segment is "." or ".." || (segment.Contains('*') && segment != "*")
                || !segment.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '~' or '*'))
            {
                problem = $"endpoint '{text}' has an invalid path segment '{segment}'";
                return null;
            }
        }
        return new EndpointPattern(method, segments);
    }

    /// <summary>Parses and normalises a list of patterns, or reports the first bad one.</summary>
    public static IReadOnlyList<string>? TryNormalise(IEnumerable<string> patterns, out string? problem)
    {
        problem = null;
        var result = new List<string>();
        foreach (var text in patterns)
        {
            var pattern = TryParse(text, out problem);
            if (pattern is null)
            {
                return null;
            }
            var normalised = pattern.ToString();
            if (!result.Contains(normalised))
            {
                result.Add(normalised);
            }
        }
        if (result.Count > MaxPatternsPerClient)
        {
            problem = $"at most {MaxPatternsPerClient} endpoints";
            return null;
        }
        return result;
    }

    /// <summary>Whether this pattern admits a request with <paramref name="method"/> on <paramref name="path"/>.</summary>
    public bool Matches(string method, string path)
    {
        if (!string.Equals(method, Method, StringComparison.OrdinalIgnoreCase)
            && !(Method == "GET" && string.Equals(method, "HEAD", StringComparison.OrdinalIgnoreCase)))
        {
            return false;
        }
        if (path is "" or "/")
        {
            return Segments.Count == 0;
        }
        // One leading and one trailing slash; any other empty segment ("//photos") is refused below.
        var requested = path.AsSpan();
        requested = requested[0] == '/' ? requested[1..] : requested;
        requested = requested.Length > 0 && requested[^1] == '/' ? requested[..^1] : requested;
        var index = 0;
        foreach (var range in requested.Split('/'))
        {
            if (index >= Segments.Count)
            {
                return false;
            }
            var segment = requested[range];
            var expected = Segments[index++];
            if (segment.Length == 0 || (expected != "*" && !segment.Equals(expected, StringComparison.Ordinal)))
            {
                return false;
            }
        }
        return index == Segments.Count;
    }
}

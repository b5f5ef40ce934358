using Microsoft.Net.Http.Headers;

namespace Broker.Http;

/// <summary>What a request's <c>Content-Type</c> declares, for the body readers.</summary>
public static class RequestMediaType
{
    /// <summary>Whether the body is declared as <paramref name="mediaType"/> (parameters aside).</summary>
    public static bool Is(HttpRequest request, string mediaType) =>
        MediaTypeHeaderValue.TryParse(request.ContentType, out var parsed)
        && parsed.MediaType.Equals(mediaType, StringComparison.OrdinalIgnoreCase);

    /// <summary>Whether the declared media type ends with <paramref name="suffix"/> (an RFC 6839 structured syntax suffix).</summary>
    public static bool HasSuffix(HttpRequest request, string suffix) =>
        MediaTypeHeaderValue.TryParse(request.ContentType, out var parsed)
        && parsed.MediaType.Value is { } mediaType
        && mediaType.StartsWith("application/", StringComparison.OrdinalIgnoreCase)
        && mediaType.EndsWith(suffix, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Whether the declared charset is UTF-8 or none. UTF-8 is the only charset JSON has and the one
    /// our pages post forms in; .NET would look any other name up and throw on one it lacks.
    /// </summary>
    public static bool IsUtf8OrUnstated(HttpRequest request) =>
        MediaTypeHeaderValue.TryParse(request.ContentType, out var parsed)
        && (parsed.Charset.Length == 0 || HeaderUtilities.RemoveQuotes(parsed.Charset).Equals("utf-8", StringComparison.OrdinalIgnoreCase));
}

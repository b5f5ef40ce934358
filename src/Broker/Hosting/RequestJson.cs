using System.Text;
using System.Text.Json;

namespace Broker.Hosting;

/// <summary>Reads JSON request bodies without letting malformed input become a 500.</summary>
public static class RequestJson
{
    /// <summary>Whether the body is declared <c>application/json</c> (UTF-8, the only charset JSON has).</summary>
    public static bool IsJson(HttpRequest request)
    {
        if (request.ContentType is not { } contentType)
        {
            return false;
        }
        var parts = contentType.Split(';');
        var charset = parts.Skip(1).Select(part => part.Trim())
            .FirstOrDefault(part => part.StartsWith("charset=", StringComparison.OrdinalIgnoreCase))?["charset=".Length..].Trim('"');
        return parts[0].Trim().Equals("application/json", StringComparison.OrdinalIgnoreCase)
            && (charset is null || charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>The parsed body, or a problem in words (wrong media type, malformed JSON, bad UTF-8).</summary>
    public static async Task<(JsonDocument? Document, string? Problem)> TryReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (!IsJson(request))
        {
            return (null, "the body must be application/json");
        }
        try
        {
            return (await JsonDocument.ParseAsync(request.Body, new JsonDocumentOptions { MaxDepth = 16 }, cancellationToken), null);
        }
        catch (Exception exception) when (exception is JsonException or BadHttpRequestException or IOException or DecoderFallbackException)
        {
            return (null, "the body is not well-formed JSON");
        }
    }
}

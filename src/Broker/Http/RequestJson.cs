using System.Text;
using System.Text.Json;
using Broker.Core;

namespace Broker.Http;

/// <summary>
/// The one reader of JSON request bodies. A route gets a document only when every property name and
/// string in it is valid Unicode and no object names a property twice, so no route can fail on it.
/// </summary>
public static class RequestJson
{
    private const string MalformedProblem = "the body is not well-formed JSON";

    /// <summary>
    /// Whether the body is declared <c>application/json</c>, or a JSON-based type with the RFC 6839
    /// <c>+json</c> suffix (<c>application/merge-patch+json</c>), in UTF-8, the only charset JSON has.
    /// </summary>
    public static bool IsJson(HttpRequest request) =>
        (RequestMediaType.Is(request, "application/json") || RequestMediaType.HasSuffix(request, "+json"))
        && RequestMediaType.IsUtf8OrUnstated(request);

    /// <summary>The parsed body, or a problem in words (wrong media type, malformed JSON, bad UTF-8, a repeated name).</summary>
    public static async Task<(JsonDocument? Document, string? Problem)> TryReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (!IsJson(request))
        {
            return (null, "the body must be application/json");
        }
        return await TryParseAsync(request.Body, cancellationToken);
    }

    /// <summary>
    /// A JSON document from any stream (a request body, a file the command line validates), or a problem
    /// in words: the same checks for every reader, so a file and a request are judged alike.
    /// </summary>
    public static async Task<(JsonDocument? Document, string? Problem)> TryParseAsync(Stream json, CancellationToken cancellationToken)
    {
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(json, new JsonDocumentOptions { MaxDepth = 16 }, cancellationToken);
        }
        catch (Exception exception) when (exception is JsonException or BadHttpRequestException or IOException or DecoderFallbackException)
        {
            return (null, MalformedProblem);
        }
        // The parser checks structure, not text: names and strings are only transcoded when read, and
        // a lone surrogate escape or a stray byte would throw then, in whichever route read it.
        var problem = TextProblem(document.RootElement);
        if (problem is not null)
        {
            document.Dispose();
            return (null, problem);
        }
        return (document, null);
    }

    /// <summary>
    /// The body as <typeparamref name="T"/>, deserialized from the checked document with
    /// <paramref name="options"/>; or a problem in words, the serializer's own for a mismatch.
    /// </summary>
    public static async Task<(T? Body, string? Problem)> TryReadAsync<T>(HttpRequest request, JsonSerializerOptions options, CancellationToken cancellationToken)
        where T : class
    {
        var (document, problem) = await TryReadAsync(request, cancellationToken);
        if (document is null)
        {
            return (null, problem);
        }
        using (document)
        {
            try
            {
                var body = document.Deserialize<T>(options);
                return body is null ? (null, "the body must be a JSON object") : (body, null);
            }
            catch (JsonException exception)
            {
                return (null, $"the body is not valid here: {exception.Message.Split(" Path:")[0]}");
            }
        }
    }

    // Null when every name and string transcodes and no object repeats a name; else the problem.
    private static string? TextProblem(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var names = new HashSet<string>(StringComparer.Ordinal);
                foreach (var property in element.EnumerateObject())
                {
                    if (!TryGetName(property, out var name))
                    {
                        return $"{MalformedProblem}: a property name is not valid UTF-8 text";
                    }
                    // Reject a name given twice: which value was meant is unknowable.
                    if (!names.Add(name))
                    {
                        return $"'{name}' appears more than once in one object";
                    }
                    if (TextProblem(property.Value) is { } problem)
                    {
                        return problem;
                    }
                }
                return null;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    if (TextProblem(item) is { } problem)
                    {
                        return problem;
                    }
                }
                return null;
            case JsonValueKind.String:
                return JsonText.TryGetString(element, out _) ? null : $"{MalformedProblem}: a string is not valid UTF-8 text";
            default:
                return null;
        }
    }

    private static bool TryGetName(JsonProperty property, out string name)
    {
        try
        {
            name = property.Name;
            return true;
        }
        catch (InvalidOperationException)
        {
            name = "";
            return false;
        }
    }
}

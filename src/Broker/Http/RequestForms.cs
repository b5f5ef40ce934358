using System.Text;
using Microsoft.Extensions.Primitives;

namespace Broker.Http;

/// <summary>The one reader of request forms (and helpers for queries): malformed input is a null form, never a 500.</summary>
public static class RequestForms
{
    /// <summary>Whether the body is declared <c>application/x-www-form-urlencoded</c>.</summary>
    public static bool IsUrlEncodedForm(HttpRequest request) => RequestMediaType.Is(request, "application/x-www-form-urlencoded");

    /// <summary>The form, or null when the body is not a well-formed UTF-8 form (bad framing, charset, size).</summary>
    public static async Task<IFormCollection?> TryReadFormAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        // Reject a charset other than UTF-8 before the framework looks it up (it throws on names it lacks).
        if (!request.HasFormContentType || !RequestMediaType.IsUtf8OrUnstated(request))
        {
            return null;
        }
        try
        {
            return await request.ReadFormAsync(cancellationToken);
        }
        catch (Exception exception) when (exception is InvalidDataException or BadHttpRequestException or IOException
            or InvalidOperationException or DecoderFallbackException or FormatException or ArgumentException or NotSupportedException)
        {
            return null;
        }
    }

    /// <summary>A single-valued parameter: its value, or null when absent.</summary>
    public static string? SingleValue(StringValues values) => values.Count == 0 ? null : values[0];

    /// <summary>The names, among <paramref name="names"/>, that appear more than once.</summary>
    public static IReadOnlyList<string> Repeated(IEnumerable<KeyValuePair<string, StringValues>> parameters, params string[] names) =>
        parameters.Where(pair => pair.Value.Count > 1 && names.Contains(pair.Key, StringComparer.Ordinal))
            .Select(pair => pair.Key)
            .ToList();
}
